package gateway

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// authenticator loads the caller from a credential (resources.Auth).
type authenticator interface {
	CheckToken(ctx context.Context, token string) (resources.Principal, error)
	AuthenticateAdmin(ctx context.Context, username, password, otp string, dev account.Device) (resources.Principal, error)
}

// principal returns the caller that authentication found (Guest if none).
func principal(c *gin.Context) resources.Principal {
	if p, ok := c.Get(ctxPrincipal); ok {
		return p.(resources.Principal)
	}
	return resources.Principal{Level: resources.GuestLevel}
}

// authenticate loads the caller from the Authorization header. Without one
// (or with the user scheme, which only the login route reads) the caller is
// a Guest and the request goes on: routes decide what a Guest may do.
// Credentials that are presented but wrong are refused here with a 401.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	a, parsed := parseAuthHeader(h)
	if h == "" || (parsed && a.scheme == schemeUser) {
		c.Set(ctxPrincipal, resources.Principal{Level: resources.GuestLevel})
		c.Next()
		return
	}
	p, err := s.principalFrom(c.Request.Context(), a, parsed, device(c))
	if err != nil {
		if code := resources.ErrorCode(err); code == resources.EAUTHENTICATION || code == resources.ERATELIMITED {
			s.metrics.authFailures.WithLabelValues(authFailureReason(a, parsed)).Inc()
		}
		s.fail(c, err)
		return
	}
	if p.EnrolOnly && !enrolRoute(c.Request.Method, c.FullPath()) {
		s.fail(c, closeUnread(c, resources.Errorf(resources.EPERMISSION,
			"this level must sign in with a second factor: enrol one with POST /api/account/mfa/totp, then sign in again")))
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

// enrolRoute reports whether a session that may only enrol a second factor
// may call the route: the enrolment, its confirmation, and signing out.
func enrolRoute(method, route string) bool {
	switch method + " " + route {
	case "POST /api/account/mfa/totp", "POST /api/account/mfa/totp/confirm", "DELETE /api/session":
		return true
	}
	return false
}

func authFailureReason(a authHeader, parsed bool) string {
	switch {
	case !parsed:
		return "malformed_header"
	case a.scheme == schemeAdmin || a.scheme == schemeBasic:
		return "admin_credentials"
	case a.scheme == schemeBearer:
		return "bearer_token"
	}
	return "unsupported_scheme"
}

func (s *Server) principalFrom(ctx context.Context, a authHeader, parsed bool, dev account.Device) (resources.Principal, error) {
	if !parsed {
		return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the Authorization header is malformed")
	}
	switch a.scheme {
	case schemeAdmin, schemeBasic:
		username, password, ok := decodeBasicCredentials(a.credentials)
		if !ok {
			return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the admin credentials are malformed")
		}
		return s.auth.AuthenticateAdmin(ctx, username, password, a.otp, dev)
	case schemeBearer:
		return s.auth.CheckToken(ctx, a.credentials)
	}
	return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the authorization scheme is not supported")
}
