package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/gateway"
	"github.com/tnt/gateway/realtime"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/admin"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/files/s3test"
	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/redis"
	"github.com/tnt/gateway/resources/session/redis/redistest"
	sessionsqlite "github.com/tnt/gateway/resources/session/sqlite"
	"github.com/tnt/gateway/resources/sqlite"
	"github.com/tnt/gateway/resources/timed"
	"github.com/tnt/gateway/resources/wallet"
	"github.com/tnt/gateway/resources/wechat"
)

// coachFile declares a resource the way an operator would, to show that a
// declared resource works through the API with no code change.
const coachFile = `{"resources":[{"name":"coach","discoverable":true,"unique":"name","public":["name","specialty"],
  "fields":{"name":{"type":"string","required":true,"maxLength":100},
            "specialty":{"type":"string","indexed":true},
            "rating":{"type":"int","min":0,"max":5}}}]}`

// testPassword is every test user's password.
const testPassword = "a long test password"

// env is a running gateway over real HTTP on a real SQLite file.
type env struct {
	srv      *httptest.Server
	store    *sqlite.Store
	sessions *sessionsqlite.Store
	keyring  *crypto.Keyring
	tokens   *crypto.Tokens
	policy   resources.Authorizer
	admin    *admin.Admin
	reg      *resources.Registry
	gw       *gateway.Server
	users    map[string]resources.Principal
	// dbPath and sessionsPath are the SQLite files, for tests that look
	// inside them or lock them.
	dbPath, sessionsPath string
	logs                 *gateway.LockedWriter
	// conformance checks every answer against the served description.
	conformance *conformance
	// hub delivers changes from the change log to event streams.
	hub     *realtime.Hub
	stopHub func() // ends every stream, as a shutdown does
	changes realtime.Log
	// mailer is the outbox, when the gateway has a mail server.
	mailer *mail.Mailer
	// blobs hold the uploaded files.
	blobs files.Blobs
}

// options change what MustStartGateway builds.
type options struct {
	wechatBase     string
	auth           account.Config
	sessions       session.Store // the embedded store when nil
	requestTimeout time.Duration
	rateLimit      int
	trustedProxies []string
	// hashing replaces the light test parameters of argon2id (race tests
	// use the production ones, so that a login spends real time hashing).
	hashing *crypto.Argon2Params
	// resourcesFile and policyFile are an operator's configuration (paths);
	// the coach declaration and the default policy when empty.
	resourcesFile, policyFile string
	// noConsole turns the admin console off.
	noConsole bool
	// maxBody is the body limit; 64 KiB when 0.
	maxBody int64
	// corsOrigins are the listed cross-origin clients.
	corsOrigins []string
	// redisURL puts the change log in Redis (with sessions there).
	redisURL string
	// realtime bounds the event streams (the defaults when zero).
	realtime realtime.Config
	// smtp is the mail server mails go through; none when empty (routes
	// that send mail answer 503).
	smtp string
	// mailRetries are the outbox's waits between attempts (its defaults
	// when nil).
	mailRetries []time.Duration
	// s3 keeps uploaded files in an S3 server; a directory when nil.
	s3 *s3test.Server
	// maxImagePixels bounds uploaded images (the default when 0).
	maxImagePixels int64
	// filesQuota bounds each user's uploaded bytes (none when 0).
	filesQuota int64
}

// MustStartGateway starts the HTTP layer on fresh SQLite files with a user
// of each level from 0 to 4 (dba, sysadmin, admin, coach, member).
func MustStartGateway(tb testing.TB) *env { return MustStartGatewayWith(tb, options{}) }

