package gateway_test

import (
	"bufio"
	"fmt"
	"io"
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
// on the public routes that read JSON bodies grow the heap by a few MiB;
// sized by the declared length it was 300 MiB.
func TestDeclaredLengthsHoldNoMemory(t *testing.T) {
	e := MustStartGatewayWith(t, options{maxBody: 1 << 20})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	// The routes that read a body before any credential: a route that needs
	// credentials answers a caller without them before reading
	// (TestCredentialsBeforeBodies).
	routes := []string{"/api/setup", "/api/register", "/api/auth", "/api/token/refresh", "/api/discovery/gym"}
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

// TestBothLengthsRefused: a request declaring both Content-Length and
// Transfer-Encoding (the shape of request smuggling) is refused with 400 and
// its connection closed, so the bytes behind it are never read as another
// request; the same requests with one framing each still work.
func TestBothLengthsRefused(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		host := strings.TrimPrefix(e.srv.URL, "http://")
		send := func(raw string) (int, bool) {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := fmt.Fprint(c, raw); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(c)
			resp, err := http.ReadResponse(rd, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			// A second answer on the connection means the smuggled request
			// behind the first was served.
			_, err = http.ReadResponse(rd, nil)
			return resp.StatusCode, err == nil
		}
		body := `{"operation":"query","data":{}}`
		smuggledReq := "GET /api/account/me HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		for name, raw := range map[string]string{
			"CL.TE": "POST /api/discovery/gym HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(chunked)) +
				"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggledReq,
			"TE.CL, header names in other cases": "POST /api/discovery/gym HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n" + chunked + smuggledReq,
		} {
			status, second := send(raw)
			if status != 400 || second {
				t.Errorf("%s: %d, a second answer on the connection: %v", name, status, second)
			}
		}
		for name, raw := range map[string]string{
			"Content-Length":    "POST /api/discovery/gym HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\nConnection: close\r\n\r\n" + body,
			"Transfer-Encoding": "POST /api/discovery/gym HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked,
		} {
			if status, _ := send(raw); status == 400 {
				t.Errorf("a request framed by %s alone: %d", name, status)
			}
		}
	})
}

// TestCredentialsBeforeBodies: a route that needs credentials answers a
// caller without them 401 (with WWW-Authenticate) whatever the body: not
// JSON, the wrong type, unknown keys; a resource guests cannot use does the
// same, while discovery and the public routes still read their bodies.
func TestCredentialsBeforeBodies(t *testing.T) {
	e := MustStartGateway(t)
	for _, route := range []struct{ method, path string }{
		{"POST", "/api/gym"}, {"POST", "/api/coach"}, {"POST", "/api/profile"},
		{"POST", "/api/perform_transaction"}, {"POST", "/api/transfer"}, {"POST", "/api/verify_transaction_record"},
		{"PUT", "/api/admin/policy"}, {"PUT", "/api/admin/users/0123456789abcdef01234567/level"},
		{"POST", "/api/admin/users/0123456789abcdef01234567/balance"}, {"POST", "/api/account/password"},
		{"DELETE", "/api/account"}, {"DELETE", "/api/sessions"},
	} {
		for _, body := range []string{"not json", `{"operation":"nope"}`, `[1,2]`, `{"lines":7}`} {
			r := e.call(t, route.method, route.path, "", body)
			if r.status != 401 || r.body.ErrorCode != "AuthenticationError" || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s and no credentials: %d %s", route.method, route.path, body, r.status, r.raw)
			}
		}
	}
	if r := e.call(t, "POST", "/api/register", "", "not json"); r.status != 400 {
		t.Errorf("a public route reads its body: %d %s", r.status, r.raw)
	}
}

// TestPlainCredentialsAreToldHowToEncrypt: plain JSON credentials sent to
// a route that takes an encrypted payload are refused with a message that
// says how credentials travel and where the key is; a create naming several
// bad fields names them all.
func TestPlainCredentialsAreToldHowToEncrypt(t *testing.T) {
	e := MustStartGateway(t)
	for _, path := range []string{"/api/register", "/api/auth", "/api/wechat_auth"} {
		r := e.call(t, "POST", path, "", `{"username":"plain_user","password":"a plain long password"}`)
		if r.status != 400 || !strings.Contains(r.body.ExceptionMessage, "travel encrypted") || !strings.Contains(r.body.ExceptionMessage, "/api/gpk") {
			t.Errorf("plain credentials to %s: %d %s", path, r.status, r.raw)
		}
	}
	r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"create","data":{"phone":"call me","colour":"red","location":{"lat":"north"}}}`)
	for _, want := range []string{"phone does not match", "colour cannot be found in gym", "location.lat must be", "name is required for creating gym"} {
		if r.status != 400 || !strings.Contains(r.body.ExceptionMessage, want) {
			t.Errorf("a create with four bad fields does not name %q: %d %s", want, r.status, r.raw)
		}
	}
}
