package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/realtime"
	"github.com/tnt/gateway/resources"
)

// realtimeService serves event streams (realtime.Hub).
type realtimeService interface {
	Serve(w http.ResponseWriter, r *http.Request, req realtime.OpenRequest) error
	Subscribe(ctx context.Context, caller realtime.Binding, clientID string, subs []realtime.Subscription) ([]realtime.Subscription, error)
	IssueTicket(ctx context.Context, b realtime.Binding) (string, error)
	RedeemTicket(ctx context.Context, ticket string) (realtime.Binding, error)
	Config() realtime.Config
}

// bindRealtimeRoutes registers the event stream, its tickets and its
// subscriptions (API.md §10).
func (s *Server) bindRealtimeRoutes(api *gin.RouterGroup) {
	api.GET("/realtime", s.handler(s.openStream))
	api.PUT("/realtime/subscriptions", s.handler(s.subscribe))
	api.Group("", s.signedIn).POST("/realtime/ticket", s.handler(s.issueTicket))
}

func (s *Server) realtimeOn() error {
	if s.realtime == nil {
		return resources.Errorf(resources.EUNAVAILABLE, "realtime streams are not enabled on this gateway")
	}
	return nil
}

// openStream answers GET /api/realtime: the caller's credentials, or a
// ticket for EventSource; a guest without either.
func (s *Server) openStream(c *gin.Context) error {
	if err := s.realtimeOn(); err != nil {
		return err
	}
	if isHead(c.Request.Context()) {
		c.Header("Content-Type", "text/event-stream; charset=utf-8")
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusOK)
		return nil
	}
	bind := realtime.BindingOf(principal(c))
	if t := c.Query("ticket"); t != "" {
		if !bind.Guest() {
			return resources.Errorf(resources.EVALUE, "send either credentials or a ticket, not both")
		}
		b, err := s.realtime.RedeemTicket(c.Request.Context(), t)
		if err != nil {
			return err
		}
		bind = b
	}
	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		last = c.Query("last_event_id")
	}
	err := s.realtime.Serve(c.Writer, c.Request, realtime.OpenRequest{Binding: bind, Addr: c.ClientIP(), LastEventID: last})
	var many *realtime.TooManyError
	if errors.As(err, &many) {
		return &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "%s", many.Error()), After: 30 * time.Second}
	}
	if err != nil {
		return resources.Errorf(resources.EUNAVAILABLE, "this connection cannot carry an event stream")
	}
	return nil
}

// issueTicket answers POST /api/realtime/ticket.
func (s *Server) issueTicket(c *gin.Context) error {
	if err := s.realtimeOn(); err != nil {
		return err
	}
	t, err := s.realtime.IssueTicket(c.Request.Context(), realtime.BindingOf(principal(c)))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	return answer(c, gin.H{"ticket": t, "expires_in": int(s.realtime.Config().TicketTTL / time.Second)}, nil)
}

// subscribe answers PUT /api/realtime/subscriptions.
func (s *Server) subscribe(c *gin.Context) error {
	if err := s.realtimeOn(); err != nil {
		return err
	}
	m, err := s.readRequest(c, "client_id", "subscriptions")
	if err != nil {
		return err
	}
	cid, isText := m["client_id"].(string)
	if !isText || cid == "" {
		return resources.Errorf(resources.EVALUE, "client_id must be the client_id of your stream's connected event")
	}
	list, isList := m["subscriptions"].([]any)
	if !isList {
		return resources.Errorf(resources.EVALUE, "subscriptions must be a list")
	}
	subs := make([]realtime.Subscription, 0, len(list))
	for _, x := range list {
		sm, err := object(x, "resource", "id", "query")
		if err != nil {
			return err
		}
		res, isText := sm["resource"].(string)
		if !isText || res == "" {
			return resources.Errorf(resources.EVALUE, "each subscription names a resource")
		}
		id, isText := optionalText(sm, "id")
		if !isText {
			return resources.Errorf(resources.EVALUE, "id must be a document id")
		}
		var q map[string]any
		if raw, has := sm["query"]; has && raw != nil {
			if q, isList = raw.(map[string]any); !isList {
				return resources.Errorf(resources.EVALUE, "query must be an object: the data of a query envelope")
			}
		}
		subs = append(subs, realtime.Subscription{Resource: res, ID: id, Query: q})
	}
	got, err := s.realtime.Subscribe(c.Request.Context(), realtime.BindingOf(principal(c)), cid, subs)
	if err != nil {
		return err
	}
	return answer(c, gin.H{"client_id": cid, "subscriptions": got}, nil)
}
