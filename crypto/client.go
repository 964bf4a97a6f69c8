package crypto

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// FetchPublicKey reads a gateway's payload key from GET {base}/api/gpk, as
// an app does before it encrypts credentials.
func FetchPublicKey(ctx context.Context, client *http.Client, base string) (PublicKeyInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/gpk", nil)
	if err != nil {
		return PublicKeyInfo{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return PublicKeyInfo{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return PublicKeyInfo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return PublicKeyInfo{}, fmt.Errorf("GET /api/gpk: %s", resp.Status)
	}
	var info PublicKeyInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return PublicKeyInfo{}, fmt.Errorf("GET /api/gpk: %w", err)
	}
	if info.JWK.Key == nil || info.Alg != "RSA-OAEP-256" || info.Enc != "A256GCM" {
		return PublicKeyInfo{}, fmt.Errorf("GET /api/gpk: not an RSA-OAEP-256/A256GCM key")
	}
	return info, nil
}

// StampPayload returns the JSON plaintext of a payload: the fields plus the
// current time as ts and 16 fresh random bytes as nonce.
func StampPayload(fields map[string]any, now time.Time) ([]byte, error) {
	out := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		out[k] = v
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	out["ts"] = now.Unix()
	out["nonce"] = base64.RawURLEncoding.EncodeToString(nonce[:])
	return json.Marshal(out)
}
