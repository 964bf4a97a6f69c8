package gateway

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/wallet"
)

// walletService moves money (wallet.Wallet).
type walletService interface {
	Purchase(ctx context.Context, p resources.Principal, req wallet.PurchaseRequest) (wallet.Receipt, error)
	Verify(ctx context.Context, p resources.Principal, req wallet.VerifyRequest) (wallet.Receipt, error)
	Cancel(ctx context.Context, p resources.Principal, req wallet.CancelRequest) (wallet.Receipt, error)
	Transfer(ctx context.Context, p resources.Principal, req wallet.TransferRequest) (wallet.Receipt, error)
	AdjustBalance(ctx context.Context, p resources.Principal, req wallet.AdjustRequest) (wallet.Receipt, error)
	VerifyRecord(ctx context.Context, p resources.Principal, req wallet.VerifyRecordRequest) (wallet.RecordCheck, error)
	Balance(ctx context.Context, p resources.Principal) (int64, error)
}

// bindWalletRoutes registers the money routes and the balance.
func (s *Server) bindWalletRoutes(api *gin.RouterGroup) {
	api = api.Group("", s.signedIn)
	api.POST("/perform_transaction", s.handler(s.purchase))
	api.POST("/verify_transaction", s.handler(s.verifyPurchase))
	api.POST("/cancel_transaction", s.handler(s.cancelPurchase))
	api.POST("/transfer", s.handler(s.transfer))
	api.POST("/admin/users/:id/balance", s.handler(s.adjustBalance))
	api.POST("/verify_transaction_record", s.handler(s.verifyRecord))
	api.GET("/account/balance", s.handler(s.balance))
}

// sendReceipt answers a money call with the receipt as it was first made
// (replays included): 201 when the call made a record.
func sendReceipt(c *gin.Context, r wallet.Receipt, err error) error {
	if err != nil {
		return err
	}
	status := http.StatusOK
	if r.Created {
		status = http.StatusCreated
	}
	c.Header("Cache-Control", "no-store")
	ok(c, status, r.Body, "")
	return nil
}

func idempotencyKey(c *gin.Context) string { return c.GetHeader("Idempotency-Key") }

func (s *Server) purchase(c *gin.Context) error {
	m, err := s.readRequest(c, "items", "address", "phone")
	if err != nil {
		return err
	}
	list, isList := m["items"].([]any)
	if !isList {
		return wallet.InvalidField("items")
	}
	req := wallet.PurchaseRequest{IdempotencyKey: idempotencyKey(c)}
	for _, it := range list {
		im, err := object(it, "merchandise_id", "quantity")
		if err != nil {
			return wallet.InvalidField("item")
		}
		id, isText := optionalText(im, "merchandise_id")
		if !isText {
			return wallet.InvalidField("merchandise_id")
		}
		req.Items = append(req.Items, wallet.PurchaseItem{MerchandiseID: id, Quantity: integerOrZero(im, "quantity")})
	}
	var isText bool
	if req.Address, isText = optionalText(m, "address"); !isText {
		return wallet.InvalidField("address")
	}
	if req.Phone, isText = optionalText(m, "phone"); !isText {
		return wallet.InvalidField("phone")
	}
	r, err := s.wallet.Purchase(c.Request.Context(), principal(c), req)
	return sendReceipt(c, r, err)
}

// readTransaction reads a request naming a purchase by transaction_id,
// with the other keys given.
func (s *Server) readTransaction(c *gin.Context, keys ...string) (map[string]any, string, error) {
	m, err := s.readRequest(c, append(keys, "transaction_id")...)
	if err != nil {
		return nil, "", err
	}
	id, isText := optionalText(m, "transaction_id")
	if !isText {
		return nil, "", wallet.InvalidField("transaction_id")
	}
	return m, id, nil
}

func (s *Server) verifyPurchase(c *gin.Context) error {
	m, id, err := s.readTransaction(c, "verification_code")
	if err != nil {
		return err
	}
	r, err := s.wallet.Verify(c.Request.Context(), principal(c), wallet.VerifyRequest{
		TransactionID: id, VerificationCode: textOrEmpty(m, "verification_code"), IdempotencyKey: idempotencyKey(c)})
	return sendReceipt(c, r, err)
}

func (s *Server) cancelPurchase(c *gin.Context) error {
	_, id, err := s.readTransaction(c)
	if err != nil {
		return err
	}
	r, err := s.wallet.Cancel(c.Request.Context(), principal(c), wallet.CancelRequest{TransactionID: id, IdempotencyKey: idempotencyKey(c)})
	return sendReceipt(c, r, err)
}

func (s *Server) transfer(c *gin.Context) error {
	m, err := s.readRequest(c, "recipient", "amount")
	if err != nil {
		return err
	}
	r, err := s.wallet.Transfer(c.Request.Context(), principal(c), wallet.TransferRequest{
		Recipient: textOrEmpty(m, "recipient"), Amount: integerOrZero(m, "amount"), IdempotencyKey: idempotencyKey(c)})
	return sendReceipt(c, r, err)
}

func (s *Server) adjustBalance(c *gin.Context) error {
	m, err := s.readRequest(c, "delta", "reason")
	if err != nil {
		return err
	}
	r, err := s.wallet.AdjustBalance(c.Request.Context(), principal(c), wallet.AdjustRequest{
		UserID: c.Param("id"), Delta: integerOrZero(m, "delta"), Reason: textOrEmpty(m, "reason"),
		IP: c.ClientIP(), IdempotencyKey: idempotencyKey(c)})
	return sendReceipt(c, r, err)
}

func (s *Server) verifyRecord(c *gin.Context) error {
	m, err := s.readRequest(c, "record")
	if err != nil {
		return err
	}
	rec, _ := m["record"].(map[string]any)
	res, err := s.wallet.VerifyRecord(c.Request.Context(), principal(c), wallet.VerifyRecordRequest{Record: rec})
	return answer(c, res, err)
}

func (s *Server) balance(c *gin.Context) error {
	n, err := s.wallet.Balance(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, map[string]int64{"balance": n}, "")
	return nil
}
