package gateway_test

// The privilege model against every editor (API.md §8): level 0 holds every
// right by the model, and a SystemAdmin grants only what it holds now.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ordersFile declares §5's example: orders in a group of their own.
const ordersFile = `{"resources":[{"name":"order","group":"orders",
  "fields":{"item":{"type":"string","required":true,"maxLength":100},"note":{"type":"string","maxLength":200}}}]}`

// TestSystemAdminCannotRegainWhatTheDBATook: the DBA takes the audit trail
// from SystemAdmins; a SystemAdmin granting it to Admins (and so to itself
// by inheritance) is refused and the trail stays closed to it.
func TestSystemAdminCannotRegainWhatTheDBATook(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		base, _ := e.policyLines(t)
		without := slices.DeleteFunc(slices.Clone(base), func(l string) bool { return l == "p, sysadmin, audit, read" })
		if r := e.putPolicy(t, "dba", without); r.status != 200 {
			t.Fatalf("the DBA takes the audit trail: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/api/admin/audit", "sysadmin", ""); r.status != 403 {
			t.Fatalf("the SystemAdmin reads the audit trail after the DBA took it: %d", r.status)
		}
		for _, regain := range [][]string{
			append(slices.Clone(without), "p, admin, audit, read"),
			append(slices.Clone(without), "p, user, audit, read"),
			append(slices.Clone(without), "g2, audit, data", "p, admin, data, read"),
		} {
			if r := e.putPolicy(t, "sysadmin", regain); r.status != 403 || r.body.ErrorCode != "PermissionDeniedError" {
				t.Errorf("a SystemAdmin regained the audit trail with %v: %d %s", regain[len(without):], r.status, r.raw)
			}
		}
		if r := e.call(t, "GET", "/api/admin/audit", "sysadmin", ""); r.status != 403 {
			t.Errorf("the SystemAdmin reads the audit trail after its attempts: %d", r.status)
		}
		if r := e.call(t, "GET", "/api/admin/audit", "dba", ""); r.status != 200 {
			t.Errorf("the DBA reads the audit trail: %d", r.status)
		}
		if r := e.putPolicy(t, "dba", base); r.status != 200 {
			t.Errorf("the DBA gives it back: %d %s", r.status, r.raw)
		}
	})
}

// TestLevelZeroHoldsEveryRight: no edit takes a right from the DBA, not even
// one it held only through the levels below (the admin balance route).
func TestLevelZeroHoldsEveryRight(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		base, _ := e.policyLines(t)
		stripped := slices.DeleteFunc(slices.Clone(base), func(l string) bool {
			return l == "p, admin, users, balance" || l == "p, admin, data, update" || l == "p, user, data, query"
		})
		if r := e.putPolicy(t, "sysadmin", stripped); r.status != 200 {
			t.Fatalf("a SystemAdmin takes rights from the levels below: %d %s", r.status, r.raw)
		}
		member := e.users["member"].UserID
		if r := e.call(t, "POST", "/api/admin/users/"+member+"/balance", "sysadmin", `{"delta":5,"reason":"x"}`); r.status != 403 {
			t.Errorf("the SystemAdmin still credits after taking the right from Admins: %d", r.status)
		}
		if r := e.call(t, "POST", "/api/admin/users/"+member+"/balance", "dba", `{"delta":5,"reason":"x"}`); r.status != 200 {
			t.Errorf("the DBA lost the balance right through an edit: %d %s", r.status, r.raw)
		}
		id := e.create(t, "dba", "gym", `{"name":"Level Zero Gym"}`)
		if r := e.call(t, "POST", "/api/gym", "dba", `{"operation":"update","data":{"_id":"`+id+`","address":"x"}}`); r.status != 200 {
			t.Errorf("the DBA lost gym update through an edit: %d %s", r.status, r.raw)
		}
		me := e.call(t, "GET", "/api/account/me", "dba", "")
		var view struct {
			Permissions []string `json:"permissions"`
		}
		_ = json.Unmarshal(me.body.Data, &view)
		for _, want := range []string{"users:balance", "gym:update", "gym:query", "database:restore", "policy:manage", "coach:delete"} {
			if !slices.Contains(view.Permissions, want) {
				t.Errorf("the DBA's permissions lack %s", want)
			}
		}
	})
}

