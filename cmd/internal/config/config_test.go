package config

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	cfg, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.DataDir != "./data" || cfg.MongoDB != "gateway" || cfg.MaxBodyBytes != 1<<20 || cfg.MaxPage != 1000 ||
		cfg.KeyringFile != "data/keyring.json" || cfg.AccessTTL.Minutes() != 15 || cfg.RSABits != 3072 {
		t.Errorf("defaults: %+v", cfg)
	}
	for k, v := range map[string]string{
		"GATEWAY_MAX_BODY_BYTES":   "-1",
		"GATEWAY_REQUEST_TIMEOUT":  "soon",
		"GATEWAY_LOG_LEVEL":        "loud",
		"GATEWAY_BOOTSTRAP_USER":   "onlyuser",
		"GATEWAY_WECHAT_APPID":     "noSecret",
		"GATEWAY_INSECURE_COOKIES": "maybe",
	} {
		if _, err := Load(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	for _, uri := range []string{"mongodb://gw:hunter2@db:27017/?replicaSet=rs0", "redis://:hunter2@redis:6379/0"} {
		if got := MaskURI(uri); strings.Contains(got, "hunter2") {
			t.Errorf("password not masked: %s", got)
		}
	}
}

// TestREADMETableIsTheTable: the README's table of settings is the one the
// Config struct writes; change the struct's tags, then the README with
// `go test ./cmd/internal/config -run TestREADMETable -update`.
func TestREADMETableIsTheTable(t *testing.T) {
	const path = "../../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, end := "<!-- settings -->\n", "<!-- /settings -->"
	i, j := strings.Index(string(readme), start), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("the README has no %q … %q section", start, end)
	}
	got, want := string(readme[i+len(start):j]), Markdown()
	if got == want {
		return
	}
	if *update {
		out := string(readme[:i+len(start)]) + want + string(readme[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's settings differ from the Config struct's; run with -update\nREADME:\n%s\nstruct:\n%s", got, want)
}

var update = flag.Bool("update", false, "rewrite the README's table of settings from the Config struct")

// TestConfigLogsMasked: the logged configuration hides every secret and
// reads durations as durations.
func TestConfigLogsMasked(t *testing.T) {
	cfg, err := Load(func(k string) string {
		return map[string]string{
			"GATEWAY_MONGO_URI": "mongodb://gw:hunter2@db:27017/", "GATEWAY_REDIS_URL": "redis://:hunter3@redis:6379/0",
			"GATEWAY_BOOTSTRAP_USER": "root_user", "GATEWAY_BOOTSTRAP_PASSWORD": "hunter4 long", "GATEWAY_WECHAT_APPID": "wx",
			"GATEWAY_WECHAT_SECRET": "hunter5",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", slog.Any("config", cfg))
	line := buf.String()
	for _, secret := range []string{"hunter2", "hunter3", "hunter4", "hunter5"} {
		if strings.Contains(line, secret) {
			t.Errorf("%s is in the log: %s", secret, line)
		}
	}
	for _, want := range []string{`"request_timeout":"30s"`, `"bootstrap_password_set":true`, `"log_level":"INFO"`, `"rate_limit":200`} {
		if !strings.Contains(line, want) {
			t.Errorf("the log lacks %s: %s", want, line)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		720 * time.Hour: "720h", 5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Second: "1m30s",
		30 * time.Second: "30s", 0: "0s", time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
