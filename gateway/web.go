package gateway

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/web"
)

// Content-Security-Policy of the pages the gateway serves. The console runs
// only its own scripts and styles and talks only to its own origin; no page
// may be framed.
const (
	consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
	// docsCSP lets Swagger UI set the inline styles it renders with; no
	// inline or foreign script runs.
	docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

// Where a browser finds the console and the API reference.
const (
	pathConsole = "/console/"
	pathDocs    = "/api/docs"
	pathOpenAPI = "/api/openapi.json"
)

// bindWebRoutes registers the root, the API reference page and, unless it
// is turned off, the admin console. The console is static files: it uses
// the documented API like any other client.
func (s *Server) bindWebRoutes(e *gin.Engine, api *gin.RouterGroup) {
	e.GET("/", s.root)
	docs := http.FileServerFS(web.Docs())
	api.GET("/docs", s.page(docsCSP, docs, "/"))
	e.GET("/api/docs/*file", s.page(docsCSP, docs, ""))
	if !s.cfg.Console {
		return
	}
	console := http.FileServerFS(web.Console())
	e.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, pathConsole) })
	e.GET("/console/*file", s.page(consoleCSP, console, ""))
}

// root sends a browser to the console (or, without it, the API reference)
// and tells any other client where both are.
func (s *Server) root(c *gin.Context) {
	to := pathDocs
	links := gin.H{"docs": pathDocs, "openapi": pathOpenAPI}
	if s.cfg.Console {
		to = pathConsole
		links["console"] = pathConsole
	}
	c.Header("Location", to)
	writeJSON(c, http.StatusFound, links)
}

// page serves files of a static site with its security headers. path, when
// set, is the file served whatever the request's path (the site's index).
func (s *Server) page(csp string, files http.Handler, path string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		r := c.Request.Clone(c.Request.Context())
		r.URL.Path = path
		if path == "" {
			r.URL.Path = "/" + strings.TrimPrefix(c.Param("file"), "/")
		}
		if strings.HasSuffix(r.URL.Path, "/index.html") {
			// FileServer answers /index.html with a redirect to ./; serve
			// the directory instead.
			r.URL.Path = strings.TrimSuffix(r.URL.Path, "index.html")
		}
		if r.URL.Path != "/" && strings.HasSuffix(r.URL.Path, "/") {
			// Only the site's root has an index; no folder is listed.
			s.fail(c, resources.Errorf(resources.ENOTFOUND, "no route for GET %s", clip(c.Request.URL.Path)))
			return
		}
		files.ServeHTTP(c.Writer, r)
	}
}

// Assets lists the files of the console and the reference page (for the
// test that every one is served).
func Assets() (console, docs []string) {
	return listFiles(web.Console()), listFiles(web.Docs())
}

func listFiles(f fs.FS) []string {
	var out []string
	_ = fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
