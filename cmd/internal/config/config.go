// Package config reads the gateway's settings from GATEWAY_* variables, once,
// for the server and the operator's CLI alike, and opens the stores they
// name. Every setting has a safe default; secrets are masked when logged.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the server, read once from GATEWAY_* variables.
type Config struct {
	Addr              string
	DataDir           string
	MongoURI          string
	MongoDB           string
	BootstrapUser     string
	BootstrapPassword string
	ResourcesFile     string
	PolicyFile        string
	PolicyModelFile   string
	MaxBodyBytes      int64
	MaxPage           int
	RequestTimeout    time.Duration
	ShutdownGrace     time.Duration
	DrainDelay        time.Duration
	TrustedProxies    []string
	LogLevel          slog.Level
	HashConcurrency   int
	AdminCacheTTL     time.Duration
	RedisURL          string
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	AdminTTL          time.Duration
	WeChatAppID       string
	WeChatSecret      string
	WeChatAPIBase     string
	KeyringFile       string
	RSABits           int
	KeyGrace          time.Duration
	JWTIssuer         string
	JWTAudience       string
	InsecureCookies   bool
	FailuresPerUser   int64
	FailuresPerIP     int64
	FailWindow        time.Duration
	MaxRestoreBytes   int64
	BulkTimeout       time.Duration
	RateLimit         int
	RateBurst         int
}

// Setting documents one variable: its name, default and meaning. The README
// table is written from the same words.
type Setting struct {
	Name, Default, Help string
	apply               func(c *Config, v string) error
}

// Settings lists every variable the gateway reads.
func Settings() []Setting {
	return []Setting{
		{"GATEWAY_ADDR", ":8080", "listen address", func(c *Config, v string) error { c.Addr = v; return nil }},
		{"GATEWAY_DATA_DIR", "./data", "directory of the embedded store (and, later, key files)", func(c *Config, v string) error { c.DataDir = v; return nil }},
		{"GATEWAY_MONGO_URI", "", "MongoDB connection string; documents go to MongoDB instead of the embedded store", func(c *Config, v string) error { c.MongoURI = v; return nil }},
		{"GATEWAY_MONGO_DB", "gateway", "MongoDB database name", func(c *Config, v string) error { c.MongoDB = v; return nil }},
		{"GATEWAY_BOOTSTRAP_USER", "", "level-0 user created at start when no level-0 user exists", func(c *Config, v string) error { c.BootstrapUser = v; return nil }},
		{"GATEWAY_BOOTSTRAP_PASSWORD", "", "password of the bootstrap user", func(c *Config, v string) error { c.BootstrapPassword = v; return nil }},
		{"GATEWAY_RESOURCES_FILE", "", "JSON file declaring more resources", func(c *Config, v string) error { c.ResourcesFile = v; return nil }},
		{"GATEWAY_POLICY_FILE", "", "Casbin policy CSV replacing the built-in policy", func(c *Config, v string) error { c.PolicyFile = v; return nil }},
		{"GATEWAY_POLICY_MODEL_FILE", "", "Casbin model replacing the built-in model", func(c *Config, v string) error { c.PolicyModelFile = v; return nil }},
		{"GATEWAY_MAX_BODY_BYTES", "1048576", "largest request body; larger gets 413", func(c *Config, v string) error { return positiveInt64(&c.MaxBodyBytes, v) }},
		{"GATEWAY_MAX_PAGE", "1000", "most documents in one query page", func(c *Config, v string) error {
			var n int64
			err := positiveInt64(&n, v)
			c.MaxPage = int(n)
			return err
		}},
		{"GATEWAY_REQUEST_TIMEOUT", "30s", "deadline of one request's store work", func(c *Config, v string) error { return duration(&c.RequestTimeout, v) }},
		{"GATEWAY_SHUTDOWN_GRACE", "20s", "time in-flight requests get to finish on SIGTERM", func(c *Config, v string) error { return duration(&c.ShutdownGrace, v) }},
		{"GATEWAY_DRAIN_DELAY", "0s", "time /readyz reports 503 before the listener closes on SIGTERM", func(c *Config, v string) error { return duration(&c.DrainDelay, v) }},
		{"GATEWAY_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs whose X-Forwarded-For is believed", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.TrustedProxies = append(c.TrustedProxies, p)
				}
			}
			return nil
		}},
		{"GATEWAY_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"GATEWAY_HASH_CONCURRENCY", strconv.Itoa(max(2, runtime.NumCPU())), "password hashes computed at once (19 MiB each)", func(c *Config, v string) error {
			var n int64
			err := positiveInt64(&n, v)
			c.HashConcurrency = int(n)
			return err
		}},
		{"GATEWAY_ADMIN_CACHE_TTL", "5m", "how long a verified admin credential skips the password hash", func(c *Config, v string) error { return duration(&c.AdminCacheTTL, v) }},
		{"GATEWAY_REDIS_URL", "", "Redis URL; sessions, nonces and counters go to Redis instead of the embedded store", func(c *Config, v string) error { c.RedisURL = v; return nil }},
		{"GATEWAY_ACCESS_TTL", "15m", "access token lifetime", func(c *Config, v string) error { return duration(&c.AccessTTL, v) }},
		{"GATEWAY_REFRESH_TTL", "720h", "session (refresh token) lifetime", func(c *Config, v string) error { return duration(&c.RefreshTTL, v) }},
		{"GATEWAY_ADMIN_TTL", "720h", "admin token lifetime", func(c *Config, v string) error { return duration(&c.AdminTTL, v) }},
		{"GATEWAY_WECHAT_APPID", "", "WeChat mini-program app id (WeChat login is off without it)", func(c *Config, v string) error { c.WeChatAppID = v; return nil }},
		{"GATEWAY_WECHAT_SECRET", "", "WeChat app secret", func(c *Config, v string) error { c.WeChatSecret = v; return nil }},
		{"GATEWAY_WECHAT_API_BASE", "", "base URL of WeChat's API (WeChat's own when unset)", func(c *Config, v string) error { c.WeChatAPIBase = v; return nil }},
		{"GATEWAY_KEYRING_FILE", "", "keyring file (payload and signing keys); <data dir>/keyring.json when unset", func(c *Config, v string) error { c.KeyringFile = v; return nil }},
		{"GATEWAY_RSA_BITS", "3072", "size of new payload-decryption keys", func(c *Config, v string) error {
			var n int64
			err := positiveInt64(&n, v)
			c.RSABits = int(n)
			return err
		}},
		{"GATEWAY_KEY_GRACE", "168h", "how long a rotated-out key keeps working", func(c *Config, v string) error { return duration(&c.KeyGrace, v) }},
		{"GATEWAY_JWT_ISSUER", "gateway", "iss claim of issued tokens", func(c *Config, v string) error { c.JWTIssuer = v; return nil }},
		{"GATEWAY_JWT_AUDIENCE", "gateway-api", "aud claim of issued tokens", func(c *Config, v string) error { c.JWTAudience = v; return nil }},
		{"GATEWAY_INSECURE_COOKIES", "false", "drop the Secure flag of refresh cookies (plain-HTTP development only)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.InsecureCookies = b
			return err
		}},
		{"GATEWAY_LOGIN_FAILURES_PER_USER", "10", "failed logins for one username in the window before 429", func(c *Config, v string) error { return positiveInt64(&c.FailuresPerUser, v) }},
		{"GATEWAY_LOGIN_FAILURES_PER_IP", "50", "failed logins from one client address in the window before 429", func(c *Config, v string) error { return positiveInt64(&c.FailuresPerIP, v) }},
		{"GATEWAY_LOGIN_FAIL_WINDOW", "15m", "window of the failed-login counters", func(c *Config, v string) error { return duration(&c.FailWindow, v) }},
		{"GATEWAY_MAX_RESTORE_BYTES", "1073741824", "largest restore archive", func(c *Config, v string) error { return positiveInt64(&c.MaxRestoreBytes, v) }},
		{"GATEWAY_BULK_TIMEOUT", "10m", "deadline of a backup or a restore", func(c *Config, v string) error { return duration(&c.BulkTimeout, v) }},
		{"GATEWAY_RATE_LIMIT", "200", "requests per second one client address may make to /api on one replica (0: no limit)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a whole number, 0 for no limit")
			}
			c.RateLimit = n
			return nil
		}},
		{"GATEWAY_RATE_BURST", "400", "burst above the rate one client address may make", func(c *Config, v string) error {
			var n int64
			err := positiveInt64(&n, v)
			c.RateBurst = int(n)
			return err
		}},
	}
}

