package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tnt/gateway/resources"
)

// userWithLevel registers a user, sets its level in the store (the admin
// route for that is tested elsewhere) and logs in; it returns the bearer
// header and the user's id.
func (e *env) userWithLevel(t *testing.T, app *appClient, name string, level int) ([]string, string) {
	t.Helper()
	tk := e.register(t, app, name, "a fine long password")
	me := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...)
	var doc struct {
		ID string `json:"_id"`
	}
	_ = json.Unmarshal(me.body.Data, &doc)
	if level != 4 {
		if _, err := e.store.Update(context.Background(), resources.UsersCollection, doc.ID, resources.Document{"level": int64(level)}, nil); err != nil {
			t.Fatal(err)
		}
		tk = tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": name, "password": "a fine long password"})))
	}
	return bearer(tk.AccessToken), doc.ID
}

func (e *env) credit(t *testing.T, userID string, delta int64) {
	t.Helper()
	r := e.call(t, "POST", "/api/admin/users/"+userID+"/balance", "admin", fmt.Sprintf(`{"delta":%d,"reason":"test credit"}`, delta))
	if r.status != 200 {
		t.Fatalf("credit: %d %s", r.status, r.raw)
	}
}

func (e *env) balance(t *testing.T, auth []string) int64 {
	t.Helper()
	r := e.call(t, "GET", "/api/account/balance", "", "", auth...)
	var b struct {
		Balance int64 `json:"balance"`
	}
	_ = json.Unmarshal(r.body.Data, &b)
	return b.Balance
}

func (e *env) stock(t *testing.T, id string) int64 {
	t.Helper()
	r := e.call(t, "GET", "/api/merchandise/"+id, "admin", "")
	var m struct {
		Stock int64 `json:"stock"`
	}
	_ = json.Unmarshal(r.body.Data, &m)
	return m.Stock
}

type record struct {
	ID               string `json:"_id"`
	Kind             string `json:"kind"`
	User             string `json:"user"`
	Total            int64  `json:"total"`
	Status           string `json:"status"`
	VerificationCode string `json:"verification_code"`
	Signature        string `json:"signature"`
	Items            []struct {
		MerchandiseID string `json:"merchandise_id"`
		Name          string `json:"name"`
		Price         int64  `json:"price"`
		Quantity      int64  `json:"quantity"`
	} `json:"items"`
}

func recordOf(t *testing.T, r reply) record {
	t.Helper()
	var rec record
	if err := json.Unmarshal(r.body.Data, &rec); err != nil || rec.ID == "" {
		t.Fatalf("no record in %d %s", r.status, r.raw)
	}
	return rec
}

