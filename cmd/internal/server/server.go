// Package server builds the whole gateway from a configuration — stores,
// services, router — and serves it until its context ends, then drains and
// closes. The gateway command, the load harness and the end-to-end tests
// all start it the same way.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/gateway"
	"github.com/tnt/gateway/realtime"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/admin"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/timed"
	"github.com/tnt/gateway/resources/wallet"
	"github.com/tnt/gateway/resources/wechat"
)

// every runs f each period until ctx ends; a failure is logged with what it
// means and the loop goes on. The keyring watcher (rotations made by the
// CLI on the shared file) and the policy watcher (a policy replaced on
// another replica) are two of these.
func every(ctx context.Context, log *slog.Logger, period time.Duration, f func(context.Context) error, level slog.Level, failure string) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.LogAttrs(ctx, level, failure, slog.String("error", err.Error()))
			}
		}
	}
}

// Run builds stores → services → router and serves until ctx ends. When
// onListen is set it receives the bound address (tests listen on :0).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, onListen func(addr string)) error {
	return RunWith(ctx, cfg, log, Hooks{OnListen: onListen})
}

// Parts are the built pieces of a running gateway that the load harness
// measures one at a time (its ablation ladder).
type Parts struct {
	Server *gateway.Server
	Tokens *crypto.Tokens
	Policy resources.Authorizer
}

// Hooks let a caller follow the start: OnBuilt receives the parts before
// the listener opens, OnListen the bound address.
type Hooks struct {
	OnBuilt  func(Parts)
	OnListen func(addr string)
}