func positiveInt64(dst *int64, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a positive integer")
	}
	*dst = n
	return nil
}

func duration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 30s or 5m")
	}
	*dst = d
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
		if err := s.apply(&c, v); err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", s.Name, v, err)
		}
	}
	if c.KeyringFile == "" {
		c.KeyringFile = filepath.Join(c.DataDir, "keyring.json")
	}
	if (c.WeChatAppID == "") != (c.WeChatSecret == "") {
		return Config{}, fmt.Errorf("GATEWAY_WECHAT_APPID and GATEWAY_WECHAT_SECRET go together")
	}
	if (c.BootstrapUser == "") != (c.BootstrapPassword == "") {
		return Config{}, fmt.Errorf("GATEWAY_BOOTSTRAP_USER and GATEWAY_BOOTSTRAP_PASSWORD go together")
	}
	return c, nil
}

// LogValue prints the configuration with secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("data_dir", c.DataDir),
		slog.String("mongo_uri", MaskURI(c.MongoURI)),
		slog.String("mongo_db", c.MongoDB),
		slog.String("bootstrap_user", c.BootstrapUser),
		slog.Bool("bootstrap_password_set", c.BootstrapPassword != ""),
		slog.String("resources_file", c.ResourcesFile),
		slog.String("policy_file", c.PolicyFile),
		slog.String("policy_model_file", c.PolicyModelFile),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Int("max_page", c.MaxPage),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Duration("shutdown_grace", c.ShutdownGrace),
		slog.Duration("drain_delay", c.DrainDelay),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("hash_concurrency", c.HashConcurrency),
		slog.Duration("admin_cache_ttl", c.AdminCacheTTL),
		slog.String("redis_url", MaskURI(c.RedisURL)),
		slog.Duration("access_ttl", c.AccessTTL),
		slog.Duration("refresh_ttl", c.RefreshTTL),
		slog.Duration("admin_ttl", c.AdminTTL),
		slog.String("wechat_appid", c.WeChatAppID),
		slog.Bool("wechat_secret_set", c.WeChatSecret != ""),
		slog.String("wechat_api_base", c.WeChatAPIBase),
		slog.String("keyring_file", c.KeyringFile),
		slog.Int("rsa_bits", c.RSABits),
		slog.Duration("key_grace", c.KeyGrace),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.String("jwt_audience", c.JWTAudience),
		slog.Bool("insecure_cookies", c.InsecureCookies),
		slog.Int64("login_failures_per_user", c.FailuresPerUser),
		slog.Int64("login_failures_per_ip", c.FailuresPerIP),
		slog.Duration("login_fail_window", c.FailWindow),
		slog.Int64("max_restore_bytes", c.MaxRestoreBytes),
		slog.Duration("bulk_timeout", c.BulkTimeout),
		slog.Int("rate_limit", c.RateLimit),
		slog.Int("rate_burst", c.RateBurst),
	)
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
