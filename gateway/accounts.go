package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// accountService runs logins, sessions and account routes (account.Service).
type accountService interface {
	authenticator
	Register(ctx context.Context, payload string, dev account.Device) (account.Tokens, error)
	Login(ctx context.Context, payload string, dev account.Device) (account.Tokens, error)
	LoginWeChat(ctx context.Context, payload string, dev account.Device) (account.Tokens, error)
	AdminSession(ctx context.Context, p resources.Principal, dev account.Device) (account.Tokens, error)
	Refresh(ctx context.Context, req account.RefreshRequest) (account.Tokens, error)
	CurrentSession(ctx context.Context, p resources.Principal) (account.SessionView, error)
	Logout(ctx context.Context, p resources.Principal) error
	Sessions(ctx context.Context, p resources.Principal) ([]account.SessionView, error)
	RevokeSession(ctx context.Context, p resources.Principal, sid string) error
	RevokeAllSessions(ctx context.Context, p resources.Principal) (int, error)
	ChangePassword(ctx context.Context, p resources.Principal, payload, ip string) error
	DeleteAccount(ctx context.Context, p resources.Principal, payload, ip string) error
	Me(ctx context.Context, p resources.Principal) (resources.Document, error)
	Available(ctx context.Context, username string) (bool, error)
	CreateUser(ctx context.Context, p resources.Principal, req account.NewUserRequest) (resources.Document, error)
	recoveryService
}

// Cookie transport of refresh tokens for browsers.
const (
	cookieRefresh     = "refresh_token"
	cookieCSRF        = "csrf_token"
	cookieDevice      = "device_token"
	headerDeviceToken = "X-Device-Token"
	headerCSRF        = "X-CSRF-Token"
	headerTransport   = "X-Refresh-Transport"
	transportCookie   = "cookie"
	refreshCookiePath = "/api/token/refresh"
)

// bindAccountRoutes registers registration, logins, tokens, sessions and
// the caller's own account.
func (s *Server) bindAccountRoutes(api *gin.RouterGroup) {
	api.POST("/register", s.handler(s.register))
	api.GET("/auth", s.handler(s.loginHeader))
	api.POST("/auth", s.handler(s.loginPayload))
	api.POST("/wechat_auth", s.handler(s.loginWeChat))
	api.GET("/admin/auth", s.handler(s.adminLogin))
	api.POST("/token/refresh", s.handler(s.refresh))
	api.GET("/account/available", s.handler(s.available))
	s.bindRecoveryRoutes(api)
	user := api.Group("", s.signedIn)
	user.GET("/session", s.handler(s.currentSession))
	user.DELETE("/session", s.handler(s.logout))
	user.GET("/sessions", s.handler(s.listSessions))
	user.DELETE("/sessions", s.handler(s.revokeAllSessions))
	user.DELETE("/sessions/:sid", s.handler(s.revokeSession))
	user.GET("/account/me", s.handler(s.me))
	user.POST("/account/password", s.handler(s.changePassword))
	user.DELETE("/account", s.handler(s.deleteAccount))
}

// signedIn answers 401 to a caller without credentials before anything of
// the request is read: a route that needs credentials tells nobody else
// what it would make of their body.
func (s *Server) signedIn(c *gin.Context) {
	if principal(c).IsGuest() {
		s.fail(c, closeUnread(c, resources.Errorf(resources.EAUTHENTICATION, "authentication is required")))
		return
	}
	c.Next()
}

// device describes the client of a request: its agent, address and the
// device token of an earlier sign-in (the X-Device-Token header from apps,
// the device_token cookie from browsers).
func device(c *gin.Context) account.Device {
	dev := account.Device{UserAgent: c.GetHeader("User-Agent"), Browser: c.GetHeader("browser"), IP: c.ClientIP(), DeviceToken: c.GetHeader(headerDeviceToken)}
	if dev.DeviceToken == "" {
		dev.DeviceToken, _ = c.Cookie(cookieDevice)
	}
	return dev
}

// readObject reads a strict JSON object body whose keys are all among
// keys; the account routes name another key as not a key of the request.
func (s *Server) readObject(c *gin.Context, keys ...string) (map[string]any, error) {
	return s.readObjectOf(c, notAKey, keys...)
}

