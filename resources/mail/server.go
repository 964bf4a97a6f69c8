package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strconv"
	"time"
)

// Server is an SMTP server to send through, as GATEWAY_SMTP_URL names it.
type Server struct {
	// Addr is host:port.
	Addr string
	// ImplicitTLS is smtps://: TLS from the first byte.
	ImplicitTLS bool
	// RequireTLS refuses a smtp:// server that does not offer STARTTLS.
	RequireTLS bool
	// Username and Password authenticate (AUTH PLAIN) when set; they are
	// only ever sent over TLS.
	Username, Password string
	// TLS configures the TLS connection; nil verifies the server's
	// certificate against the system's roots under the host's name.
	TLS *tls.Config
	// Timeout bounds one delivery, from dialling to QUIT.
	Timeout time.Duration
}

// ParseURL reads smtp://[user:password@]host[:port][?tls=required] or
// smtps://[user:password@]host[:port]. The port defaults to 587 for smtp
// and 465 for smtps.
func ParseURL(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Server{}, errors.New("not a URL: smtp://[user:password@]host:port or smtps://…")
	}
	var s Server
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.ImplicitTLS, port = true, "465"
	default:
		return Server{}, fmt.Errorf("scheme %q: smtp or smtps", u.Scheme)
	}
	if u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.Fragment != "" || u.Opaque != "" {
		return Server{}, errors.New("give smtp://[user:password@]host:port, with nothing after the port but ?tls=required")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Server{}, fmt.Errorf("port %q is not a port", p)
		}
		port = p
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && v[0] == "required":
			s.RequireTLS = true
		default:
			return Server{}, fmt.Errorf("unknown parameter %q: only tls=required is known", k)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
		if s.Username == "" {
			return Server{}, errors.New("a password without a user name")
		}
	}
	s.Timeout = 30 * time.Second
	return s, nil
}

// String names the server without its credentials, for logs.
func (s Server) String() string {
	scheme := "smtp"
	if s.ImplicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + s.Addr
}

// ErrNoTLS is a delivery refused because the server offers no STARTTLS
// while TLS is required, or while credentials would go in the clear.
var ErrNoTLS = errors.New("mail: the SMTP server does not offer STARTTLS")

// Send delivers one message (its bytes as composed) from from to to.
func (s Server) Send(ctx context.Context, from, to string, msg []byte) error {
	return s.session(ctx, func(c *smtp.Client) error {
		if err := c.Mail(from); err != nil {
			return err
		}
		if err := c.Rcpt(to); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
		return w.Close()
	})
}

// Ping connects, starts TLS and authenticates as a delivery would, and
// sends nothing: the operator's check that mail can go.
func (s Server) Ping(ctx context.Context) error {
	return s.session(ctx, func(*smtp.Client) error { return nil })
}

// session connects to the server, starts TLS (from the start, or by
// STARTTLS whenever offered), authenticates when it has credentials, runs
// work and quits, all within the timeout.
func (s Server) session(ctx context.Context, work func(c *smtp.Client) error) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.Addr)
	tlsConfig := s.TLS.Clone()
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.ImplicitTLS {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer c.Close()
	if !s.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return err
			}
		} else if s.RequireTLS || s.Username != "" {
			return ErrNoTLS
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := work(c); err != nil {
		return err
	}
	return c.Quit()
}
