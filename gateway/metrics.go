package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tnt/gateway/resources/account"
)

// Metrics are the gateway's Prometheus series, on a registry of their own
// (no global default registry). One value serves the HTTP layer and, as a
// timed.Observer, the timed document store.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	denials      *prometheus.CounterVec
	store        *prometheus.HistogramVec
}

// NewMetrics registers the gateway's series.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_failures_total",
			Help: "Failed authentications by reason.",
		}, []string{"reason"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_policy_denials_total",
			Help: "Requests the policy refused, by resource and action.",
		}, []string{"resource", "action"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_store_duration_seconds",
			Help:    "Document store latency by operation and outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op", "outcome"}),
	}
	// Known reasons start at zero, so dashboards show a flat line, not a gap.
	for _, r := range append([]string{"malformed_header", "admin_credentials", "bearer_token", "unsupported_scheme"}, account.Reasons()...) {
		m.authFailures.WithLabelValues(r)
	}
	m.registry.MustRegister(m.requests, m.duration, m.authFailures, m.denials, m.store,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveStore records one document-store call (timed.Observer).
func (m *Metrics) ObserveStore(op, outcome string, d time.Duration) {
	m.store.WithLabelValues(op, outcome).Observe(d.Seconds())
}
