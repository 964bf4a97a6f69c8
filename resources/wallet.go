package resources

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"time"
)

// Collections and fields of the wallet.
const (
	RecordsCollection = "transaction_record"
	AuditCollection   = "audit"
	merchCollection   = "merchandise"

	statusPending   = "pending"
	statusCompleted = "completed"
	statusCancelled = "cancelled"
)

// Wallet actions the policy grants (object "wallet", and "users" for the
// admin balance route).
const (
	ActPurchase     = "purchase"
	ActTransfer     = "transfer"
	ActCancel       = "cancel"
	ActCancelOwn    = "cancel_own"
	ActVerify       = "verify"
	ActVerifyOwn    = "verify_own"
	ActVerifyRecord = "verify_record"
	ActBalance      = "balance"
	objWallet       = "wallet"
	objUsers        = "users"
)

// Limits of money requests (API.md §8). Each is far below the point where a
// sum or a product of them could overflow an int64, and every sum the wallet
// makes is checked anyway (addTo).
const (
	maxItems    = 50
	maxQuantity = 1_000_000
	maxAmount   = 1_000_000_000_000
	maxCodeTry  = 5
	// maxHeld bounds a balance or a stock any addition may reach, so that
	// no sum of held values and requested ones can wrap.
	maxHeld = int64(1) << 62
)

// addTo adds n to a held balance or stock, refusing a result that would
// pass maxHeld (or wrap), or fall below zero.
func addTo(held, n int64, what string) (int64, error) {
	if n > 0 && held > maxHeld-n {
		return 0, Errorf(EVALUE, "the %s cannot grow further", what)
	}
	if held+n < 0 {
		return 0, Errorf(EVALUE, "the %s cannot go below zero", what)
	}
	return held + n, nil
}

// RecordSigner signs and verifies transaction records (crypto.Keyring).
type RecordSigner interface {
	SignRecord(canonical []byte) string
	VerifyRecord(canonical []byte, signature string) bool
}

// Wallet moves money: purchases (reserve stock, debit the buyer), their
// verification (credit the sellers) or cancellation (refund, restock),
// transfers, and admin balance adjustments. Each call is one store
// transaction; the rules are written here once, above the stores.
type Wallet struct {
	store  Store
	reg    *Registry
	auth   Authorizer
	signer RecordSigner
	locks  inflight
	now    func() time.Time
}

// NewWallet builds the wallet.
func NewWallet(store Store, reg *Registry, auth Authorizer, signer RecordSigner, locks inflight, now func() time.Time) *Wallet {
	if now == nil {
		now = time.Now
	}
	return &Wallet{store: store, reg: reg, auth: auth, signer: signer, locks: locks, now: now}
}

// Prepare creates the wallet's own collections.
func (w *Wallet) Prepare(ctx context.Context) error {
	for _, spec := range []CollectionSpec{
		{Name: IdempotencyCollection, Indexed: []string{FieldCreatedAt}},
		{Name: AuditCollection, Indexed: []string{FieldCreatedAt, "action", "actor"}},
	} {
		if err := w.store.EnsureCollection(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

func (w *Wallet) allowed(p Principal, object, action string) bool {
	return !p.IsGuest() && w.auth.Allowed(p.Level, object, action)
}

func (w *Wallet) require(p Principal, object, action string) error {
	return requireRight(w.auth, p, object, action, action)
}

// requireRight refuses a Guest (401) or a level without the right (403,
// counted as a policy denial); what names the act in the message.
func requireRight(auth Authorizer, p Principal, object, action, what string) error {
	if p.IsGuest() {
		return Errorf(EAUTHENTICATION, "authentication is required")
	}
	if !auth.Allowed(p.Level, object, action) {
		return &DeniedError{Err: Errorf(EPERMISSION, "level %d may not %s", p.Level, what), Resource: object, Action: action}
	}
	return nil
}

// fields reads a request object, refusing unknown keys.
func fields(body any, allowed ...string) (map[string]any, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, NotJSON()
	}
	for k := range m {
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, Errorf(EPARAMETER, "%s cannot be found in the request", quoteName(k))
		}
	}
	return m, nil
}

func requireID(m map[string]any, name string) (string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", Errorf(EINVALIDREQUEST, "%s is required for the request", name)
	}
	s, ok := v.(string)
	if !ok || !ValidID(s) {
		return "", Errorf(EVALUE, "%s must be a string of 24 hexadecimal characters", name)
	}
	return s, nil
}

