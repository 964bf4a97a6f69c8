package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// pocketBase is PocketBase under comparison, built from its pinned module
// (cmd/loadgen/pocketbase), serving one collection with public list and
// view rules; streams are a guest's, like the gateway's.
type pocketBase struct {
	cmd   *exec.Cmd
	dir   string
	addr  string
	token string
	http  *http.Client
}

const (
	pbEmail    = "bench@example.com"
	pbPassword = "bench password 1234"
)

// buildPocketBase builds cmd/loadgen/pocketbase (its own module, so the
// gateway's go.mod never carries it) into dir.
func buildPocketBase(dir string) (string, error) {
	src, err := filepath.Abs(filepath.Join("cmd", "loadgen", "pocketbase"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		return "", fmt.Errorf("run the harness from the repository's root (cmd/loadgen/pocketbase not found): %w", err)
	}
	bin := filepath.Join(dir, "pocketbase")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building PocketBase: %w", err)
	}
	return bin, nil
}

func startPocketBase(bin string) (*pocketBase, error) {
	dir, err := os.MkdirTemp("", "pocketbase-")
	if err != nil {
		return nil, err
	}
	if bin == "" {
		if bin, err = buildPocketBase(dir); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "pb_data")
	if out, err := exec.Command(bin, "superuser", "upsert", pbEmail, pbPassword, "--dir", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pocketbase superuser: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "serve", "--http", addr, "--dir", data)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	// The same cores as the gateway's child.
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pb := &pocketBase{cmd: cmd, dir: dir, addr: addr, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			pb.stop()
			return nil, fmt.Errorf("PocketBase did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var auth struct {
		Token string `json:"token"`
	}
	if err := pb.call("POST", "/api/collections/_superusers/auth-with-password", `{"identity":"`+pbEmail+`","password":"`+pbPassword+`"}`, &auth); err != nil {
		pb.stop()
		return nil, err
	}
	pb.token = auth.Token
	coll := `{"name":"items","type":"base","listRule":"","viewRule":"","fields":[{"name":"name","type":"text"},{"name":"tenant","type":"number"}]}`
	if err := pb.call("POST", "/api/collections", coll, nil); err != nil {
		pb.stop()
		return nil, err
	}
	return pb, nil
}

func (pb *pocketBase) name() string { return "PocketBase v0.36.8" }
func (pb *pocketBase) pid() int     { return pb.cmd.Process.Pid }

func (pb *pocketBase) stop() {
	_ = pb.cmd.Process.Kill()
	_ = pb.cmd.Wait()
	_ = os.RemoveAll(pb.dir)
}

func (pb *pocketBase) dial(local string, onData func([]byte, int64)) (string, net.Conn, error) {
	return dialStream(pb.addr, local, "PB_CONNECT", "clientId", func(event string) bool { return strings.HasPrefix(event, "items") }, onData)
}

func (pb *pocketBase) subscribe(clientID string, tenant int) error {
	topic := "items"
	if tenant >= 0 {
		topic += "?options=" + escape(`{"query":{"filter":"tenant=`+strconv.Itoa(tenant)+`"}}`)
	}
	b, _ := json.Marshal(map[string]any{"clientId": clientID, "subscriptions": []string{topic}})
	return pb.call("POST", "/api/realtime", string(b), nil)
}

func (pb *pocketBase) write(name string, tenant int) error {
	return pb.call("POST", "/api/collections/items/records", `{"name":"`+name+`","tenant":`+strconv.Itoa(tenant)+`}`, nil)
}

func (pb *pocketBase) call(method, path, body string, out any) error {
	return jsonCall(pb.http, method, "http://"+pb.addr+path, body, pb.token, out)
}
