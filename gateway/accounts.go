package gateway

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// accountService runs logins, sessions and account routes (resources.Auth).
type accountService interface {
	authenticator
	Register(ctx context.Context, payload string, dev resources.Device) (resources.Tokens, error)
	Login(ctx context.Context, payload string, dev resources.Device) (resources.Tokens, error)
	LoginWeChat(ctx context.Context, payload string, dev resources.Device) (resources.Tokens, error)
	AdminSession(ctx context.Context, p resources.Principal, dev resources.Device) (resources.Tokens, error)
	Refresh(ctx context.Context, req resources.RefreshRequest) (resources.Tokens, error)
	CurrentSession(ctx context.Context, p resources.Principal) (resources.SessionView, error)
	Logout(ctx context.Context, p resources.Principal) error
	Sessions(ctx context.Context, p resources.Principal) ([]resources.SessionView, error)
	RevokeSession(ctx context.Context, p resources.Principal, sid string) error
	RevokeAllSessions(ctx context.Context, p resources.Principal) (int, error)
	ChangePassword(ctx context.Context, p resources.Principal, payload, ip string) error
	DeleteAccount(ctx context.Context, p resources.Principal, payload, ip string) error
	Me(ctx context.Context, p resources.Principal, profile *resources.Schema) (resources.Document, error)
	Available(ctx context.Context, username string) (bool, error)
	Balance(ctx context.Context, p resources.Principal) (int64, error)
}

// keyPublisher publishes the gateway's public keys (crypto.Keyring).
type keyPublisher interface {
	PayloadPublicKey() crypto.PublicKeyInfo
	JWKS() jose.JSONWebKeySet
}

// Cookie transport of refresh tokens for browsers.
const (
	cookieRefresh     = "refresh_token"
	cookieCSRF        = "csrf_token"
	headerCSRF        = "X-CSRF-Token"
	headerTransport   = "X-Refresh-Transport"
	transportCookie   = "cookie"
	refreshCookiePath = "/api/token/refresh"
)

func device(c *gin.Context) resources.Device {
	return resources.Device{UserAgent: c.GetHeader("User-Agent"), Browser: c.GetHeader("browser"), IP: c.ClientIP()}
}

// gpk serves GET /api/gpk: the payload public key, not in the envelope.
func (s *Server) gpk(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	writeJSON(c, http.StatusOK, s.keys.PayloadPublicKey())
}

// jwks serves GET /.well-known/jwks.json.
func (s *Server) jwks(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	writeJSON(c, http.StatusOK, s.keys.JWKS())
}

// readObject reads a strict JSON object body whose keys are all among keys.
func (s *Server) readObject(c *gin.Context, keys ...string) (map[string]any, error) {
	v, err := s.readJSON(c)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, resources.NotJSON()
	}
	for k := range m {
		known := false
		for _, want := range keys {
			known = known || k == want
		}
		if !known {
			return nil, resources.Errorf(resources.EINVALIDREQUEST, "%s is not a key of this request", clip(k))
		}
	}
	return m, nil
}

// readPayload reads {"payload": "<encrypted>"}.
func (s *Server) readPayload(c *gin.Context) (string, error) {
	m, err := s.readObject(c, "payload")
	if err != nil {
		return "", err
	}
	p, ok := m["payload"].(string)
	if !ok || p == "" {
		return "", resources.Errorf(resources.EINVALIDREQUEST, "payload is required for the request")
	}
	return p, nil
}

// sendTokens answers a login-like call. With the cookie transport the
// refresh token goes into an httpOnly cookie (and out of the body), beside
// the session's CSRF token in a cookie the page echoes in a header.
func (s *Server) sendTokens(c *gin.Context, status int, t resources.Tokens) {
	if t.RefreshToken != "" && c.GetHeader(headerTransport) == transportCookie {
		maxAge := int(t.RefreshExpiresIn)
		secure := !s.cfg.InsecureCookies
		c.SetSameSite(http.SameSiteStrictMode)
		c.SetCookie(cookieRefresh, t.RefreshToken, maxAge, refreshCookiePath, "", secure, true)
		c.SetCookie(cookieCSRF, t.CSRFToken, maxAge, "/", "", secure, false)
		t.RefreshToken = ""
	}
	c.Header("Cache-Control", "no-store")
	ok(c, status, t, "")
}

func (s *Server) register(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	t, err := s.auth.Register(c.Request.Context(), payload, device(c))
	if err != nil {
		return err
	}
	s.sendTokens(c, http.StatusCreated, t)
	return nil
}

