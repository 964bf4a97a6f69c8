package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// adminFlags are the flags of the commands that call a gateway as an admin.
type adminFlags struct {
	base, user string
	stdinPass  bool
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.base, "gateway", envOr("GATEWAY_URL", "http://localhost:8080"), "the gateway's base URL")
	fs.StringVar(&a.user, "user", os.Getenv("GATEWAY_ADMIN_USER"), "a level-0 user (or GATEWAY_ADMIN_USER)")
	fs.BoolVar(&a.stdinPass, "password-stdin", false, "read the password from standard input (else GATEWAY_ADMIN_PASSWORD)")
}

func (a *adminFlags) header(stdin io.Reader) (string, error) {
	if a.user == "" {
		return "", errors.New("give --user or set GATEWAY_ADMIN_USER")
	}
	pass, err := readPassword(stdin, a.stdinPass, "GATEWAY_ADMIN_PASSWORD")
	if err != nil {
		return "", err
	}
	return "tnt-admin-auth-scheme " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+pass)), nil
}

// progress writes a one-line progress display to w as bytes pass.
type progress struct {
	w       io.Writer
	label   string
	total   int64 // 0 when unknown
	done    int64
	started time.Time
	last    time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if now := time.Now(); now.Sub(p.last) > 200*time.Millisecond {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	const width = 30
	rate := float64(p.done) / max(time.Since(p.started).Seconds(), 0.001) / (1 << 20)
	if p.total > 0 {
		n := int(float64(width) * float64(p.done) / float64(p.total))
		n = min(n, width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %s %.1f MiB/s", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n),
			100*p.done/p.total, size(p.done), rate)
		return
	}
	fmt.Fprintf(p.w, "\r%s %s %.1f MiB/s", p.label, size(p.done), rate)
}

func (p *progress) finish() {
	p.draw()
	fmt.Fprintln(p.w)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// apiError reads the gateway's error envelope into a plain sentence.
func apiError(resp *http.Response) error {
	var env struct {
		Message string `json:"exceptionMessage"`
		Code    string `json:"errorCode"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &env) == nil && env.Message != "" {
		return fmt.Errorf("the gateway answered %d %s: %s", resp.StatusCode, env.Code, env.Message)
	}
	return fmt.Errorf("the gateway answered %s", resp.Status)
}

func backup(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a adminFlags
	a.register(fs)
	out := fs.String("out", "", "the archive file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("give --out FILE")
	}
	auth, err := a.header(stdin)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(a.base, "/")+"/api/admin/backup", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the gateway: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	tmp := *out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	p := &progress{w: stderr, label: "backup", started: time.Now()}
	_, err = io.Copy(io.MultiWriter(f, p), resp.Body)
	p.finish()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the backup stream broke off: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, size(p.done))
	return nil
}

func restore(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a adminFlags
	a.register(fs)
	in := fs.String("in", "", "the archive file to restore (required)")
	yes := fs.Bool("yes", false, "confirm: the archive replaces the gateway's data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("give --in FILE")
	}
	if !*yes {
		return errors.New("a restore replaces the data it holds; add --yes to confirm")
	}
	auth, err := a.header(stdin)
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	p := &progress{w: stderr, label: "restore", total: st.Size(), started: time.Now()}
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(a.base, "/")+"/api/admin/restore", io.TeeReader(f, p))
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	p.finish()
	if err != nil {
		return fmt.Errorf("cannot reach the gateway: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	fmt.Fprintf(stdout, "restored %v documents in %v collections\n", env.Data["documents"], env.Data["collections"])
	return nil
}