// RunWith is Run with hooks.
func RunWith(ctx context.Context, cfg config.Config, log *slog.Logger, hooks Hooks) error {
	log.Info("starting", slog.Any("config", cfg))
	reg, err := config.Registry(cfg)
	if err != nil {
		return err
	}
	enforcer, err := config.Policy(cfg, reg)
	if err != nil {
		return err
	}
	for _, name := range reg.SharedOwnedDocuments(enforcer) {
		log.Warn("every user may read every document of this resource, which users create: one customer's documents are open to all; "+
			"declare it with a group of its own and grant query_own (API.md §5)", slog.String("resource", name))
	}
	metrics := gateway.NewMetrics()
	// Every write to a resource reaches the realtime log; the hub that
	// tells the streams is built once the services it needs are.
	var hubRef atomic.Pointer[realtime.Hub]
	data, err := config.OpenData(ctx, cfg, reg, func(err error) {
		if h := hubRef.Load(); h != nil {
			h.Lost(err)
		}
	})
	if err != nil {
		return err
	}
	st := timed.Wrap(data.Store, metrics)
	defer func() {
		if err := data.Close(); err != nil {
			log.Warn("closing the store", slog.String("error", err.Error()))
		}
	}()
	blobs, err := config.OpenBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	janitor := files.NewJanitor(blobs, st, log)
	svc := resources.NewService(st, reg, enforcer, resources.ServiceConfig{MaxPage: cfg.MaxPage, NoPageCache: !cfg.PageCache, Files: janitor})
	fileSvc := files.New(files.Config{Blobs: blobs, Docs: svc, MaxImagePixels: cfg.MaxImagePixels, QuotaPerUser: cfg.FilesQuota, Observe: metrics, Log: log})
	go every(ctx, log, 10*time.Minute, func(ctx context.Context) error {
		_, err := fileSvc.Sweep(ctx, st, reg, time.Hour)
		return err
	}, slog.LevelWarn, "sweeping files no document names failed; they are swept later")
	if err := retry(ctx, log, "prepare collections", func() error { return svc.Prepare(ctx) }); err != nil {
		return err
	}
	hasher, err := crypto.NewHasher(crypto.OWASPParams(), cfg.HashConcurrency)
	if err != nil {
		return err
	}
	creds := account.NewCredentialCache(10_000, cfg.AdminCacheTTL)
	accounts := account.NewAccounts(st, hasher, creds, nil)
	rawSessions, closeSessions, err := config.OpenSessions(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := closeSessions(); err != nil {
			log.Warn("closing the session store", slog.String("error", err.Error()))
		}
	}()
	sessions := rawSessions
	if cfg.SessionCache {
		cache := session.NewCache(rawSessions, session.CacheConfig{OnLive: func(live bool) {
			if live {
				log.Info("session cache live: revocations are heard, session checks are served from memory")
				// Revocations may have gone unheard meanwhile.
				if h := hubRef.Load(); h != nil {
					h.Revoked(session.Ended{All: true})
				}
			} else {
				log.Warn("session cache in bypass: the revocation feed is down, every request reads the session store")
			}
		}, OnHeard: func(e session.Ended) {
			if h := hubRef.Load(); h != nil {
				h.Revoked(e)
			}
		}})
		metrics.WatchSessionCache(cache)
		// Stops before the store closes (defers run last first).
		defer cache.Start(ctx)()
		sessions = cache
	}
	var generation func() uint64
	if g, ok := rawSessions.(session.Generations); ok {
		generation = g.Generation
	}
	hub := realtime.NewHub(realtime.Config{Retention: cfg.RealtimeRetention, MaxPerSession: cfg.RealtimeStreams, MaxPerAddress: cfg.RealtimePerAddr},
		realtime.Deps{Log: data.Changes, Follow: svc, Check: realtime.Bindings{Sessions: sessions, Current: accounts.Current},
			Observe: metrics, Logger: log, Generation: generation})
	hubRef.Store(hub)
	// Revocations made here end the streams they affect before returning.
	sessions = hub.Sessions(sessions)
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		hub.Run(hubCtx) // ends every stream with a shutdown event when ctx ends
	}()
	defer func() {
		stopHub()
		<-hubDone
	}()
	keyring, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: cfg.KeyringFile, RSABits: cfg.RSABits, Grace: cfg.KeyGrace})
	if err != nil {
		return err
	}
	go every(ctx, log, 30*time.Second, func(context.Context) error { return keyring.ReloadIfChanged() },
		slog.LevelError, "keyring reload failed; the loaded keys stay in use")
	tokens := crypto.NewTokens(keyring, crypto.TokenConfig{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
	var wc account.WeChatExchanger
	if cfg.WeChatAppID != "" {
		wc = wechat.New(cfg.WeChatAPIBase, cfg.WeChatAppID, cfg.WeChatSecret)
	}
	mailer, err := openMailer(cfg, log)
	if err != nil {
		return err
	}
	deps := account.Deps{Store: st, Registry: reg, Accounts: accounts, Sessions: sessions, Tokens: tokens, Rights: enforcer,
		Payloads: keyring, WeChat: wc, Sealer: keyring, Log: log, Files: janitor}
	if mailer != nil {
		deps.Mailer = mailer // left a nil interface otherwise: no mail server
		metrics.WatchMail(mailer)
		mailDone := make(chan struct{})
		mailCtx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
		go func() { defer close(mailDone); mailer.Run(mailCtx) }()
		// The outbox stops last, so the mails of the last requests go.
		defer func() { stopMail(); <-mailDone }()
	}
	auth, err := account.New(deps, account.Config{
		AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, AdminTTL: cfg.AdminTTL,
		FailuresPerUser: cfg.FailuresPerUser, FailuresPerIP: cfg.FailuresPerIP, FailuresPerAccount: cfg.FailuresPerAcct, FailWindow: cfg.FailWindow,
		ReservedNames: reservedNames(cfg.BootstrapUser), PublicURL: publicURL(cfg, cfg.Addr), MFALevels: levels(cfg.MFALevels),
	})
	if err != nil {
		return err
	}
	if err := auth.Prepare(ctx); err != nil {
		return err
	}
	// The recovery worker stops after the last request and before the
	// outbox, so its last mails go out.
	recoveryCtx, stopRecovery := context.WithCancel(context.WithoutCancel(ctx))
	recoveryDone := make(chan struct{})
	go func() { defer close(recoveryDone); auth.Run(recoveryCtx) }()
	defer func() { stopRecovery(); <-recoveryDone }()
	go every(ctx, log, 10*time.Minute, func(ctx context.Context) error {
		_, err := auth.SweepTokens(ctx)
		return err
	}, slog.LevelWarn, "sweeping expired one-time tokens failed; they are refused anyway and swept later")
	if cfg.BootstrapUser != "" {
		created, err := accounts.Bootstrap(ctx, cfg.BootstrapUser, cfg.BootstrapPassword)
		if err != nil {
			return err
		}
		if created {
			log.Info("bootstrap user created", slog.String("username", cfg.BootstrapUser))
		}
	}
	money, err := wallet.New(st, reg, enforcer, keyring, sessions, nil)
	if err != nil {
		return err
	}
	if err := money.Prepare(ctx); err != nil {
		return err
	}
	go every(ctx, log, 10*time.Minute, func(ctx context.Context) error {
		_, err := money.SweepIdempotency(ctx)
		return err
	}, slog.LevelWarn, "sweeping expired idempotency keys failed; they are ignored and swept later")
	adm := admin.New(admin.Deps{Store: st, Registry: reg, Auth: enforcer, Sessions: sessions, Policy: enforcer,
		Credentials: creds, MaxPage: cfg.MaxPage, ArchiveKey: keyring.ArchiveKey, Files: janitor, Blobs: archivedBlobs(cfg, blobs)})
	if err := adm.Prepare(ctx); err != nil {
		return err
	}
	if err := adm.SyncPolicy(ctx); err != nil {
		return fmt.Errorf("stored policy: %w", err)
	}
	go every(ctx, log, 2*time.Second, adm.SyncPolicy, slog.LevelWarn, "policy sync failed; the policy in force stays")
	ready := func(ctx context.Context) error {
		return errors.Join(st.Ping(ctx), sessions.Ping(ctx))
	}
	stores := []gateway.StoreCheck{{Name: "documents", Backend: "sqlite", Ping: st.Ping}, {Name: "sessions", Backend: "sqlite", Ping: sessions.Ping}}
	if cfg.MongoURI != "" {
		stores[0].Backend = "mongodb"
	}
	if cfg.RedisURL != "" {
		stores[1].Backend = "redis"
	}
	stores = append(stores, gateway.StoreCheck{Name: "files", Backend: blobBackend(cfg), Ping: blobs.Ping})
	if mailer != nil {
		// Not part of readiness: a request never waits for mail.
		stores = append(stores, gateway.StoreCheck{Name: "mail", Backend: "smtp", Ping: mailer.Ping})
	}
	// The first run's setup link goes through the console; without it the
	// CLI is the way, and no token is made.
	var setup *account.Setup
	var setupToken string
	origins, err := gateway.ParseOrigins(strings.Join(cfg.CORSOrigins, ","))
	if err != nil {
		return fmt.Errorf("GATEWAY_CORS_ORIGINS: %w", err)
	}
	if cfg.Console {
		if setup, setupToken, err = auth.NewSetup(ctx, cfg.SetupTTL); err != nil {
			return err
		}
	} else if exists, err := accounts.HasLevelZero(ctx); err == nil && !exists {
		log.Warn("no level-0 user yet and the console is off: create the first DBA with gatewayctl bootstrap")
	}
	gwDeps := gateway.Deps{Operations: svc, Auth: auth, Keys: keyring, Wallet: money, Admin: adm, Metrics: metrics, Ready: ready, Logger: log,
		Stores: stores, Version: version(), Realtime: hub, Files: fileSvc}
	if setup != nil {
		gwDeps.Setup = setup // left a nil interface otherwise: no link to complete
	}
	srv, err := gateway.New(gateway.Config{
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout, TrustedProxies: cfg.TrustedProxies, CORSOrigins: origins,
		InsecureCookies: cfg.InsecureCookies, MaxRestoreBytes: cfg.MaxRestoreBytes, BulkTimeout: cfg.BulkTimeout,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, Console: cfg.Console,
	}, gwDeps)
	if err != nil {
		return err
	}
	if hooks.OnBuilt != nil {
		hooks.OnBuilt(Parts{Server: srv, Tokens: tokens, Policy: enforcer})
	}
	return serve(ctx, cfg, log, srv, func(addr string) {
		if setup != nil {
			logSetupLink(log, cfg, addr, setupToken)
		}
		if hooks.OnListen != nil {
			hooks.OnListen(addr)
		}
	})
}

// serve runs the HTTP server and shuts it down gracefully when ctx ends:
// readiness goes false, the listener closes, in-flight requests get the
// grace period, then the caller closes the stores.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, srv *gateway.Server, onListen func(string)) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = gateway.WatchHeads(ln)
	hs := &http.Server{
		Handler:           srv,
		ConnContext:       gateway.ConnContext,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", slog.String("addr", ln.Addr().String()))
	if onListen != nil {
		onListen(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.String("grace", config.ShortDuration(cfg.ShutdownGrace)))
	srv.Drain()
	if cfg.DrainDelay > 0 {
		time.Sleep(cfg.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// retry runs f until it succeeds, ctx ends or 30 s pass, so a gateway that
// starts before its database waits for it instead of crash-looping at once.
func retry(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	wait := 250 * time.Millisecond
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || resources.ErrorCode(err) != resources.EUNAVAILABLE {
			return err
		}
		log.Warn("store not reachable yet", slog.String("step", what), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

// reservedNames are the usernames nobody may register: the bootstrap
// user's, when one is configured.
func reservedNames(bootstrapUser string) []string {
	if bootstrapUser == "" {
		return nil
	}
	return []string{bootstrapUser}
}
