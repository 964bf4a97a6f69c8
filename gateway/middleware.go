package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

const (
	ctxRequestID = "gateway.request_id"
	ctxPrincipal = "gateway.principal"
)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// validRequestID accepts a caller's id only if it is short and plain, so it
// can go into logs and headers as it is.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// withRequestID takes the caller's X-Request-Id when it is plain, or makes
// one, and echoes it.
func withRequestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Next()
}

// accessLog writes one JSON line per request and records the HTTP metrics.
// It logs the route template, never headers or bodies.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	elapsed := time.Since(start)
	method := methodLabel(c.Request.Method)
	if isHead(c.Request.Context()) {
		method = http.MethodHead
	}
	s.metrics.requests.WithLabelValues(method, route, statusLabel(status)).Inc()
	s.metrics.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
		slog.String("request_id", requestID(c)),
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int("bytes", c.Writer.Size()),
		slog.String("client_ip", c.ClientIP()),
	)
}

// statusLabel is a status as a metric label: the three digits of a status
// the gateway can write, and "other" for anything else.
func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}

// recovery turns a panic into an InternalError envelope; the panic and its
// stack go to the log only.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r)
			}
			s.log.ErrorContext(c.Request.Context(), "panic",
				slog.String("request_id", requestID(c)),
				slog.Any("panic", r),
				slog.String("stack", string(debug.Stack())))
			if !c.Writer.Written() {
				s.fail(c, errors.New("panic"))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// limitBody refuses a declared length over the limit at once and caps what
// can be read from any body (chunked ones included), and gives the request a
// deadline for everything it does downstream.
func (s *Server) limitBody(c *gin.Context) {
	limit, timeout := s.cfg.MaxBodyBytes, s.cfg.RequestTimeout
	if route := c.FullPath(); route == routeRestore || route == routeBackup || route == routeUpload {
		// An upload's files are bounded one by one by their field, as
		// they stream; the request as a whole, like an archive.
		limit, timeout = s.cfg.MaxRestoreBytes, s.cfg.BulkTimeout
	}
	if c.Request.ContentLength > limit {
		s.fail(c, resources.Errorf(resources.ETOOLARGE, "the request body is larger than %d bytes", limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// refuseAmbiguousLength answers 400 to a request whose head declared both
// Content-Length and Transfer-Encoding (see WatchHeads), and closes the
// connection at once: whatever follows on it cannot be framed safely.
func (s *Server) refuseAmbiguousLength(c *gin.Context) {
	if !smuggled(c.Request.Context()) {
		c.Next()
		return
	}
	// Chunked, so its length is unknown (-1): closeUnread closes.
	s.fail(c, closeUnread(c, resources.Errorf(resources.EINVALIDREQUEST, "a request may not declare both Content-Length and Transfer-Encoding")))
}

// limitRate answers 429 with Retry-After to a client address over its
// request rate. It stands before every route, probes and metrics included,
// and before routing decides anything.
func (s *Server) limitRate(c *gin.Context) {
	if s.limiter == nil {
		c.Next()
		return
	}
	if ok, wait := s.limiter.allow(c.ClientIP(), time.Now()); !ok {
		s.fail(c, &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many requests from this address; slow down"), After: wait})
		return
	}
	c.Next()
}
