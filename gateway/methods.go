package gateway

import (
	"context"
	"net/http"
)

// methodLabel bounds the method a request is counted and logged under: the
// methods of HTTP by their names, every other word as "OTHER". A client may
// send any token as a method; none of them may become a metric series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// headKey marks a HEAD request served by its GET route.
type headKey struct{}

// isHead reports whether the request came in as HEAD.
func isHead(ctx context.Context) bool {
	v, _ := ctx.Value(headKey{}).(bool)
	return v
}

// asGet serves a HEAD request as the GET of the same URL: every GET route
// answers HEAD with the same status and headers, and net/http drops the body
// because the request it answers is still a HEAD.
func asGet(r *http.Request) *http.Request {
	if r.Method != http.MethodHead {
		return r
	}
	g := r.WithContext(context.WithValue(r.Context(), headKey{}, true))
	g.Method = http.MethodGet
	return g
}
