package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/cmd/internal/server"
	"github.com/tnt/gateway/gateway"
)

// The servers under load run in a child process of their own, so that what
// they spend (CPU, allocations) is measured apart from the load generator's.
// The child serves, each on its own loopback listener: the gateway, the
// ladder's rungs, the baseline, and /stats; it prints their addresses as
// one JSON line, and exits when its standard input closes.

// childInfo is the first line a child prints.
type childInfo struct {
	Gateway  string     `json:"gateway"`
	Baseline string     `json:"baseline"`
	Stats    string     `json:"stats"`
	Rungs    []rungInfo `json:"rungs"`
}

type rungInfo struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// procStats is what the child has spent so far.
type procStats struct {
	CPU        time.Duration `json:"cpu_ns"`
	Mallocs    uint64        `json:"mallocs"`
	TotalAlloc uint64        `json:"total_alloc"`
	HeapInuse  uint64        `json:"heap_inuse"`
}

func readProcStats() procStats {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return procStats{
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc, HeapInuse: m.HeapInuse,
	}
}

// gatewayConfig is the configuration of a gateway under load.
func gatewayConfig(dir, redisURL string, pageCache bool) (config.Config, error) {
	env := map[string]string{
		"GATEWAY_PAGE_CACHE": strconv.FormatBool(pageCache),
		"GATEWAY_ADDR":       "127.0.0.1:0", "GATEWAY_DATA_DIR": dir, "GATEWAY_REDIS_URL": redisURL,
		"GATEWAY_BOOTSTRAP_USER": rootUser, "GATEWAY_BOOTSTRAP_PASSWORD": rootPass,
		// The load generator logs in many times from one address.
		"GATEWAY_LOGIN_FAILURES_PER_IP": "1000000", "GATEWAY_MAX_PAGE": "1000", "GATEWAY_RATE_LIMIT": "0",
		// The realtime comparison declares its resource (the harness sets it).
		"GATEWAY_RESOURCES_FILE": os.Getenv("GATEWAY_RESOURCES_FILE"),
	}
	return config.Load(func(k string) string { return env[k] })
}

// serveChild runs the servers under load until standard input closes.
func serveChild(dir, redisURL, cpuProfile string, pageCache bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cfg, err := gatewayConfig(dir, redisURL, pageCache)
	if err != nil {
		return err
	}
	// A real JSON log line per request, formatted as in production and
	// written nowhere (slog.DiscardHandler would skip the formatting cost).
	log := slog.New(slog.NewJSONHandler(io.Discard, nil)) //nolint:sloglint // see above
	var answer atomic.Pointer[[]byte]
	empty := []byte("{}")
	answer.Store(&empty)
	var parts server.Parts
	var listenErr error
	err = server.RunWith(ctx, cfg, log, server.Hooks{
		OnBuilt: func(p server.Parts) { parts = p },
		OnListen: func(addr string) {
			info := childInfo{Gateway: addr}
			rungs := parts.Server.Ladder(gateway.LadderDeps{Tokens: parts.Tokens, Policy: parts.Policy,
				Answer: func() []byte { return *answer.Load() }}, "gym")
			for _, r := range rungs {
				a := addr // the last rung is the gateway itself
				if r.Handler != http.Handler(parts.Server) {
					if a, err = listen(ctx, r.Handler); err != nil {
						listenErr = err
						cancel()
						return
					}
				}
				info.Rungs = append(info.Rungs, rungInfo{Name: r.Name, Addr: a})
			}
			if info.Baseline, err = listen(ctx, baselineHandler(&answer)); err == nil {
				info.Stats, err = listen(ctx, statsHandler(&answer))
			}
			if err != nil {
				listenErr = err
				cancel()
				return
			}
			_ = json.NewEncoder(os.Stdout).Encode(info)
		},
	})
	return errors.Join(err, listenErr)
}

// listen serves h on a loopback port until ctx ends.
func listen(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return ln.Addr().String(), nil
}

// baselineHandler serves GET /baseline from a bare Gin engine: the same JSON
// bytes every time, from memory, the practical limit of the HTTP stack.
func baselineHandler(answer *atomic.Pointer[[]byte]) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/baseline", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", *answer.Load())
	})
	return e
}

// statsHandler serves GET /stats (what the child has spent) and PUT /answer
// (the bytes the baseline and the early rungs send).
func statsHandler(answer *atomic.Pointer[[]byte]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(readProcStats())
	})
	mux.HandleFunc("PUT /answer", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer.Store(&b)
	})
	return mux
}
