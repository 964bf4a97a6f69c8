package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

// statusOf is the single table from error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case resources.EINVALIDREQUEST, resources.EINVALIDOPERATION, resources.ECREATION,
		resources.EPARAMETER, resources.EVALUE:
		return http.StatusBadRequest
	case resources.EAUTHENTICATION, resources.EMFAREQUIRED:
		return http.StatusUnauthorized
	case resources.EPERMISSION:
		return http.StatusForbidden
	case resources.ENOTFOUND, resources.EUNKNOWNRESOURCE:
		return http.StatusNotFound
	case resources.EMETHOD:
		return http.StatusMethodNotAllowed
	case resources.EDUPLICATE, resources.ECONFLICT, resources.EFUNDS, resources.ESTOCK:
		return http.StatusConflict
	case resources.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case resources.EMEDIATYPE:
		return http.StatusUnsupportedMediaType
	case resources.EIDEMPOTENCYREUSED:
		return http.StatusUnprocessableEntity
	case resources.ERATELIMITED:
		return http.StatusTooManyRequests
	case resources.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// response is the envelope of every /api answer.
type response struct {
	Success          bool   `json:"success"`
	Data             any    `json:"data"`
	ExceptionMessage string `json:"exceptionMessage"`
	ErrorCode        string `json:"errorCode,omitempty"`
	Next             string `json:"next,omitempty"`
}

// writeJSON sends v as JSON with the status.
// Text is written as it is (no \u003c for <): the answers are JSON, never
// HTML, browsers are told not to sniff them, and the original clients read
// messages with literal angle brackets.
func writeJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	b := []byte(`{"success":false,"data":null,"exceptionMessage":"Internal error.","errorCode":"InternalError"}`)
	if err := enc.Encode(v); err == nil {
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	} else {
		status = http.StatusInternalServerError
	}
	c.Data(status, "application/json; charset=utf-8", b)
}

// ok writes a success envelope. Query results that are already JSON (the
// raw path) are framed as they are, with no second encoding, and written
// piece by piece under a Content-Length: no buffer holds the whole answer.
func ok(c *gin.Context, status int, data any, next string) {
	docs, isRaw := data.([]json.RawMessage)
	if !isRaw {
		writeJSON(c, status, response{Success: true, Data: data, Next: next})
		return
	}
	const head = `{"success":true,"data":[`
	tail := make([]byte, 0, 48+len(next))
	tail = append(tail, `],"exceptionMessage":""`...)
	if next != "" {
		tail = append(tail, `,"next":`...)
		tail = strconv.AppendQuote(tail, next)
	}
	tail = append(tail, '}')
	size := len(head) + len(tail) + max(0, len(docs)-1)
	for _, d := range docs {
		size += len(d)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(size))
	c.Status(status)
	w := c.Writer
	_, _ = w.WriteString(head)
	for i, d := range docs {
		if i > 0 {
			_, _ = w.WriteString(",")
		}
		_, _ = w.Write(d)
	}
	_, _ = w.Write(tail)
}

// answer writes data with 200, or hands err on to fail: the tail of every
// handler that answers a domain call as it is.
func answer(c *gin.Context, data any, err error) error {
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, data, "")
	return nil
}

// answerPage is answer for a page of documents and its cursor.
func answerPage(c *gin.Context, res resources.Result, err error) error {
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, res.Data, res.Next)
	res.Release()
	return nil
}

// challenge names the scheme a client may answer a 401 with: the login
// routes name their own scheme, every other route a bearer token or the
// admin scheme.
func challenge(route string) string {
	switch route {
	case "/api/auth":
		return `tnt-user-auth-scheme realm="user"`
	case "/api/admin/auth":
		return `tnt-admin-auth-scheme realm="admin"`
	}
	return `Bearer realm="gateway", tnt-admin-auth-scheme realm="admin"`
}

// fail writes the error envelope for err. Application errors keep their code
// and message; anything else becomes InternalError, and its detail goes to
// the log (once, with the request id), never to the client.
func (s *Server) fail(c *gin.Context, err error) {
	code := resources.ErrorCode(err)
	status := statusOf(code)
	switch code {
	case resources.EINTERNAL:
		s.log.ErrorContext(c.Request.Context(), "request failed", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
	case resources.EUNAVAILABLE:
		s.log.WarnContext(c.Request.Context(), "store unavailable", slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		c.Header("Retry-After", "5")
	case resources.EAUTHENTICATION, resources.EMFAREQUIRED:
		c.Header("WWW-Authenticate", challenge(c.FullPath()))
	case resources.ERATELIMITED:
		c.Header("Retry-After", "60")
	}
	var retry *resources.RetryError
	if errors.As(err, &retry) && retry.After > 0 {
		c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retry.After.Seconds())))))
	}
	var denied *resources.DeniedError
	if errors.As(err, &denied) {
		s.metrics.denials.WithLabelValues(denied.Resource, denied.Action).Inc()
	}
	// MfaRequiredError is the one error whose data is not null: the token
	// that continues the login.
	var data any
	var withData *resources.DataError
	if errors.As(err, &withData) {
		data = withData.Data
	}
	c.Abort()
	writeJSON(c, status, response{Success: false, Data: data, ExceptionMessage: resources.ErrorMessage(err), ErrorCode: code})
}

// handler adapts a handler that returns an error to Gin; every error flows
// to fail.
func (s *Server) handler(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err)
		}
	}
}
