// Package config reads the gateway's settings from GATEWAY_* variables, once,
// for the server and the operator's CLI alike, and opens the stores they
// name. The Config struct is the one table of settings: each field's tags
// give its variable, default and meaning, and the same table fills the
// struct, masks secrets when it is logged and writes the README's table.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the server. Tags: env names the variable;
// default is its value when unset ("" for none) and shown, unless show
// says how the README puts it; help is its meaning; mask is "secret" (logged
// as set or not) or "uri" (logged with its password hidden); min is the
// smallest number allowed (1 when absent).
type Config struct {
	Addr              string        `env:"GATEWAY_ADDR" default:":8080" help:"listen address"`
	DataDir           string        `env:"GATEWAY_DATA_DIR" default:"./data" help:"directory of the embedded store (\x60gateway.db\x60)"`
	MongoURI          string        `env:"GATEWAY_MONGO_URI" mask:"uri" help:"MongoDB connection string; documents go to MongoDB instead of the embedded store"`
	MongoDB           string        `env:"GATEWAY_MONGO_DB" default:"gateway" help:"MongoDB database name"`
	BootstrapUser     string        `env:"GATEWAY_BOOTSTRAP_USER" help:"level-0 user created at start when no level-0 user exists"`
	BootstrapPassword string        `env:"GATEWAY_BOOTSTRAP_PASSWORD" mask:"secret" help:"its password (8–128 characters)"`
	ResourcesFile     string        `env:"GATEWAY_RESOURCES_FILE" help:"JSON file declaring more resources"`
	PolicyFile        string        `env:"GATEWAY_POLICY_FILE" help:"Casbin policy CSV replacing the built-in policy"`
	PolicyModelFile   string        `env:"GATEWAY_POLICY_MODEL_FILE" help:"Casbin model replacing the built-in model"`
	MaxBodyBytes      int64         `env:"GATEWAY_MAX_BODY_BYTES" default:"1048576" help:"largest request body; larger gets 413"`
	MaxPage           int           `env:"GATEWAY_MAX_PAGE" default:"1000" help:"most documents in one query page"`
	RequestTimeout    time.Duration `env:"GATEWAY_REQUEST_TIMEOUT" default:"30s" help:"deadline of one request's store work"`
	ShutdownGrace     time.Duration `env:"GATEWAY_SHUTDOWN_GRACE" default:"20s" help:"time in-flight requests get to finish on SIGTERM"`
	DrainDelay        time.Duration `env:"GATEWAY_DRAIN_DELAY" default:"0s" help:"time \x60/readyz\x60 reports 503 before the listener closes on SIGTERM"`
	TrustedProxies    []string      `env:"GATEWAY_TRUSTED_PROXIES" show:"none" help:"comma-separated addresses or CIDRs whose \x60X-Forwarded-For\x60 is believed"`
	CORSOrigins       []string      `env:"GATEWAY_CORS_ORIGINS" show:"none" help:"comma-separated exact origins (\x60https://app.example.com\x60) whose pages may call the API with credentials; none: same origin only"`
	LogLevel          slog.Level    `env:"GATEWAY_LOG_LEVEL" default:"info" help:"\x60debug\x60, \x60info\x60, \x60warn\x60 or \x60error\x60"`
	HashConcurrency   int           `env:"GATEWAY_HASH_CONCURRENCY" show:"CPUs (at least 2)" help:"password hashes computed at once (argon2id, 19 MiB each)"`
	AdminCacheTTL     time.Duration `env:"GATEWAY_ADMIN_CACHE_TTL" default:"5m" help:"how long a verified admin credential skips the password hash"`
	RedisURL          string        `env:"GATEWAY_REDIS_URL" mask:"uri" help:"Redis URL (\x60redis://:password@host:6379/0\x60); sessions, nonces and counters go to Redis instead of the embedded store (\x60sessions.db\x60) — required to run several replicas"`
	AccessTTL         time.Duration `env:"GATEWAY_ACCESS_TTL" default:"15m" help:"access token lifetime"`
	RefreshTTL        time.Duration `env:"GATEWAY_REFRESH_TTL" default:"720h" help:"session (refresh token) lifetime"`
	AdminTTL          time.Duration `env:"GATEWAY_ADMIN_TTL" default:"720h" help:"admin token lifetime"`
	WeChatAppID       string        `env:"GATEWAY_WECHAT_APPID" help:"WeChat mini-program app id; WeChat login answers 503 without it"`
	WeChatSecret      string        `env:"GATEWAY_WECHAT_SECRET" mask:"secret" help:"WeChat app secret"`
	WeChatAPIBase     string        `env:"GATEWAY_WECHAT_API_BASE" show:"WeChat's" help:"base URL of WeChat's API"`
	KeyringFile       string        `env:"GATEWAY_KEYRING_FILE" show:"\x60<data dir>/keyring.json\x60" help:"payload and signing keys (created on first start, mode 0600; share it between replicas)"`
	RSABits           int           `env:"GATEWAY_RSA_BITS" default:"3072" help:"size of new payload-decryption keys"`
	KeyGrace          time.Duration `env:"GATEWAY_KEY_GRACE" default:"168h" help:"how long a rotated-out key keeps working"`
	JWTIssuer         string        `env:"GATEWAY_JWT_ISSUER" default:"gateway" help:"\x60iss\x60 of issued tokens"`
	JWTAudience       string        `env:"GATEWAY_JWT_AUDIENCE" default:"gateway-api" help:"\x60aud\x60 of issued tokens"`
	InsecureCookies   bool          `env:"GATEWAY_INSECURE_COOKIES" default:"false" help:"drop the Secure flag of refresh cookies (plain-HTTP development only)"`
	FailuresPerUser   int64         `env:"GATEWAY_LOGIN_FAILURES_PER_USER" default:"10" help:"failed logins for one username from one client address in the window before 429"`
	FailuresPerIP     int64         `env:"GATEWAY_LOGIN_FAILURES_PER_IP" default:"50" help:"failed logins from one client address in the window before 429"`
	FailuresPerAcct   int64         `env:"GATEWAY_LOGIN_FAILURES_PER_ACCOUNT" default:"20" help:"failed logins for one account from clients without its device token, from every address together, in the window before such clients get 429"`
	FailWindow        time.Duration `env:"GATEWAY_LOGIN_FAIL_WINDOW" default:"15m" help:"window of the failed-login counters"`
	MaxRestoreBytes   int64         `env:"GATEWAY_MAX_RESTORE_BYTES" default:"1073741824" help:"largest restore archive (\x60POST /api/admin/restore\x60)"`
	BulkTimeout       time.Duration `env:"GATEWAY_BULK_TIMEOUT" default:"10m" help:"deadline of a backup or a restore"`
	RateLimit         int           `env:"GATEWAY_RATE_LIMIT" default:"200" min:"0" help:"requests per second one client address may make on one replica (0: no limit); 429 with \x60Retry-After\x60 beyond"`
	RateBurst         int           `env:"GATEWAY_RATE_BURST" default:"400" help:"burst above the rate one client address may make"`
	Console           bool          `env:"GATEWAY_CONSOLE" default:"on" help:"serve the admin console at \x60/console/\x60 (\x60on\x60 or \x60off\x60)"`
	PageCache         bool          `env:"GATEWAY_PAGE_CACHE" default:"on" help:"serve a repeated query again while the embedded store shows no write since (\x60off\x60: read every query; MongoDB never caches)"`
	SessionCache      bool          `env:"GATEWAY_SESSION_CACHE" default:"on" help:"serve session checks from memory, told of every revocation (\x60off\x60: read the session store on every request, e.g. while replicas of a version without the cache still run)"`
	SetupTTL          time.Duration `env:"GATEWAY_SETUP_TTL" default:"1h" help:"how long the first run's one-time setup link works (logged while no level-0 user exists)"`
	PublicURL         string        `env:"GATEWAY_PUBLIC_URL" show:"\x60http://localhost:<port>\x60" help:"the gateway's address as browsers reach it, for the setup link and the links in mails"`
	SMTPURL           string        `env:"GATEWAY_SMTP_URL" mask:"uri" help:"mail server: \x60smtp://[user:password@]host:port\x60 (STARTTLS whenever offered; \x60?tls=required\x60 refuses a server without it) or \x60smtps://…\x60; without it, routes that send mail answer 503 and an admin's reset gives a link"`
	MailFrom          string        `env:"GATEWAY_MAIL_FROM" help:"sender of the gateway's mails (\x60Gateway <noreply@example.com>\x60); required with GATEWAY_SMTP_URL"`
	MailTemplates     string        `env:"GATEWAY_MAIL_TEMPLATES" help:"directory of mail templates replacing the built-in ones (\x60reset.txt\x60, \x60reset.html\x60, \x60verify.*\x60, \x60invite.*\x60)"`
	S3Endpoint        string        `env:"GATEWAY_S3_ENDPOINT" help:"S3-compatible store for uploaded files (\x60https://s3.example.com\x60, path-style); files go to \x60<data dir>/files\x60 without it"`
	S3Bucket          string        `env:"GATEWAY_S3_BUCKET" help:"the bucket files go to (it must exist)"`
	S3AccessKey       string        `env:"GATEWAY_S3_ACCESS_KEY" help:"the S3 access key"`
	S3SecretKey       string        `env:"GATEWAY_S3_SECRET_KEY" mask:"secret" help:"the S3 secret key"`
	S3Region          string        `env:"GATEWAY_S3_REGION" default:"us-east-1" help:"the S3 region"`
	FilesQuota        int64         `env:"GATEWAY_FILES_QUOTA_PER_USER" default:"0" min:"0" help:"bytes of stored files one user may have uploaded (0: no bound); an upload past it gets 413"`
	MaxImagePixels    int64         `env:"GATEWAY_MAX_IMAGE_PIXELS" default:"40000000" help:"largest image (width × height) an upload may hold, decided from its header before decoding"`
	MFALevels         []int64       `env:"GATEWAY_MFA_LEVELS" show:"none" help:"comma-separated levels that must sign in with a second factor (\x600,1\x60); without one their sign-in may only enrol it"`
	RealtimeRetention time.Duration `env:"GATEWAY_REALTIME_RETENTION" default:"10m" help:"how long missed realtime events can be replayed to a client that reconnects with \x60Last-Event-ID\x60"`
	RealtimeStreams   int           `env:"GATEWAY_REALTIME_MAX_STREAMS" default:"5" min:"1" help:"open event streams per session (or per admin-scheme user); one more gets 429"`
	RealtimePerAddr   int           `env:"GATEWAY_REALTIME_MAX_PER_ADDRESS" default:"1000" min:"1" help:"open event streams per client address on one replica; one more gets 429"`
}

