package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tnt/gateway/crypto"
)

// keyPublisher publishes the gateway's public keys (crypto.Keyring).
type keyPublisher interface {
	PayloadPublicKey() crypto.PublicKeyInfo
	JWKS() jose.JSONWebKeySet
	RecordKeys() jose.JSONWebKeySet
	Keys() []crypto.KeyInfo
}

// bindOperationalRoutes registers what operators and tools read: liveness,
// readiness, metrics, the keys clients encrypt to and verify with, and the
// API's description.
func (s *Server) bindOperationalRoutes(e *gin.Engine, api *gin.RouterGroup) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	e.GET("/.well-known/jwks.json", s.jwks)
	api.GET("/gpk", s.gpk)
	api.GET("/transaction_record_keys", s.recordKeys)
	api.GET("/openapi.json", s.openAPI)
}

func (s *Server) healthz(c *gin.Context) {
	writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	if s.draining.Load() {
		writeJSON(c, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		writeJSON(c, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(c, http.StatusOK, map[string]string{"status": "ready"})
}

// gpk serves GET /api/gpk: the payload public key, not in the envelope.
func (s *Server) gpk(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	writeJSON(c, http.StatusOK, s.keys.PayloadPublicKey())
}

// jwks serves GET /.well-known/jwks.json.
func (s *Server) jwks(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	writeJSON(c, http.StatusOK, s.keys.JWKS())
}

// recordKeys serves GET /api/transaction_record_keys: the keys that verify
// transaction records offline, not in the envelope.
func (s *Server) recordKeys(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	writeJSON(c, http.StatusOK, s.keys.RecordKeys())
}

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", s.openapi)
}