// TestOrdersExampleEndToEnd is §5's example as a DBA applies it on a running
// gateway: declare order with group orders, grant the three lines (one by
// its group, and the same right by the resource's name works too), and a
// level-4 user creates and sees only their own orders; another's answers 404.
func TestOrdersExampleEndToEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(file, []byte(ordersFile), 0o600); err != nil {
		t.Fatal(err)
	}
	eachSessionStore(t, options{resourcesFile: file}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		alice, _ := e.userWithLevel(t, app, "order_alice", 4)
		bob, _ := e.userWithLevel(t, app, "order_bob", 4)
		create := `{"operation":"create","data":{"item":"gloves"}}`
		if r := e.call(t, "POST", "/api/order", "", create, alice...); r.status != 403 {
			t.Fatalf("a user creates an order before any grant: %d %s", r.status, r.raw)
		}
		base, _ := e.policyLines(t)
		grant := append(slices.Clone(base), "p, user, orders, create", "p, user, orders, query_own", "p, user, order, update_own")
		if r := e.call(t, "PUT", "/api/admin/policy?dry_run=true", "dba", mustJSON(t, map[string]any{"lines": grant})); r.status != 200 {
			t.Fatalf("the DBA's dry run of §5's lines: %d %s", r.status, r.raw)
		}
		if r := e.putPolicy(t, "dba", grant); r.status != 200 {
			t.Fatalf("the DBA grants §5's lines: %d %s", r.status, r.raw)
		}
		r := e.call(t, "POST", "/api/order", "", create, alice...)
		if r.status != 201 {
			t.Fatalf("alice creates an order: %d %s", r.status, r.raw)
		}
		var doc struct {
			ID string `json:"_id"`
		}
		_ = json.Unmarshal(r.body.Data, &doc)
		if r := e.call(t, "POST", "/api/order", "", `{"operation":"create","data":{"item":"rope"}}`, bob...); r.status != 201 {
			t.Fatalf("bob creates an order: %d %s", r.status, r.raw)
		}
		var mine []map[string]any
		r = e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{}}`, alice...)
		if err := json.Unmarshal(r.body.Data, &mine); err != nil || r.status != 200 || len(mine) != 1 || mine[0]["_id"] != doc.ID {
			t.Errorf("alice's query: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/api/order/"+doc.ID, "", "", bob...); r.status != 404 {
			t.Errorf("bob reads alice's order: %d %s", r.status, r.raw)
		}
		missing := e.call(t, "GET", "/api/order/0123456789abcdef01234567", "", "", bob...)
		if other := e.call(t, "GET", "/api/order/"+doc.ID, "", "", bob...); other.status != missing.status || other.body.ErrorCode != missing.body.ErrorCode {
			t.Errorf("another's order and a missing one answer differently: %s / %s", other.raw, missing.raw)
		}
		upd := `{"operation":"update","data":{"_id":"` + doc.ID + `","note":"ring twice"}}`
		if r := e.call(t, "POST", "/api/order", "", upd, bob...); r.status != 404 {
			t.Errorf("bob updates alice's order: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "POST", "/api/order", "", upd, alice...); r.status != 200 {
			t.Errorf("alice updates her order (a line naming the resource): %d %s", r.status, r.raw)
		}
		// A SystemAdmin holds no right on orders and so grants none.
		more := append(slices.Clone(grant), "p, user, orders, delete_own")
		if r := e.putPolicy(t, "sysadmin", more); r.status != 403 {
			t.Errorf("a SystemAdmin grants a right on orders it does not hold: %d %s", r.status, r.raw)
		}
	})
}

// mustJSON writes v as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUsersListAppliesTheProfileRules: GET /api/admin/users shows and
// filters on profiles' private fields only for callers the policy lets read
// them, as a query of profiles would; the level stays, as the list exists
// to manage it.
func TestUsersListAppliesTheProfileRules(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": "private_pat", "password": "a fine long password",
			"email": "pat@example.com", "phone": "+1 555 0100", "birthday": "1990-01-02"}))
		if r.status != 201 {
			t.Fatalf("register: %d %s", r.status, r.raw)
		}
		list := e.call(t, "GET", "/api/admin/users?username=private_pat", "sysadmin", "")
		if list.status != 200 || !strings.Contains(list.raw, "pat@example.com") {
			t.Fatalf("a SystemAdmin holding read_private: %d %s", list.status, list.raw)
		}
		base, _ := e.policyLines(t)
		denied := slices.DeleteFunc(slices.Clone(base), func(l string) bool { return l == "p, admin, profiles, read_private" })
		if r := e.putPolicy(t, "dba", denied); r.status != 200 {
			t.Fatalf("the DBA takes read_private on profiles: %d %s", r.status, r.raw)
		}
		list = e.call(t, "GET", "/api/admin/users?username=private_pat", "sysadmin", "")
		var users []map[string]any
		if err := json.Unmarshal(list.body.Data, &users); err != nil || list.status != 200 || len(users) != 1 {
			t.Fatalf("the list without read_private: %d %s", list.status, list.raw)
		}
		for _, private := range []string{"email", "phone", "birthday", "balance"} {
			if _, shown := users[0][private]; shown {
				t.Errorf("the list shows %s to a caller the policy denies read_private: %s", private, list.raw)
			}
		}
		if users[0]["level"] != float64(4) {
			t.Errorf("the list lost the level: %s", list.raw)
		}
		for _, filter := range []string{"email=pat@example.com", "email:contains=pat", "balance=0", "birthday=1990-01-02", "sort=-balance"} {
			if r := e.call(t, "GET", "/api/admin/users?"+filter, "sysadmin", ""); r.status != 403 {
				t.Errorf("a filter on a private field (%s) without read_private: %d %s", filter, r.status, r.raw)
			}
		}
		if r := e.call(t, "GET", "/api/admin/users?level=4", "sysadmin", ""); r.status != 200 {
			t.Errorf("a filter on the level: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/api/admin/users?username=private_pat", "dba", ""); !strings.Contains(r.raw, "pat@example.com") {
			t.Errorf("the DBA's list: %s", r.raw)
		}
	})
}
