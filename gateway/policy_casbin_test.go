package gateway_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/tnt/gateway/policy"
)

// policyAsCasbin loads the shipped model and the policy the gateway returns
// (its lines and the derived g2 lines) into a Casbin enforcer of its own.
func policyAsCasbin(t *testing.T, e *env) (*casbin.Enforcer, []string) {
	t.Helper()
	r := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	var view struct {
		Lines, Derived []string
	}
	if err := json.Unmarshal(r.body.Data, &view); err != nil || r.status != 200 {
		t.Fatalf("policy: %d %s", r.status, r.raw)
	}
	if len(view.Derived) != len(e.resources()) {
		t.Fatalf("derived g2 lines %v for resources %v", view.Derived, e.resources())
	}
	m, err := model.NewModelFromString(policy.DefaultModel())
	if err != nil {
		t.Fatal(err)
	}
	ce, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, line := range append(view.Lines, view.Derived...) {
		parts := strings.Split(line, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		switch parts[0] {
		case "p":
			_, err = ce.AddPolicy(parts[1], parts[2], parts[3])
			actions = append(actions, parts[3])
		case "g":
			_, err = ce.AddGroupingPolicy(parts[1], parts[2])
		case "g2":
			_, err = ce.AddNamedGroupingPolicy("g2", parts[1], parts[2])
		default:
			t.Fatalf("a line Casbin cannot load: %q", line)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(actions)
	return ce, slices.Compact(actions)
}

// TestReturnedPolicyDecidesAsTheGateway: Casbin, given the shipped model and
// the policy GET /api/admin/policy returns, allows exactly what the gateway
// allows each level on every resource and object, for every action — under
// the configured policy and after an edit.
func TestReturnedPolicyDecidesAsTheGateway(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	compare := func(t *testing.T) {
		ce, actions := policyAsCasbin(t, e)
		objects := append([]string{"users", "policy", "collections", "audit", "database", "wallet"}, e.resources()...)
		for level, user := range []string{"dba", "sysadmin", "admin", "coach", "member"} {
			// Each level signs in as its apps do, with an encrypted payload.
			login := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": user, "password": testPassword}))
			me := e.call(t, "GET", "/api/account/me", "", "", bearer(tokensOf(t, login).AccessToken)...)
			var view struct {
				Permissions []string `json:"permissions"`
			}
			if err := json.Unmarshal(me.body.Data, &view); err != nil {
				t.Fatal(err)
			}
			role := policy.Level(level).Role()
			checked := 0
			for _, obj := range objects {
				for _, act := range actions {
					allowed, err := ce.Enforce(role, obj, act)
					if err != nil {
						t.Fatal(err)
					}
					if got := slices.Contains(view.Permissions, obj+":"+act); got != allowed {
						t.Errorf("%s on %s %s: Casbin says %v, the gateway %v", role, obj, act, allowed, got)
					}
					checked++
				}
			}
			if checked < 100 {
				t.Errorf("only %d decisions compared for %s", checked, role)
			}
		}
		// Guests: what Casbin lets them discover is what the gateway lists.
		var discoverable []struct {
			Resource string `json:"resource"`
		}
		_ = json.Unmarshal(e.call(t, "GET", "/api/discovery", "", "").body.Data, &discoverable)
		for _, res := range e.resources() {
			allowed, _ := ce.Enforce(policy.Guest.Role(), res, "discover")
			listed := slices.ContainsFunc(discoverable, func(d struct {
				Resource string `json:"resource"`
			}) bool {
				return d.Resource == res
			})
			if allowed && !listed {
				t.Errorf("Casbin lets guests discover %s; the gateway does not list it", res)
			}
		}
	}
	t.Run("configured", compare)
	lines, _ := e.policyLines(t)
	edited := append(slices.Clone(lines), "p, poweruser, ledger, query", "p, user, coach, create")
	if r := e.putPolicy(t, "sysadmin", edited); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.raw)
	}
	t.Run("edited", compare)
}
