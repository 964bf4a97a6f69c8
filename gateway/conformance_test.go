package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
)

// conformance checks every answer a test gets against the API description
// the gateway serves, with an independent validator of OpenAPI 3.1
// (libopenapi-validator): status, content type, headers and body. A test
// fails at its end on any answer the description does not allow.
type conformance struct {
	once       sync.Once
	validator  validator.Validator
	mu         sync.Mutex
	violations map[string]int
	// seen counts the answers checked per kind (method, path with ids
	// folded, status): a few of each kind are checked, which keeps the
	// race detector's run short while every kind is still checked.
	seen map[string]int
}

// perKind is how many answers of one kind are checked.
const perKind = 4

var idInPath = regexp.MustCompile(`/[0-9a-f]{24}(/|$)`)

// check validates one exchange; the request's body is not needed.
func (c *conformance) check(tb testing.TB, e *env, req *http.Request, resp *http.Response, raw []byte) {
	// Preflights are the browser's, not operations of the API (API.md §9).
	if !strings.HasPrefix(req.URL.Path, "/api/") || strings.HasPrefix(req.URL.Path, "/api/docs") || req.Method == http.MethodOptions {
		return
	}
	kind := fmt.Sprintf("%s %s %d", req.Method, idInPath.ReplaceAllString(req.URL.Path, "/{id}$1"), resp.StatusCode)
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[kind]++
	enough := c.seen[kind] > perKind
	c.mu.Unlock()
	if enough {
		return
	}
	c.once.Do(func() { c.validator = validatorFor(tb, e.gw.OpenAPI()) })
	copied := *resp
	copied.Body = io.NopCloser(bytes.NewReader(raw))
	probe := req.Clone(req.Context())
	probe.Body = http.NoBody
	if ok, errs := c.validator.ValidateHttpResponse(probe, &copied); !ok && !undescribed(errs, resp.StatusCode) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.violations == nil {
			c.violations = map[string]int{}
		}
		for _, err := range errs {
			reason := err.Message
			for _, s := range err.SchemaValidationErrors {
				reason += "; " + s.Reason + " at " + s.FieldPath
			}
			c.violations[fmt.Sprintf("%s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, reason)]++
		}
	}
}

// undescribed reports whether the only complaint is that the description
// has no such path or method, and the gateway answered 404 or 405: the
// description lists what is served, never what is not.
func undescribed(errs []*vErrors.ValidationError, status int) bool {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return false
	}
	for _, err := range errs {
		if err.ValidationType != "path" {
			return false
		}
	}
	return true
}

// validators holds one validator per served description: most gateways
// of the tests serve the same one, and building a validator costs a parse
// of the whole document.
var validators sync.Map // sha256 of the document → validator.Validator

func validatorFor(tb testing.TB, doc []byte) validator.Validator {
	key := sha256.Sum256(doc)
	if v, ok := validators.Load(key); ok {
		return v.(validator.Validator)
	}
	parsed, err := libopenapi.NewDocument(doc)
	if err != nil {
		tb.Fatalf("the served description does not load: %v", err)
	}
	v, errs := validator.NewValidator(parsed)
	if len(errs) > 0 {
		tb.Fatalf("no validator for the served description: %v", errs)
	}
	actual, _ := validators.LoadOrStore(key, v)
	return actual.(validator.Validator)
}

// report fails the test with every violation seen.
func (c *conformance) report(tb testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.violations) == 0 {
		return
	}
	list := make([]string, 0, len(c.violations))
	for v, n := range c.violations {
		list = append(list, fmt.Sprintf("%s (×%d)", v, n))
	}
	sort.Strings(list)
	tb.Errorf("%d answers disagree with the served API description:\n%s", len(list), strings.Join(list, "\n"))
}
