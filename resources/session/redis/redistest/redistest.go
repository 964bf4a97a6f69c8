// Package redistest starts a real redis-server for tests: its own process on
// a free loopback port, with no persistence, stopped when the test ends.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	Addr  string
	cmd   *exec.Cmd
	tb    testing.TB
	extra []string
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start runs redis-server on a free port. Where the binary is absent the test
// is skipped with a clear message, except under CI (CI=true), where that is
// a failure: CI installs redis-server.
func Start(tb testing.TB) *Server { return StartWith(tb) }

// StartWith is Start with more redis-server arguments, such as
// "--maxmemory", "2mb".
func StartWith(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server is not installed; .ci/run installs it from Debian's packages")
		}
		tb.Skip("redis-server is not installed (apt-get install redis-server); Redis tests skipped")
	}
	s := &Server{tb: tb, extra: args}
	s.start(bin, tb.TempDir())
	tb.Cleanup(s.Stop)
	return s
}

func freePort(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *Server) start(bin, dir string) {
	if s.Addr == "" {
		s.Addr = freePort(s.tb)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--maxmemory-policy", "noeviction", "--protected-mode", "yes"}, s.extra...)
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("redis-server on %s did not answer", s.Addr)
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Stop kills the server (no persistence: everything in it is gone).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server and starts an empty one on the same address.
func (s *Server) Restart() {
	s.Stop()
	bin, _ := exec.LookPath("redis-server")
	s.start(bin, s.tb.TempDir())
}

// WaitDown waits until nothing answers on the address.
func (s *Server) WaitDown(ctx context.Context) {
	for ctx.Err() == nil && ping(s.Addr) {
		time.Sleep(10 * time.Millisecond)
	}
}
