package resources

import (
	"errors"
	"fmt"
	"time"

	"github.com/tnt/gateway/resources/session"
)

// Error codes of the HTTP contract. The gateway package owns the single
// table that maps each code to an HTTP status.
const (
	EINVALIDREQUEST    = "InvalidRequestError"
	EINVALIDOPERATION  = "InvalidOperationError"
	ECREATION          = "InvalidResourceCreationError"
	EPARAMETER         = "InvalidResourceParameterError"
	EVALUE             = "InvalidResourceValueError"
	EDUPLICATE         = "DuplicateResourceCreationError"
	ENOTFOUND          = "ResourceNotFoundError"
	EUNKNOWNRESOURCE   = "UnknownResourceError"
	EAUTHENTICATION    = "AuthenticationError"
	EMFAREQUIRED       = "MfaRequiredError"
	EPERMISSION        = "PermissionDeniedError"
	ECONFLICT          = "ConflictError"
	EIDEMPOTENCYREUSED = "IdempotencyKeyReusedError"
	EFUNDS             = "InsufficientFundsError"
	ESTOCK             = "OutOfStockError"
	ERATELIMITED       = "RateLimitedError"
	ETOOLARGE          = "PayloadTooLargeError"
	EMEDIATYPE         = "UnsupportedMediaTypeError"
	EMETHOD            = "MethodNotAllowedError"
	EUNAVAILABLE       = "ServiceUnavailableError"
	EINTERNAL          = "InternalError"
)

// Error is the one application error type: a machine code from the table
// above and a message that is safe to show to the client.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an application error with a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error anywhere in err's chain,
// and EINTERNAL for any other error, so nothing unplanned reaches a client.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, session.ErrUnavailable) {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of an application error, and
// a generic text for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Message
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, session.ErrUnavailable) {
		return "A backing store is unavailable; nothing was changed. Try again later."
	}
	return "Internal error."
}

// Storage sentinel errors. Backends return (or wrap) them; the service turns
// them into application errors with the resource's words.
var (
	// ErrNotFound means no document has the requested id.
	ErrNotFound = errors.New("document not found")
	// ErrUnavailable means the backing store could not be reached; nothing
	// was written.
	ErrUnavailable = errors.New("store unavailable")
)

// DuplicateError reports a write refused by a unique index.
type DuplicateError struct {
	// Field is the path of the unique key that collided.
	Field string
}

func (e *DuplicateError) Error() string { return "duplicate value for unique key " + e.Field }

// Unavailable wraps a store error so that it maps to ServiceUnavailableError.
func Unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// DataError is an application error whose answer carries data (the one
// such error is MfaRequiredError, with the token that continues the login).
type DataError struct {
	Err  *Error
	Data any
}

func (e *DataError) Error() string { return e.Err.Error() }

// Unwrap exposes the application error.
func (e *DataError) Unwrap() error { return e.Err }

// RetryError is an application error that tells the client when to retry
// (429 and 503 answers carry it as Retry-After).
type RetryError struct {
	Err   *Error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap exposes the application error.
func (e *RetryError) Unwrap() error { return e.Err }
