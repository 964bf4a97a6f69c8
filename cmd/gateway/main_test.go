package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/cmd/internal/gatewaytest"
	"github.com/tnt/gateway/cmd/internal/server"
)

const (
	rootUser = "rootadmin"
	rootPass = "root password for tests"
)

func testConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"GATEWAY_ADDR":               "127.0.0.1:0",
			"GATEWAY_DATA_DIR":           dataDir,
			"GATEWAY_BOOTSTRAP_USER":     rootUser,
			"GATEWAY_BOOTSTRAP_PASSWORD": rootPass,
			"GATEWAY_HASH_CONCURRENCY":   "2",
			"GATEWAY_RATE_LIMIT":         "0", // load tests come from one address
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fastConfig is a gateway's configuration for tests that start one with
// settings of their own: a free loopback port, a fresh data dir, 2048-bit
// keys, two password hashes at a time and no per-address rate limit, with
// settings added or replaced.
func fastConfig(t *testing.T, settings map[string]string) config.Config {
	t.Helper()
	all := map[string]string{
		"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_DATA_DIR": t.TempDir(), "GATEWAY_RSA_BITS": "2048",
		"GATEWAY_HASH_CONCURRENCY": "2", "GATEWAY_RATE_LIMIT": "0",
	}
	for k, v := range settings {
		all[k] = v
	}
	cfg, err := config.Load(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// gatewayProc is a gateway started in-process by run, as main starts it.
type gatewayProc struct {
	url  string
	stop context.CancelFunc
	done chan error
	logs *gatewaytest.Buffer
}

// MustRun starts the whole gateway on a free loopback port.
func MustRun(t *testing.T, cfg config.Config) *gatewayProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gatewayProc{stop: cancel, done: make(chan error, 1), logs: &gatewaytest.Buffer{}}
	addr := make(chan string, 1)
	go func() {
		g.done <- server.Run(ctx, cfg, slog.New(slog.NewJSONHandler(g.logs, nil)), func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		g.url = "http://" + a
	case err := <-g.done:
		t.Fatalf("gateway did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not start in 30s")
	}
	t.Cleanup(func() { g.shutdown(t) })
	return g
}

func (g *gatewayProc) shutdown(t *testing.T) {
	t.Helper()
	if g.stop == nil {
		return
	}
	g.stop()
	g.stop = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("gateway did not stop in 30s")
	}
}

func rootAuth() string {
	return "tnt-admin-auth-scheme " + base64.StdEncoding.EncodeToString([]byte(rootUser+":"+rootPass))
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	return doAs(t, method, url, rootAuth(), body)
}

// doAs sends a request with the Authorization value and returns the status
// and the body.
func doAs(t *testing.T, method, url, authorization, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", authorization)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDataSurvivesRestart: a gateway on the embedded default keeps its data
// (and its bootstrap user) across a restart on the same data dir.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	g := MustRun(t, testConfig(t, dir))
	status, body := do(t, "POST", g.url+"/api/gym", `{"operation":"create","data":{"name":"Persistent Gym","type":{"name":"yoga"}}}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	g.shutdown(t)
	if _, err := os.Stat(filepath.Join(dir, "gateway.db")); err != nil {
		t.Fatalf("no database file in the data dir: %v", err)
	}

	g2 := MustRun(t, testConfig(t, dir))
	status, body = do(t, "POST", g2.url+"/api/gym", `{"operation":"query","data":{"type.name":{"equals":"yoga"}}}`)
	if status != 200 || !strings.Contains(body, "Persistent Gym") {
		t.Fatalf("after restart: %d %s", status, body)
	}
	status, body = do(t, "GET", g2.url+"/api/profile?level=0", "")
	if status != 200 || strings.Count(body, `"username"`) != 1 {
		t.Errorf("bootstrap user should exist exactly once: %s", body)
	}
	if strings.Contains(g2.logs.String(), rootPass) {
		t.Error("the bootstrap password is in the logs")
	}
}

// TestGracefulShutdownFinishesInFlight: a request still sending its body
// when shutdown starts is served to the end, and run returns cleanly. The
// request asks for 100-continue, so the gateway's "100 Continue" is the
// event that shows its handler is reading the body.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	g := MustRun(t, testConfig(t, t.TempDir()))
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rest := `"data":{"name":"Finished during shutdown"}}`
	first := `{"operation":"create",`
	fmt.Fprintf(conn, "POST /api/gym HTTP/1.1\r\nHost: gateway\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", rootAuth(), len(first)+len(rest))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line ending the interim answer
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte(first))
	g.stop()
	gatewaytest.WaitFor(t, 30*time.Second, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(g.url, "http://"), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	_, _ = conn.Write([]byte(rest))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 201 {
		t.Errorf("in-flight request: %v %v", resp, err)
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no clean stop")
	}
	g.stop = nil
}

// TestBinarySIGTERM builds the real binary, serves a request, and checks that
// SIGTERM stops it with exit status 0 after draining.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	p := gatewaytest.Start(t, gatewaytest.Build(t, "."), "GATEWAY_DATA_DIR="+t.TempDir(), "GATEWAY_RSA_BITS=2048")
	resp, err := http.Get("http://" + p.Addr + "/api/discovery/gym")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("discovery on the binary: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := p.Terminate(t, 30*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.Logs.String())
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"route":"/api/discovery/:resource"`} {
		if !strings.Contains(p.Logs.String(), want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table true.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		if !strings.Contains(string(readme), "| `"+s.Name+"` |") {
			t.Errorf("README's configuration table lacks %s", s.Name)
		}
	}
}

// TestResourcesAndPolicyFiles: an operator declares a resource and replaces
// the policy with files, and both apply through the API with no code change.
func TestResourcesAndPolicyFiles(t *testing.T) {
	dir := t.TempDir()
	resFile := filepath.Join(dir, "resources.json")
	polFile := filepath.Join(dir, "policy.csv")
	if err := os.WriteFile(resFile, []byte(`{"resources":[{"name":"class","discoverable":true,"public":["*"],
		"fields":{"title":{"type":"string","required":true},"seats":{"type":"int","min":1}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Guests may no longer discover anything; admins keep their rights.
	policy := strings.ReplaceAll(readFile(t, "../../policy/policy.csv"), "p, guest, data, discover", "")
	if err := os.WriteFile(polFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, filepath.Join(dir, "data"))
	cfg.ResourcesFile, cfg.PolicyFile = resFile, polFile
	g := MustRun(t, cfg)
	status, body := do(t, "POST", g.url+"/api/class", `{"operation":"create","data":{"title":"Spin","seats":12}}`)
	if status != 201 || !strings.Contains(body, `"seats":12`) {
		t.Fatalf("create on a declared resource: %d %s", status, body)
	}
	status, body = do(t, "POST", g.url+"/api/class", `{"operation":"create","data":{"title":"Spin","seats":0}}`)
	if status != 400 || !strings.Contains(body, "seats must be at least 1") {
		t.Errorf("declared bound: %d %s", status, body)
	}
	resp, err := http.Get(g.url + "/api/discovery/class")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("discovery with guest rights removed: %d", resp.StatusCode)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
