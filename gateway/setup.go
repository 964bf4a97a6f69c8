package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// setupService is the first run's one-time link (*account.Setup); nil when
// the gateway started with a level-0 user.
type setupService interface {
	Pending(ctx context.Context, token string) (bool, error)
	Complete(ctx context.Context, req account.SetupRequest) (resources.Principal, error)
}

// bindSetupRoutes registers the first-run routes: whether the setup link
// can still be used, and the creation of the first DBA with it.
func (s *Server) bindSetupRoutes(api *gin.RouterGroup) {
	api.GET("/setup", s.handler(s.setupState))
	api.POST("/setup", s.handler(s.completeSetup))
}

// setupState answers whether the link whose token the X-Setup-Token header
// carries can still create the first DBA; false to anyone else, so that
// nobody learns from it whether a deployment has a DBA yet.
func (s *Server) setupState(c *gin.Context) error {
	pending := false
	if token := c.GetHeader(headerSetupToken); s.setup != nil && token != "" {
		var err error
		if pending, err = s.setup.Pending(c.Request.Context(), token); err != nil {
			return err
		}
	}
	ok(c, http.StatusOK, map[string]bool{"pending": pending}, "")
	return nil
}

// headerSetupToken carries the setup link's token to GET /api/setup (a
// header, so that no URL and no log holds it).
const headerSetupToken = "X-Setup-Token"

func (s *Server) completeSetup(c *gin.Context) error {
	m, err := s.readRequest(c, "token", "username", "password")
	if err != nil {
		return err
	}
	req := account.SetupRequest{IP: c.ClientIP()}
	for key, dst := range map[string]*string{"token": &req.Token, "username": &req.Username, "password": &req.Password} {
		v, isText := m[key].(string)
		if !isText {
			return resources.Errorf(resources.EINVALIDREQUEST, "%s is required for the request", key)
		}
		*dst = v
	}
	if s.setup == nil {
		return account.ErrSetupLink()
	}
	p, err := s.setup.Complete(c.Request.Context(), req)
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request.Context(), "first level-0 user created through the setup link",
		slog.String("username", p.Username), slog.String("request_id", requestID(c)))
	ok(c, http.StatusCreated, map[string]any{"_id": p.UserID, "username": p.Username, "level": p.Level}, "")
	return nil
}
