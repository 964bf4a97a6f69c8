package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
	"github.com/tnt/gateway/crypto"
)

// market is the shared state of a load run against one gateway.
type market struct {
	base    string
	users   []shopper
	merch   []string
	credits int64 // Σ admin credits − debits
	stockIn int64 // Σ stock ever added
	mu      sync.Mutex
	pending []pendingBuy
	client  *http.Client
	// bought counts purchases answered 201: a test waits on it for the load
	// to have done something before it breaks the gateway.
	bought atomic.Int64
}

type shopper struct {
	name, id, token string
}

type pendingBuy struct {
	id, code, buyer string
}

// send makes one request; it reports the status (0 when the connection
// failed, as when the gateway is killed) and the envelope's data.
func (m *market) send(method, path, auth, key, body string) (int, json.RawMessage) {
	req, _ := http.NewRequest(method, m.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Data json.RawMessage `json:"data"`
		Next string          `json:"next"`
	}
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env.Data
}

// setupMarket makes shoppers with credited wallets and merchandise owned by
// the root admin, who also verifies purchases (and is credited as seller).
func setupMarket(t *testing.T, base string, shoppers, items int) *market {
	t.Helper()
	m := &market{base: base, client: &http.Client{Timeout: 10 * time.Second}}
	for i := range items {
		status, data := m.send("POST", "/api/merchandise", rootAuth(), "",
			fmt.Sprintf(`{"operation":"create","data":{"name":"item %d","price":%d,"stock":60}}`, i, 1+i*3))
		var doc struct {
			ID string `json:"_id"`
		}
		if status != 201 || json.Unmarshal(data, &doc) != nil {
			t.Fatalf("merchandise: %d %s", status, data)
		}
		m.merch = append(m.merch, doc.ID)
		m.stockIn += 60
	}
	info, err := crypto.FetchPublicKey(context.Background(), m.client, base)
	if err != nil {
		t.Fatal(err)
	}
	for i := range shoppers {
		name := fmt.Sprintf("shopper_%02d", i)
		plain, _ := crypto.StampPayload(map[string]any{"username": name, "password": "a fine long password"}, time.Now())
		jwe, _ := crypto.SealPayload(info, plain)
		status, data := m.send("POST", "/api/register", "", "", `{"payload":"`+jwe+`"}`)
		var tk struct {
			Access string `json:"access_token"`
		}
		if status != 201 || json.Unmarshal(data, &tk) != nil {
			t.Fatalf("register: %d %s", status, data)
		}
		_, me := m.send("GET", "/api/account/me", "Bearer "+tk.Access, "", "")
		var doc struct {
			ID string `json:"_id"`
		}
		_ = json.Unmarshal(me, &doc)
		if status, data := m.send("POST", "/api/admin/users/"+doc.ID+"/balance", rootAuth(), "", `{"delta":500,"reason":"load test"}`); status != 200 {
			t.Fatalf("credit: %d %s", status, data)
		}
		m.credits += 500
		m.users = append(m.users, shopper{name: name, id: doc.ID, token: "Bearer " + tk.Access})
	}
	return m
}

// drive runs workers that each make ops random money calls until done is
// closed or they finish; some calls are retried with the same key and body.
func (m *market) drive(workers, ops int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range ops {
				select {
				case <-stop:
					return
				default:
				}
				m.step(r, fmt.Sprintf("w%d-op%d", w, i))
			}
		}()
	}
	wg.Wait()
}

func (m *market) step(r *rand.Rand, key string) {
	u := m.users[r.IntN(len(m.users))]
	retries := 1 + r.IntN(2)
	switch x := r.IntN(10); {
	case x < 4: // purchase
		body := fmt.Sprintf(`{"items":[{"merchandise_id":"%s","quantity":%d}]}`, m.merch[r.IntN(len(m.merch))], 1+r.IntN(3))
		for range retries {
			status, data := m.send("POST", "/api/perform_transaction", u.token, key, body)
			var rec struct {
				ID   string `json:"_id"`
				Code string `json:"verification_code"`
			}
			if status == 201 && json.Unmarshal(data, &rec) == nil {
				m.mu.Lock()
				if !m.hasPending(rec.ID) {
					m.pending = append(m.pending, pendingBuy{rec.ID, rec.Code, u.token})
					m.bought.Add(1)
				}
				m.mu.Unlock()
			}
		}
	case x < 6: // verify (as the seller) or cancel (as the buyer) a pending purchase
		m.mu.Lock()
		if len(m.pending) == 0 {
			m.mu.Unlock()
			return
		}
		i := r.IntN(len(m.pending))
		p := m.pending[i]
		m.pending = append(m.pending[:i], m.pending[i+1:]...)
		m.mu.Unlock()
		for range retries {
			if x == 4 {
				m.send("POST", "/api/verify_transaction", rootAuth(), key, `{"transaction_id":"`+p.id+`","verification_code":"`+p.code+`"}`)
			} else {
				m.send("POST", "/api/cancel_transaction", p.buyer, key, `{"transaction_id":"`+p.id+`"}`)
			}
		}
	default: // transfer
		to := m.users[r.IntN(len(m.users))]
		body := fmt.Sprintf(`{"recipient":"%s","amount":%d}`, to.name, 1+r.IntN(60))
		for range retries {
			m.send("POST", "/api/transfer", u.token, key, body)
		}
	}
}

