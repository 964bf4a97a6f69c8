package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// appClient is how a mobile app talks to the gateway: it fetches the
// gateway's public key once, then encrypts credentials to it, each payload
// with the current time and a fresh random nonce.
type appClient struct {
	pub *rsa.PublicKey
	kid string
}

// newAppClient fetches GET /api/gpk and reads the PEM public key.
func newAppClient(t testing.TB, base string) *appClient {
	t.Helper()
	resp, err := http.Get(base + "/api/gpk")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var gpk struct {
		PublicKey string `json:"publicKey"`
		Kid       string `json:"kid"`
		Alg       string `json:"alg"`
		Enc       string `json:"enc"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&gpk); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(gpk.PublicKey))
	if block == nil || gpk.Alg != "RSA-OAEP-256" || gpk.Enc != "A256GCM" {
		t.Fatalf("gpk: %+v", gpk)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &appClient{pub: key.(*rsa.PublicKey), kid: gpk.Kid}
}

// fields adds ts and nonce to the payload's fields.
func fields(kv map[string]any, at time.Time) map[string]any {
	out := map[string]any{"ts": at.Unix()}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	out["nonce"] = base64.RawURLEncoding.EncodeToString(nonce)
	for k, v := range kv {
		out[k] = v
	}
	return out
}

// seal encrypts a payload as a JWE compact serialization (RSA-OAEP-256,
// A256GCM), stamped with the current time and a fresh nonce.
func (a *appClient) seal(t testing.TB, kv map[string]any) string {
	return a.sealAt(t, kv, time.Now())
}

func (a *appClient) sealAt(t testing.TB, kv map[string]any, at time.Time) string {
	t.Helper()
	plain, _ := json.Marshal(fields(kv, at))
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: a.pub, KeyID: a.kid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// sealBlock is the other form: one RSA-OAEP (SHA-256) block, base64.
func (a *appClient) sealBlock(t testing.TB, kv map[string]any) string {
	t.Helper()
	plain, _ := json.Marshal(fields(kv, time.Now()))
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, a.pub, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}
