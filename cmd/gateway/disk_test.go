package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/server"
)

// mountTmpfs mounts a small tmpfs for the test, or skips where mounting is
// not allowed (an unprivileged machine): a full disk and a read-only disk
// are only safe to make on a file system of the test's own.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the full-disk test needs one", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestFullAndReadOnlyDisk fills the data dir's file system, then makes it
// read-only: writes are answered 503 with nothing half-written, reads go on,
// and once space (or writability) is back the gateway serves writes again
// with its database intact.
func TestFullAndReadOnlyDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	dir := mountTmpfs(t, "6m")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, filepath.Join(dir, "data"))
	cfg.RSABits = 2048
	g := MustRun(t, cfg)
	text := strings.Repeat("a gym description that takes room ", 300)
	created, full := 0, false
	for i := 0; i < 2000 && !full; i++ {
		status, body := do(t, "POST", g.url+"/api/gym", fmt.Sprintf(`{"operation":"create","data":{"name":"filling %d","description":"%s"}}`, i, text[:9000]))
		switch status {
		case 201:
			created++
		case 503:
			full = true
			if !strings.Contains(body, `"errorCode":"ServiceUnavailableError"`) || strings.Contains(body, "SQL") || strings.Contains(body, "disk") {
				t.Errorf("full disk answer: %s", body)
			}
		default:
			t.Fatalf("write %d on a filling disk: %d %s", i, status, body)
		}
	}
	if !full {
		t.Fatal("the disk never filled")
	}
	if status, _ := do(t, "GET", g.url+"/api/gym?find=1", ""); status != 200 {
		t.Errorf("a read on a full disk: %d", status)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if status, body := do(t, "POST", g.url+"/api/gym", `{"operation":"create","data":{"name":"after space is back"}}`); status != 201 {
		t.Errorf("a write once space is back: %d %s", status, body)
	} else {
		created++
	}

	g.shutdown(t)

	// A read-only data dir (the kernel refuses to remount under open
	// files, so this is tried at start): the gateway refuses to start, in
	// plain words, and starts again once the disk is writable.
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := server.Run(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "is not writable") || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("start on a read-only data dir: %v", err)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-write: %v %s", err, out)
	}
	g2 := MustRun(t, cfg)
	if status, body := do(t, "POST", g2.url+"/api/gym", `{"operation":"create","data":{"name":"writable again"}}`); status != 201 {
		t.Errorf("a write once the disk is writable again: %d %s", status, body)
	} else {
		created++
	}
	g2.shutdown(t)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data", "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity check: %q %v", check, err)
	}
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM "c_gym"`).Scan(&n); err != nil || n != created {
		t.Errorf("%d gyms stored, %d answered 201 (%v)", n, created, err)
	}
}
