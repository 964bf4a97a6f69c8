package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
)

func TestRotateKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: path, RSABits: 2048, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	before := k.PayloadPublicKey().Kid
	var out, errOut bytes.Buffer
	if err := run([]string{"rotate-keys", "--keyring", path}, nil, &out, &errOut); err != nil {
		t.Fatalf("rotate: %v %s", err, errOut.String())
	}
	var res map[string]string
	_ = json.Unmarshal(out.Bytes(), &res)
	if res["previous_kid"] != before || res["current_kid"] == before {
		t.Errorf("output: %s", out.String())
	}
	if err := k.Reload(); err != nil || k.PayloadPublicKey().Kid != res["current_kid"] {
		t.Errorf("a gateway's keyring after the rotation: %v", err)
	}
	if err := run([]string{"rotate-keys", "--keyring", filepath.Join(t.TempDir(), "none.json")}, nil, &out, &errOut); err == nil {
		t.Error("rotating a missing keyring succeeded")
	}
}

func TestEncryptForAGateway(t *testing.T) {
	k, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: filepath.Join(t.TempDir(), "keyring.json"), RSABits: 2048, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(k.PayloadPublicKey())
	}))
	defer srv.Close()
	for _, extra := range [][]string{nil, {"--block"}} {
		var out, errOut bytes.Buffer
		args := append(append([]string{"encrypt", "--gateway", srv.URL}, extra...), "username=alice", "password=pass=word")
		if err := run(args, nil, &out, &errOut); err != nil {
			t.Fatalf("encrypt %v: %v %s", extra, err, errOut.String())
		}
		pt, err := k.OpenPayload(strings.TrimSpace(out.String()))
		if err != nil {
			t.Fatalf("the gateway cannot open it: %v", err)
		}
		var m map[string]any
		_ = json.Unmarshal(pt, &m)
		if m["username"] != "alice" || m["password"] != "pass=word" || m["ts"] == nil || len(m["nonce"].(string)) < 22 {
			t.Errorf("payload: %v", m)
		}
	}
	var out, errOut bytes.Buffer
	if err := run([]string{"encrypt", "--gateway", srv.URL}, nil, &out, &errOut); err == nil {
		t.Error("empty payload accepted")
	}
	if err := run([]string{"frobnicate"}, nil, &out, &errOut); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "keyring.json")
	var out, errOut bytes.Buffer
	if err := run([]string{"keygen", "--keyring", path, "--rsa-bits", "2048"}, nil, &out, &errOut); err != nil {
		t.Fatalf("keygen: %v %s", err, errOut.String())
	}
	if _, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: path, Grace: time.Hour}); err != nil {
		t.Errorf("the new keyring does not open: %v", err)
	}
	if err := run([]string{"keygen", "--keyring", path}, nil, &out, &errOut); err == nil {
		t.Error("keygen overwrote an existing keyring")
	}
}
