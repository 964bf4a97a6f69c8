// Package s3test runs an S3-compatible server over HTTP for tests (a
// gofakes3 server, in memory, on a free loopback port) with one bucket.
package s3test

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3 server.
type Server struct {
	// URL is the endpoint (http://127.0.0.1:port).
	URL string
	// Bucket exists from the start.
	Bucket string
	srv    *httptest.Server
}

// Start runs a server with the bucket "gateway-files" until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	backend := s3mem.New()
	const bucket = "gateway-files"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithoutVersioning()).Server())
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Bucket: bucket, srv: srv}
}
