package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/admin"
)

// adminService holds the upper levels' tools (admin.Admin).
type adminService interface {
	ListUsers(ctx context.Context, p resources.Principal, params map[string][]string) (resources.Result, error)
	SetLevel(ctx context.Context, p resources.Principal, req admin.LevelChange) (resources.Document, error)
	DeleteUser(ctx context.Context, p resources.Principal, req admin.UserDeletion) error
	DropCollection(ctx context.Context, p resources.Principal, req admin.DropRequest) (admin.Dropped, error)
	Policy(p resources.Principal) (admin.PolicyView, error)
	ReplacePolicy(ctx context.Context, p resources.Principal, req admin.PolicyChange) (admin.PolicyView, error)
	PreviewPolicy(ctx context.Context, p resources.Principal, req admin.PolicyChange) (admin.PolicyPreview, error)
	UserSessions(ctx context.Context, p resources.Principal, req admin.UserSessionsRequest) ([]admin.UserSession, error)
	RevokeUserSessions(ctx context.Context, p resources.Principal, req admin.UserSessionsRequest) (admin.SessionsRevoked, error)
	CanSeeStatus(p resources.Principal) error
	Audit(ctx context.Context, p resources.Principal, params map[string][]string) (resources.Result, error)
	CanBackup(p resources.Principal) error
	CanRestore(p resources.Principal) error
	Backup(ctx context.Context, p resources.Principal, w io.Writer, ip string) error
	Restore(ctx context.Context, p resources.Principal, r io.Reader, ip string) (admin.RestoreSummary, error)
}

// Routes whose bodies or answers are whole databases: larger limit, longer
// deadlines.
const (
	routeBackup  = "/api/admin/backup"
	routeRestore = "/api/admin/restore"
)

// bindAdminRoutes registers the administration routes.
func (s *Server) bindAdminRoutes(api *gin.RouterGroup) {
	api = api.Group("", s.signedIn)
	api.GET("/admin/users", s.handler(s.listUsers))
	api.POST("/admin/users", s.handler(s.createUser))
	api.PUT("/admin/users/:id/level", s.handler(s.setLevel))
	api.DELETE("/admin/users/:id", s.handler(s.deleteUser))
	api.GET("/admin/users/:id/sessions", s.handler(s.userSessions))
	api.DELETE("/admin/users/:id/sessions", s.handler(s.revokeUserSessions))
	api.GET("/admin/status", s.handler(s.status))
	api.DELETE("/admin/collections/:resource", s.handler(s.dropCollection))
	api.GET("/admin/policy", s.handler(s.readPolicy))
	api.PUT("/admin/policy", s.handler(s.replacePolicy))
	api.GET("/admin/audit", s.handler(s.audit))
	api.GET("/admin/backup", s.handler(s.backup))
	api.POST("/admin/restore", s.handler(s.restore))
}

func (s *Server) listUsers(c *gin.Context) error {
	res, err := s.admin.ListUsers(c.Request.Context(), principal(c), c.Request.URL.Query())
	return answerPage(c, res, err)
}

// createUser makes an account with credentials an administrator sends
// encrypted, as registration takes them (API.md §11).
func (s *Server) createUser(c *gin.Context) error {
	payload, err := s.readPayload(c)
	if err != nil {
		return err
	}
	u, err := s.auth.CreateUser(c.Request.Context(), principal(c), account.NewUserRequest{Payload: payload, IP: c.ClientIP()})
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, u, "")
	return nil
}

func (s *Server) setLevel(c *gin.Context) error {
	m, err := s.readRequest(c, "level")
	if err != nil {
		return err
	}
	level, isInt := resources.AsInt(m["level"])
	if !isInt {
		return admin.InvalidField("level")
	}
	u, err := s.admin.SetLevel(c.Request.Context(), principal(c), admin.LevelChange{UserID: c.Param("id"), Level: level, IP: c.ClientIP()})
	return answer(c, u, err)
}

