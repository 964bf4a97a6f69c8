package wallet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/tnt/gateway/resources"
)

// Record kinds and statuses. Only pending → completed | cancelled exists.
const (
	kindPurchase    = "purchase"
	kindTransfer    = "transfer"
	statusPending   = "pending"
	statusCompleted = "completed"
	statusCancelled = "cancelled"
)

// record is a transaction record, translated at the store edge.
type record struct {
	ID, Kind, User, Recipient, Status, Code string
	Items                                   []recordItem
	Total, Amount                           int64
	Address, Phone                          string
	CreatedAt                               string
}

// recordItem is one line of a purchase, with the price paid and the
// merchandise's owner (the seller) at the time.
type recordItem struct {
	MerchandiseID, Name, Seller string
	Price, Quantity             int64
}

// document is the record as stored (and answered); signed records are
// signed over this form (see canonical).
func (r record) document() resources.Document {
	d := resources.Document{
		resources.FieldID: r.ID, "kind": r.Kind, "user": r.User, resources.FieldOwner: r.User, "status": r.Status,
		resources.FieldCreatedAt: r.CreatedAt, resources.FieldUpdatedAt: r.CreatedAt,
	}
	switch r.Kind {
	case kindPurchase:
		items := make([]any, len(r.Items))
		for i, it := range r.Items {
			items[i] = resources.Document{"merchandise_id": it.MerchandiseID, "name": it.Name, "price": it.Price, "quantity": it.Quantity, "seller": it.Seller}
		}
		d["items"], d["total"], d["verification_code"] = items, r.Total, r.Code
		if r.Address != "" {
			d["address"] = r.Address
		}
		if r.Phone != "" {
			d["phone"] = r.Phone
		}
	case kindTransfer:
		d["recipient"], d["amount"] = r.Recipient, r.Amount
	}
	return d
}

func recordFrom(d resources.Document) record {
	total, _ := resources.AsInt(d["total"])
	amount, _ := resources.AsInt(d["amount"])
	r := record{
		ID: resources.AsString(d[resources.FieldID]), Kind: resources.AsString(d["kind"]), User: resources.AsString(d["user"]),
		Recipient: resources.AsString(d["recipient"]), Status: resources.AsString(d["status"]), Code: resources.AsString(d["verification_code"]),
		Total: total, Amount: amount, Address: resources.AsString(d["address"]), Phone: resources.AsString(d["phone"]),
		CreatedAt: resources.AsString(d[resources.FieldCreatedAt]),
	}
	items, _ := d["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		price, _ := resources.AsInt(m["price"])
		q, _ := resources.AsInt(m["quantity"])
		r.Items = append(r.Items, recordItem{MerchandiseID: resources.AsString(m["merchandise_id"]), Name: resources.AsString(m["name"]),
			Seller: resources.AsString(m["seller"]), Price: price, Quantity: q})
	}
	return r
}

// sellers sums what each seller of a purchase is owed.
func (r record) sellers() map[string]int64 {
	out := map[string]int64{}
	for _, it := range r.Items {
		out[it.Seller] += it.Price * it.Quantity
	}
	return out
}

// isParty reports whether the user bought, sold or received in the record.
func (r record) isParty(userID string) bool {
	if userID == "" {
		return false
	}
	if r.User == userID || r.Recipient == userID {
		return true
	}
	_, seller := r.sellers()[userID]
	return seller
}

// recordNotFound is the one answer for a record that does not exist, and
// for one the caller has no part in: the two cannot be told apart.
func recordNotFound(id string) error {
	return resources.Errorf(resources.ENOTFOUND, "transaction_record with _id %s cannot be found", id)
}

// loadPurchase reads a purchase record by id.
func loadPurchase(ctx context.Context, g resources.Getter, id string) (record, error) {
	d, err := g.Get(ctx, resources.RecordsCollection, id)
	if errors.Is(err, resources.ErrNotFound) || (err == nil && d["kind"] != kindPurchase) {
		return record{}, recordNotFound(id)
	}
	if err != nil {
		return record{}, err
	}
	return recordFrom(d), nil
}

// verificationCode is 8 random digits the buyer shows the seller.
func verificationCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("%08d", n.Int64())
}

// canonical is the signed form of a record: the fields that never change
// after it is written, as JSON with sorted keys and integers as integers.
func canonical(rec map[string]any) []byte {
	signed := []string{resources.FieldID, "kind", "user", "recipient", "amount", "items", "total", resources.FieldCreatedAt}
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
		if n, ok := resources.AsInt(x); ok {
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

// signed returns the stored form of a new record, with its signature.
func (w *Wallet) signed(r record) resources.Document {
	d := r.document()
	d["signature"] = w.signer.SignRecord(canonical(d))
	return d
}

// VerifyRecord checks a record as a client holds it: its signature, and that
// it matches the stored record. A record the caller has no part in answers
// exactly as one that does not exist.
func (w *Wallet) VerifyRecord(ctx context.Context, p resources.Principal, req VerifyRecordRequest) (RecordCheck, error) {
	if err := w.require(p, objWallet, ActVerifyRecord); err != nil {
		return RecordCheck{}, err
	}
	if req.Record == nil {
		return RecordCheck{}, InvalidField("record")
	}
	unknown := RecordCheck{Valid: false, Status: "unknown"}
	sig, _ := req.Record["signature"].(string)
	valid := w.signer.VerifyRecord(canonical(req.Record), sig)
	id, _ := req.Record[resources.FieldID].(string)
	if !resources.ValidID(id) {
		return unknown, nil
	}
	stored, err := w.store.Get(ctx, resources.RecordsCollection, id)
	if errors.Is(err, resources.ErrNotFound) {
		return unknown, nil
	}
	if err != nil {
		return RecordCheck{}, err
	}
	if !recordFrom(stored).isParty(p.UserID) && !w.allowed(p, resources.RecordsCollection, resources.ActQuery) {
		return unknown, nil
	}
	valid = valid && string(canonical(stored)) == string(canonical(req.Record)) && resources.AsString(stored["signature"]) == sig
	return RecordCheck{Valid: valid, Status: resources.AsString(stored["status"])}, nil
}
