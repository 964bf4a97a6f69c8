package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/mail/mailtest"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]mail.Server{
		"smtp://mail.example.com":                    {Addr: "mail.example.com:587"},
		"smtp://mail.example.com:25?tls=required":    {Addr: "mail.example.com:25", RequireTLS: true},
		"smtps://u%40x:p%3Ass@mail.example.com":      {Addr: "mail.example.com:465", ImplicitTLS: true, Username: "u@x", Password: "p:ss"},
		"smtp://user:secret@[::1]:2525":              {Addr: "[::1]:2525", Username: "user", Password: "secret"},
		"smtps://mail.example.com:4650?tls=required": {Addr: "mail.example.com:4650", ImplicitTLS: true, RequireTLS: true},
	} {
		got, err := mail.ParseURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		got.Timeout = 0
		if got != want {
			t.Errorf("%s = %+v, want %+v", raw, got, want)
		}
	}
	for _, raw := range []string{"", "http://mail.example.com", "smtp://", "smtp://host:99999", "smtp://host:25/path",
		"smtp://host?tls=maybe", "smtp://host?other=1", "smtp://:pw@host", "mail.example.com:25"} {
		if _, err := mail.ParseURL(raw); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
	s, _ := mail.ParseURL("smtp://user:secret@mail.example.com:25")
	if strings.Contains(s.String(), "secret") || s.String() != "smtp://mail.example.com:25" {
		t.Errorf("String() = %q: it must name the server without credentials", s.String())
	}
}

