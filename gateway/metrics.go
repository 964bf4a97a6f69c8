package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/session"
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
	realtime     realtimeMetrics
	files        fileMetrics
}

// fileMetrics are the uploaded files' series (files.Observer).
type fileMetrics struct {
	refused  *prometheus.CounterVec
	uploaded prometheus.Counter
	stored   prometheus.Gauge
}

// realtimeMetrics are the event streams' series (realtime.Observer).
type realtimeMetrics struct {
	open     prometheus.Gauge
	sent     prometheus.Counter
	dropped  prometheus.Counter
	resynced prometheus.Counter
	lag      prometheus.Histogram
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
		realtime: realtimeMetrics{
			open: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "gateway_realtime_streams",
				Help: "Event streams open on this replica.",
			}),
			sent: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "gateway_realtime_events_sent_total",
				Help: "Change events written to clients.",
			}),
			dropped: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "gateway_realtime_streams_dropped_total",
				Help: "Streams closed (after a resync event) because their client read too slowly.",
			}),
			resynced: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "gateway_realtime_resyncs_total",
				Help: "Resync events sent: a client was told to refetch.",
			}),
			lag: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "gateway_realtime_delivery_lag_seconds",
				Help:    "Time from a change's commit to its event written to a client.",
				Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
			}),
		},
	}
	m.files = fileMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_file_uploads_refused_total",
			Help: "Uploaded files refused, by reason: too_large, type, pixels, items, unreadable_image, quota.",
		}, []string{"reason"}),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_file_bytes_uploaded_total",
			Help: "Bytes of files stored by uploads on this replica.",
		}),
		stored: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_files_stored_bytes",
			Help: "Bytes of every stored file and thumbnail, as the last sweep counted them.",
		}),
	}
	for _, r := range []string{files.RefusedSize, files.RefusedType, files.RefusedPixels, files.RefusedItems, files.RefusedImage, files.RefusedQuota} {
		m.files.refused.WithLabelValues(r)
	}
	// Known reasons start at zero, so dashboards show a flat line, not a gap.
	for _, r := range append([]string{"malformed_header", "admin_credentials", "bearer_token", "unsupported_scheme"}, account.Reasons()...) {
		m.authFailures.WithLabelValues(r)
	}
	m.registry.MustRegister(m.requests, m.duration, m.authFailures, m.denials, m.store,
		m.realtime.open, m.realtime.sent, m.realtime.dropped, m.realtime.resynced, m.realtime.lag,
		m.files.refused, m.files.uploaded, m.files.stored,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// UploadRefused counts a refused file (files.Observer).
func (m *Metrics) UploadRefused(reason string) { m.files.refused.WithLabelValues(reason).Inc() }

// Uploaded counts the bytes of a stored file (files.Observer).
func (m *Metrics) Uploaded(n int64) { m.files.uploaded.Add(float64(n)) }

// StoredBytes sets the bytes every stored file takes (files.Observer).
func (m *Metrics) StoredBytes(n int64) { m.files.stored.Set(float64(n)) }

// ObserveStore records one document-store call (timed.Observer).
func (m *Metrics) ObserveStore(op, outcome string, d time.Duration) {
	m.store.WithLabelValues(op, outcome).Observe(d.Seconds())
}

// Streams records how many event streams are open (realtime.Observer).
func (m *Metrics) Streams(open int) { m.realtime.open.Set(float64(open)) }

// Delivered records one change event written, with its lag since commit.
func (m *Metrics) Delivered(lag time.Duration) {
	m.realtime.sent.Inc()
	m.realtime.lag.Observe(lag.Seconds())
}

// StreamDropped counts a stream closed for reading too slowly.
func (m *Metrics) StreamDropped() { m.realtime.dropped.Inc() }

// Resynced counts a resync event.
func (m *Metrics) Resynced() { m.realtime.resynced.Inc() }

// SessionCache is what the metrics read of the session cache.
type SessionCache interface {
	Live() bool
	Stats() session.CacheStats
}

// WatchSessionCache exports the session cache's state: whether it serves
// from memory, and how the session checks were answered.
func (m *Metrics) WatchSessionCache(c SessionCache) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_session_cache_live",
		Help: "1 while session checks are served from memory (every revocation is heard), 0 while each reads the session store.",
	}, func() float64 {
		if c.Live() {
			return 1
		}
		return 0
	}))
	for result, count := range map[string]func(session.CacheStats) uint64{
		"hit":    func(s session.CacheStats) uint64 { return s.Hits },
		"miss":   func(s session.CacheStats) uint64 { return s.Misses },
		"bypass": func(s session.CacheStats) uint64 { return s.Bypass },
	} {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "gateway_session_checks_total",
			Help:        "Session checks by result: hit (memory), miss (store, then cached), bypass (store; the cache is not live).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(count(c.Stats())) }))
	}
}

// MailOutbox is what the metrics read of the mail outbox (*mail.Mailer).
type MailOutbox interface {
	Stats() mail.Stats
}

// WatchMail exports the mail outbox's counts: mails sent, failed attempts,
// mails given up, and mails waiting. A mail given up is also logged as an
// error; an alert on gateway_mail_dropped_total tells the operator that
// someone did not get a reset or an invitation.
func (m *Metrics) WatchMail(o MailOutbox) {
	for _, c := range []struct {
		name, help string
		read       func(mail.Stats) uint64
	}{
		{"gateway_mail_sent_total", "Mails the SMTP server accepted.", func(s mail.Stats) uint64 { return s.Sent }},
		{"gateway_mail_failures_total", "Mail delivery attempts that failed (each is tried again, up to five times).", func(s mail.Stats) uint64 { return s.Failed }},
		{"gateway_mail_dropped_total", "Mails given up: every attempt failed, the outbox was full, or the gateway stopped first.", func(s mail.Stats) uint64 { return s.Dropped }},
	} {
		read := c.read
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(read(o.Stats())) }))
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_mail_queued",
		Help: "Mails waiting in the outbox, for their first attempt or a retry.",
	}, func() float64 { return float64(o.Stats().Queued) }))
}
