package wallet_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/wallet"
)

// market is a wallet on real parts, with a seller's merchandise.
type market struct {
	*domaintest.Kit
	w      *wallet.Wallet
	seller resources.Principal
}

func newMarket(t *testing.T) *market {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	w, err := wallet.New(kit.Store, kit.Registry, kit.Policy, kit.Keyring, kit.Sessions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Prepare(kit.Ctx); err != nil {
		t.Fatal(err)
	}
	return &market{Kit: kit, w: w, seller: kit.User(t, "seller_one", 3, 0)}
}

func (m *market) merch(t *testing.T, name string, price, stock int64) string {
	t.Helper()
	id := resources.NewID(time.Now())
	if err := m.Store.Insert(m.Ctx, "merchandise", resources.Document{"_id": id, "name": name, "price": price, "stock": stock,
		"owner": m.seller.UserID}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (m *market) stock(t *testing.T, id string) int64 {
	t.Helper()
	d, err := m.Store.Get(m.Ctx, "merchandise", id)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := resources.AsInt(d["stock"])
	return n
}

type record struct {
	ID     string `json:"_id"`
	Status string `json:"status"`
	Code   string `json:"verification_code"`
	Total  int64  `json:"total"`
}

func recordOf(t *testing.T, r wallet.Receipt) record {
	t.Helper()
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil || rec.ID == "" {
		t.Fatalf("no record in %s", r.Body)
	}
	return rec
}

func code(err error) string { return resources.ErrorCode(err) }

// TestPurchaseVerifyCancel: a purchase reserves stock and debits the buyer
// together; the seller's verification credits the seller; a cancel refunds
// and restocks; nothing changes twice.
func TestPurchaseVerifyCancel(t *testing.T) {
	m := newMarket(t)
	buyer := m.User(t, "buyer_one", 4, 1000)
	gloves := m.merch(t, "Gloves", 100, 5)
	buy := func(q int64) (wallet.Receipt, error) {
		return m.w.Purchase(m.Ctx, buyer, wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: gloves, Quantity: q}}})
	}
	r, err := buy(2)
	if err != nil || !r.Created {
		t.Fatalf("purchase: %v %+v", err, r)
	}
	rec := recordOf(t, r)
	if rec.Status != "pending" || rec.Total != 200 || m.Balance(t, buyer.UserID) != 800 || m.stock(t, gloves) != 3 {
		t.Errorf("after the purchase: %+v, balance %d, stock %d", rec, m.Balance(t, buyer.UserID), m.stock(t, gloves))
	}
	if _, err := buy(4); code(err) != resources.ESTOCK {
		t.Errorf("more than the stock: %v", err)
	}
	if _, err := m.w.Verify(m.Ctx, buyer, wallet.VerifyRequest{TransactionID: rec.ID, VerificationCode: rec.Code}); code(err) != resources.EPERMISSION {
		t.Errorf("the buyer verifies: %v", err)
	}
	if _, err := m.w.Verify(m.Ctx, m.seller, wallet.VerifyRequest{TransactionID: rec.ID, VerificationCode: "00000000"}); code(err) != resources.EVALUE {
		t.Errorf("a wrong code: %v", err)
	}
	done, err := m.w.Verify(m.Ctx, m.seller, wallet.VerifyRequest{TransactionID: rec.ID, VerificationCode: rec.Code})
	if err != nil || done.Created || recordOf(t, done).Status != "completed" || m.Balance(t, m.seller.UserID) != 200 {
		t.Fatalf("verify: %v %s, seller balance %d", err, done.Body, m.Balance(t, m.seller.UserID))
	}
	if _, err := m.w.Cancel(m.Ctx, buyer, wallet.CancelRequest{TransactionID: rec.ID}); code(err) != resources.ECONFLICT {
		t.Errorf("cancel a completed purchase: %v", err)
	}
	r, _ = buy(3)
	second := recordOf(t, r)
	if _, err := m.w.Cancel(m.Ctx, buyer, wallet.CancelRequest{TransactionID: second.ID}); err != nil {
		t.Fatal(err)
	}
	if b, s := m.Balance(t, buyer.UserID), m.stock(t, gloves); b != 800 || s != 3 {
		t.Errorf("after the cancel: balance %d, stock %d", b, s)
	}
	stranger := m.User(t, "stranger_one", 4, 0)
	if _, err := m.w.Cancel(m.Ctx, stranger, wallet.CancelRequest{TransactionID: second.ID}); code(err) != resources.ENOTFOUND {
		t.Errorf("a stranger cancels: %v", err)
	}
}

