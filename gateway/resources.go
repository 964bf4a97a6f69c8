package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

// bindResourceRoutes registers discovery and the operations on resources.
func (s *Server) bindResourceRoutes(api *gin.RouterGroup) {
	api.GET("/discovery", s.handler(s.listDiscoverable))
	api.GET("/discovery/:resource", s.handler(s.discover))
	api.POST("/:resource", s.handler(s.execute))
	api.GET("/:resource", s.handler(s.list))
	api.GET("/:resource/:id", s.handler(s.get))
}

// execute serves POST /api/{resource}: one operation envelope.
func (s *Server) execute(c *gin.Context) error {
	if p := principal(c); p.IsGuest() && !s.ops.OpenToGuests(c.Param("resource")) {
		// A resource guests cannot use asks for credentials before its
		// body is read.
		return closeUnread(c, resources.Errorf(resources.EAUTHENTICATION, "authentication is required to use %s", resources.QuoteName(c.Param("resource"))))
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	env, err := resources.ParseEnvelope(body, s.cfg.JSON)
	if err != nil {
		return err
	}
	res, err := s.ops.Execute(c.Request.Context(), principal(c), c.Param("resource"), env)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if env.Operation == resources.OpCreate {
		status = http.StatusCreated
	}
	ok(c, status, res.Data, res.Next)
	res.Release()
	return nil
}

// list serves GET /api/{resource}: a query from URL parameters.
func (s *Server) list(c *gin.Context) error {
	sc, data, err := s.urlQuery(c)
	if err != nil {
		return err
	}
	res, err := s.ops.Execute(c.Request.Context(), principal(c), sc.Name, &resources.Envelope{Operation: resources.OpQuery, Data: data})
	return answerPage(c, res, err)
}

// get serves GET /api/{resource}/{id}.
func (s *Server) get(c *gin.Context) error {
	res, err := s.ops.Get(c.Request.Context(), principal(c), c.Param("resource"), c.Param("id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, res.Data, "")
	return nil
}

// discover serves GET /api/discovery/{resource}: public fields, no
// credentials needed.
func (s *Server) discover(c *gin.Context) error {
	sc, data, err := s.urlQuery(c)
	if err != nil {
		return err
	}
	res, err := s.ops.Discover(c.Request.Context(), principal(c), sc.Name, data)
	return answerPage(c, res, err)
}

// listDiscoverable serves GET /api/discovery: which resources a Guest can
// discover, with their public fields.
func (s *Server) listDiscoverable(c *gin.Context) error {
	ok(c, http.StatusOK, s.ops.Discoverable(principal(c)), "")
	return nil
}

// urlQuery reads the resource of the path and its query parameters as the
// data of a query envelope.
func (s *Server) urlQuery(c *gin.Context) (*resources.Schema, map[string]any, error) {
	sc, err := s.ops.Schema(c.Param("resource"))
	if err != nil {
		return nil, nil, err
	}
	data, err := sc.QueryFromParams(c.Request.URL.Query())
	return sc, data, err
}
