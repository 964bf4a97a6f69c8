// Package gatewaytest builds and starts the real gateway binary for the
// commands' end-to-end tests: on a free loopback port, waiting for /readyz,
// killed when the test ends.
package gatewaytest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Buffer collects output written from other goroutines or processes.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Build builds the gateway command in dir (a path to cmd/gateway) into the
// test's temp dir and returns the binary.
func Build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, dir).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// Proc is a started gateway binary.
type Proc struct {
	Cmd  *exec.Cmd
	Addr string
	Logs *Buffer
}

// URL is the gateway's base URL.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Start runs the binary with env on a free loopback port and waits until it
// is ready.
func Start(t *testing.T, bin string, env ...string) *Proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := &Proc{Cmd: exec.Command(bin), Addr: addr, Logs: &Buffer{}}
	p.Cmd.Env = append(append(os.Environ(), "GATEWAY_ADDR="+addr), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.Cmd.ProcessState == nil {
			_ = p.Cmd.Process.Kill()
			_ = p.Cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.URL() + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway binary is not ready: %s", p.Logs.String())
		}
	}
}

// WaitFor polls cond until it holds, failing the test after timeout with
// what it waited for. Tests wait for the event they need this way, never
// for a fixed time, so they hold on a busy machine.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Terminate sends SIGTERM and waits for the process to exit, failing the
// test if it does not within timeout; it returns the exit error.
func (p *Proc) Terminate(t testing.TB, timeout time.Duration) error {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- p.Cmd.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-time.After(timeout):
		_ = p.Cmd.Process.Kill()
		t.Fatalf("no exit %s after SIGTERM:\n%s", timeout, p.Logs.String())
		return nil
	}
}