// TestRequestRules: the bounds and shapes of money requests.
func TestRequestRules(t *testing.T) {
	m := newMarket(t)
	buyer := m.User(t, "rule_buyer", 4, 100)
	id := m.merch(t, "Rope", 1, 10)
	for name, c := range map[string]struct {
		req  wallet.PurchaseRequest
		code string
	}{
		"no items":       {wallet.PurchaseRequest{}, resources.EVALUE},
		"no id":          {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{Quantity: 1}}}, resources.EINVALIDREQUEST},
		"bad id":         {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: "x", Quantity: 1}}}, resources.EVALUE},
		"twice":          {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 1}, {MerchandiseID: id, Quantity: 1}}}, resources.EVALUE},
		"zero":           {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 0}}}, resources.EVALUE},
		"over 10^6":      {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: wallet.MaxQuantity + 1}}}, resources.EVALUE},
		"unknown":        {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: resources.NewID(time.Now()), Quantity: 1}}}, resources.ENOTFOUND},
		"within means":   {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 10}}}, ""},
		"a long address": {wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 1}}, Address: string(make([]rune, 501))}, resources.EVALUE},
	} {
		_, err := m.w.Purchase(m.Ctx, buyer, c.req)
		if code(err) != c.code {
			t.Errorf("%s: %v, want %q", name, err, c.code)
		}
	}
	if _, err := m.w.Purchase(m.Ctx, resources.Principal{Level: resources.GuestLevel}, wallet.PurchaseRequest{}); code(err) != resources.EAUTHENTICATION {
		t.Errorf("a Guest: %v", err)
	}
	for name, c := range map[string]struct {
		req  wallet.TransferRequest
		code string
	}{
		"to oneself":     {wallet.TransferRequest{Recipient: buyer.UserID, Amount: 1}, resources.EVALUE},
		"nobody":         {wallet.TransferRequest{Recipient: "no_such_user", Amount: 1}, resources.ENOTFOUND},
		"zero":           {wallet.TransferRequest{Recipient: "seller_one", Amount: 0}, resources.EVALUE},
		"over 10^12":     {wallet.TransferRequest{Recipient: "seller_one", Amount: wallet.MaxAmount + 1}, resources.EVALUE},
		"more than held": {wallet.TransferRequest{Recipient: "seller_one", Amount: 1000}, resources.EFUNDS},
		"no recipient":   {wallet.TransferRequest{Amount: 1}, resources.EINVALIDREQUEST},
	} {
		if _, err := m.w.Transfer(m.Ctx, buyer, c.req); code(err) != c.code {
			t.Errorf("transfer %s: %v, want %s", name, err, c.code)
		}
	}
}

// TestIdempotencyKeys: the same key and request replays the first answer
// byte for byte and changes nothing; another request under the key is
// refused; keys are the caller's own.
func TestIdempotencyKeys(t *testing.T) {
	m := newMarket(t)
	buyer := m.User(t, "idem_buyer", 4, 500)
	other := m.User(t, "idem_other", 4, 500)
	id := m.merch(t, "Chalk", 10, 100)
	req := wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 2}}, IdempotencyKey: "order-1"}
	first, err := m.w.Purchase(m.Ctx, buyer, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.w.Purchase(m.Ctx, buyer, req)
	if err != nil || string(again.Body) != string(first.Body) || !again.Created {
		t.Errorf("replay: %v %s", err, again.Body)
	}
	if m.Balance(t, buyer.UserID) != 480 || m.stock(t, id) != 98 {
		t.Errorf("the replay changed something: balance %d, stock %d", m.Balance(t, buyer.UserID), m.stock(t, id))
	}
	req.Items[0].Quantity = 3
	if _, err := m.w.Purchase(m.Ctx, buyer, req); code(err) != resources.EIDEMPOTENCYREUSED {
		t.Errorf("another request under the key: %v", err)
	}
	if r, err := m.w.Purchase(m.Ctx, other, req); err != nil || string(r.Body) == string(first.Body) {
		t.Errorf("another caller's same key: %v", err)
	}
	req.IdempotencyKey = "bad key with spaces"
	if _, err := m.w.Purchase(m.Ctx, buyer, req); code(err) != resources.EINVALIDREQUEST {
		t.Errorf("a key with spaces: %v", err)
	}
}

