package gateway

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// recoveryService runs email verification, password resets and second
// factors (account.Service).
type recoveryService interface {
	RequestVerification(ctx context.Context, p resources.Principal) error
	VerifyEmail(ctx context.Context, token, ip string) error
	RequestReset(ctx context.Context, req account.ResetRequest) error
	ConfirmReset(ctx context.Context, payload, ip string) error
	AdminReset(ctx context.Context, p resources.Principal, userID, ip string) (account.ResetLink, error)
	EnrolTOTP(ctx context.Context, p resources.Principal) (account.Enrolment, error)
	ConfirmTOTP(ctx context.Context, p resources.Principal, code, ip string) ([]string, error)
	RemoveTOTP(ctx context.Context, p resources.Principal, payload, ip string) error
	CompleteMFA(ctx context.Context, token, code string, dev account.Device) (account.Tokens, error)
}

// bindRecoveryRoutes registers API.md §11: verification, resets, an
// administrator's reset, second factors and the login's second step.
func (s *Server) bindRecoveryRoutes(api *gin.RouterGroup) {
	api.POST("/account/email/verify", s.handler(s.verifyEmail))
	api.POST("/account/password/reset", s.handler(s.requestReset))
	api.POST("/account/password/reset/confirm", s.handler(s.confirmReset))
	api.POST("/auth/mfa", s.handler(s.completeMFA))
	user := api.Group("", s.signedIn)
	user.POST("/account/email/verification", s.handler(s.requestVerification))
	user.POST("/account/mfa/totp", s.handler(s.enrolTOTP))
	user.POST("/account/mfa/totp/confirm", s.handler(s.confirmTOTP))
	user.DELETE("/account/mfa/totp", s.handler(s.removeTOTP))
	user.POST("/admin/users/:id/password-reset", s.handler(s.adminReset))
}

// accepted is the answer of a request whose work goes on after it: the
// same whatever that work finds.
func accepted() map[string]bool { return map[string]bool{"accepted": true} }

func (s *Server) requestVerification(c *gin.Context) error {
	if err := s.auth.RequestVerification(c.Request.Context(), principal(c)); err != nil {
		return err
	}
	ok(c, http.StatusAccepted, accepted(), "")
	return nil
}

func (s *Server) verifyEmail(c *gin.Context) error {
	m, err := s.readObject(c, "token")
	if err != nil {
		return err
	}
	token, _ := m["token"].(string)
	if token == "" {
		return resources.Errorf(resources.EINVALIDREQUEST, "token is required for the request")
	}
	if err := s.auth.VerifyEmail(c.Request.Context(), token, c.ClientIP()); err != nil {
		return s.loginFailed(err)
	}
	ok(c, http.StatusOK, map[string]bool{"verified": true}, "")
	return nil
}

// requestReset answers 202 whether or not the account exists; the mail, if
// any, goes later.
func (s *Server) requestReset(c *gin.Context) error {
	m, err := s.readObject(c, "email", "username")
	if err != nil {
		return err
	}
	email, okEmail := m["email"].(string)
	username, okName := m["username"].(string)
	if (m["email"] != nil && !okEmail) || (m["username"] != nil && !okName) {
		return resources.Errorf(resources.EVALUE, "email and username are strings")
	}
	if err := s.auth.RequestReset(c.Request.Context(), account.ResetRequest{Email: email, Username: username, IP: c.ClientIP()}); err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	ok(c, http.StatusAccepted, accepted(), "")
	return nil
}

func (s *Server) confirmReset(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	if err := s.auth.ConfirmReset(c.Request.Context(), payload, c.ClientIP()); err != nil {
		return s.loginFailed(err)
	}
	s.clearCookies(c)
	ok(c, http.StatusOK, map[string]bool{"reset": true}, "")
	return nil
}

// adminReset answers 202 when the user was mailed, and 200 with the link
// to hand over otherwise.
func (s *Server) adminReset(c *gin.Context) error {
	if c.Request.ContentLength > 0 {
		if _, err := s.readObject(c); err != nil {
			return err
		}
	}
	r, err := s.auth.AdminReset(c.Request.Context(), principal(c), c.Param("id"), c.ClientIP())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if r.Mailed {
		status = http.StatusAccepted
	}
	c.Header("Cache-Control", "no-store")
	ok(c, status, r, "")
	return nil
}

func (s *Server) enrolTOTP(c *gin.Context) error {
	e, err := s.auth.EnrolTOTP(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	ok(c, http.StatusOK, e, "")
	return nil
}

func (s *Server) confirmTOTP(c *gin.Context) error {
	m, err := s.readObject(c, "code")
	if err != nil {
		return err
	}
	code, _ := m["code"].(string)
	if code == "" {
		return resources.Errorf(resources.EINVALIDREQUEST, "code is required for the request")
	}
	codes, err := s.auth.ConfirmTOTP(c.Request.Context(), principal(c), code, c.ClientIP())
	if err != nil {
		return s.loginFailed(err)
	}
	c.Header("Cache-Control", "no-store")
	ok(c, http.StatusOK, map[string][]string{"recovery_codes": codes}, "")
	return nil
}

func (s *Server) removeTOTP(c *gin.Context) error {
	return s.withPassword(c, s.auth.RemoveTOTP, map[string]bool{"removed": true}, false)
}

// completeMFA serves POST /api/auth/mfa: the login's token and a code in,
// tokens out (by the cookie transport too).
func (s *Server) completeMFA(c *gin.Context) error {
	m, err := s.readObject(c, "mfa_token", "code")
	if err != nil {
		return err
	}
	token, _ := m["mfa_token"].(string)
	code, _ := m["code"].(string)
	if token == "" || code == "" {
		return resources.Errorf(resources.EINVALIDREQUEST, "mfa_token and code are required for the request")
	}
	t, err := s.auth.CompleteMFA(c.Request.Context(), token, code, device(c))
	if err != nil {
		return s.loginFailed(err)
	}
	s.sendTokens(c, http.StatusOK, t)
	return nil
}
