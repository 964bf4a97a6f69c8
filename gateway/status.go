package gateway

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/crypto"
)

// StoreCheck names one backing store and checks that it answers.
type StoreCheck struct {
	// Name is what the store holds ("documents", "sessions").
	Name string
	// Backend is what it runs on ("sqlite", "mongodb", "redis").
	Backend string
	Ping    func(ctx context.Context) error
}

// storeState is one store in the status report.
type storeState struct {
	Name      string  `json:"name"`
	Backend   string  `json:"backend"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
}

// statusReport is GET /api/admin/status: what an operator checks first.
// It names no address, path or credential of a store.
type statusReport struct {
	Version       string           `json:"version"`
	GoVersion     string           `json:"go_version"`
	StartedAt     string           `json:"started_at"`
	UptimeSeconds int64            `json:"uptime_seconds"`
	Stores        []storeState     `json:"stores"`
	Keys          []crypto.KeyInfo `json:"keys"`
}

func (s *Server) status(c *gin.Context) error {
	if err := s.admin.CanSeeStatus(principal(c)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	out := statusReport{
		Version: s.version, GoVersion: runtime.Version(),
		StartedAt: s.started.UTC().Format(time.RFC3339), UptimeSeconds: int64(time.Since(s.started).Seconds()),
		Stores: make([]storeState, len(s.stores)), Keys: s.keys.Keys(),
	}
	for i, st := range s.stores {
		began := time.Now()
		err := st.Ping(ctx)
		out.Stores[i] = storeState{Name: st.Name, Backend: st.Backend, OK: err == nil, LatencyMS: float64(time.Since(began).Microseconds()) / 1000}
	}
	ok(c, http.StatusOK, out, "")
	return nil
}
