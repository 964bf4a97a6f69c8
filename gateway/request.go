package gateway

import (
	"errors"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
)

// closeUnread prepares the refusal err of a request whose body is not
// read: the connection closes after the answer instead of waiting for the
// body to read it away (net/http would read up to 256 KiB of it, for as long
// as the read deadline allows). It returns err.
func closeUnread(c *gin.Context, err error) error {
	if c.Request.ContentLength != 0 {
		c.Header("Connection", "close")
		_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now())
	}
	return err
}

// readBody reads a JSON request body within the limit.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !hasJSONSuffix(mt)) {
			return nil, resources.Errorf(resources.EMEDIATYPE, "Content-Type must be application/json")
		}
	}
	if c.Request.ContentLength > s.cfg.MaxBodyBytes {
		return nil, resources.Errorf(resources.ETOOLARGE, "the request body is larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	body, err := readAll(c.Request.Body, c.Request.ContentLength)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, resources.Errorf(resources.ETOOLARGE, "the request body is larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, resources.NotJSON()
	}
	return body, nil
}

func hasJSONSuffix(mt string) bool {
	return len(mt) > 5 && mt[len(mt)-5:] == "+json"
}

// readJSON reads a strict JSON body (resources.DecodeJSON: valid UTF-8,
// exact numbers, no duplicate or case-variant keys, bounded shape).
func (s *Server) readJSON(c *gin.Context) (any, error) {
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	return resources.DecodeJSON(body, s.cfg.JSON)
}

// readRequest reads a strict JSON body that is an object whose keys are all
// among keys (see object).
func (s *Server) readRequest(c *gin.Context, keys ...string) (map[string]any, error) {
	return s.readObjectOf(c, notAParameter, keys...)
}

// readObjectOf reads a strict JSON body that is an object whose keys are
// all among keys; refuse words the refusal of any other.
func (s *Server) readObjectOf(c *gin.Context, refuse func(key string) error, keys ...string) (map[string]any, error) {
	v, err := s.readJSON(c)
	if err != nil {
		return nil, err
	}
	return objectOf(v, refuse, keys...)
}

// object reads a request object whose keys are all among keys; another key
// is named in an InvalidResourceParameterError.
func object(v any, keys ...string) (map[string]any, error) {
	return objectOf(v, notAParameter, keys...)
}

func notAParameter(k string) error {
	return resources.Errorf(resources.EPARAMETER, "%s cannot be found in the request", resources.QuoteName(k))
}

// objectOf reads a request object whose keys are all among keys; refuse
// words the refusal of any other.
func objectOf(v any, refuse func(key string) error, keys ...string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, resources.NotJSON()
	}
	for k := range m {
		if !slices.Contains(keys, k) {
			return nil, refuse(k)
		}
	}
	return m, nil
}

// optionalText reads an optional text member: absent or null is "", and
// ok is false for a value that is not text.
func optionalText(m map[string]any, name string) (s string, ok bool) {
	v := m[name]
	if v == nil {
		return "", true
	}
	s, ok = v.(string)
	return s, ok
}

// textOrEmpty reads a text member, "" for anything else: the rule that
// refuses an empty value then names the member.
func textOrEmpty(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// integerOrZero reads an integer member exactly, 0 for anything else (a
// fraction, an exponent, text, null): the rule that refuses 0 then names the
// member.
func integerOrZero(m map[string]any, name string) int64 {
	n, _ := resources.AsInt(m[name])
	return n
}
