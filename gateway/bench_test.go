package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkAuthenticatedQuery serves the authenticated 20-document query
// through the gateway's handler, without the network: the CPU and the
// allocations of the gateway's own work per request.
func BenchmarkAuthenticatedQuery(b *testing.B) {
	e := MustStartGateway(b)
	for i := range 40 {
		e.create(b, "admin", "gym", fmt.Sprintf(`{"name":"bench gym %02d","type":{"name":"kind %d"},"address":"%d Main Street","description":"a gym for benchmarks"}`, i, i%4, i))
	}
	r := e.call(b, "GET", "/api/admin/auth", "admin", "")
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body.Data, &tk); err != nil || r.status != 200 {
		b.Fatalf("admin token: %d %s", r.status, r.raw)
	}
	body := `{"operation":"query","data":{},"find":20}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/gym", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
		w := &discard{header: http.Header{}}
		e.gw.ServeHTTP(w, req)
		if w.status != http.StatusOK || w.n < 1000 {
			b.Fatalf("%d, %d bytes", w.status, w.n)
		}
	}
}

// discard is a ResponseWriter that keeps only the status and the size, as
// a connection's buffered writer costs no allocation per write.
type discard struct {
	header http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header { return d.header }

func (d *discard) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}

func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += len(p)
	return len(p), nil
}
