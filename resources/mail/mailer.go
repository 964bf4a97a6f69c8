package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Sender delivers a composed message (Server).
type Sender interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

// Config builds a Mailer.
type Config struct {
	// Server delivers the messages.
	Server Sender
	// From is the sender: an address, or a name and an address.
	From string
	// PublicURL is the gateway's address as browsers reach it; links
	// open its console there.
	PublicURL string
	// Templates are the messages' words.
	Templates *Templates
	// Log receives every failed delivery (never a token).
	Log *slog.Logger
	// Queue bounds the messages waiting (1000 when 0).
	Queue int
	// Retries are the waits before each new attempt of a failed delivery
	// (5 s, 30 s, 2 min, 5 min, 10 min when nil): the last attempt is
	// still within a token's 30 minutes.
	Retries []time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Stats count the outbox's work since the start.
type Stats struct {
	// Sent are the messages the server accepted.
	Sent uint64
	// Failed are the attempts that failed (each retry counts).
	Failed uint64
	// Dropped are the messages given up: every attempt failed, the queue
	// was full, or the gateway stopped before they went.
	Dropped uint64
	// Queued are the messages waiting now.
	Queued int64
}

// Mailer renders mails and delivers them from an outbox in the background:
// a caller never waits for the SMTP server, so an answer takes the same
// time whether a mail goes or not. A failed delivery is logged, counted
// and tried again; one given up is logged as an error and counted as
// dropped, so nothing is lost without a signal.
type Mailer struct {
	cfg     Config
	from    *mail.Address
	in      chan letter
	sent    atomic.Uint64
	failed  atomic.Uint64
	dropped atomic.Uint64
	queued  atomic.Int64
}

// letter is a composed message waiting in the outbox.
type letter struct {
	kind     Kind
	username string
	to       string
	msg      []byte
	attempt  int
	due      time.Time
}

// New checks the configuration and builds the mailer; Run delivers.
func New(cfg Config) (*Mailer, error) {
	if cfg.Server == nil || cfg.Templates == nil {
		return nil, errors.New("mail: a server and templates are required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		return nil, fmt.Errorf("mail: the sender %q is not a mail address", cfg.From)
	}
	if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mail: the public address %q is not an http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if cfg.Retries == nil {
		cfg.Retries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Mailer{cfg: cfg, from: from, in: make(chan letter, cfg.Queue)}, nil
}

// Link is where a mail of kind k sends its reader (LinkOn on the
// mailer's public address).
func (m *Mailer) Link(k Kind, token string) string { return LinkOn(m.cfg.PublicURL, k, token) }

// LinkOn is the link a token of kind k is handed over in, on the gateway's
// public address: the console's page for the token, which travels in the
// fragment (never sent to a server, never in an access log).
func LinkOn(publicURL string, k Kind, token string) string {
	return strings.TrimRight(publicURL, "/") + "/console/#" + string(k) + "=" + url.QueryEscape(token)
}

// Send renders a mail of kind k to the address to and puts it in the
// outbox; it does not wait for delivery. An error means nothing was queued
// (a template failed, or the outbox is full); it is also logged and
// counted.
func (m *Mailer) Send(k Kind, to string, d Data) error {
	if d.Link == "" {
		d.Link = m.Link(k, d.Token)
	}
	d.PublicURL = m.cfg.PublicURL
	msg, err := m.cfg.Templates.Render(k, d)
	if err != nil {
		return m.drop(k, d.Username, "render", err)
	}
	msg.To = to
	raw, err := Compose(m.from.String(), msg, m.cfg.Now())
	if err != nil {
		return m.drop(k, d.Username, "compose", err)
	}
	select {
	case m.in <- letter{kind: k, username: d.Username, to: to, msg: raw}:
		m.queued.Add(1)
		return nil
	default:
		return m.drop(k, d.Username, "queue", errors.New("the outbox is full"))
	}
}

// drop counts and logs a mail given up.
func (m *Mailer) drop(k Kind, username, stage string, err error) error {
	m.dropped.Add(1)
	m.cfg.Log.Error("mail not delivered: given up", slog.String("kind", string(k)), slog.String("username", username),
		slog.String("stage", stage), slog.String("error", err.Error()))
	return fmt.Errorf("mail: %s: %w", stage, err)
}

// Ping checks that mail can go: the server answers, takes TLS and the
// credentials, as a delivery needs. It sends nothing.
func (m *Mailer) Ping(ctx context.Context) error {
	if p, ok := m.cfg.Server.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Stats reports the outbox's counts.
func (m *Mailer) Stats() Stats {
	return Stats{Sent: m.sent.Load(), Failed: m.failed.Load(), Dropped: m.dropped.Load(), Queued: m.queued.Load()}
}

// Run delivers the outbox until ctx ends: each mail in turn, a failed one
// again after each wait of Config.Retries. Mails still waiting when ctx
// ends are logged and counted as dropped.
func (m *Mailer) Run(ctx context.Context) {
	var waiting []letter
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := time.Hour
		if len(waiting) > 0 {
			next = max(0, waiting[0].due.Sub(m.cfg.Now()))
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
		drain:
			for {
				select {
				case l := <-m.in:
					waiting = append(waiting, l)
				default:
					break drain
				}
			}
			for _, l := range waiting {
				m.queued.Add(-1)
				_ = m.drop(l.kind, l.username, "stopped", errors.New("the gateway stopped before the mail went"))
			}
			return
		case l := <-m.in:
			waiting = m.deliver(ctx, l, waiting)
		case <-timer.C:
			if len(waiting) > 0 && !waiting[0].due.After(m.cfg.Now()) {
				l := waiting[0]
				waiting = waiting[1:]
				waiting = m.deliver(ctx, l, waiting)
			}
		}
	}
}

// deliver tries one mail; a failure puts it back among the waiting (kept
// in order of when they are due) or, after the last attempt, drops it.
func (m *Mailer) deliver(ctx context.Context, l letter, waiting []letter) []letter {
	err := m.cfg.Server.Send(ctx, m.from.Address, l.to, l.msg)
	if err == nil {
		m.sent.Add(1)
		m.queued.Add(-1)
		return waiting
	}
	m.failed.Add(1)
	if ctx.Err() != nil || l.attempt >= len(m.cfg.Retries) {
		m.queued.Add(-1)
		_ = m.drop(l.kind, l.username, "deliver", err)
		return waiting
	}
	l.due = m.cfg.Now().Add(m.cfg.Retries[l.attempt])
	l.attempt++
	m.cfg.Log.Warn("mail delivery failed; it is tried again", slog.String("kind", string(l.kind)), slog.String("username", l.username),
		slog.Int("attempt", l.attempt), slog.String("retry_in", m.cfg.Retries[l.attempt-1].String()), slog.String("error", err.Error()))
	i := len(waiting)
	for i > 0 && waiting[i-1].due.After(l.due) {
		i--
	}
	return append(waiting[:i], append([]letter{l}, waiting[i:]...)...)
}