func positive(v any, name string, max int64) (int64, error) {
	n, ok := toInt(v)
	if !ok || n <= 0 || n > max {
		return 0, Errorf(EVALUE, "%s must be a whole number from 1 to %d", name, max)
	}
	return n, nil
}

// debit takes amount from a wallet inside tx; a balance never goes negative.
func debit(ctx context.Context, tx Tx, userID string, amount int64, what string) error {
	u, err := tx.Get(ctx, UsersCollection, userID)
	if err != nil {
		return err
	}
	bal := balanceOf(u)
	if bal < amount {
		return Errorf(EFUNDS, "the balance is %d, %s %d", bal, what, amount)
	}
	_, err = tx.Update(ctx, UsersCollection, userID, Document{fieldBalance: bal - amount}, nil)
	return err
}

// credit adds amount to a wallet inside tx; gone names the conflict when the
// account no longer exists (money must not vanish into a deleted account).
func credit(ctx context.Context, tx Tx, userID string, amount int64, gone string) error {
	u, err := tx.Get(ctx, UsersCollection, userID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(ECONFLICT, "%s", gone)
	}
	if err != nil {
		return err
	}
	next, err := addTo(balanceOf(u), amount, "balance")
	if err != nil {
		return err
	}
	_, err = tx.Update(ctx, UsersCollection, userID, Document{fieldBalance: next}, nil)
	return err
}

func balanceOf(d Document) int64 {
	n, _ := toInt(d[fieldBalance])
	return n
}

// verificationCode is 8 random digits the buyer shows the seller.
func verificationCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("%08d", n.Int64())
}

// canonical is the signed form of a record: the fields that never change
// after it is written, as JSON with sorted keys and integers as integers.
func canonical(rec map[string]any) []byte {
	signed := []string{FieldID, "kind", "user", "recipient", "amount", "items", "total", FieldCreatedAt}
	m := make(map[string]any, len(signed))
	for _, f := range signed {
		if v, ok := rec[f]; ok && v != nil {
			m[f] = canonicalValue(v)
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func canonicalValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, ok := toInt(x); ok {
			return n
		}
		return string(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canonicalValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonicalValue(e)
		}
		return out
	}
	return v
}

func (w *Wallet) sign(rec Document) {
	rec["signature"] = w.signer.SignRecord(canonical(rec))
}

// AuditAct writes one audit entry inside the transaction of the act itself,
// so the act and its record commit together or not at all.
func AuditAct(ctx context.Context, tx Tx, now time.Time, p Principal, ip, action, target string, detail Document) error {
	return tx.Insert(ctx, AuditCollection, Document{
		FieldID: NewID(now), "actor": p.UserID, "actor_username": p.Username, "actor_level": int64(p.Level),
		"action": action, "target": target, "detail": detail, "ip": ip, FieldCreatedAt: FormatTime(now),
	})
}

type line struct {
	id  string
	qty int64
}

func parseItems(v any) ([]line, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 || len(arr) > maxItems {
		return nil, Errorf(EVALUE, "items must be a list of 1 to %d items", maxItems)
	}
	seen := map[string]bool{}
	out := make([]line, 0, len(arr))
	for _, it := range arr {
		m, err := fields(it, "merchandise_id", "quantity")
		if err != nil {
			return nil, Errorf(EVALUE, "each item is {\"merchandise_id\", \"quantity\"}")
		}
		id, err := requireID(m, "merchandise_id")
		if err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, Errorf(EVALUE, "merchandise %s is listed twice; give one quantity", id)
		}
		seen[id] = true
		q, err := positive(m["quantity"], "quantity", maxQuantity)
		if err != nil {
			return nil, err
		}
		out = append(out, line{id, q})
	}
	return out, nil
}

