package crypto

import (
	stdcrypto "crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func jweWithHeader(t *testing.T, k *Keyring, header string) string {
	t.Helper()
	good, err := SealPayload(k.PayloadPublicKey(), []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(header))
	return strings.Join(parts, ".")
}

func TestOpenPayload(t *testing.T) {
	k := MustOpenKeyring(t, &clock{time.Now()})
	info := k.PayloadPublicKey()
	jwe, _ := SealPayload(info, []byte(`{"username":"alice"}`))
	if pt, err := k.OpenPayload(jwe); err != nil || string(pt) != `{"username":"alice"}` {
		t.Fatalf("JWE: %q %v", pt, err)
	}
	block, _ := SealBlock(info, []byte(`{"username":"bob"}`))
	if pt, err := k.OpenPayload(block); err != nil || string(pt) != `{"username":"bob"}` {
		t.Fatalf("block: %q %v", pt, err)
	}

	// Every refusal is the same error.
	kid := info.Kid
	refused := map[string]string{
		"RSA1_5":            jweWithHeader(t, k, `{"alg":"RSA1_5","enc":"A256GCM","kid":"`+kid+`"}`),
		"dir":               jweWithHeader(t, k, `{"alg":"dir","enc":"A256GCM"}`),
		"PBES2":             jweWithHeader(t, k, `{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":100000000,"p2s":"AAAA"}`),
		"A128GCM":           jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A128GCM"}`),
		"zip":               jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}`),
		"embedded jwk":      jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A256GCM","jwk":{"kty":"oct","k":"AA"}}`),
		"remote jku":        jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A256GCM","jku":"http://127.0.0.1:1/keys"}`),
		"unknown kid":       jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"../../etc/passwd"}`),
		"duplicate headers": jweWithHeader(t, k, `{"alg":"RSA-OAEP-256","enc":"A256GCM"}{"x":1}`),
		"megabyte of dots":  strings.Repeat(".", 1<<20),
		"four dots":         "....",
		"garbage base64":    "!!!!",
		"short block":       base64.StdEncoding.EncodeToString([]byte("too short")),
	}
	parts := strings.Split(jwe, ".")
	for i, name := range []string{"encrypted key", "iv", "ciphertext", "tag"} {
		p := append([]string(nil), parts...)
		raw, _ := base64.RawURLEncoding.DecodeString(p[i+1])
		raw[len(raw)/2] ^= 0x01
		p[i+1] = base64.RawURLEncoding.EncodeToString(raw)
		refused["flipped bit in "+name] = strings.Join(p, ".")
	}
	for name, token := range refused {
		if pt, err := k.OpenPayload(token); err != ErrBadPayload || pt != nil {
			t.Errorf("%s: %q %v", name, pt, err)
		}
	}
}

func FuzzOpenPayload(f *testing.F) {
	k := MustOpenKeyring(f, &clock{time.Now()})
	jwe, _ := SealPayload(k.PayloadPublicKey(), []byte(`{"a":1}`))
	f.Add(jwe)
	f.Add("eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0....")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		pt, err := k.OpenPayload(token)
		if err != nil && err != ErrBadPayload {
			t.Fatalf("error other than ErrBadPayload: %v", err)
		}
		if err == nil && token != jwe && len(pt) == 0 {
			t.Fatalf("empty plaintext accepted for %q", token)
		}
	})
}

func BenchmarkOpenPayload(b *testing.B) {
	k := MustOpenKeyring(b, &clock{time.Now()})
	jwe, _ := SealPayload(k.PayloadPublicKey(), []byte(`{"username":"alice","password":"a fine password","ts":1,"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.OpenPayload(jwe); err != nil {
			b.Fatal(err)
		}
	}
}

// TestThumbprintNamesTheKey: a JWE whose kid is the payload key's RFC 7638
// thumbprint (what node-jose and other libraries compute for a PEM key)
// opens; a thumbprint of another key does not.
func TestThumbprintNamesTheKey(t *testing.T) {
	k := MustOpenKeyring(t, &clock{time.Now()})
	block, _ := pem.Decode([]byte(k.PayloadPublicKey().PublicKey))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(kid string) string {
		thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(stdcrypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if kid == "" {
			kid = base64.RawURLEncoding.EncodeToString(thumb)
		}
		enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: pub, KeyID: kid}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := enc.Encrypt([]byte(`{"username":"carol"}`))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	if pt, err := k.OpenPayload(seal("")); err != nil || string(pt) != `{"username":"carol"}` {
		t.Errorf("a JWE naming the key by its thumbprint: %q %v", pt, err)
	}
	if _, err := k.OpenPayload(seal(strings.Repeat("A", 43))); err != ErrBadPayload {
		t.Errorf("a JWE naming another thumbprint: %v", err)
	}
}
