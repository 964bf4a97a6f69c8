package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdminCreatesUsers: a SystemAdmin creates accounts with encrypted
// credentials (API.md §11): at a level above its own, with profile fields
// checked as at registration, audited; the new user signs in with the
// password given. Lower levels may not; taken names and bad fields are
// refused; without a password (an invitation by mail) it is a 503 until a
// mail server is configured.
func TestAdminCreatesUsers(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		create := func(user string, fields map[string]any) reply {
			b, _ := json.Marshal(map[string]string{"payload": app.seal(t, fields)})
			return e.call(t, "POST", "/api/admin/users", user, string(b))
		}
		r := create("sysadmin", map[string]any{"username": "made_by_admin", "password": "a long made password", "level": 3, "email": "Made@Example.com", "first_name": "Ada"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		var made map[string]any
		_ = json.Unmarshal(r.body.Data, &made)
		if made["username"] != "made_by_admin" || made["level"] != float64(3) || made["email"] != "made@example.com" || made["password_hash"] != nil {
			t.Errorf("the created user: %s", r.raw)
		}
		login := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "made_by_admin", "password": "a long made password"}))
		if login.status != 200 {
			t.Errorf("the created user signs in: %d %s", login.status, login.raw)
		}
		if a := e.call(t, "GET", "/api/admin/audit?action=create_user", "sysadmin", ""); !strings.Contains(a.raw, "made_by_admin") {
			t.Errorf("the creation is not audited: %s", a.raw)
		}
		for name, c := range map[string]struct {
			user   string
			fields map[string]any
			status int
		}{
			"an Admin creates":              {"admin", map[string]any{"username": "by_an_admin", "password": "a long made password"}, 403},
			"a level at the caller's":       {"sysadmin", map[string]any{"username": "peer_level", "password": "a long made password", "level": 1}, 400},
			"level 0":                       {"dba", map[string]any{"username": "second_dba", "password": "a long made password", "level": 0}, 400},
			"a taken name":                  {"sysadmin", map[string]any{"username": "made_by_admin", "password": "a long made password"}, 409},
			"a taken email in another case": {"sysadmin", map[string]any{"username": "email_twin", "password": "a long made password", "email": "MADE@example.com"}, 409},
			"an id-form name":               {"sysadmin", map[string]any{"username": "0123456789abcdef01234567", "password": "a long made password"}, 400},
			"a common password":             {"sysadmin", map[string]any{"username": "weak_pass", "password": "password123"}, 400},
			"an unknown field":              {"sysadmin", map[string]any{"username": "odd_field", "password": "a long made password", "shoe_size": 42}, 400},
			"no password, no mail server":   {"sysadmin", map[string]any{"username": "invited_one", "email": "inv@example.com"}, 503},
		} {
			if r := create(c.user, c.fields); r.status != c.status {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		if r := e.call(t, "GET", "/api/admin/users?username=invited_one", "sysadmin", ""); r.status != 200 || strings.Contains(r.raw, "invited_one") {
			t.Errorf("a refused creation made a user: %s", r.raw)
		}
	})
}