// MustStartGatewayWith is MustStartGateway with options.
func MustStartGatewayWith(tb testing.TB, opt options) *env {
	tb.Helper()
	resourcesText, policyText := coachFile, ""
	for _, f := range []struct {
		path string
		text *string
	}{{opt.resourcesFile, &resourcesText}, {opt.policyFile, &policyText}} {
		if f.path != "" {
			b, err := os.ReadFile(f.path)
			if err != nil {
				tb.Fatal(err)
			}
			*f.text = string(b)
		}
	}
	kit := domaintest.MustOpenWith(tb, resourcesText, policyText)
	ctx, reg, enf := kit.Ctx, kit.Registry, kit.Policy
	metrics := gateway.NewMetrics()
	// Every write reaches the change log, as in production: a file beside
	// the store, or Redis when the sessions are there.
	var changes realtime.Log
	var err error
	if opt.redisURL != "" {
		changes, err = realtime.OpenRedisLog(opt.redisURL)
	} else {
		changes, err = realtime.OpenFileLog(ctx, filepath.Join(filepath.Dir(kit.DBPath), "realtime.db"))
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = changes.Close() })
	var hubRef atomic.Pointer[realtime.Hub]
	captured := realtime.Capture(kit.Store, changes, realtime.CaptureConfig{Schemas: reg.Schemas(), Serial: true, OnLost: func(err error) {
		if h := hubRef.Load(); h != nil {
			h.Lost(err)
		}
	}})
	ist := timed.Wrap(captured, metrics)
	blobs := mustOpenBlobs(tb, opt)
	janitor := files.NewJanitor(blobs, ist, nil)
	archived := blobs // backups hold the directory's files, not an S3 store's
	if opt.s3 != nil {
		archived = nil
	}
	svc := resources.NewService(ist, reg, enf, resources.ServiceConfig{MaxPage: 50, Files: janitor})
	if err := svc.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	hasher := kit.Hasher
	if opt.hashing != nil {
		h, err := crypto.NewHasher(*opt.hashing, 2)
		if err != nil {
			tb.Fatal(err)
		}
		hasher = h
	}
	creds := account.NewCredentialCache(100, 60e9)
	accounts := account.NewAccounts(ist, hasher, creds, nil)
	keyring := kit.Keyring
	tokens := crypto.NewTokens(keyring, crypto.TokenConfig{Issuer: "gateway", Audience: "gateway-api"})
	var wc account.WeChatExchanger
	if opt.wechatBase != "" {
		wc = wechat.New(opt.wechatBase, "wxapp", "wx-secret-value")
	}
	// As in production, session checks go through the cache, which hears
	// every revocation (the embedded store's generation, Redis pub/sub).
	var raw session.Store = kit.Sessions
	if opt.sessions != nil {
		raw = opt.sessions
	}
	live := make(chan struct{}, 1)
	cache := session.NewCache(raw, session.CacheConfig{OnHeard: func(e session.Ended) {
		if h := hubRef.Load(); h != nil {
			h.Revoked(e)
		}
	}, OnLive: func(l bool) {
		if l {
			select {
			case live <- struct{}{}:
			default:
			}
		}
	}})
	tb.Cleanup(cache.Start(context.Background()))
	if _, isRedis := raw.(*redis.Store); isRedis {
		select {
		case <-live:
		case <-time.After(30 * time.Second):
			tb.Fatal("the session cache's subscription was not confirmed within 30 s")
		}
	}
	var generation func() uint64
	if g, ok := raw.(session.Generations); ok {
		generation = g.Generation
	}
	hub := realtime.NewHub(opt.realtime, realtime.Deps{Log: changes, Follow: svc, Check: realtime.Bindings{Sessions: cache, Current: accounts.Current},
		Observe: metrics, Generation: generation})
	hubRef.Store(hub)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		hub.Run(hubCtx)
	}()
	stop := sync.OnceFunc(func() {
		stopHub()
		<-hubDone
	})
	tb.Cleanup(stop)
	select {
	case <-hub.Up():
	case <-time.After(30 * time.Second):
		tb.Fatal("the realtime hub did not find the change log within 30 s")
	}
	sessionStore := hub.Sessions(cache)
	e := &env{blobs: blobs, hub: hub, stopHub: stop, changes: changes, store: kit.Store, sessions: kit.Sessions, keyring: keyring, tokens: tokens, policy: enf, users: map[string]resources.Principal{}, logs: &gateway.LockedWriter{},
		dbPath: kit.DBPath, sessionsPath: kit.SessionsPath, conformance: &conformance{}}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	deps := account.Deps{Store: ist, Registry: reg, Accounts: accounts, Sessions: sessionStore, Tokens: tokens, Rights: enf,
		Payloads: keyring, WeChat: wc, Sealer: keyring, Log: log, Files: janitor}
	if opt.smtp != "" {
		e.mailer = mustStartMailer(tb, opt, log)
		deps.Mailer = e.mailer
		metrics.WatchMail(e.mailer)
	}
	if opt.auth.PublicURL == "" {
		opt.auth.PublicURL = "https://gateway.example.com"
	}
	auth, err := account.New(deps, opt.auth)
	if err != nil {
		tb.Fatal(err)
	}
	if err := auth.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	recoveryCtx, stopRecovery := context.WithCancel(context.Background())
	recoveryDone := make(chan struct{})
	go func() { defer close(recoveryDone); auth.Run(recoveryCtx) }()
	tb.Cleanup(func() { stopRecovery(); <-recoveryDone })
	tb.Cleanup(func() { e.conformance.report(tb) })
	for level, name := range []string{"dba", "sysadmin", "admin", "coach", "member"} {
		id, err := accounts.Create(ctx, name, testPassword, level)
		if err != nil {
			tb.Fatal(err)
		}
		e.users[name] = resources.Principal{UserID: id, Username: name, Level: level}
	}
	money, err := wallet.New(ist, reg, enf, keyring, sessionStore, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := money.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	adm := admin.New(admin.Deps{Store: ist, Registry: reg, Auth: enf, Sessions: sessionStore, Policy: enf, Credentials: creds, MaxPage: 50, ArchiveKey: keyring.ArchiveKey, Files: janitor, Blobs: archived})
	if err := adm.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	e.admin = adm
	e.reg = reg
	if opt.maxBody == 0 {
		opt.maxBody = 64 << 10
	}
	h, err := gateway.New(gateway.Config{MaxBodyBytes: opt.maxBody, RequestTimeout: opt.requestTimeout,
		RateLimit: opt.rateLimit, RateBurst: opt.rateLimit, TrustedProxies: opt.trustedProxies, Console: !opt.noConsole, CORSOrigins: opt.corsOrigins}, gateway.Deps{
		Operations: svc, Auth: auth, Keys: keyring, Wallet: money, Admin: adm, Metrics: metrics, Ready: ist.Ping, Logger: log,
		Files:    files.New(files.Config{Blobs: blobs, Docs: svc, MaxImagePixels: opt.maxImagePixels, QuotaPerUser: opt.filesQuota, Observe: metrics, Log: log}),
		Stores:   []gateway.StoreCheck{{Name: "documents", Backend: "sqlite", Ping: ist.Ping}, {Name: "sessions", Backend: "sqlite", Ping: sessionStore.Ping}},
		Realtime: hub,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.gw = h
	// Served as production serves it: the raw heads watched.
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Listener = gateway.WatchHeads(e.srv.Listener)
	e.srv.Config.ConnContext = gateway.ConnContext
	e.srv.Start()
	tb.Cleanup(e.srv.Close)
	return e
}

// resources names the gateway's resources.
func (e *env) resources() []string { return e.reg.Names() }

// eachSessionStore runs a scenario twice: on the embedded session store and
// on a real redis-server (skipped with a message where none is installed,
// failed under CI).
func eachSessionStore(t *testing.T, opt options, run func(t *testing.T, e *env)) {
	onEachSessionStore(t, opt, func(t *testing.T, o options) { run(t, MustStartGatewayWith(t, o)) })
}

// onEachSessionStore runs run in a subtest per session store (the
// embedded one, then a fresh redis-server) with opt set for it.
func onEachSessionStore(t *testing.T, opt options, run func(t *testing.T, opt options)) {
	t.Run("embedded", func(t *testing.T) { run(t, opt) })
	t.Run("redis", func(t *testing.T) { run(t, redisOptions(t, opt, redistest.Start(t))) })
}

// adminHeader is the tnt-admin-auth-scheme header of a user.
func adminHeader(user, password string) string {
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return `tnt-admin-auth-scheme realm="admin", credentials="` + cred + `"`
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	raw    string
	body   struct {
		Success          bool            `json:"success"`
		Data             json.RawMessage `json:"data"`
		ExceptionMessage string          `json:"exceptionMessage"`
		ErrorCode        string          `json:"errorCode"`
		Next             string          `json:"next"`
	}
}

// cookies returns the cookies the reply sets, by name.
func (r reply) cookies() map[string]*http.Cookie {
	set := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		set[c.Name] = c
	}
	return set
}

// call sends one request as the named user ("" for a Guest).
func (e *env) call(tb testing.TB, method, path, user, body string, headers ...string) reply {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", adminHeader(user, testPassword))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e.conformance.check(tb, e, req, resp, raw)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if method != "HEAD" && strings.HasPrefix(path, "/api") && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !strings.HasPrefix(path, "/api/gpk") && !strings.HasPrefix(path, "/api/transaction_record_keys") && !strings.HasPrefix(path, "/api/openapi") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			tb.Fatalf("%s %s: response is not the envelope: %s", method, path, raw)
		}
	}
	return r
}

// create makes a document as user and returns its _id.
func (e *env) create(tb testing.TB, user, resource, data string) string {
	tb.Helper()
	r := e.call(tb, "POST", "/api/"+resource, user, `{"operation":"create","data":`+data+`}`)
	if r.status != http.StatusCreated {
		tb.Fatalf("create %s %s: %d %s", resource, data, r.status, r.raw)
	}
	var doc struct {
		ID string `json:"_id"`
	}
	_ = json.Unmarshal(r.body.Data, &doc)
	return doc.ID
}

// mustOpenBlobs opens where the test gateway keeps files: the options' S3
// server, or a fresh directory.
func mustOpenBlobs(tb testing.TB, opt options) files.Blobs {
	tb.Helper()
	if opt.s3 != nil {
		b, err := files.OpenS3(context.Background(), files.S3Config{Endpoint: opt.s3.URL, Bucket: opt.s3.Bucket, AccessKey: "test", SecretKey: "test-secret"})
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	b, err := files.OpenDir(filepath.Join(tb.TempDir(), "files"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
