package main

import (
	"fmt"
	"log/slog"
	"net/url"
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
}

// setting documents one variable: its name, default and meaning. The README
// table is written from the same words.
type setting struct {
	name, def, help string
	apply           func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
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

// LoadConfig reads the configuration through getenv, applying defaults.
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range settings() {
		v := getenv(s.name)
		if v == "" {
			v = s.def
		}
		if v == "" {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", s.name, v, err)
		}
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
		slog.String("mongo_uri", maskURI(c.MongoURI)),
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
	)
}

// maskURI hides the password of a connection string.
func maskURI(raw string) string {
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
