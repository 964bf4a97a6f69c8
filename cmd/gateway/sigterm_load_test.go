package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
)

// TestSIGTERMUnderLoad sends SIGTERM while clients keep creating documents:
// every request the gateway accepted is answered (no reset, no 5xx), every
// 201 is in the store after a restart, and new connections are refused once
// the listener is closed.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the binary")
	}
	bin := gatewaytest.Build(t, ".")
	env := []string{"GATEWAY_DATA_DIR=" + t.TempDir(), "GATEWAY_RSA_BITS=2048", "GATEWAY_RATE_LIMIT=0", "GATEWAY_DRAIN_DELAY=300ms",
		"GATEWAY_BOOTSTRAP_USER=" + rootUser, "GATEWAY_BOOTSTRAP_PASSWORD=" + rootPass}
	p := gatewaytest.Start(t, bin, env...)
	base := "http://" + p.Addr
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	var created, refused, dropped atomic.Int64
	var shuttingDown atomic.Bool
	var other sync.Map
	var seq atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"operation":"create","data":{"name":"under load %d"}}`, seq.Add(1))
				req, _ := http.NewRequest("POST", base+"/api/gym", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", rootAuth())
				resp, err := client.Do(req)
				var op *net.OpError
				switch {
				case err != nil && errors.As(err, &op) && op.Op == "dial":
					refused.Add(1)
					time.Sleep(10 * time.Millisecond) // a client backing off, not a wait for anything
				case err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) && shuttingDown.Load():
					// A connection still in the kernel's accept queue when
					// the listener closes is reset; the gateway never read
					// it. The count after the restart proves nothing of it
					// was applied.
					refused.Add(1)
				case err != nil:
					dropped.Add(1)
					other.Store(err.Error(), true)
				case resp.StatusCode == 201:
					resp.Body.Close()
					created.Add(1)
				default:
					resp.Body.Close()
					other.Store(resp.Status, true)
				}
			}
		}()
	}
	gatewaytest.WaitFor(t, time.Minute, "30 creates before SIGTERM", func() bool { return created.Load() >= 30 })
	shuttingDown.Store(true)
	if err := p.Terminate(t, 30*time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
	close(stop)
	wg.Wait()
	other.Range(func(k, _ any) bool {
		t.Errorf("an answer or error other than 201 or a refused connection: %v", k)
		return true
	})
	if dropped.Load() > 0 || created.Load() < 20 || refused.Load() == 0 {
		t.Errorf("created %d, dropped %d, refused after shutdown %d", created.Load(), dropped.Load(), refused.Load())
	}
	q := gatewaytest.Start(t, bin, env...)
	m := &market{base: "http://" + q.Addr, client: http.DefaultClient}
	if n := int64(len(m.all(t, "/api/gym?name:contains=under+load"))); n != created.Load() {
		t.Errorf("after a restart %d documents are stored, %d were answered 201", n, created.Load())
	}
}