func optionalText(m map[string]any, name string, max int) (string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr || len([]rune(s)) > max {
		return "", Errorf(EVALUE, "%s must be text of at most %d characters", name, max)
	}
	return s, nil
}

// Purchase buys items for the caller: all or none. Stock is reserved and the
// buyer debited in one transaction; the record is signed and pending.
func (w *Wallet) Purchase(ctx context.Context, p Principal, body any, key, reqHash string) (Outcome, error) {
	if err := w.require(p, objWallet, ActPurchase); err != nil {
		return Outcome{}, err
	}
	m, err := fields(body, "items", "address", "phone")
	if err != nil {
		return Outcome{}, err
	}
	items, err := parseItems(m["items"])
	if err != nil {
		return Outcome{}, err
	}
	address, err := optionalText(m, "address", 500)
	if err != nil {
		return Outcome{}, err
	}
	phone, err := optionalText(m, "phone", 32)
	if err != nil {
		return Outcome{}, err
	}
	return w.idempotent(ctx, p, key, reqHash, http.StatusCreated, func(ctx context.Context, tx Tx) (any, error) {
		var total int64
		var out []any
		for _, it := range items {
			merch, err := tx.Get(ctx, merchCollection, it.id)
			if errors.Is(err, ErrNotFound) {
				return nil, Errorf(ENOTFOUND, "merchandise with _id %s cannot be found", it.id)
			}
			if err != nil {
				return nil, err
			}
			stock, _ := toInt(merch["stock"])
			price, _ := toInt(merch["price"])
			if stock < it.qty {
				return nil, Errorf(ESTOCK, "merchandise %s has %d left, %d asked", clipText(stringOf(merch["name"])), stock, it.qty)
			}
			if price > 0 && it.qty > (math.MaxInt64-total)/price {
				return nil, Errorf(EVALUE, "the total is too large")
			}
			total += price * it.qty
			if _, err := tx.Update(ctx, merchCollection, it.id, Document{"stock": stock - it.qty, FieldUpdatedAt: FormatTime(w.now())}, nil); err != nil {
				return nil, err
			}
			out = append(out, Document{"merchandise_id": it.id, "name": merch["name"], "price": price, "quantity": it.qty, "seller": stringOf(merch[FieldOwner])})
		}
		if err := debit(ctx, tx, p.UserID, total, "the purchase costs"); err != nil {
			return nil, err
		}
		now := FormatTime(w.now())
		rec := Document{
			FieldID: NewID(w.now()), "kind": "purchase", "user": p.UserID, FieldOwner: p.UserID, "items": out, "total": total,
			"status": statusPending, "verification_code": verificationCode(), FieldCreatedAt: now, FieldUpdatedAt: now,
		}
		if address != "" {
			rec["address"] = address
		}
		if phone != "" {
			rec["phone"] = phone
		}
		w.sign(rec)
		if err := tx.Insert(ctx, RecordsCollection, rec); err != nil {
			return nil, err
		}
		return rec, nil
	})
}

// recordNotFound is the one answer for a record that does not exist, and
// for one the caller has no part in: the two cannot be told apart.
func recordNotFound(id string) error {
	return Errorf(ENOTFOUND, "transaction_record with _id %s cannot be found", id)
}

// isParty reports whether the user bought, sold or received in the record.
func isParty(rec Document, userID string) bool {
	if userID == "" {
		return false
	}
	if stringOf(rec["user"]) == userID || stringOf(rec["recipient"]) == userID {
		return true
	}
	_, seller := sellers(rec)[userID]
	return seller
}

// loadPurchase reads a purchase record by the request's transaction_id.
func loadPurchase(ctx context.Context, g getter, id string) (Document, error) {
	rec, err := g.Get(ctx, RecordsCollection, id)
	if errors.Is(err, ErrNotFound) || (err == nil && rec["kind"] != "purchase") {
		return nil, recordNotFound(id)
	}
	return rec, err
}

// purchaseOf reads a request naming a purchase by transaction_id (and the
// other keys given) and loads the purchase.
func (w *Wallet) purchaseOf(ctx context.Context, body any, keys ...string) (map[string]any, string, Document, error) {
	m, err := fields(body, append([]string{"transaction_id"}, keys...)...)
	if err != nil {
		return nil, "", nil, err
	}
	id, err := requireID(m, "transaction_id")
	if err != nil {
		return nil, "", nil, err
	}
	rec, err := loadPurchase(ctx, w.store, id)
	return m, id, rec, err
}

