package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
)

// Rung is one step of the ablation ladder: a handler that answers an
// authenticated query envelope (POST with a bearer token) doing only part
// of what the gateway does, so the load harness can measure what each part
// adds. Each rung does everything the one before it does, plus one part.
type Rung struct {
	Name    string
	Handler http.Handler
}

// TokenVerifier checks a bearer token's signature and claims
// (*crypto.Tokens).
type TokenVerifier interface {
	Verify(token string, kinds ...string) (crypto.Claims, error)
}

// LadderDeps are what the rungs need beyond the Server's own parts.
type LadderDeps struct {
	Tokens TokenVerifier
	Policy resources.Authorizer
	// Answer returns what the rungs before the store send: the bytes the
	// full gateway answers for the same query.
	Answer func() []byte
}

// Ladder returns the rungs for queries on resource, from a bare handler to
// the gateway as it ships (the last rung is the Server itself). The rungs are
// for measurement only; they are served on a listener of the harness, never
// by the gateway.
func (s *Server) Ladder(d LadderDeps, resource string) []Rung {
	type step func(c *gin.Context, st *ladderState) error
	bare := func(c *gin.Context, st *ladderState) error {
		body, err := s.readBody(c)
		st.body = body
		return err
	}
	jwt := func(c *gin.Context, st *ladderState) error {
		_, err := d.Tokens.Verify(bearerToken(c), crypto.KindAccess, crypto.KindAdmin)
		if err != nil {
			return resources.Errorf(resources.EAUTHENTICATION, "the access token is invalid")
		}
		return nil
	}
	sess := func(c *gin.Context, st *ladderState) error {
		p, err := s.auth.CheckToken(c.Request.Context(), bearerToken(c))
		st.p = p
		return err
	}
	pol := func(c *gin.Context, st *ladderState) error {
		if !d.Policy.Allowed(st.p.Role(), resource, resources.ActQuery) {
			return resources.Errorf(resources.EPERMISSION, "denied")
		}
		return nil
	}
	parse := func(c *gin.Context, st *ladderState) error {
		env, err := resources.ParseEnvelope(st.body, s.cfg.JSON)
		st.env = env
		return err
	}
	store := func(c *gin.Context, st *ladderState) error {
		res, err := s.ops.Execute(c.Request.Context(), st.p, resource, st.env)
		st.res, st.stored = res, true
		return err
	}
	rung := func(steps ...step) http.Handler {
		gin.SetMode(gin.ReleaseMode)
		e := gin.New()
		e.POST("/api/:resource", func(c *gin.Context) {
			var st ladderState
			for _, f := range steps {
				if err := f(c, &st); err != nil {
					s.fail(c, err)
					return
				}
			}
			if st.stored {
				ok(c, http.StatusOK, st.res.Data, st.res.Next)
				st.res.Release()
				return
			}
			c.Data(http.StatusOK, "application/json; charset=utf-8", d.Answer())
		})
		return e
	}
	// The session check verifies the token itself: from that rung on, the
	// JWT step is part of it rather than run twice.
	return []Rung{
		{"bare: read the body, send the answer from memory", rung(bare)},
		{"+ JWT: verify the bearer token", rung(bare, jwt)},
		{"+ session: check the token's session", rung(bare, sess)},
		{"+ policy: decide the right to query", rung(bare, sess, pol)},
		{"+ envelope: parse the operation envelope strictly", rung(bare, sess, pol, parse)},
		{"+ store: run the query, project and frame 20 documents", rung(bare, sess, pol, parse, store)},
		{"+ logging and metrics: the gateway as it ships", s},
	}
}

type ladderState struct {
	body   []byte
	p      resources.Principal
	env    *resources.Envelope
	res    resources.Result
	stored bool
}

func bearerToken(c *gin.Context) string {
	if a, parsed := parseAuthHeader(c.GetHeader("Authorization")); parsed && a.scheme == schemeBearer {
		return a.credentials
	}
	return ""
}