func TestPurchaseVerifyCancel(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	seller, sellerID := e.userWithLevel(t, app, "seller_1", 3)
	buyer, buyerID := e.userWithLevel(t, app, "buyer_1", 4)
	other, _ := e.userWithLevel(t, app, "other_1", 4)
	e.credit(t, buyerID, 1000)

	r := e.call(t, "POST", "/api/merchandise", "", `{"operation":"create","data":{"name":"Gloves","price":100,"stock":5}}`, seller...)
	if r.status != 201 {
		t.Fatalf("seller creates merchandise: %d %s", r.status, r.raw)
	}
	var merch struct {
		ID string `json:"_id"`
	}
	_ = json.Unmarshal(r.body.Data, &merch)

	buy := e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+merch.ID+`","quantity":2}],"address":"1 Main St"}`, buyer...)
	if buy.status != 201 {
		t.Fatalf("purchase: %d %s", buy.status, buy.raw)
	}
	rec := recordOf(t, buy)
	if rec.Kind != "purchase" || rec.User != buyerID || rec.Total != 200 || rec.Status != "pending" || len(rec.VerificationCode) != 8 ||
		rec.Signature == "" || len(rec.Items) != 1 || rec.Items[0].Name != "Gloves" || rec.Items[0].Price != 100 || rec.Items[0].Quantity != 2 {
		t.Errorf("record: %s", buy.raw)
	}
	if b := e.balance(t, buyer); b != 800 {
		t.Errorf("buyer balance %d, want 800", b)
	}
	if s := e.stock(t, merch.ID); s != 3 {
		t.Errorf("stock %d, want 3", s)
	}
	// Orders through the envelope: the buyer sees it, another user does not.
	if q := e.call(t, "POST", "/api/transaction_record", "", `{"operation":"query","data":{"status":"pending"}}`, buyer...); !strings.Contains(q.raw, rec.ID) {
		t.Errorf("buyer's orders: %s", q.raw)
	}
	if q := e.call(t, "POST", "/api/transaction_record", "", `{"operation":"query","data":{}}`, other...); strings.Contains(q.raw, rec.ID) {
		t.Errorf("another user sees the order: %s", q.raw)
	}
	if q := e.call(t, "POST", "/api/transaction_record", "admin", `{"operation":"query","data":{"user":"`+buyerID+`","status":"pending"}}`); !strings.Contains(q.raw, rec.ID) {
		t.Errorf("admin filter by user and status: %s", q.raw)
	}

	e.run(t, []scenario{
		// Another user's record answers as one that does not exist (API.md §8).
		{name: "another user verifies", path: "/api/verify_transaction", body: `{"transaction_id":"` + rec.ID + `","verification_code":"` + rec.VerificationCode + `"}`,
			headers: other, status: 404, code: "ResourceNotFoundError"},
		{name: "another user cancels", path: "/api/cancel_transaction", body: `{"transaction_id":"` + rec.ID + `"}`, headers: other, status: 404, code: "ResourceNotFoundError"},
		{name: "wrong code", path: "/api/verify_transaction", body: `{"transaction_id":"` + rec.ID + `","verification_code":"00000000x"}`,
			headers: seller, status: 400, code: "InvalidResourceValueError"},
		{name: "seller verifies", path: "/api/verify_transaction", body: `{"transaction_id":"` + rec.ID + `","verification_code":"` + rec.VerificationCode + `"}`,
			headers: seller, status: 200, contains: []string{`"status":"completed"`}},
		{name: "verify twice", path: "/api/verify_transaction", body: `{"transaction_id":"` + rec.ID + `","verification_code":"` + rec.VerificationCode + `"}`,
			headers: seller, status: 409, code: "ConflictError"},
		{name: "cancel a completed one", path: "/api/cancel_transaction", body: `{"transaction_id":"` + rec.ID + `"}`, headers: buyer, status: 409, code: "ConflictError"},
	})
	if b := e.balance(t, seller); b != 200 {
		t.Errorf("seller credited %d, want 200", b)
	}
	_ = sellerID

	// Cancel: refund and restock.
	buy2 := recordOf(t, e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+merch.ID+`","quantity":3}]}`, buyer...))
	if b, s := e.balance(t, buyer), e.stock(t, merch.ID); b != 500 || s != 0 {
		t.Errorf("after the second purchase: balance %d stock %d", b, s)
	}
	if r := e.call(t, "POST", "/api/cancel_transaction", "", `{"transaction_id":"`+buy2.ID+`"}`, buyer...); r.status != 200 || !strings.Contains(r.raw, `"status":"cancelled"`) {
		t.Errorf("cancel: %d %s", r.status, r.raw)
	}
	if b, s := e.balance(t, buyer), e.stock(t, merch.ID); b != 800 || s != 3 {
		t.Errorf("after cancel: balance %d stock %d, want 800 and 3", b, s)
	}
	if r := e.call(t, "POST", "/api/cancel_transaction", "", `{"transaction_id":"`+buy2.ID+`"}`, buyer...); r.status != 409 {
		t.Errorf("cancel twice: %d", r.status)
	}

	// The signed record verifies for its buyer; an altered one does not.
	check := func(rec string) string {
		return e.call(t, "POST", "/api/verify_transaction_record", "", `{"record":`+rec+`}`, buyer...).raw
	}
	if got := check(string(buy.body.Data)); !strings.Contains(got, `"valid":true`) || !strings.Contains(got, `"status":"completed"`) {
		t.Errorf("verify record: %s", got)
	}
	altered := strings.Replace(string(buy.body.Data), `"total":200`, `"total":20`, 1)
	if got := check(altered); !strings.Contains(got, `"valid":false`) {
		t.Errorf("altered record: %s", got)
	}
}

