package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/admin"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/redis"
)

// cliActor is who the audit trail names for acts of the CLI.
func cliActor() resources.Principal {
	return resources.Principal{UserID: "gatewayctl", Username: "gatewayctl", Level: 0}
}

// local opens what the gateway opens, from the same GATEWAY_* variables.
type local struct {
	cfg      config.Config
	store    resources.Store
	reg      *resources.Registry
	closeDoc func() error
	accounts *account.Accounts
}

func openLocal(ctx context.Context) (*local, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	reg, err := config.Registry(cfg)
	if err != nil {
		return nil, err
	}
	// Writes made here reach the change log like the gateway's, so event
	// streams see them.
	data, err := config.OpenData(ctx, cfg, reg, func(err error) {
		fmt.Fprintln(os.Stderr, "warning: the change was made but could not be recorded for event streams; their clients will miss it:", err)
	})
	if err != nil {
		return nil, fmt.Errorf("document store: %w", err)
	}
	st, closeDoc := data.Store, data.Close
	if err := resources.NewService(st, reg, nil, resources.ServiceConfig{}).Prepare(ctx); err != nil {
		_ = closeDoc()
		return nil, fmt.Errorf("document store: %s", resources.ErrorMessage(err))
	}
	if err := admin.New(admin.Deps{Store: st, Registry: reg}).Prepare(ctx); err != nil {
		_ = closeDoc()
		return nil, err
	}
	hasher, err := crypto.NewHasher(crypto.OWASPParams(), 1)
	if err != nil {
		_ = closeDoc()
		return nil, err
	}
	return &local{cfg: cfg, store: st, reg: reg, closeDoc: closeDoc, accounts: account.NewAccounts(st, hasher, nil, nil)}, nil
}

func (l *local) close() { _ = l.closeDoc() }

// withLocal runs f on the configured stores, opened for a minute at most.
// openSessions opens the session store, to end a user's sessions after an
// act; undone says what is not done when it cannot be opened.
func (l *local) openSessions(ctx context.Context, undone string) (session.Store, func(), error) {
	sessions, closeSessions, err := config.OpenSessions(ctx, l.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("the session store cannot be opened to end the user's sessions, so %s: %w", undone, err)
	}
	return sessions, func() { _ = closeSessions() }, nil
}

func withLocal(f func(ctx context.Context, l *local) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := openLocal(ctx)
	if err != nil {
		return err
	}
	defer l.close()
	return f(ctx, l)
}

func readPassword(stdin io.Reader, fromStdin bool, env string) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("no password: use --password-stdin or set %s", env)
}

// bootstrap creates a level-0 user in the configured store.
func bootstrap(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the new level-0 user's name (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (else GATEWAY_BOOTSTRAP_PASSWORD)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("give --user NAME")
	}
	pass, err := readPassword(stdin, *fromStdin, "GATEWAY_BOOTSTRAP_PASSWORD")
	if err != nil {
		return err
	}
	if err := account.ValidateCredentials(*user, pass); err != nil {
		return errors.New(resources.ErrorMessage(err))
	}
	return withLocal(func(ctx context.Context, l *local) error {
		id, err := l.accounts.Create(ctx, *user, pass, 0)
		var dup *resources.DuplicateError
		if errors.As(err, &dup) {
			// Never advise promoting it: whoever registered the name may
			// not be the operator.
			return fmt.Errorf("the username %s is taken by an existing account; choose another name for the level-0 user", *user)
		}
		if err != nil {
			return err
		}
		err = l.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
			return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: cliActor(), IP: "local", Action: "bootstrap", Target: id,
				Detail: resources.Document{"username": *user}, At: time.Now()})
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created level-0 user %s (%s)\n", *user, id)
		return nil
	})
}

