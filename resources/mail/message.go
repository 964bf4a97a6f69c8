package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one mail to send: to one address, with a subject and the same
// words as plain text and as HTML.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// CheckAddress accepts a bare address (user@host) that is safe to put in a
// header and an SMTP command: no name, no line break, no angle bracket.
func CheckAddress(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || strings.ContainsAny(addr, "\r\n<> ") {
		return errors.New("not a bare mail address")
	}
	return nil
}

// Compose writes m as an RFC 5322 message from from (a header's From:
// an address, or a name and an address): multipart/alternative
// with the plain text first. A body of short ASCII lines goes as 7bit, so
// the token in it stays verbatim in the message; any other body is
// quoted-printable.
func Compose(from string, m Message, now time.Time) ([]byte, error) {
	if err := CheckAddress(m.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("the subject holds a line break")
	}
	sender, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("the sender is not a mail address")
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	var id [12]byte
	_, _ = rand.Read(id[:])
	_, domain, _ := strings.Cut(sender.Address, "@")
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/alternative; boundary=%q\r\n\r\n",
		sender.String(), m.To, mime.QEncoding.Encode("utf-8", m.Subject), now.UTC().Format(time.RFC1123Z), hex.EncodeToString(id[:]), domain, mw.Boundary())
	for _, part := range []struct{ kind, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		body := strings.ReplaceAll(part.body, "\r\n", "\n")
		enc := "7bit"
		if !plain(body) {
			enc = "quoted-printable"
		}
		body = strings.ReplaceAll(body, "\n", "\r\n")
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {enc},
		})
		if err != nil {
			return nil, err
		}
		if enc == "7bit" {
			_, _ = w.Write([]byte(body))
			continue
		}
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write([]byte(body))
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plain reports whether a body may go as 7bit: ASCII, no NUL or bare CR,
// lines of at most 998 characters (RFC 5322 §2.1.1).
func plain(s string) bool {
	line := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			line = 0
			continue
		case c >= 0x80, c == 0, c == '\r':
			return false
		}
		if line++; line > 998 {
			return false
		}
	}
	return true
}