// notEncrypted refuses a key beside "payload" in a body that must carry
// encrypted credentials.
func notEncrypted(k string) error {
	return resources.Errorf(resources.EINVALIDREQUEST, "%s is not a key of this request: credentials travel encrypted, as {\"payload\": \"<JWE>\"} holding the fields with \"ts\" and \"nonce\", encrypted to the key of GET /api/gpk (RSA-OAEP-256, A256GCM); gatewayctl encrypt makes one", clip(k))
}

func notAKey(k string) error {
	return resources.Errorf(resources.EINVALIDREQUEST, "%s is not a key of this request", clip(k))
}

// readPayload reads {"payload": "<encrypted>"}. A body with any other key
// (plain credentials, most often) is told how credentials travel.
func (s *Server) readPayload(c *gin.Context) (string, error) {
	m, err := s.readObjectOf(c, notEncrypted, "payload")
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
func (s *Server) sendTokens(c *gin.Context, status int, t account.Tokens) {
	secure := !s.cfg.InsecureCookies
	// A page of a listed origin on another site gets its cookies only
	// when they are SameSite=None (which browsers take only with Secure);
	// every other caller's stay Strict.
	sameSite := http.SameSiteStrictMode
	_, listed := s.listedOrigin(c.Request)
	if listed {
		sameSite = http.SameSiteLaxMode
		if secure {
			sameSite = http.SameSiteNoneMode
		}
	}
	if t.DeviceToken != "" {
		// Browsers keep the device token as a cookie of their own; apps
		// keep data.device_token and send it as X-Device-Token.
		c.SetSameSite(sameSite)
		c.SetCookie(cookieDevice, t.DeviceToken, int(account.DeviceTrust.Seconds()), "/api", "", secure, true)
	}
	var body any = t
	if t.RefreshToken != "" && c.GetHeader(headerTransport) == transportCookie {
		maxAge := int(t.RefreshExpiresIn)
		c.SetSameSite(sameSite)
		c.SetCookie(cookieRefresh, t.RefreshToken, maxAge, refreshCookiePath, "", secure, true)
		c.SetCookie(cookieCSRF, t.CSRFToken, maxAge, "/", "", secure, false)
		t.RefreshToken = ""
		body = t
		if listed {
			// A page of another site cannot read the gateway's csrf_token
			// cookie; only a listed origin can read this answer.
			body = struct {
				account.Tokens
				CSRFToken string `json:"csrf_token"`
			}{t, t.CSRFToken}
		}
	}
	c.Header("Cache-Control", "no-store")
	ok(c, status, body, "")
}

func (s *Server) register(c *gin.Context) error {
	return s.payloadLogin(c, http.StatusCreated, s.auth.Register)
}

// payloadLogin serves a login-like route whose body is {"payload": ...}.
func (s *Server) payloadLogin(c *gin.Context, status int, login func(ctx context.Context, payload string, dev account.Device) (account.Tokens, error)) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	t, err := login(c.Request.Context(), payload, device(c))
	if err != nil {
		return s.loginFailed(err)
	}
	s.sendTokens(c, status, t)
	return nil
}

// loginFailed counts a refused login or refresh under its reason
// (gateway_auth_failures_total) and returns the error unchanged.
func (s *Server) loginFailed(err error) error {
	var f *account.LoginError
	if errors.As(err, &f) {
		s.metrics.authFailures.WithLabelValues(f.Reason).Inc()
	}
	return err
}