// setLevel sets any user's level, 0 included, and ends their sessions.
func setLevel(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("set-level", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: gatewayctl set-level USERNAME LEVEL   (LEVEL 0 DBA … 5 Guest)") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("give a username and a level")
	}
	level, err := strconv.Atoi(fs.Arg(1))
	if err != nil || !policy.Level(level).Valid() {
		return fmt.Errorf("level %q is not 0 to 5", fs.Arg(1))
	}
	return withLocal(func(ctx context.Context, l *local) error {
		sessions, closeSessions, err := l.openSessions(ctx, "the level is not changed")
		if err != nil {
			return err
		}
		defer closeSessions()
		changed, err := admin.New(admin.Deps{Store: l.store, Registry: l.reg, Sessions: sessions}).SetLevelByOperator(ctx, cliActor(), fs.Arg(0), level)
		if err != nil {
			return errors.New(resources.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "%s: level %d (%s) → %d (%s); the user's sessions ended\n", fs.Arg(0), changed.From, policy.Level(changed.From), level, policy.Level(level))
		return nil
	})
}

// resetPassword sets a new password for a user from a shell, ends every
// session of the user and audits it: the way back for an account whose
// owner (or whose operator) has lost the password.
func resetPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reset-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromStdin := fs.Bool("password-stdin", false, "read the new password from standard input (else GATEWAY_NEW_PASSWORD)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: gatewayctl reset-password [--password-stdin] USERNAME")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give a username")
	}
	username := fs.Arg(0)
	pass, err := readPassword(stdin, *fromStdin, "GATEWAY_NEW_PASSWORD")
	if err != nil {
		return err
	}
	if err := account.ValidateNewPassword(username, pass); err != nil {
		return errors.New(resources.ErrorMessage(err))
	}
	return withLocal(func(ctx context.Context, l *local) error {
		sessions, closeSessions, err := l.openSessions(ctx, "the password is not reset")
		if err != nil {
			return err
		}
		defer closeSessions()
		u, err := l.accounts.ResetPassword(ctx, username, pass, resources.AuditEntry{Actor: cliActor(), IP: "local", Action: "reset_password"})
		if err != nil {
			return errors.New(resources.ErrorMessage(err))
		}
		ended, err := sessions.RevokeUser(ctx, u.ID, "")
		if err != nil {
			return fmt.Errorf("the password is reset, but the user's sessions could not be ended (run the command again): %w", err)
		}
		fmt.Fprintf(stdout, "%s: password reset; %d sessions ended\n", username, ended)
		return nil
	})
}

// resetMFA removes a user's second factor from a shell and ends every
// session of the user, audited: the way back for an owner who lost the
// authenticator and the recovery codes. The user then signs in with the
// password alone (or, at a level that must have a factor, may only enrol
// a new one).
func resetMFA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reset-mfa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: gatewayctl reset-mfa USERNAME") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give a username")
	}
	username := fs.Arg(0)
	return withLocal(func(ctx context.Context, l *local) error {
		sessions, closeSessions, err := l.openSessions(ctx, "the second factor is not removed")
		if err != nil {
			return err
		}
		defer closeSessions()
		u, had, err := l.accounts.ResetMFA(ctx, username, resources.AuditEntry{Actor: cliActor(), IP: "local", Action: "disable_mfa"})
		if err != nil {
			return errors.New(resources.ErrorMessage(err))
		}
		if !had {
			fmt.Fprintf(stdout, "%s: no second factor to remove\n", username)
			return nil
		}
		ended, err := sessions.RevokeUser(ctx, u.ID, "")
		if err != nil {
			return fmt.Errorf("the second factor is removed, but the user's sessions could not be ended (run gatewayctl set-level or the console): %w", err)
		}
		fmt.Fprintf(stdout, "%s: second factor removed; %d sessions ended\n", username, ended)
		return nil
	})
}

// sweepFiles removes the stored files no document names (what a crash in
// the middle of an upload, or a failed removal, left), as the running
// gateway does every 10 minutes, looking only at files older than grace.
func sweepFiles(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep-files", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grace := fs.Duration("grace", time.Hour, "leave files younger than this (uploads in flight)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withLocal(func(ctx context.Context, l *local) error {
		blobs, err := config.OpenBlobs(ctx, l.cfg)
		if err != nil {
			return err
		}
		n, err := files.New(files.Config{Blobs: blobs}).Sweep(ctx, l.store, l.reg, *grace)
		if err != nil {
			return fmt.Errorf("the sweep stopped (nothing it could not check was removed): %w", err)
		}
		fmt.Fprintf(stdout, "%d files no document names removed\n", n)
		return nil
	})
}

// check is one line of the doctor's report.
type check struct {
	name string
	ok   bool
	warn bool
	info string
}

