package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// adminService holds the upper levels' tools (resources.Admin).
type adminService interface {
	ListUsers(ctx context.Context, p resources.Principal, params url.Values) (resources.Result, error)
	SetLevel(ctx context.Context, p resources.Principal, id string, body any, ip string) (resources.Document, error)
	DeleteUser(ctx context.Context, p resources.Principal, id, ip string) error
	DropCollection(ctx context.Context, p resources.Principal, resource, confirm, ip string) (resources.Document, error)
	Policy(p resources.Principal) (resources.Document, error)
	ReplacePolicy(ctx context.Context, p resources.Principal, body any, ip string) (resources.Document, error)
	Audit(ctx context.Context, p resources.Principal, params url.Values) (resources.Result, error)
	CanBackup(p resources.Principal) error
	Backup(ctx context.Context, p resources.Principal, w io.Writer, ip string) error
	Restore(ctx context.Context, p resources.Principal, r io.Reader, ip string) (resources.Document, error)
}

// Routes whose bodies or answers are whole databases: larger limit, longer
// deadlines.
const (
	routeBackup  = "/api/admin/backup"
	routeRestore = "/api/admin/restore"
)

func (s *Server) adminRoutes(api *gin.RouterGroup) {
	api.GET("/admin/users", s.handler(func(c *gin.Context) error {
		res, err := s.admin.ListUsers(c.Request.Context(), principal(c), c.Request.URL.Query())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res.Data, res.Next)
		return nil
	}))
	api.PUT("/admin/users/:id/level", s.handler(func(c *gin.Context) error {
		body, err := s.readJSON(c)
		if err != nil {
			return err
		}
		u, err := s.admin.SetLevel(c.Request.Context(), principal(c), c.Param("id"), body, c.ClientIP())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, withLevelName(u), "")
		return nil
	}))
	api.DELETE("/admin/users/:id", s.handler(func(c *gin.Context) error {
		if err := s.admin.DeleteUser(c.Request.Context(), principal(c), c.Param("id"), c.ClientIP()); err != nil {
			return err
		}
		ok(c, http.StatusOK, map[string]string{"deleted": c.Param("id")}, "")
		return nil
	}))
	api.DELETE("/admin/collections/:resource", s.handler(func(c *gin.Context) error {
		res, err := s.admin.DropCollection(c.Request.Context(), principal(c), c.Param("resource"), c.Query("confirm"), c.ClientIP())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res, "")
		return nil
	}))
	api.GET("/admin/policy", s.handler(func(c *gin.Context) error {
		res, err := s.admin.Policy(principal(c))
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res, "")
		return nil
	}))
	api.PUT("/admin/policy", s.handler(func(c *gin.Context) error {
		body, err := s.readJSON(c)
		if err != nil {
			return err
		}
		res, err := s.admin.ReplacePolicy(c.Request.Context(), principal(c), body, c.ClientIP())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res, "")
		return nil
	}))
	api.GET("/admin/audit", s.handler(func(c *gin.Context) error {
		res, err := s.admin.Audit(c.Request.Context(), principal(c), c.Request.URL.Query())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res.Data, res.Next)
		return nil
	}))
	api.GET("/admin/backup", s.handler(func(c *gin.Context) error {
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(s.cfg.BulkTimeout))
		c.Header("Content-Type", "application/gzip")
		c.Header("Content-Disposition", `attachment; filename="gateway-backup-`+time.Now().UTC().Format("20060102T150405Z")+`.jsonl.gz"`)
		c.Header("Cache-Control", "no-store")
		if isHead(c.Request.Context()) {
			// HEAD answers with the headers of a backup, without taking one.
			if err := s.admin.CanBackup(principal(c)); err != nil {
				return err
			}
			c.Status(http.StatusOK)
			return nil
		}
		err := s.admin.Backup(c.Request.Context(), principal(c), c.Writer, c.ClientIP())
		if err != nil && c.Writer.Written() {
			// The archive is cut short; its missing trailer makes a
			// restore refuse it. Log the cause once.
			s.log.ErrorContext(c.Request.Context(), "backup stream failed", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
			c.Abort()
			return nil
		}
		return err
	}))
	api.POST("/admin/restore", s.handler(func(c *gin.Context) error {
		_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(s.cfg.BulkTimeout))
		res, err := s.admin.Restore(c.Request.Context(), principal(c), c.Request.Body, c.ClientIP())
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res, "")
		return nil
	}))
}

func withLevelName(u resources.Document) resources.Document {
	if n, isInt := u["level"].(int64); isInt {
		u["level_name"] = policy.Level(n).String()
	}
	return u
}

// PolicyEditor lets the administration replace the policy in a Holder.
type PolicyEditor struct{ H *policy.Holder }

// Lines returns the policy in force.
func (p PolicyEditor) Lines() []string { return p.H.Lines() }

// Version returns the stored version in force.
func (p PolicyEditor) Version() int64 { return p.H.Version() }

// Base returns the configured policy.
func (p PolicyEditor) Base() []string { return p.H.Base() }

// CheckEdit applies the holder's rule of edits, in the domain's words.
func (p PolicyEditor) CheckEdit(level int, current, proposed []string) error {
	if _, err := p.H.Compile(proposed); err != nil {
		return resources.Errorf(resources.EVALUE, "the policy is refused: %s", err.Error())
	}
	err := p.H.CheckEdit(policy.Level(level), current, proposed)
	var edit *policy.EditError
	switch {
	case errors.As(err, &edit):
		return resources.Errorf(resources.EPERMISSION, "the policy is refused: %s; nothing was changed", edit.Error())
	case err != nil:
		return fmt.Errorf("policy edit: %w", err)
	}
	return nil
}

// Check builds a candidate policy without applying it.
func (p PolicyEditor) Check(lines []string) error {
	_, err := p.H.Build(lines)
	return err
}

// Apply builds and applies a policy with its version.
func (p PolicyEditor) Apply(lines []string, version int64) error {
	e, err := p.H.Build(lines)
	if err != nil {
		return err
	}
	p.H.Apply(e, version)
	return nil
}
