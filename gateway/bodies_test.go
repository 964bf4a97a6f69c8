package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// readersBlocked counts the requests whose handlers wait in the body reader.
func readersBlocked() int {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "gateway.readAll(")
}

// TestDeclaredLengthsHoldNoMemory: clients that declare a 1 MiB body and
// send one byte of it, before any credential is checked, hold memory for the
// bytes they sent, not for the length they declared. 300 such connections
// on routes that read JSON bodies (with and without credentials) grow the
// heap by a few MiB; sized by the declared length it was 300 MiB.
func TestDeclaredLengthsHoldNoMemory(t *testing.T) {
	e := MustStartGatewayWith(t, options{maxBody: 1 << 20})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	routes := []string{"/api/gym", "/api/register", "/api/auth", "/api/token/refresh", "/api/discovery/gym"}
	const conns = 300
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	open := make([]net.Conn, 0, conns)
	t.Cleanup(func() {
		for _, c := range open {
			_ = c.Close()
		}
	})
	for i := range conns {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		route := routes[i%len(routes)]
		method := "POST"
		if route == "/api/discovery/gym" {
			method = "GET"
		}
		if _, err := fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", method, route, host, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	want := conns * 4 / 5 // the discovery route answers without reading
	for readersBlocked() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests reached the body reader", readersBlocked(), want)
		}
		runtime.Gosched()
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d requests waiting on their bodies: heap in use grew by %d KiB", readersBlocked(), grew>>10)
	if grew > 48<<20 {
		t.Errorf("300 one-byte bodies declaring 1 MiB each grew the heap by %d MiB", grew>>20)
	}
	// The bodies still work when they arrive whole.
	c := open[0]
	if _, err := fmt.Fprint(c, strings.Repeat(" ", 1<<20-2)+"}"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 400 && resp.StatusCode != 401 {
		t.Errorf("a whole 1 MiB body of an empty object: %d", resp.StatusCode)
	}
}
