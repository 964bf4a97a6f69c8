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

	// A gateway already serves :8080, as the README's first command leaves
	// it (a listener stands in for it when the port is free): the
	// walkthrough, run as written, uses its own port and data dir.
	if ln, err := net.Listen("tcp", ":8080"); err == nil {
		t.Cleanup(func() { _ = ln.Close() })
	}
	root, _ := filepath.Abs("../..")
	run := func(tmp string, env ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", block)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "GATEWAY_RSA_BITS=2048", "TMPDIR="+tmp), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out := &gatewaytest.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err := cmd.Wait()
		return out.String(), err
	}
	// Its own port taken: it stops at once, saying so, and exits non-zero.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	if out, err := run(t.TempDir(), "GATEWAY_ADDR="+busy.Addr().String()); err == nil || !strings.Contains(out, "did not start") {
		t.Errorf("the walkthrough with its port taken: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	out, err := run(tmp)
	log, _ := os.ReadFile(filepath.Join(tmp, "gateway.log"))
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n--- its output:\n%s\n--- the gateway's log:\n%s", err, out, log)
	}
	// Its last line stopped the gateway itself, and it drained and exited.
	if !strings.Contains(string(log), `"msg":"stopped"`) {
		t.Errorf("the gateway did not stop cleanly at the end of the walkthrough:\n%s", log)
	}
	for _, want := range []string{`"name":"Iron Temple"`, `"token_type":"bearer"`, `"kind":"purchase"`, `"balance":3800`, `"revoked":true`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
}
