// Command gateway serves the resource-operation gateway: it reads its
// configuration from GATEWAY_* variables, opens the stores, and serves HTTP
// until SIGINT or SIGTERM, then drains in-flight requests and closes.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/cmd/internal/server"
	"github.com/tnt/gateway/resources/session/redis"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-healthcheck" {
		os.Exit(healthcheck(os.Getenv("GATEWAY_ADDR")))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway: configuration:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	redis.RouteClientLogs(log)
	if err := server.Run(ctx, cfg, log, nil); err != nil {
		log.Error("gateway stopped", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

// healthcheck asks the local gateway's /healthz, for container health checks
// in images that have no shell or curl. It returns the exit status.
func healthcheck(addr string) int {
	if addr == "" {
		addr = ":8080"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 1
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
