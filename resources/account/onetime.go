package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// TokensCollection keeps the one-time tokens of mails and admin links (a
// password reset, an invitation, an email verification): only their hashes,
// who they are for, and until when.
const TokensCollection = "account_tokens"

// TokensSpec is the collection of one-time tokens, found by account and
// swept by expiry.
var TokensSpec = resources.CollectionSpec{Name: TokensCollection, Indexed: []string{"user_id", "expires_at"}}

// Purposes of one-time tokens. An invitation is a reset of an account that
// has no password yet.
const (
	purposeReset  = "reset"
	purposeVerify = "verify"
)

// TokenTTL is how long a one-time token works.
const TokenTTL = 30 * time.Minute

// errToken is the one answer for a token or code that is refused:
// unknown, spent, replaced, expired, wrong or reused.
func errToken() error {
	return failed(ReasonToken, resources.Errorf(resources.EAUTHENTICATION, "the token or code is not valid"))
}

// oneTime is a stored one-time token.
type oneTime struct {
	userID  string
	purpose string
	// stamp is the account's credential stamp when a reset token was
	// made: a password set since spends it.
	stamp string
	// email is the address a verification token proves.
	email   string
	expires time.Time
}

func (o oneTime) document(hash string, now time.Time) resources.Document {
	return resources.Document{resources.FieldID: hash, "user_id": o.userID, "purpose": o.purpose, "stamp": o.stamp, "email": o.email,
		"expires_at": resources.FormatTime(o.expires), resources.FieldCreatedAt: resources.FormatTime(now)}
}

func oneTimeFrom(d resources.Document) oneTime {
	expires, _ := time.Parse(time.RFC3339Nano, resources.AsString(d["expires_at"]))
	return oneTime{userID: resources.AsString(d["user_id"]), purpose: resources.AsString(d["purpose"]), stamp: resources.AsString(d["stamp"]),
		email: resources.AsString(d["email"]), expires: expires}
}

// issueToken makes a one-time token (256 random bits; only its hash is
// kept) for an account and purpose, spending every earlier one of the
// same purpose, and writes the audit entry, all in one transaction.
func (a *Service) issueToken(ctx context.Context, o oneTime, entry *resources.AuditEntry) (string, error) {
	token := newSecret()
	now := a.now()
	o.expires = now.Add(TokenTTL)
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := spendAll(ctx, tx, o.userID, o.purpose); err != nil {
			return err
		}
		if err := tx.Insert(ctx, TokensCollection, o.document(hashSecret(token), now)); err != nil {
			return err
		}
		if entry == nil {
			return nil
		}
		entry.At = now
		return resources.WriteAudit(ctx, tx, *entry)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// spendAll removes an account's tokens of a purpose ("" for every purpose).
func spendAll(ctx context.Context, tx resources.Tx, userID, purpose string) error {
	conds := []resources.Condition{{Path: "user_id", Op: resources.Equals, Value: userID}}
	if purpose != "" {
		conds = append(conds, resources.Condition{Path: "purpose", Op: resources.Equals, Value: purpose})
	}
	old, err := tx.Find(ctx, TokensCollection, resources.Query{Conditions: conds, SortPath: resources.FieldID, Limit: 100})
	if err != nil {
		return err
	}
	for _, d := range old {
		if err := tx.Delete(ctx, TokensCollection, resources.AsString(d[resources.FieldID])); err != nil && !errors.Is(err, resources.ErrNotFound) {
			return err
		}
	}
	return nil
}

// peekToken reads a token of a purpose without spending it: refused when
// unknown, of another purpose or expired.
func (a *Service) peekToken(ctx context.Context, g resources.Getter, token, purpose string) (oneTime, string, error) {
	if len(token) < 20 || len(token) > 128 {
		return oneTime{}, "", errToken()
	}
	hash := hashSecret(token)
	d, err := g.Get(ctx, TokensCollection, hash)
	if errors.Is(err, resources.ErrNotFound) {
		return oneTime{}, "", errToken()
	}
	if err != nil {
		return oneTime{}, "", err
	}
	o := oneTimeFrom(d)
	if subtle.ConstantTimeCompare([]byte(o.purpose), []byte(purpose)) != 1 || !a.now().Before(o.expires) {
		return oneTime{}, "", errToken()
	}
	return o, hash, nil
}

// SweepTokens removes expired one-time tokens and reports how many: the
// oldest first (expiry times sort as text), until one is still good.
func (a *Service) SweepTokens(ctx context.Context) (int, error) {
	n := 0
	for {
		found, err := a.store.Find(ctx, TokensCollection, resources.Query{SortPath: "expires_at", Limit: 500})
		if err != nil {
			return n, err
		}
		for _, d := range found {
			if a.now().Before(oneTimeFrom(d).expires) {
				return n, nil
			}
			if err := a.store.Delete(ctx, TokensCollection, resources.AsString(d[resources.FieldID])); err != nil && !errors.Is(err, resources.ErrNotFound) {
				return n, err
			}
			n++
		}
		if len(found) < 500 {
			return n, nil
		}
	}
}