func (m *market) hasPending(id string) bool {
	for _, p := range m.pending {
		if p.id == id {
			return true
		}
	}
	return false
}

// all pages of a GET query, as the root admin.
func (m *market) all(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := ""
	for {
		u := path + "&find=0"
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		req, _ := http.NewRequest("GET", m.base+u, nil)
		req.Header.Set("Authorization", rootAuth())
		resp, err := m.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data []map[string]any `json:"data"`
			Next string           `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
		}
		out = append(out, env.Data...)
		if env.Next == "" {
			return out
		}
		after = env.Next
	}
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// checkInvariants checks API.md §6 exactly: Σ balances + Σ pending totals =
// Σ credits − debits, and stock + Σ pending and completed quantities = Σ
// stock ever added; and that nothing is negative.
func (m *market) checkInvariants(t *testing.T) {
	t.Helper()
	var balances, pending, sold, stock int64
	for _, p := range m.all(t, "/api/profile?sort=_id") {
		b := num(p["balance"])
		if b < 0 {
			t.Errorf("negative balance: %v", p)
		}
		balances += b
	}
	counts := map[string]int{}
	for _, rec := range m.all(t, "/api/transaction_record?kind=purchase") {
		status, _ := rec["status"].(string)
		counts[status]++
		if status == "pending" {
			pending += num(rec["total"])
		}
		if status == "pending" || status == "completed" {
			items, _ := rec["items"].([]any)
			for _, it := range items {
				sold += num(it.(map[string]any)["quantity"])
			}
		}
	}
	for _, d := range m.all(t, "/api/merchandise?sort=_id") {
		s := num(d["stock"])
		if s < 0 {
			t.Errorf("negative stock: %v", d)
		}
		stock += s
	}
	t.Logf("purchases by status %v; Σ balances %d, Σ pending %d, credits %d; stock %d, sold %d, added %d",
		counts, balances, pending, m.credits, stock, sold, m.stockIn)
	if balances+pending != m.credits {
		t.Errorf("money: Σ balances %d + Σ pending %d = %d, want credits %d", balances, pending, balances+pending, m.credits)
	}
	if stock+sold != m.stockIn {
		t.Errorf("stock: %d in stock + %d pending or completed = %d, want %d added", stock, sold, stock+sold, m.stockIn)
	}
	if counts["pending"]+counts["completed"]+counts["cancelled"] < 20 {
		t.Errorf("the run made too few purchases to show anything: %v", counts)
	}
}

// TestInvariantsUnderLoad drives hundreds of concurrent purchases, cancels,
// verifications and transfers (with retried idempotency keys) and checks the
// invariants exactly.
func TestInvariantsUnderLoad(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	g := MustRun(t, cfg)
	m := setupMarket(t, g.url, 6, 4)
	m.drive(12, 40, nil)
	m.checkInvariants(t)
}

// TestInvariantsAfterSIGKILL kills the gateway process in the middle of a
// money load, restarts it on the same data, and checks the invariants: no
// transaction is half-applied.
func TestInvariantsAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := gatewaytest.Build(t, ".")
	env := []string{"GATEWAY_DATA_DIR=" + t.TempDir(), "GATEWAY_RSA_BITS=2048", "GATEWAY_RATE_LIMIT=0",
		"GATEWAY_BOOTSTRAP_USER=" + rootUser, "GATEWAY_BOOTSTRAP_PASSWORD=" + rootPass}
	p := gatewaytest.Start(t, bin, env...)
	m := setupMarket(t, "http://"+p.Addr, 6, 4)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		m.drive(12, 1000, stop)
		close(done)
	}()
	gatewaytest.WaitFor(t, time.Minute, "40 purchases before the kill", func() bool { return m.bought.Load() >= 40 })
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Cmd.Wait()
	close(stop)
	<-done
	q := gatewaytest.Start(t, bin, env...)
	m.base = "http://" + q.Addr
	m.checkInvariants(t)
}