// Setting documents one variable: its name, default and meaning, as the
// Config struct's tags give them.
type Setting struct {
	Name, Default, Help string
	// Shown is the default as the README shows it.
	Shown string
	field reflect.StructField
	index int
}

// Settings lists every variable the gateway reads, in the struct's order.
func Settings() []Setting {
	t := reflect.TypeFor[Config]()
	out := make([]Setting, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		s := Setting{Name: f.Tag.Get("env"), Default: f.Tag.Get("default"), Help: f.Tag.Get("help"), field: f, index: i}
		switch {
		case f.Tag.Get("show") != "":
			s.Shown = f.Tag.Get("show")
		case s.Default != "":
			s.Shown = "`" + s.Default + "`"
		default:
			s.Shown = "unset"
		}
		out = append(out, s)
	}
	return out
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	levelType    = reflect.TypeFor[slog.Level]()
)

// set parses v into the setting's field of c.
func (s Setting) set(c *Config, v string) error {
	dst := reflect.ValueOf(c).Elem().Field(s.index)
	minimum := int64(1)
	if m := s.field.Tag.Get("min"); m != "" {
		minimum, _ = strconv.ParseInt(m, 10, 64)
	}
	switch {
	case s.field.Type == durationType:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 30s or 5m")
		}
		dst.SetInt(int64(d))
	case s.field.Type == levelType:
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			return err
		}
		dst.SetInt(int64(l))
	case dst.Kind() == reflect.String:
		dst.SetString(v)
	case dst.Kind() == reflect.Bool:
		b, err := parseSwitch(v)
		if err != nil {
			return err
		}
		dst.SetBool(b)
	case dst.Kind() == reflect.Int || dst.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < minimum {
			if minimum == 0 {
				return fmt.Errorf("want a whole number, 0 for no limit")
			}
			return fmt.Errorf("want a positive integer")
		}
		dst.SetInt(n)
	case dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Int64:
		var list []int64
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil || n < 0 || n > 5 {
				return fmt.Errorf("want levels from 0 to 5, separated by commas")
			}
			list = append(list, n)
		}
		dst.Set(reflect.ValueOf(list))
	case dst.Kind() == reflect.Slice:
		var list []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		dst.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("setting %s has a type the table cannot read", s.Name) // a programming error in the struct
	}
	return nil
}

