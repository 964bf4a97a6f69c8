package gateway

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json
var openAPIDocument []byte

//go:embed docs.html
var docsPage []byte

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPIDocument)
}

func (s *Server) docs(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage)
}

// Route is one registered route, in OpenAPI's path syntax.
type Route struct{ Method, Path string }

// Routes lists every registered route (for the test that keeps the OpenAPI
// document and the router in step).
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, Route{Method: r.Method, Path: strings.Join(parts, "/")})
	}
	return out
}
