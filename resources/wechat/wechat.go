// Package wechat exchanges WeChat mini-program login codes for openids at
// WeChat's jscode2session endpoint (base URL configurable, for tests and
// regional endpoints). The app secret never leaves this package's requests.
package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tnt/gateway/resources"
)

// DefaultBase is WeChat's API origin.
const DefaultBase = "https://api.weixin.qq.com"

// Client calls jscode2session.
type Client struct {
	base   string
	appID  string
	secret string
	http   *http.Client
}

// New returns a client; base "" means WeChat's own API.
func New(base, appID, secret string) *Client {
	if base == "" {
		base = DefaultBase
	}
	return &Client{base: strings.TrimRight(base, "/"), appID: appID, secret: secret, http: &http.Client{Timeout: 5 * time.Second}}
}

type reply struct {
	OpenID  string `json:"openid"`
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// Exchange trades a login code for the user's openid. A code WeChat refuses
// is a 401; WeChat unreachable or answering nonsense is a 503.
func (c *Client) Exchange(ctx context.Context, code string) (string, error) {
	q := url.Values{"appid": {c.appID}, "secret": {c.secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("wechat: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The error text holds the URL with the secret: never pass it on.
		return "", resources.Errorf(resources.EUNAVAILABLE, "WeChat cannot be reached; try again later")
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", resources.Errorf(resources.EUNAVAILABLE, "WeChat answered with an error; try again later")
	}
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		return "", resources.Errorf(resources.EUNAVAILABLE, "WeChat answered with an error; try again later")
	}
	if r.ErrCode != 0 || r.OpenID == "" || len(r.OpenID) > 128 {
		return "", resources.Errorf(resources.EAUTHENTICATION, "the WeChat login code was refused")
	}
	return r.OpenID, nil
}
