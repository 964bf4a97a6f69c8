package resources

import "github.com/tnt/gateway/policy"

// GuestLevel is the level of a caller without credentials.
const GuestLevel = 5

// Principal is the caller of an operation, as authentication found it.
type Principal struct {
	UserID   string
	Username string
	Level    int
	// SessionID is set when the caller presented a session token (not
	// for the admin header, which is checked on every request).
	SessionID string
	// Stamp identifies the stored credential a password login checked (a
	// digest of the user's password hash, never the hash). A session is
	// kept only if, once created, the user still has this stamp and this
	// level: a password change, level change or deletion racing the login
	// cannot leave a session behind. Empty for a principal from a token.
	Stamp string
	// EnrolOnly marks a session that may only enrol a second factor: its
	// level must have one (GATEWAY_MFA_LEVELS) and the session was not
	// opened with one.
	EnrolOnly bool
	// SecondFactor is true when the caller proved a second factor at
	// sign-in; the session remembers it.
	SecondFactor bool
}

// IsGuest reports whether the caller presented no credentials.
func (p Principal) IsGuest() bool { return p.UserID == "" }

// Authorizer answers whether a level holds a right (action) on a resource
// or an object of the policy. *policy.Holder is one: the policy in force,
// decided with Casbin.
type Authorizer interface {
	Allowed(l policy.Level, object, action string) bool
}

// Role is the caller's level as the policy knows it.
func (p Principal) Role() policy.Level { return policy.Level(p.Level) }

// Actions the service asks the Authorizer about. An "_own" action grants the
// right only on documents whose owner is the caller.
const (
	ActCreate      = "create"
	ActQuery       = "query"
	ActQueryOwn    = "query_own"
	ActUpdate      = "update"
	ActUpdateOwn   = "update_own"
	ActDelete      = "delete"
	ActDeleteOwn   = "delete_own"
	ActDiscover    = "discover"
	ActReadPrivate = "read_private"
)

// EngineActions lists every action the resource engine asks about, so the
// policy decides them for every resource even where no line names them.
func EngineActions() []string {
	return []string{ActCreate, ActQuery, ActQueryOwn, ActUpdate, ActUpdateOwn, ActDelete, ActDeleteOwn, ActDiscover, ActReadPrivate}
}

// DeniedError is a policy refusal; it carries what was refused for metrics.
type DeniedError struct {
	Err      *Error
	Resource string
	Action   string
}

func (e *DeniedError) Error() string { return e.Err.Error() }

// Unwrap exposes the application error.
func (e *DeniedError) Unwrap() error { return e.Err }

// Require refuses a Guest (401) or a level without the right (403,
// counted as a policy denial); what names the act in the message.
func Require(auth Authorizer, p Principal, object, action, what string) error {
	if p.IsGuest() {
		return Errorf(EAUTHENTICATION, "authentication is required")
	}
	if !auth.Allowed(p.Role(), object, action) {
		return &DeniedError{Err: Errorf(EPERMISSION, "level %d may not %s", p.Level, what), Resource: object, Action: action}
	}
	return nil
}
