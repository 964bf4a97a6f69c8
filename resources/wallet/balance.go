package wallet

import (
	"context"
	"errors"

	"github.com/tnt/gateway/resources"
)

// addTo adds n to a held balance or stock, refusing a result that would
// pass maxHeld (or wrap), or fall below zero.
func addTo(held, n int64, what string) (int64, error) {
	if n > 0 && held > maxHeld-n {
		return 0, resources.Errorf(resources.EVALUE, "the %s cannot grow further", what)
	}
	if held+n < 0 {
		return 0, resources.Errorf(resources.EVALUE, "the %s cannot go below zero", what)
	}
	return held + n, nil
}

// debit takes amount from a wallet inside tx; a balance never goes negative.
func debit(ctx context.Context, tx resources.Tx, userID string, amount int64, what string) error {
	u, err := resources.LoadUser(ctx, tx, userID)
	if err != nil {
		return err
	}
	if u.Balance < amount {
		return resources.Errorf(resources.EFUNDS, "the balance is %d, %s %d", u.Balance, what, amount)
	}
	_, err = tx.Update(ctx, resources.UsersCollection, userID, resources.Document{resources.FieldBalance: u.Balance - amount}, nil)
	return err
}

// credit adds amount to a wallet inside tx; gone names the conflict when the
// account no longer exists (money must not vanish into a deleted account).
func credit(ctx context.Context, tx resources.Tx, userID string, amount int64, gone string) error {
	u, err := resources.LoadUser(ctx, tx, userID)
	if errors.Is(err, resources.ErrNotFound) {
		return resources.Errorf(resources.ECONFLICT, "%s", gone)
	}
	if err != nil {
		return err
	}
	next, err := addTo(u.Balance, amount, "balance")
	if err != nil {
		return err
	}
	_, err = tx.Update(ctx, resources.UsersCollection, userID, resources.Document{resources.FieldBalance: next}, nil)
	return err
}

// Adjustment is the answer of AdjustBalance (fields in the order of their
// names, as every answer of the gateway).
type Adjustment struct {
	Balance int64  `json:"balance"`
	Delta   int64  `json:"delta"`
	User    string `json:"user"`
}

// AdjustBalance credits (delta > 0) or debits (delta < 0) the wallet of a
// user of a lower level than the caller, never the caller's own, with a
// reason; the change and its audit entry commit together.
func (w *Wallet) AdjustBalance(ctx context.Context, p resources.Principal, req AdjustRequest) (Receipt, error) {
	return w.run(ctx, p, objUsers, ActBalance, "adjust_balance", req, false, func(ctx context.Context, tx resources.Tx) (any, error) {
		u, err := resources.LoadUser(ctx, tx, req.UserID)
		if errors.Is(err, resources.ErrNotFound) {
			return nil, resources.Errorf(resources.ENOTFOUND, "profile with _id %s cannot be found", req.UserID)
		}
		if err != nil {
			return nil, err
		}
		// The level is read in the transaction that writes: a promotion
		// racing the credit cannot slip a superior's wallet through.
		if u.ID == p.UserID || u.Level <= p.Level {
			return nil, resources.Errorf(resources.EPERMISSION, "level %d may adjust only the wallets of lower levels, never its own", p.Level)
		}
		if u.Balance+req.Delta < 0 {
			return nil, resources.Errorf(resources.EFUNDS, "the balance is %d; a debit of %d would make it negative", u.Balance, -req.Delta)
		}
		next, err := addTo(u.Balance, req.Delta, "balance")
		if err != nil {
			return nil, err
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{resources.FieldBalance: next}, nil); err != nil {
			return nil, err
		}
		if err := resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: p, IP: req.IP, Action: "balance", Target: u.ID,
			Detail: resources.Document{"delta": req.Delta, "reason": req.Reason, "balance": next}, At: w.now()}); err != nil {
			return nil, err
		}
		return Adjustment{User: u.ID, Delta: req.Delta, Balance: next}, nil
	})
}