// Load reads the configuration through getenv, applying defaults.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range Settings() {
		v := getenv(s.Name)
		if v == "" {
			v = s.Default
		}
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", s.Name, v, err)
		}
	}
	if c.KeyringFile == "" {
		c.KeyringFile = filepath.Join(c.DataDir, "keyring.json")
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = max(2, runtime.NumCPU())
	}
	if (c.WeChatAppID == "") != (c.WeChatSecret == "") {
		return Config{}, fmt.Errorf("GATEWAY_WECHAT_APPID and GATEWAY_WECHAT_SECRET go together")
	}
	if (c.S3Endpoint == "") != (c.S3Bucket == "") {
		return Config{}, fmt.Errorf("GATEWAY_S3_ENDPOINT and GATEWAY_S3_BUCKET go together")
	}
	if c.SMTPURL != "" && c.MailFrom == "" {
		return Config{}, fmt.Errorf("GATEWAY_SMTP_URL needs GATEWAY_MAIL_FROM, the sender of the mails")
	}
	if (c.BootstrapUser == "") != (c.BootstrapPassword == "") {
		return Config{}, fmt.Errorf("GATEWAY_BOOTSTRAP_USER and GATEWAY_BOOTSTRAP_PASSWORD go together")
	}
	return c, nil
}

