package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

// Kind names what a mail is for; each kind has a plain-text and an HTML
// template.
type Kind string

// The mails the gateway sends.
const (
	Verify Kind = "verify" // confirm an account's email address
	Reset  Kind = "reset"  // choose a new password
	Invite Kind = "invite" // an administrator made the account: choose its password
)

// Kinds lists every kind of mail.
func Kinds() []Kind { return []Kind{Verify, Reset, Invite} }

// Data is what a template may show.
type Data struct {
	// Username is the account's name.
	Username string
	// Token is the one-time token, to paste.
	Token string
	// Link opens the page that takes the token (the console's, on the
	// gateway's public address).
	Link string
	// PublicURL is the gateway's address as browsers reach it, for
	// templates that build a link of their own (an app's deep link).
	PublicURL string
	// Minutes is how long the token works.
	Minutes int
}

//go:embed templates
var builtIn embed.FS

// Templates are the parsed templates of every kind.
type Templates struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

// LoadTemplates parses the built-in templates and, from dir when it is not
// empty, the operator's replacements: <kind>.txt (its first line
// "Subject: …", then a blank line, then the body) and <kind>.html. A file
// missing from dir keeps the built-in one. Every template is tried on sample
// data, so a mistake stops the start rather than a mail.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	for _, k := range Kinds() {
		for _, ext := range []string{".txt", ".html"} {
			name := string(k) + ext
			src, err := fs.ReadFile(builtIn, "templates/"+name)
			if err != nil {
				return nil, err
			}
			if dir != "" {
				own, err := os.ReadFile(filepath.Join(dir, name))
				switch {
				case err == nil:
					src = own
				case !errors.Is(err, fs.ErrNotExist):
					return nil, fmt.Errorf("mail template %s: %w", name, err)
				}
			}
			if err := t.parse(k, ext, name, string(src)); err != nil {
				return nil, err
			}
		}
		if _, err := t.Render(k, Data{Username: "sample", Token: "sample-token", Link: "https://example.com/#t", PublicURL: "https://example.com", Minutes: 30}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Templates) parse(k Kind, ext, name, src string) error {
	if ext == ".html" {
		h, err := htmltemplate.New(name).Option("missingkey=error").Parse(src)
		if err != nil {
			return fmt.Errorf("mail template %s: %w", name, err)
		}
		t.html[k] = h
		return nil
	}
	if !strings.HasPrefix(src, "Subject: ") {
		return fmt.Errorf("mail template %s: the first line must be \"Subject: …\"", name)
	}
	p, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return fmt.Errorf("mail template %s: %w", name, err)
	}
	t.text[k] = p
	return nil
}

// Render makes the message of a kind for d (without its recipient).
func (t *Templates) Render(k Kind, d Data) (Message, error) {
	text, html := t.text[k], t.html[k]
	if text == nil || html == nil {
		return Message{}, fmt.Errorf("mail: no template for %q", k)
	}
	var tb, hb bytes.Buffer
	if err := text.Execute(&tb, d); err != nil {
		return Message{}, fmt.Errorf("mail template %s: %w", text.Name(), err)
	}
	if err := html.Execute(&hb, d); err != nil {
		return Message{}, fmt.Errorf("mail template %s: %w", html.Name(), err)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(tb.String(), "\r\n", "\n"), "\n")
	subject := strings.TrimSpace(strings.TrimPrefix(head, "Subject: "))
	if subject == "" {
		return Message{}, fmt.Errorf("mail template %s: the subject is empty", text.Name())
	}
	return Message{Subject: subject, Text: strings.TrimLeft(body, "\n"), HTML: hb.String()}, nil
}