func message(t *testing.T, to, body string) []byte {
	t.Helper()
	raw, err := mail.Compose("Gateway <noreply@example.com>", mail.Message{To: to, Subject: "Réinitialiser", Text: body, HTML: "<p>" + body + "</p>"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSendOverEveryTransport(t *testing.T) {
	cases := []struct {
		name    string
		opts    mailtest.Options
		url     func(s *mailtest.Server) string
		wantTLS bool
	}{
		{"plain", mailtest.Options{}, (*mailtest.Server).URL, false},
		{"starttls when offered", mailtest.Options{StartTLS: true}, (*mailtest.Server).URL, true},
		{"starttls required", mailtest.Options{StartTLS: true}, func(s *mailtest.Server) string { return s.URL() + "?tls=required" }, true},
		{"starttls with auth", mailtest.Options{StartTLS: true, Username: "app", Password: "s3cret"}, (*mailtest.Server).URL, true},
		{"implicit tls with auth", mailtest.Options{ImplicitTLS: true, Username: "app", Password: "s3cret"}, (*mailtest.Server).URL, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := mailtest.Start(t, c.opts)
			s, err := mail.ParseURL(c.url(srv))
			if err != nil {
				t.Fatal(err)
			}
			s.TLS = srv.TLS
			if err := s.Send(context.Background(), "noreply@example.com", "ana@example.com", message(t, "ana@example.com", "hello")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitFor(t, "ana@example.com", 0)
			if got.TLS != c.wantTLS || got.User != c.opts.Username || got.From != "noreply@example.com" {
				t.Errorf("arrived with TLS %v, user %q, from %q", got.TLS, got.User, got.From)
			}
			if got.Header("Subject") != "Réinitialiser" || got.Part("text/plain") != "hello" || got.Part("text/html") != "<p>hello</p>" {
				t.Errorf("arrived as subject %q, text %q, html %q", got.Header("Subject"), got.Part("text/plain"), got.Part("text/html"))
			}
		})
	}
}

func TestSendRefusesWithoutTLS(t *testing.T) {
	plain := mailtest.Start(t, mailtest.Options{})
	for _, raw := range []string{plain.URL() + "?tls=required", "smtp://app:s3cret@" + plain.Addr} {
		s, _ := mail.ParseURL(raw)
		err := s.Send(context.Background(), "noreply@example.com", "ana@example.com", message(t, "ana@example.com", "hello"))
		if !errors.Is(err, mail.ErrNoTLS) {
			t.Errorf("%s: err = %v, want ErrNoTLS", strings.Replace(raw, "s3cret", "…", 1), err)
		}
	}
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("%d messages went over a connection that was refused", n)
	}
	// A certificate nobody vouches for is refused too.
	tlsSrv := mailtest.Start(t, mailtest.Options{StartTLS: true})
	s, _ := mail.ParseURL(tlsSrv.URL())
	if err := s.Send(context.Background(), "noreply@example.com", "ana@example.com", message(t, "ana@example.com", "hello")); err == nil {
		t.Error("an unverified certificate was accepted")
	}
	// Wrong credentials fail the delivery.
	authSrv := mailtest.Start(t, mailtest.Options{StartTLS: true, Username: "app", Password: "s3cret"})
	s, _ = mail.ParseURL("smtp://app:wrong@" + authSrv.Addr)
	s.TLS = authSrv.TLS
	if err := s.Send(context.Background(), "noreply@example.com", "ana@example.com", message(t, "ana@example.com", "hello")); err == nil {
		t.Error("wrong credentials were accepted")
	}
}

func TestComposeRefusesHeaderInjection(t *testing.T) {
	for _, to := range []string{"ana@example.com\r\nBcc: eve@example.com", "Ana <ana@example.com>", "ana@example.com>", "not-an-address", ""} {
		if _, err := mail.Compose("noreply@example.com", mail.Message{To: to, Subject: "s", Text: "t", HTML: "h"}, time.Now()); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
	if _, err := mail.Compose("noreply@example.com", mail.Message{To: "ana@example.com", Subject: "s\r\nBcc: eve@example.com", Text: "t", HTML: "h"}, time.Now()); err == nil {
		t.Error("a subject with a line break was accepted")
	}
	raw := message(t, "ana@example.com", "paste AbC-_123xyz")
	if !bytes.Contains(raw, []byte("paste AbC-_123xyz")) {
		t.Error("an ASCII body is not verbatim in the message")
	}
}

func TestTemplates(t *testing.T) {
	builtIn, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range mail.Kinds() {
		m, err := builtIn.Render(k, mail.Data{Username: "ana", Token: "TOKEN-123", Link: "https://gw.example.com/console/#x=TOKEN-123", Minutes: 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{m.Text, m.HTML} {
			if !strings.Contains(part, "TOKEN-123") || !strings.Contains(part, "https://gw.example.com/console/#x=TOKEN-123") || !strings.Contains(part, "ana") {
				t.Errorf("%s: a part lacks the token, the link or the name:\n%s", k, part)
			}
		}
		if m.Subject == "" || strings.HasPrefix(m.Text, "\n") {
			t.Errorf("%s: subject %q, text starts %q", k, m.Subject, m.Text[:10])
		}
	}
	// HTML escapes what a user chose (a display name in a username is
	// not possible, but a template must not trust its data).
	m, _ := builtIn.Render(mail.Reset, mail.Data{Username: "<script>", Token: "t", Link: "javascript:alert(1)", Minutes: 30})
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("the HTML part does not escape its data:\n%s", m.HTML)
	}

	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "reset.txt"), []byte("Subject: Passwort vergessen?\n\nHallo {{.Username}}: {{.Token}} ({{.PublicURL}})\n"), 0o600)
	own, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ = own.Render(mail.Reset, mail.Data{Username: "ana", Token: "T", PublicURL: "https://gw", Minutes: 30})
	if m.Subject != "Passwort vergessen?" || m.Text != "Hallo ana: T (https://gw)\n" || !strings.Contains(m.HTML, "T") {
		t.Errorf("the operator's template is not used: %+v", m)
	}
	for name, body := range map[string]string{
		"invite.txt":  "no subject line\n",
		"verify.txt":  "Subject: x\n\n{{.Nope}}\n",
		"reset.html":  "{{.Token",
		"verify.html": "{{.Password}}",
	} {
		bad := t.TempDir()
		_ = os.WriteFile(filepath.Join(bad, name), []byte(body), 0o600)
		if _, err := mail.LoadTemplates(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("a broken %s: err = %v, want one naming the file", name, err)
		}
	}
}

// logged collects log records and signals each one.
type logged struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	records chan string
}

func (l *logged) handler() slog.Handler {
	return slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		l.mu.Lock()
		l.buf.Write(p)
		l.mu.Unlock()
		l.records <- string(p)
		return len(p), nil
	}), nil)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (l *logged) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r := <-l.records:
			if strings.Contains(r, text) {
				return
			}
		case <-timeout:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("nothing logged %q; the log:\n%s", text, l.buf.String())
		}
	}
}

