package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
)

// startGateway builds and starts the real gateway with a level-0 user.
func startGateway(t *testing.T) string {
	t.Helper()
	p := gatewaytest.Start(t, gatewaytest.Build(t, "../gateway"), "GATEWAY_DATA_DIR="+t.TempDir(), "GATEWAY_RSA_BITS=2048",
		"GATEWAY_BOOTSTRAP_USER=ops_root", "GATEWAY_BOOTSTRAP_PASSWORD=ops root password")
	return p.URL()
}

func adminCall(t *testing.T, method, url, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "tnt-admin-auth-scheme "+base64.StdEncoding.EncodeToString([]byte("ops_root:ops root password")))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestBackupAndRestoreCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	base := startGateway(t)
	adminCall(t, "POST", base+"/api/gym", `{"operation":"create","data":{"name":"Saved by the CLI"}}`)
	archive := filepath.Join(t.TempDir(), "backup.jsonl.gz")
	t.Setenv("GATEWAY_ADMIN_USER", "ops_root")
	var out, errOut bytes.Buffer
	if err := run([]string{"backup", "--gateway", base, "--out", archive, "--password-stdin"}, strings.NewReader("ops root password\n"), &out, &errOut); err != nil {
		t.Fatalf("backup: %v %s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "backup") || !strings.Contains(out.String(), "wrote") {
		t.Errorf("no progress or summary: %q %q", errOut.String(), out.String())
	}
	adminCall(t, "DELETE", base+"/api/admin/collections/gym?confirm=gym", "")
	if got := adminCall(t, "GET", base+"/api/gym", ""); strings.Contains(got, "Saved by the CLI") {
		t.Fatal("drop did not drop")
	}
	if err := run([]string{"restore", "--gateway", base, "--in", archive, "--password-stdin"}, strings.NewReader("ops root password\n"), &out, &errOut); err == nil {
		t.Error("restore without --yes ran")
	}
	t.Setenv("GATEWAY_ADMIN_PASSWORD", "ops root password")
	errOut.Reset()
	if err := run([]string{"restore", "--gateway", base, "--in", archive, "--yes"}, nil, &out, &errOut); err != nil {
		t.Fatalf("restore: %v %s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "100%") {
		t.Errorf("restore progress: %q", errOut.String())
	}
	if got := adminCall(t, "GET", base+"/api/gym", ""); !strings.Contains(got, "Saved by the CLI") {
		t.Errorf("after restore: %s", got)
	}
	// A cut archive is refused in plain words, with a non-zero exit.
	b, _ := os.ReadFile(archive)
	cut := filepath.Join(t.TempDir(), "cut.gz")
	_ = os.WriteFile(cut, b[:len(b)/2], 0o600)
	err := run([]string{"restore", "--gateway", base, "--in", cut, "--yes"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "corrupt or truncated") {
		t.Errorf("cut archive: %v", err)
	}
	t.Setenv("GATEWAY_ADMIN_PASSWORD", "wrong password")
	if err := run([]string{"backup", "--gateway", base, "--out", archive}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v", err)
	}
}
