// Package wallet moves money: purchases (stock reserved, the buyer debited),
// their verification (sellers credited) or cancellation (refund, restock),
// transfers, admin balance adjustments, signed transaction records and
// Idempotency-Keys. Every call is one store transaction; the rules are
// written here once, above the stores. It takes typed requests and returns
// typed results; it knows nothing of HTTP and imports no other area.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tnt/gateway/resources"
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

// Actions lists every action the wallet asks the policy about, so that a
// policy decides each of them even while no line names it.
func Actions() []string {
	return []string{ActPurchase, ActTransfer, ActCancel, ActCancelOwn, ActVerify, ActVerifyOwn, ActVerifyRecord, ActBalance}
}

// merchCollection is where merchandise lives (the built-in resource).
const merchCollection = "merchandise"

// RecordSigner signs and verifies transaction records (crypto.Keyring).
type RecordSigner interface {
	SignRecord(canonical []byte) string
	VerifyRecord(canonical []byte, signature string) bool
}

// Counters lock an Idempotency-Key while its first request runs and count
// wrong verification codes (session.Store).
type Counters interface {
	Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	Count(ctx context.Context, key string) (int64, time.Duration, error)
	Reset(ctx context.Context, key string) error
}

// Wallet moves money. Build it with New.
type Wallet struct {
	store    resources.Store
	auth     resources.Authorizer
	signer   RecordSigner
	counters Counters
	now      func() time.Time
}

// New builds the wallet. It checks that the resources it works on declare
// the fields it relies on, with their types, so that a resources file
// extending a built-in resource cannot take one away from under it.
func New(store resources.Store, reg *resources.Registry, auth resources.Authorizer, signer RecordSigner, counters Counters, now func() time.Time) (*Wallet, error) {
	if now == nil {
		now = time.Now
	}
	for resource, fields := range map[string]map[string]resources.FieldType{
		merchCollection: {"name": resources.TypeString, "price": resources.TypeInt, "stock": resources.TypeInt},
		"profile":       {resources.FieldBalance: resources.TypeInt, resources.FieldLevel: resources.TypeInt, resources.FieldUsername: resources.TypeString},
		resources.RecordsCollection: {"kind": resources.TypeString, "user": resources.TypeString, "recipient": resources.TypeString,
			"amount": resources.TypeInt, "total": resources.TypeInt, "status": resources.TypeString, "verification_code": resources.TypeString,
			"signature": resources.TypeString, "items": resources.TypeArray, "items.merchandise_id": resources.TypeString,
			"items.price": resources.TypeInt, "items.quantity": resources.TypeInt, "items.seller": resources.TypeString, "items.name": resources.TypeString},
	} {
		if err := resources.NeedFields(reg, resource, fields); err != nil {
			return nil, fmt.Errorf("wallet: %w", err)
		}
	}
	return &Wallet{store: store, auth: auth, signer: signer, counters: counters, now: now}, nil
}

// Prepare creates the wallet's own collections (its keys, and the audit
// trail its balance adjustments write to).
func (w *Wallet) Prepare(ctx context.Context) error {
	for _, spec := range []resources.CollectionSpec{
		resources.IdempotencySpec,
		resources.AuditSpec,
	} {
		if err := w.store.EnsureCollection(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

func (w *Wallet) allowed(p resources.Principal, object, action string) bool {
	return !p.IsGuest() && w.auth.Allowed(p.Role(), object, action)
}

func (w *Wallet) require(p resources.Principal, object, action string) error {
	return resources.Require(w.auth, p, object, action, action)
}

// Balance returns the caller's wallet balance.
func (w *Wallet) Balance(ctx context.Context, p resources.Principal) (int64, error) {
	if p.IsGuest() {
		return 0, resources.Errorf(resources.EAUTHENTICATION, "authentication is required")
	}
	u, err := resources.LoadUser(ctx, w.store, p.UserID)
	if errors.Is(err, resources.ErrNotFound) {
		return 0, resources.Errorf(resources.EAUTHENTICATION, "the account no longer exists")
	}
	if err != nil {
		return 0, err
	}
	return u.Balance, nil
}