// loginHeader serves GET /api/auth with the user scheme's header.
func (s *Server) loginHeader(c *gin.Context) error {
	a, ok := parseAuthHeader(c.GetHeader("Authorization"))
	if !ok || a.scheme != schemeUser {
		return resources.Errorf(resources.EAUTHENTICATION, "the tnt-user-auth-scheme Authorization header is required")
	}
	t, err := s.auth.Login(c.Request.Context(), a.credentials, device(c))
	if err != nil {
		return s.loginFailed(err)
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

func (s *Server) loginPayload(c *gin.Context) error {
	return s.payloadLogin(c, http.StatusOK, s.auth.Login)
}

func (s *Server) loginWeChat(c *gin.Context) error {
	return s.payloadLogin(c, http.StatusOK, s.auth.LoginWeChat)
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
// A cookie refresh from another origin is refused before the token is spent.
func (s *Server) refresh(c *gin.Context) error {
	m, err := s.readObject(c, "refresh_token")
	if err != nil && c.Request.ContentLength != 0 {
		return err
	}
	req := account.RefreshRequest{}
	req.Token, _ = m["refresh_token"].(string)
	if req.Token == "" {
		cookie, err := c.Cookie(cookieRefresh)
		if err != nil || cookie == "" {
			return resources.Errorf(resources.EINVALIDREQUEST, "refresh_token is required for the request")
		}
		if s.crossOrigin.Check(c.Request) != nil {
			return s.loginFailed(&account.LoginError{Reason: account.ReasonCSRF,
				Err: resources.Errorf(resources.EPERMISSION, "a cookie refresh must come from the gateway's own origin")})
		}
		csrf, _ := c.Cookie(cookieCSRF)
		header := c.GetHeader(headerCSRF)
		if csrf == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(header)) != 1 {
			return s.loginFailed(&account.LoginError{Reason: account.ReasonCSRF,
				Err: resources.Errorf(resources.EPERMISSION, "the X-CSRF-Token header does not match the csrf_token cookie")})
		}
		req = account.RefreshRequest{Token: cookie, ViaCookie: true, CSRF: header}
	}
	t, err := s.auth.Refresh(c.Request.Context(), req)
	if err != nil {
		return s.loginFailed(err)
	}
	if req.ViaCookie {
		c.Request.Header.Set(headerTransport, transportCookie)
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}

func (s *Server) currentSession(c *gin.Context) error {
	v, err := s.auth.CurrentSession(c.Request.Context(), principal(c))
	return answer(c, v, err)
}

func (s *Server) logout(c *gin.Context) error {
	if err := s.auth.Logout(c.Request.Context(), principal(c)); err != nil {
		return err
	}
	s.clearCookies(c)
	ok(c, http.StatusOK, map[string]bool{"revoked": true}, "")
	return nil
}

// clearCookies drops the browser's refresh and CSRF cookies when the caller
// uses the cookie transport. The refresh cookie is scoped to the refresh route,
// so on every other route a browser sends only the CSRF cookie; either one
// marks a cookie client.
func (s *Server) clearCookies(c *gin.Context) {
	_, errRefresh := c.Cookie(cookieRefresh)
	_, errCSRF := c.Cookie(cookieCSRF)
	if errRefresh == nil || errCSRF == nil {
		c.SetCookie(cookieRefresh, "", -1, refreshCookiePath, "", !s.cfg.InsecureCookies, true)
		c.SetCookie(cookieCSRF, "", -1, "/", "", !s.cfg.InsecureCookies, false)
	}
}

func (s *Server) listSessions(c *gin.Context) error {
	list, err := s.auth.Sessions(c.Request.Context(), principal(c))
	return answer(c, list, err)
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
	doc, err := s.auth.Me(c.Request.Context(), principal(c))
	return answer(c, doc, err)
}

func (s *Server) changePassword(c *gin.Context) error {
	return s.withPassword(c, s.auth.ChangePassword, map[string]bool{"changed": true}, false)
}

func (s *Server) deleteAccount(c *gin.Context) error {
	return s.withPassword(c, s.auth.DeleteAccount, map[string]bool{"deleted": true}, true)
}

// withPassword serves a route of the caller's own account whose body is an
// encrypted payload holding the caller's password; clear drops the browser's
// refresh cookies once the act is done.
func (s *Server) withPassword(c *gin.Context, act func(ctx context.Context, p resources.Principal, payload, ip string) error, done any, clear bool) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	if err := act(c.Request.Context(), principal(c), payload, c.ClientIP()); err != nil {
		return err
	}
	if clear {
		s.clearCookies(c)
	}
	return answer(c, done, nil)
}

func (s *Server) available(c *gin.Context) error {
	free, err := s.auth.Available(c.Request.Context(), c.Query("username"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]bool{"available": free}, "")
	return nil
}
