package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
)

// TestREADMEWalkthrough runs the README's walkthrough block as written, in
// bash from the repository root, against its own port and data dir.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway and the CLI")
	}
	for _, tool := range []string{"bash", "curl", "base64", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed to run the walkthrough; .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed; the README walkthrough test is skipped", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "<!-- walkthrough -->")
	end := strings.Index(text, "<!-- /walkthrough -->")
	if start < 0 || end < start {
		t.Fatal("the README has no walkthrough block")
	}
	block := text[start:end]
	block = block[strings.Index(block, "```sh")+len("```sh") : strings.LastIndex(block, "```")]

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	root, _ := filepath.Abs("../..")
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GW=http://"+addr, "GATEWAY_ADDR="+addr, "GATEWAY_DATA_DIR="+filepath.Join(tmp, "data"),
		"GATEWAY_RSA_BITS=2048", "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &gatewaytest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	log, _ := os.ReadFile(filepath.Join(tmp, "gateway.log"))
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n--- its output:\n%s\n--- the gateway's log:\n%s", err, out.String(), log)
	}
	// kill %1 stopped the gateway itself, and it drained and exited.
	if !strings.Contains(string(log), `"msg":"stopped"`) {
		t.Errorf("the gateway did not stop cleanly at the end of the walkthrough:\n%s", log)
	}
	for _, want := range []string{`"name":"Iron Temple"`, `"token_type":"bearer"`, `"kind":"purchase"`, `"balance":3800`, `"revoked":true`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out.String())
		}
	}
}
