package gateway

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseAuthHeader(t *testing.T) {
	tok := base64.StdEncoding.EncodeToString([]byte("root:pa:ss word"))
	good := map[string]authHeader{
		`tnt-admin-auth-scheme realm="admin", credentials="` + tok + `"`:               {scheme: schemeAdmin, credentials: tok},
		`tnt-admin-auth-scheme credentials="` + tok + `"`:                              {scheme: schemeAdmin, credentials: tok},
		`tnt-admin-auth-scheme ` + tok:                                                 {scheme: schemeAdmin, credentials: tok},
		`Basic ` + tok:                                                                 {scheme: schemeBasic, credentials: tok},
		`Bearer abc.def.ghi`:                                                           {scheme: schemeBearer, credentials: "abc.def.ghi"},
		`tnt-user-auth-scheme realm="user", credentials="eyJ.x.y"`:                     {scheme: schemeUser, credentials: "eyJ.x.y"},
		`tnt-admin-auth-scheme realm="admin", credentials="` + tok + `", otp="123456"`: {scheme: schemeAdmin, credentials: tok, otp: "123456"},
	}
	for h, want := range good {
		got, ok := parseAuthHeader(h)
		if !ok || got != want {
			t.Errorf("%q: %+v %v, want %+v", h, got, ok, want)
		}
	}
	for _, h := range []string{
		"", "Basic", "Basic ", "tnt-admin-auth-scheme realm=\"admin\"",
		`tnt-admin-auth-scheme credentials="a", credentials="b"`,
		`tnt-admin-auth-scheme realm="admin" credentials="a"`,
		`tnt-admin-auth-scheme credentials="unterminated`,
		`tnt-admin-auth-scheme two tokens`,
		`tnt-admin-auth-scheme credentials="a", otp=""`,
		`tnt-admin-auth-scheme credentials="a", otp="` + strings.Repeat("1", 33) + `"`,
		`tnt-admin-auth-scheme credentials="a", otp="1", otp="2"`,
		"Bearer " + strings.Repeat(".", 100_000),
	} {
		if got, ok := parseAuthHeader(h); ok {
			t.Errorf("%q accepted as %+v", h, got)
		}
	}
	u, p, ok := decodeBasicCredentials(tok)
	if !ok || u != "root" || p != "pa:ss word" {
		t.Errorf("credentials: %q %q %v", u, p, ok)
	}
	for _, bad := range []string{"!!!", base64.StdEncoding.EncodeToString([]byte("nocolon")),
		base64.StdEncoding.EncodeToString([]byte(":pw")), base64.StdEncoding.EncodeToString([]byte("u:")),
		base64.StdEncoding.EncodeToString([]byte("u:\xff"))} {
		if _, _, ok := decodeBasicCredentials(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseAuthHeader: no header may panic the parsers, and whatever they
// accept has a scheme and credentials without quotes.
func FuzzParseAuthHeader(f *testing.F) {
	f.Add(`tnt-admin-auth-scheme realm="admin", credentials="cm9vdDpwdw=="`)
	f.Add(`Basic cm9vdDpwdw==`)
	f.Add(`tnt-user-auth-scheme eyJ.a.b`)
	f.Add(`x a="`)
	f.Fuzz(func(t *testing.T, h string) {
		a, ok := parseAuthHeader(h)
		if !ok {
			return
		}
		if a.scheme == "" || a.credentials == "" || strings.Contains(a.credentials, `"`) {
			t.Fatalf("accepted %q as %+v", h, a)
		}
		_, _, _ = decodeBasicCredentials(a.credentials)
	})
}
