package gateway

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Authorization schemes the gateway knows.
const (
	schemeAdmin  = "tnt-admin-auth-scheme"
	schemeBasic  = "basic"
	schemeBearer = "bearer"
	schemeUser   = "tnt-user-auth-scheme"
)

// maxAuthHeader bounds the Authorization header the parsers look at.
const maxAuthHeader = 8 << 10

// authHeader is a parsed Authorization header.
type authHeader struct {
	scheme      string // lower case
	credentials string // the credentials token, still encoded
	otp         string // the admin scheme's second-factor code, if given
}

// parseAuthHeader splits an Authorization header into its scheme and
// credentials. Both forms of the gateway's schemes are accepted:
//
//	tnt-admin-auth-scheme realm="admin", credentials="<token>"
//	tnt-admin-auth-scheme realm="admin", credentials="<token>", otp="123456"
//	tnt-admin-auth-scheme <token>
//
// It reports false for anything malformed.
func parseAuthHeader(h string) (authHeader, bool) {
	if len(h) == 0 || len(h) > maxAuthHeader {
		return authHeader{}, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found || !isToken(scheme) {
		return authHeader{}, false
	}
	scheme = strings.ToLower(scheme)
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return authHeader{}, false
	}
	if !strings.Contains(rest, "=\"") {
		// Bare form: one token (base64 may end in '=', never in '="').
		if strings.ContainsAny(rest, " ,\"") {
			return authHeader{}, false
		}
		return authHeader{scheme: scheme, credentials: rest}, true
	}
	params, ok := parseAuthParams(rest)
	if !ok {
		return authHeader{}, false
	}
	cred, ok := params["credentials"]
	if !ok || cred == "" {
		return authHeader{}, false
	}
	otp, given := params["otp"]
	if given && (otp == "" || len(otp) > 32) {
		return authHeader{}, false
	}
	return authHeader{scheme: scheme, credentials: cred, otp: otp}, true
}

// parseAuthParams reads `key="value", key="value"` pairs (RFC 9110 auth-param
// with quoted values); a repeated key or stray text is malformed.
func parseAuthParams(s string) (map[string]string, bool) {
	params := make(map[string]string, 2)
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" || strings.ContainsAny(key, " \",") || !strings.HasPrefix(rest, "\"") {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		if _, dup := params[key]; dup {
			return nil, false
		}
		params[key] = rest[1 : 1+end]
		s = strings.TrimSpace(rest[2+end:])
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, false
		}
		s = strings.TrimSpace(s[1:])
	}
	return params, true
}

// decodeBasicCredentials decodes base64("username:password"). The password
// may hold ':'; neither part may be empty or invalid UTF-8.
func decodeBasicCredentials(token string) (username, password string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(token)
		if err != nil {
			return "", "", false
		}
	}
	if !utf8.Valid(raw) {
		return "", "", false
	}
	username, password, found := strings.Cut(string(raw), ":")
	if !found || username == "" || password == "" {
		return "", "", false
	}
	return username, password, true
}

// isToken reports whether s is a non-empty scheme name (RFC 9110 token of
// letters, digits and -).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
