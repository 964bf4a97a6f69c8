package gateway

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// passwordAuthenticator checks a username and password (resources.Accounts).
type passwordAuthenticator interface {
	Authenticate(ctx context.Context, username, password string) (resources.Principal, error)
}

// principal returns the caller that authentication found (Guest if none).
func principal(c *gin.Context) resources.Principal {
	if p, ok := c.Get(ctxPrincipal); ok {
		return p.(resources.Principal)
	}
	return resources.Principal{Level: resources.GuestLevel}
}

// authenticate loads the caller from the Authorization header. Without one
// the caller is a Guest and the request goes on (routes decide what a Guest
// may do). Credentials that are presented but wrong are refused here with a
// 401: a client that tried to log in must learn it failed.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	if h == "" {
		c.Set(ctxPrincipal, resources.Principal{Level: resources.GuestLevel})
		c.Next()
		return
	}
	p, err := s.principalFrom(c.Request.Context(), h)
	if err != nil {
		if resources.ErrorCode(err) == resources.EAUTHENTICATION {
			s.metrics.authFailures.WithLabelValues(authFailureReason(h)).Inc()
		}
		s.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

func authFailureReason(h string) string {
	a, ok := parseAuthHeader(h)
	switch {
	case !ok:
		return "malformed_header"
	case a.scheme == schemeAdmin || a.scheme == schemeBasic:
		return "admin_credentials"
	case a.scheme == schemeBearer:
		return "bearer_token"
	}
	return "unsupported_scheme"
}

func (s *Server) principalFrom(ctx context.Context, h string) (resources.Principal, error) {
	a, ok := parseAuthHeader(h)
	if !ok {
		return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the Authorization header is malformed")
	}
	switch a.scheme {
	case schemeAdmin, schemeBasic:
		username, password, ok := decodeBasicCredentials(a.credentials)
		if !ok {
			return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the admin credentials are malformed")
		}
		p, err := s.accounts.Authenticate(ctx, username, password)
		if errors.Is(err, crypto.ErrHasherBusy) {
			return resources.Principal{}, resources.Errorf(resources.EUNAVAILABLE, "too many logins at once; try again shortly")
		}
		if err != nil {
			return resources.Principal{}, err
		}
		if policy.Level(p.Level) > policy.Admin {
			return resources.Principal{}, resources.Errorf(resources.EPERMISSION, "the admin scheme is for levels 0 to 2")
		}
		return p, nil
	case schemeBearer:
		return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the access token is invalid")
	}
	return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the authorization scheme is not supported")
}

// levelAuthorizer adapts the policy enforcer to resources.Authorizer.
type levelAuthorizer struct{ e *policy.Enforcer }

func (a levelAuthorizer) Allowed(level int, resource, action string) bool {
	return a.e.Allowed(policy.Level(level), resource, action)
}

// NewAuthorizer returns the policy as the domain's Authorizer.
func NewAuthorizer(e *policy.Enforcer) resources.Authorizer { return levelAuthorizer{e} }