func TestMoneyErrors(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	buyer, buyerID := e.userWithLevel(t, app, "buyer_2", 4)
	_, friendID := e.userWithLevel(t, app, "friend_2", 4)
	e.credit(t, buyerID, 50)
	merch := e.create(t, "admin", "merchandise", `{"name":"Rope","price":30,"stock":1}`)
	item := func(q string) string { return `{"items":[{"merchandise_id":"` + merch + `","quantity":` + q + `}]}` }
	e.run(t, []scenario{
		{name: "Guest purchase", path: "/api/perform_transaction", body: item("1"), status: 401, code: "AuthenticationError"},
		{name: "zero quantity", path: "/api/perform_transaction", body: item("0"), headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "negative quantity", path: "/api/perform_transaction", body: item("-1"), headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "fractional quantity", path: "/api/perform_transaction", body: item("0.5"), headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "text quantity", path: "/api/perform_transaction", body: item(`"1"`), headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "out of stock", path: "/api/perform_transaction", body: item("2"), headers: buyer, status: 409, code: "OutOfStockError"},
		{name: "unknown merchandise", path: "/api/perform_transaction", body: `{"items":[{"merchandise_id":"0123456789abcdef01234567","quantity":1}]}`,
			headers: buyer, status: 404, code: "ResourceNotFoundError"},
		{name: "listed twice", path: "/api/perform_transaction", body: `{"items":[{"merchandise_id":"` + merch + `","quantity":1},{"merchandise_id":"` + merch + `","quantity":1}]}`,
			headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "no items", path: "/api/perform_transaction", body: `{"items":[]}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "price smuggled in", path: "/api/perform_transaction", body: `{"items":[{"merchandise_id":"` + merch + `","quantity":1,"price":0}]}`,
			headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "transfer to self", path: "/api/transfer", body: `{"recipient":"buyer_2","amount":5}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "transfer of 0", path: "/api/transfer", body: `{"recipient":"friend_2","amount":0}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "negative transfer", path: "/api/transfer", body: `{"recipient":"friend_2","amount":-5}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "fractional transfer", path: "/api/transfer", body: `{"recipient":"friend_2","amount":0.1}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "huge transfer", path: "/api/transfer", body: `{"recipient":"friend_2","amount":1e400}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "text transfer", path: "/api/transfer", body: `{"recipient":"friend_2","amount":"10"}`, headers: buyer, status: 400, code: "InvalidResourceValueError"},
		{name: "unknown recipient", path: "/api/transfer", body: `{"recipient":"nobody_here","amount":5}`, headers: buyer, status: 404, code: "ResourceNotFoundError"},
		{name: "insufficient funds", path: "/api/transfer", body: `{"recipient":"` + friendID + `","amount":51}`, headers: buyer, status: 409, code: "InsufficientFundsError"},
		{name: "transfer by id", path: "/api/transfer", body: `{"recipient":"` + friendID + `","amount":25}`, headers: buyer, status: 201, contains: []string{`"kind":"transfer"`}},
		{name: "purchase beyond the balance", path: "/api/perform_transaction", body: item("1"), headers: buyer, status: 409, code: "InsufficientFundsError"},
		{name: "debit below zero", path: "/api/admin/users/" + buyerID + "/balance", user: "admin", body: `{"delta":-26,"reason":"x"}`,
			status: 409, code: "InsufficientFundsError"},
		{name: "a User credits", path: "/api/admin/users/" + buyerID + "/balance", body: `{"delta":100,"reason":"x"}`, headers: buyer, status: 403, code: "PermissionDeniedError"},
	})
	if b := e.balance(t, buyer); b != 25 {
		t.Errorf("balance after the refused calls: %d, want 25", b)
	}
	if s := e.stock(t, merch); s != 1 {
		t.Errorf("stock after the refused calls: %d, want 1", s)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	buyer, buyerID := e.userWithLevel(t, app, "buyer_3", 4)
	other, otherID := e.userWithLevel(t, app, "other_3", 4)
	e.credit(t, buyerID, 100)
	e.credit(t, otherID, 100)
	body := `{"recipient":"other_3","amount":10}`
	first := e.call(t, "POST", "/api/transfer", "", body, append(buyer, "Idempotency-Key", "k-1")...)
	again := e.call(t, "POST", "/api/transfer", "", "{ \"amount\": 10, \"recipient\": \"other_3\" }", append(buyer, "Idempotency-Key", "k-1")...)
	if first.status != 201 || again.status != 201 || first.raw != again.raw {
		t.Errorf("retry with the same key:\n%d %s\n%d %s", first.status, first.raw, again.status, again.raw)
	}
	if b := e.balance(t, buyer); b != 90 {
		t.Errorf("balance after a retried transfer: %d, want 90", b)
	}
	if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"other_3","amount":20}`, append(buyer, "Idempotency-Key", "k-1")...); r.status != 422 || r.body.ErrorCode != "IdempotencyKeyReusedError" {
		t.Errorf("same key, other body: %d %s", r.status, r.raw)
	}
	// Keys are scoped to the caller.
	if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"buyer_3","amount":10}`, append(other, "Idempotency-Key", "k-1")...); r.status != 201 {
		t.Errorf("another caller's same key: %d %s", r.status, r.raw)
	}
	// A failed request is not stored: fixing it and retrying with the key works.
	if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"other_3","amount":1000}`, append(buyer, "Idempotency-Key", "k-2")...); r.status != 409 {
		t.Errorf("overdraft: %d", r.status)
	}
	// Parallel retries of one key: one transfer, whatever the timing.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.call(t, "POST", "/api/transfer", "", `{"recipient":"other_3","amount":5}`, append(buyer, "Idempotency-Key", "k-3")...)
		}()
	}
	wg.Wait()
	if b := e.balance(t, buyer); b != 95 {
		t.Errorf("balance after 10 parallel retries of one transfer of 5: %d, want 95", b)
	}
}

// TestConcurrentDebitsAndLastItem: 100 parallel transfers of 10 against 500
// — exactly 50 succeed; 50 buyers for a stock of 1 — exactly one.
func TestConcurrentDebitsAndLastItem(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	payer, payerID := e.userWithLevel(t, app, "payer_4", 4)
	_, payeeID := e.userWithLevel(t, app, "payee_4", 4)
	e.credit(t, payerID, 500)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"`+payeeID+`","amount":10}`, payer...)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != 50 || statuses[409] != 50 {
		t.Errorf("100 transfers of 10 against 500: %v", statuses)
	}
	if b := e.balance(t, payer); b != 0 {
		t.Errorf("payer balance %d", b)
	}

	merch := e.create(t, "admin", "merchandise", `{"name":"Last one","price":1,"stock":1}`)
	buyers := make([][]string, 50)
	for i := range buyers {
		var id string
		buyers[i], id = e.userWithLevel(t, app, fmt.Sprintf("buyer_5_%02d", i), 4)
		e.credit(t, id, 10)
	}
	statuses = map[int]int{}
	for _, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+merch+`","quantity":1}]}`, b...)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != 1 || statuses[409] != 49 {
		t.Errorf("50 buyers for a stock of 1: %v", statuses)
	}
	charged := 0
	for _, b := range buyers {
		if e.balance(t, b) == 9 {
			charged++
		}
	}
	if charged != 1 || e.stock(t, merch) != 0 {
		t.Errorf("%d buyers charged, stock %d", charged, e.stock(t, merch))
	}
}