func newMailer(t *testing.T, s mail.Sender, log *logged, retries []time.Duration) *mail.Mailer {
	t.Helper()
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.New(mail.Config{Server: s, From: "Gateway <noreply@example.com>", PublicURL: "https://gw.example.com/", Templates: tpl,
		Log: slog.New(log.handler()), Retries: retries})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOutboxRetriesUntilTheServerIsBack(t *testing.T) {
	// An address where nothing listens yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s, _ := mail.ParseURL("smtp://" + addr)
	log := &logged{records: make(chan string, 100)}
	retries := make([]time.Duration, 200)
	for i := range retries {
		retries[i] = 20 * time.Millisecond
	}
	m := newMailer(t, s, log, retries)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if err := m.Send(mail.Reset, "ana@example.com", mail.Data{Username: "ana", Token: "SECRET-TOKEN-1", Minutes: 30}); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "mail delivery failed; it is tried again")
	if st := m.Stats(); st.Failed == 0 || st.Queued != 1 || st.Sent != 0 {
		t.Fatalf("while the server is down: %+v", st)
	}
	srv := mailtest.Start(t, mailtest.Options{Addr: addr})
	got := srv.WaitFor(t, "ana@example.com", 0)
	if !strings.Contains(got.Part("text/plain"), "SECRET-TOKEN-1") || !strings.Contains(got.Part("text/plain"), "https://gw.example.com/console/#reset=SECRET-TOKEN-1") {
		t.Errorf("the mail lacks its token or link:\n%s", got.Part("text/plain"))
	}
	if from, err := netmail.ParseAddress(got.Header("From")); err != nil || from.Name != "Gateway" || from.Address != "noreply@example.com" {
		t.Errorf("From: %q", got.Header("From"))
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if strings.Contains(log.buf.String(), "SECRET-TOKEN-1") {
		t.Error("a token reached the log")
	}
}

func TestOutboxGivesUpLoudly(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.Stop()
	s, _ := mail.ParseURL(srv.URL())
	log := &logged{records: make(chan string, 100)}
	m := newMailer(t, s, log, []time.Duration{time.Millisecond, time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	if err := m.Send(mail.Verify, "ana@example.com", mail.Data{Username: "ana", Token: "SECRET-TOKEN-2", Minutes: 30}); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "mail not delivered: given up")
	if st := m.Stats(); st.Failed != 3 || st.Dropped != 1 || st.Queued != 0 {
		t.Errorf("after three failed attempts: %+v", st)
	}
	// Mails still waiting when the gateway stops are given up loudly too.
	m2 := newMailer(t, s, log, []time.Duration{time.Hour})
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { defer close(done2); m2.Run(ctx2) }()
	_ = m2.Send(mail.Verify, "bob@example.com", mail.Data{Username: "bob", Token: "SECRET-TOKEN-3", Minutes: 30})
	log.waitFor(t, "mail delivery failed; it is tried again")
	cancel2()
	<-done2
	if st := m2.Stats(); st.Dropped != 1 || st.Queued != 0 {
		t.Errorf("after stopping with a mail waiting: %+v", st)
	}
	cancel()
	<-done
	log.mu.Lock()
	defer log.mu.Unlock()
	if strings.Contains(log.buf.String(), "SECRET-TOKEN") {
		t.Error("a token reached the log")
	}
}
