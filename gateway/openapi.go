package gateway

import (
	_ "embed"
	"strings"
)

// openAPIDocument describes the routes that are the same on every
// deployment; buildOpenAPI adds each resource's.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the API's OpenAPI 3.1 document as served: the routes of
// every deployment and the schemas and paths of this one's resources.
func (s *Server) OpenAPI() []byte { return append([]byte(nil), s.openapi...) }

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