// doctor checks a deployment from where the gateway runs: configuration,
// stores, keyring, policy and resources files, and the clock.
func doctor(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("gateway", os.Getenv("GATEWAY_URL"), "a running gateway to compare clocks with (optional)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var checks []check
	add := func(c check) { checks = append(checks, c) }

	cfg, err := config.Load(os.Getenv)
	if err != nil {
		add(check{name: "configuration", info: err.Error()})
		return report(stdout, checks)
	}
	add(check{name: "configuration", ok: true, info: "GATEWAY_* variables parse"})

	st, closeDoc, err := config.OpenStore(ctx, cfg)
	if err == nil {
		err = st.Ping(ctx)
		defer func() { _ = closeDoc() }()
	}
	where := "embedded SQLite in " + cfg.DataDir
	if cfg.MongoURI != "" {
		where = "MongoDB " + config.MaskURI(cfg.MongoURI)
	}
	add(check{name: "document store", ok: err == nil, info: where + errText(err)})

	sessions, closeSessions, err := config.OpenSessions(ctx, cfg)
	if err == nil {
		err = sessions.Ping(ctx)
		defer func() { _ = closeSessions() }()
	}
	where = "embedded SQLite in " + cfg.DataDir
	if cfg.RedisURL != "" {
		where = "Redis " + config.MaskURI(cfg.RedisURL)
	}
	add(check{name: "session store", ok: err == nil, info: where + errText(err)})
	if r, isRedis := sessions.(*redis.Store); err == nil && isRedis {
		policy, perr := r.EvictionPolicy(ctx)
		switch {
		case perr != nil:
			add(check{name: "redis eviction", ok: true, warn: true, info: "cannot read maxmemory-policy (CONFIG disabled?); it must be noeviction"})
		default:
			add(check{name: "redis eviction", ok: policy == "noeviction", info: "maxmemory-policy " + policy + " (must be noeviction)"})
		}
	}

	add(keyringCheck(cfg))
	add(resourcesCheck(cfg))
	if cfg.SMTPURL != "" {
		add(mailCheck(ctx, cfg))
	}
	if *base != "" {
		add(clockCheck(ctx, *base))
	}
	return report(stdout, checks)
}

// resourcesCheck builds the resources and the policy as the gateway does,
// and warns of customers' documents every user may read.
func resourcesCheck(cfg config.Config) check {
	reg, err := config.Registry(cfg)
	if err != nil {
		return check{name: "resources and policy", info: err.Error()}
	}
	holder, err := config.Policy(cfg, reg)
	if err != nil {
		return check{name: "resources and policy", info: err.Error()}
	}
	info := fmt.Sprintf("%d resources, %d policy lines", len(reg.Names()), len(holder.Lines()))
	if shared := reg.SharedOwnedDocuments(holder); len(shared) > 0 {
		return check{name: "resources and policy", ok: true, warn: true, info: info + "; users create documents of " + strings.Join(shared, ", ") +
			" and every user may read every one of them: give each a group of its own and grant query_own (API.md §5)"}
	}
	return check{name: "resources and policy", ok: true, info: info}
}

// mailCheck connects to the mail server, starts TLS and authenticates as a
// delivery would, and sends nothing.
func mailCheck(ctx context.Context, cfg config.Config) check {
	srv, err := mail.ParseURL(cfg.SMTPURL)
	if err != nil {
		return check{name: "mail server", info: "GATEWAY_SMTP_URL: " + err.Error()}
	}
	if _, err := mail.LoadTemplates(cfg.MailTemplates); err != nil {
		return check{name: "mail server", info: err.Error()}
	}
	err = srv.Ping(ctx)
	return check{name: "mail server", ok: err == nil, info: srv.String() + errText(err)}
}

func keyringCheck(cfg config.Config) check {
	st, err := os.Stat(cfg.KeyringFile)
	if errors.Is(err, os.ErrNotExist) {
		return check{name: "keyring", ok: true, warn: true, info: cfg.KeyringFile + " does not exist yet; the gateway creates it at first start"}
	}
	if err != nil {
		return check{name: "keyring", info: err.Error()}
	}
	k, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: cfg.KeyringFile, RSABits: cfg.RSABits, Grace: cfg.KeyGrace})
	if err != nil {
		return check{name: "keyring", info: err.Error()}
	}
	info := fmt.Sprintf("%s, payload key %s, %d signing keys", cfg.KeyringFile, k.PayloadPublicKey().Kid, len(k.JWKS().Keys))
	if st.Mode().Perm()&0o077 != 0 {
		return check{name: "keyring", ok: true, warn: true, info: info + fmt.Sprintf("; mode %v lets others read the private keys (chmod 600)", st.Mode().Perm())}
	}
	return check{name: "keyring", ok: true, info: info}
}

func clockCheck(ctx context.Context, base string) check {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/healthz", nil)
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return check{name: "gateway and clock", info: "cannot reach " + base + ": " + err.Error()}
	}
	_ = resp.Body.Close()
	theirs, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return check{name: "gateway and clock", ok: true, warn: true, info: "no Date header to compare clocks"}
	}
	skew := theirs.Sub(sent.Add(time.Since(sent) / 2)).Round(time.Second)
	if skew < 0 {
		skew = -skew
	}
	// Encrypted payloads carry a timestamp checked within 300 s.
	return check{name: "gateway and clock", ok: skew < 60*time.Second, warn: skew >= 5*time.Second,
		info: fmt.Sprintf("%s answers; clocks differ by about %v (payload timestamps allow 300 s)", base, skew)}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + resources.ErrorMessage(err) + " (" + err.Error() + ")"
}

func report(w io.Writer, checks []check) error {
	failed := 0
	for _, c := range checks {
		mark := "ok  "
		switch {
		case !c.ok:
			mark = "FAIL"
			failed++
		case c.warn:
			mark = "warn"
		}
		fmt.Fprintf(w, "%s  %-18s %s\n", mark, c.name, c.info)
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}