// loginHeader serves GET /api/auth with the user scheme's header.
func (s *Server) loginHeader(c *gin.Context) error {
	a, ok := parseAuthHeader(c.GetHeader("Authorization"))
	if !ok || a.scheme != schemeUser {
		return resources.Errorf(resources.EAUTHENTICATION, "the tnt-user-auth-scheme Authorization header is required")
	}
	t, err := s.auth.Login(c.Request.Context(), a.credentials, device(c))
	if err != nil {
		return err
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

func (s *Server) loginPayload(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	t, err := s.auth.Login(c.Request.Context(), payload, device(c))
	if err != nil {
		return err
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

func (s *Server) loginWeChat(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	t, err := s.auth.LoginWeChat(c.Request.Context(), payload, device(c))
	if err != nil {
		return err
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

// adminLogin serves GET /api/admin/auth: the admin header in, an admin JWT
// out. The authenticate middleware has already checked the header's
// credentials (and throttled failures); a bearer token does not qualify.
func (s *Server) adminLogin(c *gin.Context) error {
	a, parsed := parseAuthHeader(c.GetHeader("Authorization"))
	if !parsed || (a.scheme != schemeAdmin && a.scheme != schemeBasic) {
		return resources.Errorf(resources.EAUTHENTICATION, "the tnt-admin-auth-scheme Authorization header is required")
	}
	t, err := s.auth.AdminSession(c.Request.Context(), principal(c), device(c))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	ok(c, http.StatusOK, t, "")
	return nil
}

// refresh serves POST /api/token/refresh, from the body or, for browsers,
// from the httpOnly cookie with the CSRF header matching the CSRF cookie
// (and, checked by the account service, belonging to the cookie's session).
func (s *Server) refresh(c *gin.Context) error {
	m, err := s.readObject(c, "refresh_token")
	if err != nil && c.Request.ContentLength != 0 {
		return err
	}
	req := resources.RefreshRequest{}
	req.Token, _ = m["refresh_token"].(string)
	if req.Token == "" {
		cookie, err := c.Cookie(cookieRefresh)
		if err != nil || cookie == "" {
			return resources.Errorf(resources.EINVALIDREQUEST, "refresh_token is required for the request")
		}
		csrf, _ := c.Cookie(cookieCSRF)
		header := c.GetHeader(headerCSRF)
		if csrf == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(header)) != 1 {
			return resources.Errorf(resources.EPERMISSION, "the X-CSRF-Token header does not match the csrf_token cookie")
		}
		req = resources.RefreshRequest{Token: cookie, ViaCookie: true, CSRF: header}
	}
	t, err := s.auth.Refresh(c.Request.Context(), req)
	if err != nil {
		return err
	}
	if req.ViaCookie {
		c.Request.Header.Set(headerTransport, transportCookie)
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

func (s *Server) currentSession(c *gin.Context) error {
	v, err := s.auth.CurrentSession(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, v, "")
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	if err := s.auth.Logout(c.Request.Context(), principal(c)); err != nil {
		return err
	}
	s.clearCookies(c)
	ok(c, http.StatusOK, map[string]bool{"revoked": true}, "")
	return nil
}

func (s *Server) clearCookies(c *gin.Context) {
	if _, err := c.Cookie(cookieRefresh); err == nil {
		c.SetCookie(cookieRefresh, "", -1, refreshCookiePath, "", !s.cfg.InsecureCookies, true)
		c.SetCookie(cookieCSRF, "", -1, "/", "", !s.cfg.InsecureCookies, false)
	}
}

func (s *Server) listSessions(c *gin.Context) error {
	list, err := s.auth.Sessions(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, list, "")
	return nil
}

func (s *Server) revokeSession(c *gin.Context) error {
	if err := s.auth.RevokeSession(c.Request.Context(), principal(c), c.Param("sid")); err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]bool{"revoked": true}, "")
	return nil
}

func (s *Server) revokeAllSessions(c *gin.Context) error {
	n, err := s.auth.RevokeAllSessions(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	s.clearCookies(c)
	ok(c, http.StatusOK, map[string]int{"revoked": n}, "")
	return nil
}

func (s *Server) me(c *gin.Context) error {
	profile, err := s.ops.Schema("profile")
	if err != nil {
		return err
	}
	doc, err := s.auth.Me(c.Request.Context(), principal(c), profile)
	if err != nil {
		return err
	}
	if n, isInt := doc["level"].(int64); isInt {
		doc["level_name"] = policy.Level(n).String()
	}
	ok(c, http.StatusOK, doc, "")
	return nil
}

func (s *Server) changePassword(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	if err := s.auth.ChangePassword(c.Request.Context(), principal(c), payload, c.ClientIP()); err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]bool{"changed": true}, "")
	return nil
}

func (s *Server) deleteAccount(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	if err := s.auth.DeleteAccount(c.Request.Context(), principal(c), payload, c.ClientIP()); err != nil {
		return err
	}
	s.clearCookies(c)
	ok(c, http.StatusOK, map[string]bool{"deleted": true}, "")
	return nil
}

func (s *Server) available(c *gin.Context) error {
	free, err := s.auth.Available(c.Request.Context(), c.Query("username"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]bool{"available": free}, "")
	return nil
}

func (s *Server) balance(c *gin.Context) error {
	n, err := s.auth.Balance(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]int64{"balance": n}, "")
	return nil
}
