package account

// Why a login, a registration's payload or a token refresh was refused.
// The client sees only the error LoginError wraps (one answer for many
// causes); the reason is for the operator's metrics, and the set is fixed,
// so a metric labelled with it stays small.
const (
	// ReasonPayload: the encrypted payload did not open, was stale or
	// was seen before.
	ReasonPayload = "payload"
	// ReasonCredentials: no such user, or the wrong password.
	ReasonCredentials = "user_credentials"
	// ReasonThrottled: too many failed logins for the username or the
	// client address.
	ReasonThrottled = "throttled"
	// ReasonRefreshToken: a malformed, unknown, expired or spent refresh
	// token (a spent one also ends its session).
	ReasonRefreshToken = "refresh_token"
	// ReasonCSRF: a cookie refresh whose CSRF token is not its session's.
	ReasonCSRF = "csrf"
	// ReasonWeChat: WeChat refused the login code.
	ReasonWeChat = "wechat"
	// ReasonToken: a one-time token (reset, invitation, verification) or
	// an MFA login token that is unknown, spent, replaced or expired.
	ReasonToken = "one_time_token"
	// ReasonCode: a wrong or reused second-factor code.
	ReasonCode = "mfa_code"
)

// Reasons lists every reason a LoginError may carry.
func Reasons() []string {
	return []string{ReasonPayload, ReasonCredentials, ReasonThrottled, ReasonRefreshToken, ReasonCSRF, ReasonWeChat, ReasonToken, ReasonCode}
}

// LoginError is a refused login or refresh with its reason.
type LoginError struct {
	Reason string
	Err    error
}

func (f *LoginError) Error() string { return f.Err.Error() }

// Unwrap lets errors.As reach the client-facing error.
func (f *LoginError) Unwrap() error { return f.Err }

func failed(reason string, err error) error { return &LoginError{Reason: reason, Err: err} }
