package wallet

import (
	"context"
	"errors"

	"github.com/tnt/gateway/resources"
)

// Transfer moves money from the caller to another user, both balances in
// one transaction.
func (w *Wallet) Transfer(ctx context.Context, p resources.Principal, req TransferRequest) (Receipt, error) {
	return w.run(ctx, p, objWallet, ActTransfer, "transfer", req, true, func(ctx context.Context, tx resources.Tx) (any, error) {
		to, err := findRecipient(ctx, tx, req.Recipient)
		if err != nil {
			return nil, err
		}
		if to.ID == p.UserID {
			return nil, resources.Errorf(resources.EVALUE, "recipient cannot be yourself")
		}
		if err := debit(ctx, tx, p.UserID, req.Amount, "the transfer is"); err != nil {
			return nil, err
		}
		received, err := addTo(to.Balance, req.Amount, "recipient's balance")
		if err != nil {
			return nil, err
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, to.ID, resources.Document{resources.FieldBalance: received}, nil); err != nil {
			return nil, err
		}
		now := w.now()
		doc := w.signed(record{ID: resources.NewID(now), Kind: kindTransfer, User: p.UserID, Recipient: to.ID, Amount: req.Amount,
			Status: statusCompleted, CreatedAt: resources.FormatTime(now)})
		if err := tx.Insert(ctx, resources.RecordsCollection, doc); err != nil {
			return nil, err
		}
		return doc, nil
	})
}

// findRecipient finds a transfer recipient by id or username. A reference
// of an id's form always means the id: names of that form are refused at
// registration, and one that predates the rule is never taken for the id
// (404 when no user has the id), so a name can never divert money meant for
// another user's id.
func findRecipient(ctx context.Context, tx resources.Tx, ref string) (resources.User, error) {
	if resources.ValidID(ref) {
		u, err := resources.LoadUser(ctx, tx, ref)
		if errors.Is(err, resources.ErrNotFound) {
			return resources.User{}, recipientNotFound(ref)
		}
		return u, err
	}
	byName, named, err := resources.FindUser(ctx, tx, ref)
	if err != nil {
		return resources.User{}, err
	}
	if !named {
		return resources.User{}, recipientNotFound(ref)
	}
	return byName, nil
}

func recipientNotFound(ref string) error {
	return resources.Errorf(resources.ENOTFOUND, "recipient %s cannot be found", resources.QuoteName(ref))
}