func (s *Server) deleteUser(c *gin.Context) error {
	if err := s.admin.DeleteUser(c.Request.Context(), principal(c), admin.UserDeletion{UserID: c.Param("id"), IP: c.ClientIP()}); err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]string{"deleted": c.Param("id")}, "")
	return nil
}

func (s *Server) dropCollection(c *gin.Context) error {
	res, err := s.admin.DropCollection(c.Request.Context(), principal(c),
		admin.DropRequest{Resource: c.Param("resource"), Confirm: c.Query("confirm"), IP: c.ClientIP()})
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, res, "")
	return nil
}

func (s *Server) readPolicy(c *gin.Context) error {
	res, err := s.admin.Policy(principal(c))
	return answer(c, res, err)
}

func (s *Server) replacePolicy(c *gin.Context) error {
	m, err := s.readRequest(c, "lines")
	if err != nil {
		return err
	}
	list, isList := m["lines"].([]any)
	if !isList {
		return admin.InvalidField("lines")
	}
	req := admin.PolicyChange{Lines: make([]string, len(list)), IP: c.ClientIP()}
	for i, l := range list {
		line, isText := l.(string)
		if !isText {
			return admin.InvalidLine(i)
		}
		req.Lines[i] = line
	}
	if c.Query("dry_run") == "true" {
		preview, err := s.admin.PreviewPolicy(c.Request.Context(), principal(c), req)
		return answer(c, preview, err)
	}
	res, err := s.admin.ReplacePolicy(c.Request.Context(), principal(c), req)
	return answer(c, res, err)
}

func (s *Server) userSessions(c *gin.Context) error {
	list, err := s.admin.UserSessions(c.Request.Context(), principal(c), admin.UserSessionsRequest{UserID: c.Param("id"), IP: c.ClientIP()})
	return answer(c, list, err)
}

func (s *Server) revokeUserSessions(c *gin.Context) error {
	n, err := s.admin.RevokeUserSessions(c.Request.Context(), principal(c), admin.UserSessionsRequest{UserID: c.Param("id"), IP: c.ClientIP()})
	return answer(c, n, err)
}

func (s *Server) audit(c *gin.Context) error {
	res, err := s.admin.Audit(c.Request.Context(), principal(c), c.Request.URL.Query())
	return answerPage(c, res, err)
}

// backup streams the archive. HEAD answers with the headers of a backup,
// without taking one. The caller's right is checked before the connection
// gets the long deadline and before any header of an archive is written, so
// a refusal is the JSON envelope it says it is.
func (s *Server) backup(c *gin.Context) error {
	if err := s.admin.CanBackup(principal(c)); err != nil {
		return err
	}
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(s.cfg.BulkTimeout))
	c.Header("Content-Type", "application/gzip")
	c.Header("Content-Disposition", `attachment; filename="gateway-backup-`+time.Now().UTC().Format("20060102T150405Z")+`.jsonl.gz"`)
	c.Header("Cache-Control", "no-store")
	if isHead(c.Request.Context()) {
		c.Status(http.StatusOK)
		return nil
	}
	err := s.admin.Backup(c.Request.Context(), principal(c), c.Writer, c.ClientIP())
	if err != nil && c.Writer.Written() {
		// The archive is cut short; its missing trailer makes a restore
		// refuse it. Log the cause once.
		s.log.ErrorContext(c.Request.Context(), "backup stream failed", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		c.Abort()
		return nil
	}
	return err
}

// restore reads an archive. Only a caller who may restore gets the long
// read deadline: anyone else is answered before a byte of the body is read.
func (s *Server) restore(c *gin.Context) error {
	if err := s.admin.CanRestore(principal(c)); err != nil {
		return closeUnread(c, err)
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(s.cfg.BulkTimeout))
	res, err := s.admin.Restore(c.Request.Context(), principal(c), c.Request.Body, c.ClientIP())
	return answer(c, res, err)
}
