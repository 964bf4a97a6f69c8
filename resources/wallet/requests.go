package wallet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tnt/gateway/resources"
)

// Limits of money requests (API.md §8). Each is far below the point where a
// sum or a product of them could overflow an int64, and every sum the wallet
// makes is checked anyway (addTo).
const (
	MaxItems    = 50
	MaxQuantity = 1_000_000
	MaxAmount   = 1_000_000_000_000
	maxAddress  = 500
	maxPhone    = 32
	maxReason   = 500
	maxCodeTry  = 5
	// maxHeld bounds a balance or a stock any addition may reach, so that
	// no sum of held values and requested ones can wrap.
	maxHeld = int64(1) << 62
)

// Receipt is the answer of a money call: the result as JSON, byte for byte
// what a retry with the same Idempotency-Key gets again, and whether the call
// made a new record (a purchase, a transfer) rather than changing one.
type Receipt struct {
	Body    json.RawMessage
	Created bool
}

// PurchaseItem is one line of a purchase.
type PurchaseItem struct {
	MerchandiseID string `json:"merchandise_id"`
	Quantity      int64  `json:"quantity"`
}

// PurchaseRequest buys items for the caller.
type PurchaseRequest struct {
	Items   []PurchaseItem `json:"items"`
	Address string         `json:"address,omitempty"`
	Phone   string         `json:"phone,omitempty"`
	// IdempotencyKey is the client's key ("" for none).
	IdempotencyKey string `json:"-"`
}

func (r PurchaseRequest) validate() error {
	if len(r.Items) == 0 || len(r.Items) > MaxItems {
		return InvalidField("items")
	}
	seen := map[string]bool{}
	for _, it := range r.Items {
		if err := checkID("merchandise_id", it.MerchandiseID); err != nil {
			return err
		}
		if seen[it.MerchandiseID] {
			return resources.Errorf(resources.EVALUE, "merchandise %s is listed twice; give one quantity", it.MerchandiseID)
		}
		seen[it.MerchandiseID] = true
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return InvalidField("quantity")
		}
	}
	if len([]rune(r.Address)) > maxAddress {
		return InvalidField("address")
	}
	if len([]rune(r.Phone)) > maxPhone {
		return InvalidField("phone")
	}
	return nil
}

// VerifyRequest completes a pending purchase with the buyer's code.
type VerifyRequest struct {
	TransactionID    string `json:"transaction_id"`
	VerificationCode string `json:"verification_code"`
	IdempotencyKey   string `json:"-"`
}

// CancelRequest cancels a pending purchase.
type CancelRequest struct {
	TransactionID  string `json:"transaction_id"`
	IdempotencyKey string `json:"-"`
}

// TransferRequest moves money from the caller to a recipient named by id
// or username.
type TransferRequest struct {
	Recipient      string `json:"recipient"`
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"-"`
}

func (r TransferRequest) validate() error {
	if r.Recipient == "" || len(r.Recipient) > 64 {
		return resources.Errorf(resources.EINVALIDREQUEST, "recipient is required for the request")
	}
	if r.Amount < 1 || r.Amount > MaxAmount {
		return InvalidField("amount")
	}
	return nil
}

// AdjustRequest credits (Delta > 0) or debits (Delta < 0) a user's wallet.
type AdjustRequest struct {
	UserID         string `json:"user"`
	Delta          int64  `json:"delta"`
	Reason         string `json:"reason"`
	IP             string `json:"-"`
	IdempotencyKey string `json:"-"`
}

func (r AdjustRequest) validate() error {
	if r.Delta == 0 || r.Delta > MaxAmount || r.Delta < -MaxAmount {
		return InvalidField("delta")
	}
	if r.Reason == "" || len([]rune(r.Reason)) > maxReason {
		return InvalidField("reason")
	}
	if !resources.ValidID(r.UserID) {
		return resources.Errorf(resources.ENOTFOUND, "profile with _id %s cannot be found", resources.QuoteName(r.UserID))
	}
	return nil
}

// VerifyRecordRequest checks a record as a client holds it.
type VerifyRecordRequest struct {
	Record resources.Document
}

// RecordCheck is the answer of VerifyRecord (fields in the order of their
// names, as every answer of the gateway).
type RecordCheck struct {
	Status string `json:"status"`
	Valid  bool   `json:"valid"`
}

// InvalidField is the error for a request field whose value breaks its rule
// (or has the wrong type): the same words whoever finds it, the wallet or
// the code that decodes a request.
func InvalidField(name string) error {
	switch name {
	case "items":
		return resources.Errorf(resources.EVALUE, "items must be a list of 1 to %d items", MaxItems)
	case "item":
		return resources.Errorf(resources.EVALUE, `each item is {"merchandise_id", "quantity"}`)
	case "quantity":
		return resources.Errorf(resources.EVALUE, "quantity must be a whole number from 1 to %d", MaxQuantity)
	case "amount":
		return resources.Errorf(resources.EVALUE, "amount must be a whole number from 1 to %d", MaxAmount)
	case "delta":
		return resources.Errorf(resources.EVALUE, "delta must be a non-zero whole number within ±%d", MaxAmount)
	case "reason":
		return resources.Errorf(resources.EVALUE, "reason must be text of 1 to %d characters", maxReason)
	case "address":
		return resources.Errorf(resources.EVALUE, "address must be text of at most %d characters", maxAddress)
	case "phone":
		return resources.Errorf(resources.EVALUE, "phone must be text of at most %d characters", maxPhone)
	case "record":
		return resources.Errorf(resources.EINVALIDREQUEST, "record is required for the request")
	}
	return resources.Errorf(resources.EVALUE, "%s must be a string of 24 hexadecimal characters", name)
}

// checkID refuses a missing or malformed id.
func checkID(name, id string) error {
	if id == "" {
		return resources.Errorf(resources.EINVALIDREQUEST, "%s is required for the request", name)
	}
	if !resources.ValidID(id) {
		return InvalidField(name)
	}
	return nil
}

// requestHash identifies a request's content for Idempotency-Key checks:
// the operation and its typed request, whatever the JSON it came in.
func requestHash(op string, req any) string {
	b, err := json.Marshal(req)
	if err != nil {
		panic(fmt.Sprintf("wallet: request of %s does not encode: %v", op, err)) // a programming error: requests are plain structs
	}
	sum := sha256.Sum256(append([]byte(op+"\x00"), b...))
	return hex.EncodeToString(sum[:])
}
