package config

import (
	"strings"
	"testing"
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
