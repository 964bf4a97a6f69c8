package wallet

import (
	"context"
	"crypto/subtle"
	"errors"
	"math"
	"time"

	"github.com/tnt/gateway/resources"
)

// Purchase buys items for the caller: all or none. Stock is reserved and the
// buyer debited in one transaction; the record is signed and pending.
func (w *Wallet) Purchase(ctx context.Context, p resources.Principal, req PurchaseRequest) (Receipt, error) {
	return w.run(ctx, p, objWallet, ActPurchase, "purchase", req, true, func(ctx context.Context, tx resources.Tx) (any, error) {
		now := w.now()
		rec := record{ID: resources.NewID(now), Kind: kindPurchase, User: p.UserID, Status: statusPending, Code: verificationCode(),
			Address: req.Address, Phone: req.Phone, CreatedAt: resources.FormatTime(now)}
		for _, it := range req.Items {
			merch, err := tx.Get(ctx, merchCollection, it.MerchandiseID)
			if errors.Is(err, resources.ErrNotFound) {
				return nil, resources.Errorf(resources.ENOTFOUND, "merchandise with _id %s cannot be found", it.MerchandiseID)
			}
			if err != nil {
				return nil, err
			}
			stock, _ := resources.AsInt(merch["stock"])
			price, _ := resources.AsInt(merch["price"])
			if stock < it.Quantity {
				return nil, resources.Errorf(resources.ESTOCK, "merchandise %s has %d left, %d asked", resources.ClipText(resources.AsString(merch["name"])), stock, it.Quantity)
			}
			if price > 0 && it.Quantity > (math.MaxInt64-rec.Total)/price {
				return nil, resources.Errorf(resources.EVALUE, "the total is too large")
			}
			rec.Total += price * it.Quantity
			if _, err := tx.Update(ctx, merchCollection, it.MerchandiseID, resources.Document{"stock": stock - it.Quantity, resources.FieldUpdatedAt: resources.FormatTime(now)}, nil); err != nil {
				return nil, err
			}
			rec.Items = append(rec.Items, recordItem{MerchandiseID: it.MerchandiseID, Name: resources.AsString(merch["name"]), Price: price,
				Quantity: it.Quantity, Seller: resources.AsString(merch[resources.FieldOwner])})
		}
		if err := debit(ctx, tx, p.UserID, rec.Total, "the purchase costs"); err != nil {
			return nil, err
		}
		doc := w.signed(rec)
		if err := tx.Insert(ctx, resources.RecordsCollection, doc); err != nil {
			return nil, err
		}
		return doc, nil
	})
}

// Verify completes a pending purchase when its seller (or a level with the
// verify right) presents the buyer's verification code; the sellers are
// credited in the same transaction.
func (w *Wallet) Verify(ctx context.Context, p resources.Principal, req VerifyRequest) (Receipt, error) {
	rec, err := w.purchaseFor(ctx, p, req.TransactionID)
	if err != nil {
		return Receipt{}, err
	}
	if req.VerificationCode == "" {
		return Receipt{}, resources.Errorf(resources.EINVALIDREQUEST, "verification_code is required for the request")
	}
	_, isSeller := rec.sellers()[p.UserID]
	if !w.allowed(p, objWallet, ActVerify) && !(isSeller && w.allowed(p, objWallet, ActVerifyOwn)) {
		if !rec.isParty(p.UserID) {
			return Receipt{}, recordNotFound(req.TransactionID)
		}
		return Receipt{}, &resources.DeniedError{Err: resources.Errorf(resources.EPERMISSION, "only the seller or an admin may verify this transaction"),
			Resource: objWallet, Action: ActVerify}
	}
	tries := "verify:" + rec.ID
	if n, left, err := w.counters.Count(ctx, tries); err != nil {
		return Receipt{}, err
	} else if n >= maxCodeTry {
		return Receipt{}, &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many wrong verification codes for this transaction"), After: left}
	}
	if subtle.ConstantTimeCompare([]byte(req.VerificationCode), []byte(rec.Code)) != 1 {
		if _, _, err := w.counters.Hit(ctx, tries, 15*time.Minute); err != nil {
			return Receipt{}, err
		}
		return Receipt{}, resources.Errorf(resources.EVALUE, "verification_code does not match")
	}
	return w.idempotent(ctx, p, req.IdempotencyKey, requestHash("verify", req), false, func(ctx context.Context, tx resources.Tx) (any, error) {
		rec, err := pendingIn(ctx, tx, rec.ID)
		if err != nil {
			return nil, err
		}
		for seller, amount := range rec.sellers() {
			if err := credit(ctx, tx, seller, amount, "a seller's account no longer exists; cancel the transaction instead"); err != nil {
				return nil, err
			}
		}
		return tx.Update(ctx, resources.RecordsCollection, rec.ID, resources.Document{"status": statusCompleted, resources.FieldUpdatedAt: resources.FormatTime(w.now())}, nil)
	})
}