func sellers(rec Document) map[string]int64 {
	out := map[string]int64{}
	items, _ := rec["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		price, _ := toInt(m["price"])
		q, _ := toInt(m["quantity"])
		out[stringOf(m["seller"])] += price * q
	}
	return out
}

func requirePending(rec Document) error {
	if s := stringOf(rec["status"]); s != statusPending {
		return Errorf(ECONFLICT, "the transaction is %s; only a pending one can change", s)
	}
	return nil
}

// Verify completes a pending purchase when its seller (or a level with the
// verify right) presents the buyer's verification code; the sellers are
// credited in the same transaction.
func (w *Wallet) Verify(ctx context.Context, p Principal, body any, key, reqHash string) (Outcome, error) {
	if p.IsGuest() {
		return Outcome{}, Errorf(EAUTHENTICATION, "authentication is required")
	}
	m, id, rec, err := w.purchaseOf(ctx, body, "verification_code")
	if err != nil {
		return Outcome{}, err
	}
	code, _ := m["verification_code"].(string)
	if code == "" {
		return Outcome{}, Errorf(EINVALIDREQUEST, "verification_code is required for the request")
	}
	_, isSeller := sellers(rec)[p.UserID]
	if !w.allowed(p, objWallet, ActVerify) && !(isSeller && w.allowed(p, objWallet, ActVerifyOwn)) {
		if !isParty(rec, p.UserID) {
			return Outcome{}, recordNotFound(id)
		}
		return Outcome{}, &DeniedError{Err: Errorf(EPERMISSION, "only the seller or an admin may verify this transaction"), Resource: objWallet, Action: ActVerify}
	}
	tries := "verify:" + id
	if n, left, err := w.locks.Count(ctx, tries); err != nil {
		return Outcome{}, err
	} else if n >= maxCodeTry {
		return Outcome{}, &RetryError{Err: Errorf(ERATELIMITED, "too many wrong verification codes for this transaction"), After: left}
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(stringOf(rec["verification_code"]))) != 1 {
		if _, _, err := w.locks.Hit(ctx, tries, 15*time.Minute); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, Errorf(EVALUE, "verification_code does not match")
	}
	return w.idempotent(ctx, p, key, reqHash, http.StatusOK, func(ctx context.Context, tx Tx) (any, error) {
		rec, err := loadPurchase(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := requirePending(rec); err != nil {
			return nil, err
		}
		for seller, amount := range sellers(rec) {
			if err := credit(ctx, tx, seller, amount, "a seller's account no longer exists; cancel the transaction instead"); err != nil {
				return nil, err
			}
		}
		return tx.Update(ctx, RecordsCollection, id, Document{"status": statusCompleted, FieldUpdatedAt: FormatTime(w.now())}, nil)
	})
}

// Cancel cancels a pending purchase: the buyer (while pending) or a level
// with the cancel right. The buyer is refunded and the stock restored.
func (w *Wallet) Cancel(ctx context.Context, p Principal, body any, key, reqHash string) (Outcome, error) {
	if p.IsGuest() {
		return Outcome{}, Errorf(EAUTHENTICATION, "authentication is required")
	}
	_, id, rec, err := w.purchaseOf(ctx, body)
	if err != nil {
		return Outcome{}, err
	}
	if !w.allowed(p, objWallet, ActCancel) && !(stringOf(rec["user"]) == p.UserID && w.allowed(p, objWallet, ActCancelOwn)) {
		if !isParty(rec, p.UserID) {
			return Outcome{}, recordNotFound(id)
		}
		return Outcome{}, &DeniedError{Err: Errorf(EPERMISSION, "only the buyer or an admin may cancel this transaction"), Resource: objWallet, Action: ActCancel}
	}
	return w.idempotent(ctx, p, key, reqHash, http.StatusOK, func(ctx context.Context, tx Tx) (any, error) {
		rec, err := loadPurchase(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := requirePending(rec); err != nil {
			return nil, err
		}
		total, _ := toInt(rec["total"])
		if err := credit(ctx, tx, stringOf(rec["user"]), total, "the buyer's account no longer exists"); err != nil {
			return nil, err
		}
		items, _ := rec["items"].([]any)
		for _, it := range items {
			im, _ := it.(map[string]any)
			mid := stringOf(im["merchandise_id"])
			q, _ := toInt(im["quantity"])
			merch, err := tx.Get(ctx, merchCollection, mid)
			if errors.Is(err, ErrNotFound) {
				continue // the merchandise is gone; there is no stock to restore
			}
			if err != nil {
				return nil, err
			}
			stock, _ := toInt(merch["stock"])
			restocked, err := addTo(stock, q, "stock")
			if err != nil {
				return nil, err
			}
			if _, err := tx.Update(ctx, merchCollection, mid, Document{"stock": restocked, FieldUpdatedAt: FormatTime(w.now())}, nil); err != nil {
				return nil, err
			}
		}
		return tx.Update(ctx, RecordsCollection, id, Document{"status": statusCancelled, FieldUpdatedAt: FormatTime(w.now())}, nil)
	})
}

// findUser finds a transfer recipient by id or username. A username may
// have the form of an id, so a reference that is one user's id and another
// user's name is refused rather than guessed: money never goes to the user
// the sender did not mean.
func findUser(ctx context.Context, tx Tx, ref string) (Document, error) {
	var byID Document
	if ValidID(ref) {
		u, err := tx.Get(ctx, UsersCollection, ref)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		byID = u
	}
	docs, err := tx.Find(ctx, UsersCollection, Query{Conditions: []Condition{{Path: fieldUsername, Op: Equals, Value: ref}}, SortPath: FieldID, Limit: 1})
	if err != nil {
		return nil, err
	}
	switch {
	case byID != nil && len(docs) > 0 && stringOf(docs[0][FieldID]) != stringOf(byID[FieldID]):
		return nil, Errorf(ECONFLICT, "recipient %s is one user's id and another user's name; ask the recipient for their id", quoteName(ref))
	case byID != nil:
		return byID, nil
	case len(docs) > 0:
		return docs[0], nil
	}
	return nil, Errorf(ENOTFOUND, "recipient %s cannot be found", quoteName(ref))
}

// Transfer moves money from the caller to another user, both balances in
// one transaction.
func (w *Wallet) Transfer(ctx context.Context, p Principal, body any, key, reqHash string) (Outcome, error) {
	if err := w.require(p, objWallet, ActTransfer); err != nil {
		return Outcome{}, err
	}
	m, err := fields(body, "recipient", "amount")
	if err != nil {
		return Outcome{}, err
	}
	ref, _ := m["recipient"].(string)
	if ref == "" || len(ref) > 64 {
		return Outcome{}, Errorf(EINVALIDREQUEST, "recipient is required for the request")
	}
	amount, err := positive(m["amount"], "amount", maxAmount)
	if err != nil {
		return Outcome{}, err
	}
	return w.idempotent(ctx, p, key, reqHash, http.StatusCreated, func(ctx context.Context, tx Tx) (any, error) {
		to, err := findUser(ctx, tx, ref)
		if err != nil {
			return nil, err
		}
		toID := stringOf(to[FieldID])
		if toID == p.UserID {
			return nil, Errorf(EVALUE, "recipient cannot be yourself")
		}
		if err := debit(ctx, tx, p.UserID, amount, "the transfer is"); err != nil {
			return nil, err
		}
		received, err := addTo(balanceOf(to), amount, "recipient's balance")
		if err != nil {
			return nil, err
		}
		if _, err := tx.Update(ctx, UsersCollection, toID, Document{fieldBalance: received}, nil); err != nil {
			return nil, err
		}
		now := FormatTime(w.now())
		rec := Document{
			FieldID: NewID(w.now()), "kind": "transfer", "user": p.UserID, FieldOwner: p.UserID, "recipient": toID,
			"amount": amount, "status": statusCompleted, FieldCreatedAt: now, FieldUpdatedAt: now,
		}
		w.sign(rec)
		if err := tx.Insert(ctx, RecordsCollection, rec); err != nil {
			return nil, err
		}
		return rec, nil
	})
}

// VerifyRecord checks a record as a client holds it: its signature, and that
// it matches the stored record.
func (w *Wallet) VerifyRecord(ctx context.Context, p Principal, body any) (Document, error) {
	if err := w.require(p, objWallet, ActVerifyRecord); err != nil {
		return nil, err
	}
	m, err := fields(body, "record")
	if err != nil {
		return nil, err
	}
	rec, ok := m["record"].(map[string]any)
	if !ok {
		return nil, Errorf(EINVALIDREQUEST, "record is required for the request")
	}
	sig, _ := rec["signature"].(string)
	valid := w.signer.VerifyRecord(canonical(rec), sig)
	id, _ := rec[FieldID].(string)
	if !ValidID(id) {
		return Document{"valid": false, "status": "unknown"}, nil
	}
	stored, err := w.store.Get(ctx, RecordsCollection, id)
	if errors.Is(err, ErrNotFound) {
		return Document{"valid": false, "status": "unknown"}, nil
	}
	if err != nil {
		return nil, err
	}
	if !isParty(stored, p.UserID) && !w.allowed(p, RecordsCollection, ActQuery) {
		// Another user's record answers as one that does not exist.
		return Document{"valid": false, "status": "unknown"}, nil
	}
	valid = valid && string(canonical(stored)) == string(canonical(rec)) && stringOf(stored["signature"]) == sig
	return Document{"valid": valid, "status": stringOf(stored["status"])}, nil
}

// AdjustBalance credits (delta > 0) or debits (delta < 0) a user's wallet
// with a reason; the change and its audit entry commit together.
func (w *Wallet) AdjustBalance(ctx context.Context, p Principal, userID string, body any, ip, key, reqHash string) (Outcome, error) {
	if err := w.require(p, objUsers, ActBalance); err != nil {
		return Outcome{}, err
	}
	m, err := fields(body, "delta", "reason")
	if err != nil {
		return Outcome{}, err
	}
	delta, ok := toInt(m["delta"])
	if !ok || delta == 0 || delta > maxAmount || delta < -maxAmount {
		return Outcome{}, Errorf(EVALUE, "delta must be a non-zero whole number within ±%d", maxAmount)
	}
	reason, _ := m["reason"].(string)
	if reason == "" || len([]rune(reason)) > 500 {
		return Outcome{}, Errorf(EVALUE, "reason must be text of 1 to 500 characters")
	}
	if !ValidID(userID) {
		return Outcome{}, Errorf(ENOTFOUND, "profile with _id %s cannot be found", quoteName(userID))
	}
	return w.idempotent(ctx, p, key, reqHash, http.StatusOK, func(ctx context.Context, tx Tx) (any, error) {
		u, err := tx.Get(ctx, UsersCollection, userID)
		if errors.Is(err, ErrNotFound) {
			return nil, Errorf(ENOTFOUND, "profile with _id %s cannot be found", userID)
		}
		if err != nil {
			return nil, err
		}
		// The level is read in the transaction that writes: a promotion
		// racing the credit cannot slip a superior's wallet through.
		if lvl, _ := toInt(u[fieldLevel]); userID == p.UserID || int(lvl) <= p.Level {
			return nil, Errorf(EPERMISSION, "level %d may adjust only the wallets of lower levels, never its own", p.Level)
		}
		if balanceOf(u)+delta < 0 {
			return nil, Errorf(EFUNDS, "the balance is %d; a debit of %d would make it negative", balanceOf(u), -delta)
		}
		next, err := addTo(balanceOf(u), delta, "balance")
		if err != nil {
			return nil, err
		}
		if _, err := tx.Update(ctx, UsersCollection, userID, Document{fieldBalance: next}, nil); err != nil {
			return nil, err
		}
		if err := AuditAct(ctx, tx, w.now(), p, ip, "balance", userID, Document{"delta": delta, "reason": reason, "balance": next}); err != nil {
			return nil, err
		}
		return Document{"user": userID, "delta": delta, "balance": next}, nil
	})
}
