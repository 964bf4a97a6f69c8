package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

const (
	rootUser = "load_root"
	rootPass = "load root passphrase"
)

// gatewayProc is a child process serving a gateway under load, its ladder
// and the baseline.
type gatewayProc struct {
	url, baseline, statsURL string
	rungs                   []rungInfo
	dataDir                 string
	pid                     int
	stop                    func()
}

// startGateway starts a child process (this program with -serve) running
// the whole gateway on a fresh data dir.
func startGateway(redisURL, cpuProfile string, pin, pageCache bool) (*gatewayProc, error) {
	dir, err := os.MkdirTemp("", "gateway-load-")
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", "-serve-dir", dir, "-serve-redis", redisURL, "-cpuprofile", cpuProfile, "-pin="+strconv.FormatBool(pin),
		"-serve-page-cache="+strconv.FormatBool(pageCache))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	// The servers get every core; the load generator's own parallelism
	// (GOMAXPROCS of this process) is the harness's to choose.
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	var info childInfo
	if err := json.NewDecoder(stdout).Decode(&info); err != nil {
		stop()
		return nil, fmt.Errorf("gateway child: %w", err)
	}
	return &gatewayProc{url: "http://" + info.Gateway, baseline: "http://" + info.Baseline + "/baseline",
		statsURL: "http://" + info.Stats, rungs: info.Rungs, dataDir: dir, pid: cmd.Process.Pid, stop: stop}, nil
}

// stats reads what the child has spent so far.
func (g *gatewayProc) stats() (procStats, error) {
	var st procStats
	resp, err := http.Get(g.statsURL + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// setAnswer gives the baseline and the ladder's early rungs the bytes the
// gateway answers.
func (g *gatewayProc) setAnswer(body []byte) error {
	req, _ := http.NewRequest(http.MethodPut, g.statsURL+"/answer", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("set answer: %s", resp.Status)
	}
	return nil
}

type redisProc struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

func (r *redisProc) url() string { return "redis://" + r.addr + "/0" }

func (r *redisProc) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	_ = os.RemoveAll(r.dir)
}

// startRedis runs redis-server on a free loopback port, without persistence.
func startRedis() (*redisProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir, _ := os.MkdirTemp("", "gateway-load-redis-")
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", filepath.Clean(dir), "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisProc{addr: addr, cmd: cmd, dir: dir}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			fmt.Fprint(c, "PING\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return r, nil
			}
		}
	}
	r.stop()
	return nil, errors.New("redis-server did not start")
}