// Cancel cancels a pending purchase: the buyer (while pending) or a level
// with the cancel right. The buyer is refunded and the stock restored.
func (w *Wallet) Cancel(ctx context.Context, p resources.Principal, req CancelRequest) (Receipt, error) {
	rec, err := w.purchaseFor(ctx, p, req.TransactionID)
	if err != nil {
		return Receipt{}, err
	}
	if !w.allowed(p, objWallet, ActCancel) && !(rec.User == p.UserID && w.allowed(p, objWallet, ActCancelOwn)) {
		if !rec.isParty(p.UserID) {
			return Receipt{}, recordNotFound(req.TransactionID)
		}
		return Receipt{}, &resources.DeniedError{Err: resources.Errorf(resources.EPERMISSION, "only the buyer or an admin may cancel this transaction"),
			Resource: objWallet, Action: ActCancel}
	}
	return w.idempotent(ctx, p, req.IdempotencyKey, requestHash("cancel", req), false, func(ctx context.Context, tx resources.Tx) (any, error) {
		rec, err := pendingIn(ctx, tx, rec.ID)
		if err != nil {
			return nil, err
		}
		if err := credit(ctx, tx, rec.User, rec.Total, "the buyer's account no longer exists"); err != nil {
			return nil, err
		}
		for _, it := range rec.Items {
			merch, err := tx.Get(ctx, merchCollection, it.MerchandiseID)
			if errors.Is(err, resources.ErrNotFound) {
				continue // the merchandise is gone; there is no stock to restore
			}
			if err != nil {
				return nil, err
			}
			stock, _ := resources.AsInt(merch["stock"])
			restocked, err := addTo(stock, it.Quantity, "stock")
			if err != nil {
				return nil, err
			}
			if _, err := tx.Update(ctx, merchCollection, it.MerchandiseID, resources.Document{"stock": restocked, resources.FieldUpdatedAt: resources.FormatTime(w.now())}, nil); err != nil {
				return nil, err
			}
		}
		return tx.Update(ctx, resources.RecordsCollection, rec.ID, resources.Document{"status": statusCancelled, resources.FieldUpdatedAt: resources.FormatTime(w.now())}, nil)
	})
}

// purchaseFor loads the purchase a signed-in caller names by id; whether
// the caller may act on it is the caller's route's to decide.
func (w *Wallet) purchaseFor(ctx context.Context, p resources.Principal, id string) (record, error) {
	if p.IsGuest() {
		return record{}, resources.Errorf(resources.EAUTHENTICATION, "authentication is required")
	}
	if err := checkID("transaction_id", id); err != nil {
		return record{}, err
	}
	return loadPurchase(ctx, w.store, id)
}

// pendingIn reads a purchase inside a transaction and refuses it unless it
// is still pending: only pending → completed | cancelled exists.
func pendingIn(ctx context.Context, tx resources.Tx, id string) (record, error) {
	rec, err := loadPurchase(ctx, tx, id)
	if err == nil && rec.Status != statusPending {
		err = resources.Errorf(resources.ECONFLICT, "the transaction is %s; only a pending one can change", rec.Status)
	}
	return rec, err
}