// LogValue prints the configuration with secrets masked: a secret shows
// only whether it is set, a URI has its password hidden, durations read as
// durations ("30s").
func (c Config) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	settings := Settings()
	attrs := make([]slog.Attr, 0, len(settings))
	for _, s := range settings {
		key := strings.ToLower(strings.TrimPrefix(s.Name, "GATEWAY_"))
		f := v.Field(s.index)
		switch {
		case s.field.Tag.Get("mask") == "secret":
			attrs = append(attrs, slog.Bool(key+"_set", f.String() != ""))
		case s.field.Tag.Get("mask") == "uri":
			attrs = append(attrs, slog.String(key, MaskURI(f.String())))
		case s.field.Type == durationType:
			attrs = append(attrs, slog.String(key, ShortDuration(time.Duration(f.Int()))))
		case s.field.Type == levelType:
			attrs = append(attrs, slog.String(key, slog.Level(f.Int()).String()))
		default:
			attrs = append(attrs, slog.Any(key, f.Interface()))
		}
	}
	return slog.GroupValue(attrs...)
}

// Markdown is the README's table of settings.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, s := range Settings() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Name, s.Shown, s.Help)
	}
	return b.String()
}

// MaskURI hides the password of a connection string.
func MaskURI(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable, hidden)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.Redacted()
}

// parseSwitch reads a boolean setting: true, false, on, off, 1 or 0.
func parseSwitch(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("want on or off")
	}
	return b, nil
}

// ShortDuration writes a duration as a person would: 720h, 5m, 1m30s, 0s —
// without the zero minutes and seconds Go's own form adds (720h0m0s).
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
