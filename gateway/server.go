package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

// Config holds the HTTP layer's settings.
type Config struct {
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request downstream.
	RequestTimeout time.Duration
	// TrustedProxies are the addresses or CIDRs whose forwarding headers are
	// believed; none by default.
	TrustedProxies []string
	// JSON bounds the shape of request bodies.
	JSON resources.JSONLimits
	// MaxRestoreBytes is the largest restore archive accepted.
	MaxRestoreBytes int64
	// BulkTimeout bounds a backup or a restore.
	BulkTimeout time.Duration
	// RateLimit is the requests per second each client address may make to
	// /api (bursts of RateBurst); 0 turns the limit off.
	RateLimit, RateBurst int
	// InsecureCookies drops the Secure flag of the refresh cookies (plain
	// HTTP development only).
	InsecureCookies bool
	// Console serves the admin console at /console/.
	Console bool
	// CORSOrigins are the exact origins whose pages may call the API
	// with credentials (API.md §9); none by default.
	CORSOrigins []string
}

// operations runs envelope operations (resources.Service).
type operations interface {
	Execute(ctx context.Context, p resources.Principal, resource string, env *resources.Envelope) (resources.Result, error)
	Get(ctx context.Context, p resources.Principal, resource, id string) (resources.Result, error)
	Discover(ctx context.Context, p resources.Principal, resource string, data map[string]any) (resources.Result, error)
	OpenToGuests(resource string) bool
	Discoverable(p resources.Principal) []resources.Document
	Schema(resource string) (*resources.Schema, error)
	Schemas() []*resources.Schema
	MaxPage() int
}

// Deps are the parts the HTTP layer calls.
type Deps struct {
	Operations operations
	Auth       accountService
	Keys       keyPublisher
	Wallet     walletService
	Admin      adminService
	// Metrics are the series to record into; new ones when nil.
	Metrics *Metrics
	// Ready reports whether every backing store is reachable.
	Ready func(ctx context.Context) error
	// Stores are the backing stores one by one, for the status report.
	Stores []StoreCheck
	// Version names the build, for the status report.
	Version string
	// Setup is the first run's one-time link; nil when a level-0 user
	// existed at start.
	Setup  setupService
	Logger *slog.Logger
	// Realtime serves event streams; the routes answer 503 without it.
	Realtime realtimeService
	// Files uploads and serves the files of file fields; the routes
	// answer 503 without it.
	Files fileService
}

// Server is the gateway's HTTP handler.
type Server struct {
	cfg     Config
	ops     operations
	auth    accountService
	keys    keyPublisher
	wallet  walletService
	admin   adminService
	ready   func(ctx context.Context) error
	stores  []StoreCheck
	version string
	started time.Time
	setup   setupService
	// realtime is nil on a gateway without event streams.
	realtime realtimeService
	// files is nil on a gateway without file storage.
	files   fileService
	log     *slog.Logger
	metrics *Metrics
	engine  *gin.Engine
	limiter *rateLimiter
	// crossOrigin refuses a cookie-transport refresh sent from another
	// origin (by Sec-Fetch-Site, or Origin against Host).
	crossOrigin *http.CrossOriginProtection
	// openapi is the API description, generated at start from the
	// registry.
	openapi  []byte
	draining atomic.Bool
	// origins are the listed cross-origin clients; routes are the route
	// templates by method, for preflights.
	origins map[string]bool
	routes  map[string][]string
}

// New builds the router.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRestoreBytes <= 0 {
		cfg.MaxRestoreBytes = 1 << 30
	}
	if cfg.BulkTimeout <= 0 {
		cfg.BulkTimeout = 10 * time.Minute
	}
	if cfg.JSON.MaxDepth == 0 {
		cfg.JSON = resources.DefaultJSONLimits()
	}
	s := &Server{cfg: cfg, ops: deps.Operations, auth: deps.Auth, keys: deps.Keys, wallet: deps.Wallet, admin: deps.Admin, ready: deps.Ready, log: deps.Logger, metrics: deps.Metrics,
		stores: deps.Stores, version: deps.Version, started: time.Now(), setup: deps.Setup, realtime: deps.Realtime, files: deps.Files}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.limiter = newRateLimiter(cfg.RateLimit, cfg.RateBurst)
	var schemas []*resources.Schema
	maxPage := 0
	if s.ops != nil {
		schemas, maxPage = s.ops.Schemas(), s.ops.MaxPage()
	}
	doc, err := buildOpenAPI(openAPIDocument, schemas, maxPage)
	if err != nil {
		return nil, err
	}
	s.openapi = doc
	s.crossOrigin = http.NewCrossOriginProtection()
	if len(cfg.CORSOrigins) > 0 {
		s.origins = map[string]bool{}
		for _, o := range cfg.CORSOrigins {
			if err := s.crossOrigin.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("cross-origin client %q: %w", o, err)
			}
			s.origins[o] = true
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	e.Use(withRequestID, s.accessLog, s.recovery, s.cors, s.refuseAmbiguousLength, s.limitRate, preflight)
	e.NoRoute(s.handler(func(c *gin.Context) error {
		if methodLabel(c.Request.Method) == "OTHER" {
			return methodNotAllowed(c)
		}
		return resources.Errorf(resources.ENOTFOUND, "no route for %s %s", c.Request.Method, clip(c.Request.URL.Path))
	}))
	e.NoMethod(s.handler(methodNotAllowed))

	api := e.Group("/api", s.limitBody, s.authenticate)
	s.bindOperationalRoutes(e, api)
	s.bindWebRoutes(e, api)
	s.bindAccountRoutes(api)
	s.bindSetupRoutes(api)
	s.bindWalletRoutes(api)
	s.bindAdminRoutes(api)
	s.bindRealtimeRoutes(api)
	s.bindFileRoutes(api)
	s.bindResourceRoutes(api) // last: its /:resource patterns take what the others leave
	s.routes = map[string][]string{}
	for _, r := range e.Routes() {
		s.routes[r.Method] = append(s.routes[r.Method], r.Path)
	}
	s.engine = e
	return s, nil
}

// ServeHTTP makes the Server an http.Handler. A HEAD request is served by
// the GET route of its path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, asGet(r)) }

// methodNotAllowed answers a method the path does not serve, or no path
// serves; the method is named only when it is one of HTTP's own.
func methodNotAllowed(c *gin.Context) error {
	// The router lists the methods of the path's routes; every GET route
	// also answers HEAD.
	if allow := c.Writer.Header().Get("Allow"); strings.Contains(allow, http.MethodGet) && !strings.Contains(allow, http.MethodHead) {
		c.Writer.Header().Set("Allow", strings.Replace(allow, http.MethodGet, http.MethodGet+", "+http.MethodHead, 1))
	}
	return resources.Errorf(resources.EMETHOD, "%s is not allowed on %s", methodLabel(c.Request.Method), clip(c.Request.URL.Path))
}

// Drain marks the server as shutting down: /readyz answers 503 from now on,
// so load balancers stop sending new work while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
