package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// Cross-origin clients (API.md §9). Only the origins an operator lists are
// answered with Access-Control-* headers, always by name and always with
// credentials; any other origin gets none, so a browser shows its page
// nothing. A preflight answers 204 with the methods the path serves, which
// is why this is the gateway's own and not a generic middleware's: those
// answer one fixed list of methods for every path.

// CORS headers the contract names.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Idempotency-Key, X-CSRF-Token, browser, X-Refresh-Transport, X-Device-Token, Last-Event-ID"
	corsExposeHeaders = "Retry-After, X-Request-ID, WWW-Authenticate"
	corsMaxAge        = "600"
)

// ParseOrigins checks a comma-separated list of exact origins (scheme,
// host and port; no path, no wildcard) and returns them as browsers send
// them in Origin.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Host, "*") ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin: write scheme://host[:port], exactly as the page's address starts, with no wildcard", raw)
		}
		out = append(out, strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host))
	}
	return out, nil
}

// listedOrigin returns the request's Origin when an operator listed it.
func (s *Server) listedOrigin(r *http.Request) (string, bool) {
	origin := r.Header.Get("Origin")
	if origin == "" || s.origins == nil {
		return "", false
	}
	return origin, s.origins[origin]
}

// cors answers what §9 says for listed origins and nothing for others. A
// preflight of a path some route serves is marked for preflight to answer
// with 204 once the rate limit has passed it; one of a path no route serves
// falls through to the router's 404 or 405. With no origin listed, answers
// never vary by origin and nothing is done.
func (s *Server) cors(c *gin.Context) {
	if s.origins == nil {
		c.Next()
		return
	}
	origin, listed := s.listedOrigin(c.Request)
	c.Writer.Header().Add("Vary", "Origin")
	if !listed {
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	if c.Request.Method != http.MethodOptions || c.GetHeader("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		c.Next()
		return
	}
	methods := s.methodsOf(c.Request.URL.Path)
	if len(methods) == 0 {
		c.Next()
		return
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	// Answered once the rate limit has had its say (preflight).
	c.Set(ctxPreflight, true)
	c.Next()
}

const ctxPreflight = "gateway.preflight"

// preflight answers a preflight cors accepted with 204. It stands after the
// rate limit, so preflights count against their address like any request.
func preflight(c *gin.Context) {
	if c.GetBool(ctxPreflight) {
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// methodsOf lists the methods a path serves (HEAD with GET). A path some
// route names exactly (`/api/session`) is served by those routes alone,
// not by the patterns that take what the others leave (`/api/:resource`).
func (s *Server) methodsOf(path string) []string {
	var exact, any []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		matched, named := false, false
		for _, r := range s.routes[m] {
			if matchRoute(r, path) {
				matched = true
				named = named || !strings.ContainsAny(r, ":*")
			}
		}
		if named {
			exact = append(exact, m)
		}
		if matched {
			any = append(any, m)
		}
	}
	out := any
	if len(exact) > 0 {
		out = exact
	}
	if len(out) > 0 && out[0] == http.MethodGet {
		out = append([]string{http.MethodGet, http.MethodHead}, out[1:]...)
	}
	return out
}

// matchRoute matches a path against a route template of gin's form
// (`/api/:resource/:id`, `/console/*file`).
func matchRoute(template, path string) bool {
	t := strings.Split(strings.Trim(template, "/"), "/")
	p := strings.Split(strings.Trim(path, "/"), "/")
	for i, part := range t {
		if strings.HasPrefix(part, "*") {
			return true
		}
		if i >= len(p) {
			return false
		}
		if !strings.HasPrefix(part, ":") && part != p[i] {
			return false
		}
	}
	return len(t) == len(p)
}
