// Package mailtest runs a real SMTP server over TCP for tests (an
// emersion/go-smtp server in the test's process): it takes every message,
// with STARTTLS, TLS from the start or AUTH PLAIN when asked, and lets a
// test read what arrived and wait for it.
package mailtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options say what the server offers.
type Options struct {
	// StartTLS offers STARTTLS.
	StartTLS bool
	// ImplicitTLS speaks TLS from the first byte (smtps).
	ImplicitTLS bool
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
	// Addr is where to listen; a free loopback port when empty.
	Addr string
}

// Received is one message as the server took it.
type Received struct {
	From string
	To   []string
	Raw  []byte
	// TLS reports whether the message came over TLS.
	TLS bool
	// User is who authenticated, if anyone.
	User string
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string
	// TLS is a client configuration that trusts the server's certificate.
	TLS *tls.Config

	opts    Options
	srv     *smtp.Server
	ln      net.Listener
	mu      sync.Mutex
	got     []Received
	changed chan struct{}
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, changed: make(chan struct{})}
	cert, pool := selfSigned(t)
	s.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = quiet{}
	if o.StartTLS || o.ImplicitTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.srv = srv
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	if o.ImplicitTLS {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.ln = ln
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(s.Stop)
	return s
}

// URL is the smtp:// (or smtps://) URL of the server, with its
// credentials.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.opts.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if s.opts.Username != "" {
		user = s.opts.Username + ":" + s.opts.Password + "@"
	}
	return scheme + "://" + user + s.Addr
}

// Stop closes the server: deliveries to it fail until the test ends.
func (s *Server) Stop() {
	_ = s.ln.Close() // the server may not have taken it yet
	_ = s.srv.Close()
}

// Messages returns what arrived so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// WaitFor waits until a message to the address arrives beyond the first
// skip such messages, and returns it; the test fails after 30 seconds.
func (s *Server) WaitFor(t testing.TB, to string, skip int) Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := s.Next(ctx, to, skip)
	if err != nil {
		t.Fatalf("no mail to %s arrived (after %d)", to, skip)
	}
	return r
}

// Next waits until a message to the address arrives beyond the first skip
// such messages and returns it, or the context's error.
func (s *Server) Next(ctx context.Context, to string, skip int) (Received, error) {
	for {
		s.mu.Lock()
		n := 0
		for _, r := range s.got {
			for _, rcpt := range r.To {
				if strings.EqualFold(rcpt, to) {
					if n == skip {
						s.mu.Unlock()
						return r, nil
					}
					n++
				}
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Received{}, ctx.Err()
		}
	}
}

// Count is how many messages went to the address.
func (s *Server) Count(to string) int {
	n := 0
	for _, r := range s.Messages() {
		for _, rcpt := range r.To {
			if strings.EqualFold(rcpt, to) {
				n++
			}
		}
	}
	return n
}

func (s *Server) add(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Header returns a header of the message, decoded.
func (r Received) Header(name string) string {
	m, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		return ""
	}
	v := m.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// Part returns the decoded body of the part of a media type ("text/plain",
// "text/html").
func (r Received) Part(mediaType string) string {
	m, err := mail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		return ""
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if mt != mediaType {
			continue
		}
		var body io.Reader = p
		// multipart decodes quoted-printable itself and drops the header.
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(body)
		return strings.ReplaceAll(string(b), "\r\n", "\n")
	}
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.add(Received{From: ss.from, To: ss.to, Raw: raw, TLS: isTLS, User: ss.user})
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// quiet drops the server's own error log (a client hanging up mid-way).
type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
