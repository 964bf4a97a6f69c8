package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/cmd/internal/server"
)

const (
	rootUser = "load_root"
	rootPass = "load root passphrase"
)

type baseline struct {
	url  string
	body atomic.Pointer[[]byte]
}

// startBaseline serves GET /baseline from a bare Gin engine: the same JSON
// bytes every time, from memory.
func startBaseline() (*baseline, func(), error) {
	b := &baseline{}
	empty := []byte("{}")
	b.body.Store(&empty)
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/baseline", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", *b.body.Load())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.url = "http://" + ln.Addr().String()
	return b, func() { _ = srv.Close() }, nil
}

func setBaselineBody(b *baseline, body []byte) { b.body.Store(&body) }

type gatewayProc struct {
	url     string
	dataDir string
	stop    func()
}

// startGateway runs the whole gateway in this process on a fresh data dir.
func startGateway(ctx context.Context, log *slog.Logger, redisURL string) (*gatewayProc, error) {
	dir, err := os.MkdirTemp("", "gateway-load-")
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_DATA_DIR": dir, "GATEWAY_REDIS_URL": redisURL,
		"GATEWAY_BOOTSTRAP_USER": rootUser, "GATEWAY_BOOTSTRAP_PASSWORD": rootPass,
		// The load generator logs in many times from one address.
		"GATEWAY_LOGIN_FAILURES_PER_IP": "1000000", "GATEWAY_MAX_PAGE": "1000", "GATEWAY_RATE_LIMIT": "0",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, log, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		return &gatewayProc{url: "http://" + a, dataDir: dir, stop: func() {
			cancel()
			<-done
			_ = os.RemoveAll(dir)
		}}, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("gateway: %w", err)
	}
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
