package gateway

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

// walletService moves money (resources.Wallet).
type walletService interface {
	Purchase(ctx context.Context, p resources.Principal, body any, key, reqHash string) (resources.Outcome, error)
	Verify(ctx context.Context, p resources.Principal, body any, key, reqHash string) (resources.Outcome, error)
	Cancel(ctx context.Context, p resources.Principal, body any, key, reqHash string) (resources.Outcome, error)
	Transfer(ctx context.Context, p resources.Principal, body any, key, reqHash string) (resources.Outcome, error)
	VerifyRecord(ctx context.Context, p resources.Principal, body any) (resources.Document, error)
	AdjustBalance(ctx context.Context, p resources.Principal, userID string, body any, ip, key, reqHash string) (resources.Outcome, error)
}

// readJSON reads a strict JSON body.
func (s *Server) readJSON(c *gin.Context) (any, error) {
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	return resources.DecodeJSON(body, s.cfg.JSON)
}

// moneyRoute adapts a wallet call: the body, the caller's Idempotency-Key
// and the request's hash (route, path parameters and body) go in; the
// outcome (first or replayed) goes out as it was.
func (s *Server) moneyRoute(call func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error)) gin.HandlerFunc {
	return s.handler(func(c *gin.Context) error {
		body, err := s.readJSON(c)
		if err != nil {
			return err
		}
		route := c.Request.Method + " " + c.FullPath()
		for _, prm := range c.Params {
			route += " " + prm.Key + "=" + prm.Value
		}
		out, err := call(c, principal(c), body, c.GetHeader("Idempotency-Key"), resources.RequestHash(route, body))
		if err != nil {
			return err
		}
		c.Header("Cache-Control", "no-store")
		ok(c, out.Status, out.Data, "")
		return nil
	})
}

func (s *Server) walletRoutes(api *gin.RouterGroup) {
	api.POST("/perform_transaction", s.moneyRoute(func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error) {
		return s.wallet.Purchase(c.Request.Context(), p, body, key, hash)
	}))
	api.POST("/verify_transaction", s.moneyRoute(func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error) {
		return s.wallet.Verify(c.Request.Context(), p, body, key, hash)
	}))
	api.POST("/cancel_transaction", s.moneyRoute(func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error) {
		return s.wallet.Cancel(c.Request.Context(), p, body, key, hash)
	}))
	api.POST("/transfer", s.moneyRoute(func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error) {
		return s.wallet.Transfer(c.Request.Context(), p, body, key, hash)
	}))
	api.POST("/admin/users/:id/balance", s.moneyRoute(func(c *gin.Context, p resources.Principal, body any, key, hash string) (resources.Outcome, error) {
		return s.wallet.AdjustBalance(c.Request.Context(), p, c.Param("id"), body, c.ClientIP(), key, hash)
	}))
	api.POST("/verify_transaction_record", s.handler(func(c *gin.Context) error {
		body, err := s.readJSON(c)
		if err != nil {
			return err
		}
		res, err := s.wallet.VerifyRecord(c.Request.Context(), principal(c), body)
		if err != nil {
			return err
		}
		ok(c, http.StatusOK, res, "")
		return nil
	}))
}
