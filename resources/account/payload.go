package account

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tnt/gateway/resources"
)

// errPayload is the one answer for any encrypted payload that is refused.
func errPayload() error {
	return failed(ReasonPayload, resources.Errorf(resources.EAUTHENTICATION, "the encrypted payload was refused"))
}

// openPayload decrypts and checks an encrypted payload: a JSON object with
// a fresh ts and a nonce of at least 16 random bytes not seen before. Every
// failure is the same 401, except an unreachable session store (503): the
// nonce check fails closed.
func (a *Service) openPayload(ctx context.Context, token string) (map[string]any, error) {
	pt, err := a.payloads.OpenPayload(token)
	if err != nil {
		return nil, errPayload()
	}
	v, err := resources.DecodeJSON(pt, resources.JSONLimits{MaxDepth: 2, MaxElements: 32})
	if err != nil {
		return nil, errPayload()
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errPayload()
	}
	ts, ok := resources.AsInt(m["ts"])
	if !ok {
		return nil, errPayload()
	}
	if d := a.now().Sub(time.Unix(ts, 0)); d > a.cfg.PayloadWindow || d < -a.cfg.PayloadWindow {
		return nil, errPayload()
	}
	nonce, _ := m["nonce"].(string)
	if len(nonce) > 128 {
		return nil, errPayload()
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(nonce, "="))
	if err != nil || len(raw) < 16 {
		return nil, errPayload()
	}
	// The nonce is remembered by its bytes, not its text: padding or
	// unused trailing bits give one nonce many spellings, and each
	// spelling must replay as the same nonce.
	fresh, err := a.sessions.RememberNonce(ctx, "p:"+hex.EncodeToString(raw), 2*a.cfg.PayloadWindow)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, errPayload()
	}
	return m, nil
}

// textField reads a string from a decrypted payload.
func textField(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}
