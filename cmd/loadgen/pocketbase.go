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
	ids := make(chan string, 1)
	c, err := sseDial(pb.addr, local, "/api/realtime", http.Header{}, func(event string, data []byte, at int64) {
		switch {
		case event == "PB_CONNECT":
			var m struct {
				ClientID string `json:"clientId"`
			}
			_ = json.Unmarshal(data, &m)
			ids <- m.ClientID
		case strings.HasPrefix(event, "items"):
			onData(data, at)
		}
	})
	if err != nil {
		return "", nil, err
	}
	select {
	case id := <-ids:
		return id, c, nil
	case <-time.After(10 * time.Second):
		_ = c.Close()
		return "", nil, fmt.Errorf("no PB_CONNECT event")
	}
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
	req, _ := http.NewRequest(method, "http://"+pb.addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if pb.token != "" {
		req.Header.Set("Authorization", pb.token)
	}
	resp, err := pb.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("PocketBase %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