// TestConcurrentBuyers: twenty buyers race for five items: exactly five
// are sold, each paid once.
func TestConcurrentBuyers(t *testing.T) {
	m := newMarket(t)
	id := m.merch(t, "Last Mat", 10, 5)
	var sold atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		buyer := m.User(t, fmt.Sprintf("racer_%02d", i), 4, 10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.w.Purchase(m.Ctx, buyer, wallet.PurchaseRequest{Items: []wallet.PurchaseItem{{MerchandiseID: id, Quantity: 1}}})
			switch code(err) {
			case "":
				sold.Add(1)
			case resources.ESTOCK:
			default:
				t.Errorf("a racing purchase: %v", err)
			}
		}()
	}
	wg.Wait()
	if sold.Load() != 5 || m.stock(t, id) != 0 {
		t.Errorf("sold %d, stock %d", sold.Load(), m.stock(t, id))
	}
}

// TestAdjustBalance: only lower levels' wallets, never one's own, with the
// act in the audit trail.
func TestAdjustBalance(t *testing.T) {
	m := newMarket(t)
	adminP := m.User(t, "admin_two", 2, 0)
	peer := m.User(t, "admin_three", 2, 0)
	member := m.User(t, "member_two", 4, 0)
	for name, target := range map[string]resources.Principal{"itself": adminP, "a peer": peer} {
		if _, err := m.w.AdjustBalance(m.Ctx, adminP, wallet.AdjustRequest{UserID: target.UserID, Delta: 5, Reason: "try"}); code(err) != resources.EPERMISSION {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := m.w.AdjustBalance(m.Ctx, adminP, wallet.AdjustRequest{UserID: member.UserID, Delta: -1, Reason: "below zero"}); code(err) != resources.EFUNDS {
		t.Errorf("a debit below zero: %v", err)
	}
	r, err := m.w.AdjustBalance(m.Ctx, adminP, wallet.AdjustRequest{UserID: member.UserID, Delta: 70, Reason: "welcome", IP: "10.0.0.1"})
	if err != nil || string(r.Body) != `{"balance":70,"delta":70,"user":"`+member.UserID+`"}` {
		t.Fatalf("credit: %v %s", err, r.Body)
	}
	audit, _ := m.Store.Find(m.Ctx, resources.AuditCollection, resources.Query{SortPath: resources.FieldID, Limit: 10})
	if len(audit) != 1 || audit[0]["action"] != "balance" || audit[0]["ip"] != "10.0.0.1" || audit[0]["actor"] != adminP.UserID {
		t.Errorf("audit: %v", audit)
	}
}

// TestSignedRecords: a record verifies for those who took part in it, an
// altered one does not, and to anyone else it is as unknown as a missing one.
func TestSignedRecords(t *testing.T) {
	m := newMarket(t)
	buyer := m.User(t, "signed_buyer", 4, 100)
	payee := m.User(t, "signed_payee", 4, 0)
	stranger := m.User(t, "signed_stranger", 4, 0)
	r, err := m.w.Transfer(m.Ctx, buyer, wallet.TransferRequest{Recipient: "signed_payee", Amount: 30})
	if err != nil {
		t.Fatal(err)
	}
	var rec resources.Document
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatal(err)
	}
	for who, p := range map[string]resources.Principal{"the sender": buyer, "the payee": payee} {
		if c, err := m.w.VerifyRecord(m.Ctx, p, wallet.VerifyRecordRequest{Record: rec}); err != nil || !c.Valid || c.Status != "completed" {
			t.Errorf("%s: %+v %v", who, c, err)
		}
	}
	if c, _ := m.w.VerifyRecord(m.Ctx, stranger, wallet.VerifyRecordRequest{Record: rec}); c.Valid || c.Status != "unknown" {
		t.Errorf("a stranger: %+v", c)
	}
	rec["amount"] = json.Number("3000")
	if c, _ := m.w.VerifyRecord(m.Ctx, buyer, wallet.VerifyRecordRequest{Record: rec}); c.Valid {
		t.Error("an altered record verifies")
	}
}
