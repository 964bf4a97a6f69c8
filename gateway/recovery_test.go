package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestPanicBecomesInternalError serves a route that panics over real HTTP:
// the client gets the InternalError envelope and nothing of the panic; the
// log gets the panic with the request id.
func TestPanicBecomesInternalError(t *testing.T) {
	var logs LockedWriter
	s, err := New(Config{}, Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.engine.GET("/api/boom", func(*gin.Context) { panic("secret internal detail") })
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || string(body) != `{"success":false,"data":null,"exceptionMessage":"Internal error.","errorCode":"InternalError"}` {
		t.Errorf("panic answer: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), resp.Header.Get("X-Request-Id")) {
		t.Errorf("panic not logged with the request id: %s", logs.String())
	}
}
