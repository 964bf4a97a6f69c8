package gateway_test

// The journeys of the five backends the gateway replaces, each tried the way
// its client does it, step by step, over real HTTP. The two clients that
// need a configuration of their own load it from examples/, so the examples
// cannot rot.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tnt/gateway/policy"
)

const (
	personalAccountResources = "../examples/personal-account/resources.json"
	ordersResources          = "../examples/orders/resources.json"
	ordersPolicy             = "../examples/orders/policy.csv"
)

// signUp registers with the given fields (username and password included)
// and returns the tokens; it fails the test on anything but 201.
func (e *env) signUp(t *testing.T, app *appClient, fields map[string]any) tokens {
	t.Helper()
	r := e.payloadCall(t, "/api/register", app.seal(t, fields))
	if r.status != http.StatusCreated {
		t.Fatalf("register %v: %d %s", fields["username"], r.status, r.raw)
	}
	return tokensOf(t, r)
}

// signIn logs in with the credentials (a username or an email).
func (e *env) signIn(t *testing.T, app *appClient, fields map[string]any, headers ...string) reply {
	t.Helper()
	return e.call(t, "GET", "/api/auth", "", "", append([]string{"Authorization", "tnt-user-auth-scheme " + app.seal(t, fields)}, headers...)...)
}

func dataOf(t *testing.T, r reply) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body.Data, &m); err != nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	return m
}

func listOf(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.body.Data, &l); err != nil {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	return l
}

// TestStoreClientJourney: the store app logs in, validates, rotates and
// ends its session, reads its balance and the items, buys, lists its
// transactions and transfers money.
func TestStoreClientJourney(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.signUp(t, app, map[string]any{"username": "shopper_1", "password": "a fine long password"})
		e.signUp(t, app, map[string]any{"username": "friend_1", "password": "a fine long password"})
		login := tokensOf(t, e.signIn(t, app, map[string]any{"username": "shopper_1", "password": "a fine long password"}))
		me := bearer(login.AccessToken)

		validate := e.call(t, "GET", "/api/session", "", "", me...)
		if validate.status != 200 || dataOf(t, validate)["user"] != "shopper_1" {
			t.Fatalf("validate the session: %d %s", validate.status, validate.raw)
		}
		rotated := tokensOf(t, e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+login.RefreshToken+`"}`))
		me = bearer(rotated.AccessToken)

		id := e.meID(t, rotated.AccessToken)
		e.credit(t, id, 1000)
		if b := e.balance(t, me); b != 1000 {
			t.Errorf("balance: %d", b)
		}
		chalk := e.create(t, "admin", "merchandise", `{"name":"Chalk","price":120,"stock":5}`)
		items := listOf(t, e.call(t, "POST", "/api/merchandise", "", `{"operation":"query","data":{"name":{"contains":"chalk"}}}`, me...))
		if len(items) != 1 || items[0]["_id"] != chalk {
			t.Fatalf("items: %v", items)
		}
		buy := e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+chalk+`","quantity":2}]}`, append(me, "Idempotency-Key", "store-order-1")...)
		if buy.status != 201 || dataOf(t, buy)["status"] != "pending" {
			t.Fatalf("buy: %d %s", buy.status, buy.raw)
		}
		if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"friend_1","amount":100}`, me...); r.status != 201 {
			t.Fatalf("transfer: %d %s", r.status, r.raw)
		}
		history := listOf(t, e.call(t, "POST", "/api/transaction_record", "", `{"operation":"query","data":{"sort":"created_at"}}`, me...))
		if len(history) != 2 || history[0]["kind"] != "purchase" || history[1]["kind"] != "transfer" {
			t.Errorf("transactions: %v", history)
		}
		if b := e.balance(t, me); b != 1000-240-100 {
			t.Errorf("balance after buying and transferring: %d", b)
		}
		if r := e.call(t, "DELETE", "/api/session", "", "", me...); r.status != 200 {
			t.Fatalf("log out: %d", r.status)
		}
		if r := e.call(t, "GET", "/api/session", "", "", me...); r.status != 401 {
			t.Errorf("an ended session: %d", r.status)
		}
	})
}

// TestPersonalAccountClientJourney: the personal-account service, on its
// example configuration (names in Cyrillic required at registration).
func TestPersonalAccountClientJourney(t *testing.T) {
	eachSessionStore(t, options{resourcesFile: personalAccountResources}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		free := e.call(t, "GET", "/api/account/available?username=danila_g", "", "")
		if !strings.Contains(free.raw, `"available":true`) {
			t.Fatalf("the login is free: %s", free.raw)
		}
		account := map[string]any{"username": "danila_g", "password": "a fine long password", "email": "Danila.G@Example.ORG",
			"first_name": "Данила", "last_name": "Гинда", "patronymic": "Сергеевич", "birthday": "1990-04-01"}
		for name, change := range map[string]map[string]any{
			"no last name":     {"last_name": nil},
			"a Latin name":     {"first_name": "Danila"},
			"a lower-case one": {"last_name": "гинда"},
		} {
			fields := map[string]any{}
			for k, v := range account {
				fields[k] = v
			}
			for k, v := range change {
				if v == nil {
					delete(fields, k)
				} else {
					fields[k] = v
				}
			}
			if r := e.payloadCall(t, "/api/register", app.seal(t, fields)); r.status != 400 {
				t.Errorf("register with %s: %d %s", name, r.status, r.raw)
			}
		}
		e.signUp(t, app, account)
		if r := e.call(t, "GET", "/api/account/available?username=danila_g", "", ""); !strings.Contains(r.raw, `"available":false`) {
			t.Errorf("the login is taken now: %s", r.raw)
		}
		taken := map[string]any{"username": "other_one", "password": "a fine long password", "email": "danila.g@example.org",
			"first_name": "Иван", "last_name": "Петров"}
		if r := e.payloadCall(t, "/api/register", app.seal(t, taken)); r.status != 409 ||
			r.body.ExceptionMessage != "Resource exists with name <danila.g@example.org> for profile" {
			t.Errorf("a taken email in another case: %d %s", r.status, r.raw)
		}
		byLogin := e.signIn(t, app, map[string]any{"username": "danila_g", "password": "a fine long password"}, "browser", "Firefox 130")
		byEmail := e.signIn(t, app, map[string]any{"email": "DANILA.G@example.org", "password": "a fine long password"})
		if byLogin.status != 200 || byEmail.status != 200 {
			t.Fatalf("log in by login %d, by email %d %s", byLogin.status, byEmail.status, byEmail.raw)
		}
		wrong := e.signIn(t, app, map[string]any{"email": "danila.g@example.org", "password": "not the password"})
		nobody := e.signIn(t, app, map[string]any{"email": "nobody@example.org", "password": "not the password"})
		both := e.signIn(t, app, map[string]any{"username": "danila_g", "email": "danila.g@example.org", "password": "a fine long password"})
		if wrong.status != 401 || wrong.raw != nobody.raw || both.status != 401 || both.raw != wrong.raw {
			t.Errorf("failed logins differ: %s / %s / %s", wrong.raw, nobody.raw, both.raw)
		}
		me := bearer(tokensOf(t, byLogin).AccessToken)
		if s := dataOf(t, e.call(t, "GET", "/api/session", "", "", me...)); s["device"].(map[string]any)["browser"] != "Firefox 130" {
			t.Errorf("the browser in the session: %v", s)
		}
		profile := e.call(t, "GET", "/api/account/me", "", "", me...)
		pm := dataOf(t, profile)
		if !strings.Contains(profile.raw, `"first_name":"Данила"`) || !strings.Contains(profile.raw, `"last_name":"Гинда"`) {
			t.Errorf("names do not round-trip byte for byte: %s", profile.raw)
		}
		if pm["email"] != "danila.g@example.org" || !slices.Equal(toStrings(pm["roles"]), []string{"User"}) {
			t.Errorf("profile: %s", profile.raw)
		}
		perms := toStrings(pm["permissions"])
		if !slices.IsSorted(perms) || !slices.Contains(perms, "profile:update_own") || slices.Contains(perms, "profile:update") {
			t.Errorf("permissions: %v", perms)
		}
		id := pm["_id"].(string)
		edit := e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+id+`","nickname":"Дэн","city":"Казань"}}`, me...)
		if edit.status != 200 || dataOf(t, edit)["nickname"] != "Дэн" {
			t.Errorf("the profile editor: %d %s", edit.status, edit.raw)
		}
		if r := e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+id+`","first_name":"Dan"}}`, me...); r.status != 400 {
			t.Errorf("a Latin name through the editor: %d", r.status)
		}
		ivan := e.signUp(t, app, map[string]any{"username": "ivan_p", "password": "a fine long password", "first_name": "Иван", "last_name": "Петров"})
		ivanID := e.meID(t, ivan.AccessToken)
		if r := e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+ivanID+`","email":"Danila.G@example.org"}}`, bearer(ivan.AccessToken)...); r.status != 409 {
			t.Errorf("the editor takes another's email: %d %s", r.status, r.raw)
		}
		found := listOf(t, e.call(t, "GET", "/api/profile?last_name:contains=петр", "", "", me...))
		if len(found) != 1 || found[0]["username"] != "ivan_p" || found[0]["level"] != nil || found[0]["email"] != nil {
			t.Errorf("search users by name: %v", found)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestOrdersClientJourney: the orders API, on its example configuration (an
// order resource in a group of its own, with query_own for customers).
func TestOrdersClientJourney(t *testing.T) {
	eachSessionStore(t, options{resourcesFile: ordersResources, policyFile: ordersPolicy}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.signUp(t, app, map[string]any{"username": "customer_a", "password": "a fine long password", "email": "a@shop.example"})
		e.signUp(t, app, map[string]any{"username": "customer_b", "password": "a fine long password", "email": "b@shop.example"})
		login := tokensOf(t, e.signIn(t, app, map[string]any{"email": "a@shop.example", "password": "a fine long password"}))
		if login.ExpiresIn != 900 {
			t.Errorf("the token lives %d s, want 15 minutes", login.ExpiresIn)
		}
		a := bearer(login.AccessToken)
		b := bearer(tokensOf(t, e.signIn(t, app, map[string]any{"email": "B@shop.example", "password": "a fine long password"})).AccessToken)
		place := func(who []string, product string) string {
			r := e.call(t, "POST", "/api/order", "", `{"operation":"create","data":{"items":[{"product":"`+product+`","quantity":2}],"address":"1 Main St","phone":"+1 555 0100"}}`, who...)
			if r.status != 201 || dataOf(t, r)["status"] != "new" {
				t.Fatalf("place an order: %d %s", r.status, r.raw)
			}
			return dataOf(t, r)["_id"].(string)
		}
		mine, theirs := place(a, "Rope"), place(b, "Chalk")
		place(a, "Tape")

		list := listOf(t, e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{"sort":"-created_at"}}`, a...))
		if len(list) != 2 || list[0]["_id"] == theirs || list[1]["_id"] == theirs {
			t.Errorf("list own orders: %v", list)
		}
		byID := e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{"_id":{"equals":"`+theirs+`"}}}`, a...)
		if len(listOf(t, byID)) != 0 {
			t.Errorf("another customer's order in a query: %s", byID.raw)
		}
		var cursor string
		for page := e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{"find":1}}`, a...); ; {
			for _, o := range listOf(t, page) {
				if o["_id"] == theirs {
					t.Errorf("another customer's order on a page: %v", o)
				}
			}
			if cursor = page.body.Next; cursor == "" {
				break
			}
			page = e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{"find":1,"after":"`+cursor+`"}}`, a...)
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"s":"_id","i":"` + theirs + `"}`))
		for _, o := range listOf(t, e.call(t, "POST", "/api/order", "", `{"operation":"query","data":{"after":"`+forged+`"}}`, a...)) {
			if o["_id"] == theirs {
				t.Error("another customer's order after a forged cursor")
			}
		}
		missing := "0123456789abcdef01234567"
		got, none := e.call(t, "GET", "/api/order/"+theirs, "", "", a...), e.call(t, "GET", "/api/order/"+missing, "", "", a...)
		if got.status != 404 || strings.ReplaceAll(got.raw, theirs, missing) != none.raw {
			t.Errorf("another customer's order by id: %d %s (a missing one: %s)", got.status, got.raw, none.raw)
		}
		if r := e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+theirs+`","status":"cancelled"}}`, a...); r.status != 404 {
			t.Errorf("cancel another customer's order: %d %s", r.status, r.raw)
		}
		if status := dataOf(t, e.call(t, "GET", "/api/order/"+mine, "", "", a...))["status"]; status != "new" {
			t.Errorf("the order's status: %v", status)
		}
		if r := e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+mine+`","status":"paid"}}`, a...); r.status != 200 {
			t.Errorf("update the status: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+mine+`","status":"lost"}}`, a...); r.status != 400 {
			t.Errorf("a status that does not exist: %d", r.status)
		}
		if r := e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+mine+`","status":"cancelled"}}`, a...); r.status != 200 {
			t.Errorf("cancel: %d %s", r.status, r.raw)
		}
		if all := listOf(t, e.call(t, "POST", "/api/order", "admin", `{"operation":"query","data":{}}`)); len(all) != 3 {
			t.Errorf("an admin sees every order: %d", len(all))
		}
		if r := e.call(t, "DELETE", "/api/account", "", `{"payload":"`+app.seal(t, map[string]any{"password": "a fine long password"})+`"}`, a...); r.status != 200 {
			t.Fatalf("delete the account: %d %s", r.status, r.raw)
		}
		if r := e.signIn(t, app, map[string]any{"email": "a@shop.example", "password": "a fine long password"}); r.status != 401 {
			t.Errorf("a deleted account logs in: %d", r.status)
		}
	})
}

// TestOrdersExampleKeepsTheDefaultPolicy: the example's policy is the
// default policy with the orders' lines added, and nothing else changed.
func TestOrdersExampleKeepsTheDefaultPolicy(t *testing.T) {
	b, err := os.ReadFile(ordersPolicy)
	if err != nil {
		t.Fatal(err)
	}
	example, _ := policy.ParseRules(string(b))
	base, _ := policy.ParseRules(policy.DefaultPolicy())
	for _, r := range base {
		if !slices.ContainsFunc(example, func(x policy.Rule) bool { return x.String() == r.String() }) {
			t.Errorf("the example lost a default line: %s", r)
		}
	}
	if len(example) != len(base)+7 {
		t.Errorf("the example has %d lines, the default %d: only the seven orders lines may be added", len(example), len(base))
	}
}

// TestWebstoreClientJourney: the web store signs in once, keeps its refresh
// token in a cookie with a CSRF token, refreshes, browses products, orders
// with an address, a phone and items checked against stock, and its
// superusers filter orders by completed, uncompleted and user.
func TestWebstoreClientJourney(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.signUp(t, app, map[string]any{"username": "web_buyer", "password": "a fine long password", "email": "buyer@web.example"})
		if r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": "web_buyer", "password": "a fine long password"})); r.status != 409 {
			t.Errorf("a second sign-up with the same name: %d", r.status)
		}
		signed := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"email": "buyer@web.example", "password": "a fine long password"}), "X-Refresh-Transport", "cookie")
		var refresh, csrf string
		if c := signed.cookies()["refresh_token"]; c != nil {
			refresh = c.Value
		}
		if c := signed.cookies()["csrf_token"]; c != nil {
			csrf = c.Value
		}
		if signed.status != 200 || refresh == "" || csrf == "" || strings.Contains(signed.raw, "refresh_token") {
			t.Fatalf("sign in with the cookie transport: %d %s", signed.status, signed.raw)
		}
		renewed := e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", "refresh_token="+refresh+"; csrf_token="+csrf, "X-CSRF-Token", csrf)
		if renewed.status != 200 {
			t.Fatalf("refresh through the cookie: %d %s", renewed.status, renewed.raw)
		}
		me := bearer(tokensOf(t, renewed).AccessToken)
		e.credit(t, e.meID(t, tokensOf(t, renewed).AccessToken), 10_000)
		shoes := e.create(t, "admin", "merchandise", `{"name":"Running shoes","price":3000,"stock":2}`)
		socks := e.create(t, "admin", "merchandise", `{"name":"Socks","price":200,"stock":10}`)
		products := listOf(t, e.call(t, "GET", "/api/discovery/merchandise?sort=name", "", ""))
		if len(products) != 2 || products[0]["name"] != "Running shoes" {
			t.Errorf("products: %v", products)
		}
		order := func(shoesQty int) reply {
			body, _ := json.Marshal(map[string]any{"items": []map[string]any{{"merchandise_id": shoes, "quantity": shoesQty}, {"merchandise_id": socks, "quantity": 1}},
				"address": "5 Elm St, Springfield", "phone": "+1 555 0199"})
			return e.call(t, "POST", "/api/perform_transaction", "", string(body), me...)
		}
		if r := order(3); r.status != 409 || r.body.ErrorCode != "OutOfStockError" {
			t.Errorf("more shoes than in stock: %d %s", r.status, r.raw)
		}
		first := order(1)
		if first.status != 201 || dataOf(t, first)["address"] != "5 Elm St, Springfield" || dataOf(t, first)["phone"] != "+1 555 0199" {
			t.Fatalf("an order with an address and a phone: %d %s", first.status, first.raw)
		}
		second := dataOf(t, order(1))
		rec := dataOf(t, first)
		if r := e.call(t, "POST", "/api/verify_transaction", "admin", `{"transaction_id":"`+rec["_id"].(string)+`","verification_code":"`+rec["verification_code"].(string)+`"}`); r.status != 200 {
			t.Fatalf("complete the first order: %d %s", r.status, r.raw)
		}
		completed := listOf(t, e.call(t, "GET", "/api/transaction_record?status=completed", "admin", ""))
		uncompleted := listOf(t, e.call(t, "GET", "/api/transaction_record?status=pending", "admin", ""))
		byUser := listOf(t, e.call(t, "GET", "/api/transaction_record?user="+rec["user"].(string), "admin", ""))
		if len(completed) != 1 || completed[0]["_id"] != rec["_id"] || len(uncompleted) != 1 || uncompleted[0]["_id"] != second["_id"] || len(byUser) != 2 {
			t.Errorf("superusers' filters: completed %v, uncompleted %v, by user %d", completed, uncompleted, len(byUser))
		}
		if r := e.call(t, "GET", "/api/transaction_record?status=completed", "", "", me...); len(listOf(t, r)) != 1 {
			t.Errorf("the buyer's own completed orders: %s", r.raw)
		}
	})
}

// TestMobileClientJourney: the core mobile backend's client (API.md §1–§6):
// the public key, a registration and a login with the header, the admin's
// gym created exactly as the backend's own example sends it, queries,
// discovery, and the errors it shows.
func TestMobileClientJourney(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	created := e.call(t, "POST", "/api/gym", "admin", `{"operation":"create","data":{"name":"Iron Temple","type":{"name":"boxing"},"imageURLs":"","address":"1 Ring Rd"}}`)
	if created.status != 201 || !strings.Contains(created.raw, `"imageURLs":[]`) {
		t.Fatalf("the backend's example create: %d %s", created.status, created.raw)
	}
	dup := e.call(t, "POST", "/api/gym", "admin", `{"operation":"create","data":{"name":"Iron Temple"}}`)
	if dup.status != 409 || !strings.Contains(dup.raw, `"exceptionMessage":"Resource exists with name <Iron Temple> for gym"`) {
		t.Errorf("the duplicate message: %d %s", dup.status, dup.raw)
	}
	e.signUp(t, app, map[string]any{"username": "mobile_1", "password": "a fine long password", "nickname": "Mo"})
	refused := e.call(t, "GET", "/api/auth", "", "", "Authorization", "tnt-user-auth-scheme "+app.seal(t, map[string]any{"username": "mobile_1", "password": "wrong password"}))
	if refused.status != 401 || refused.header.Get("WWW-Authenticate") != `tnt-user-auth-scheme realm="user"` {
		t.Errorf("a refused login names the user scheme: %d %q", refused.status, refused.header.Get("WWW-Authenticate"))
	}
	quoted := e.call(t, "GET", "/api/auth", "", "", "Authorization", `tnt-user-auth-scheme realm="user", credentials="`+app.seal(t, map[string]any{"username": "mobile_1", "password": "a fine long password"})+`"`)
	me := bearer(tokensOf(t, quoted).AccessToken)
	boxing := listOf(t, e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{"type.name":{"equals":"boxing"}}}`, me...))
	if len(boxing) != 1 || boxing[0]["name"] != "Iron Temple" {
		t.Errorf("query by type: %v", boxing)
	}
	if r := e.call(t, "POST", "/api/gym", "", `{"operation":"create","data":{"name":"Mine"}}`, me...); r.status != 403 || r.body.ErrorCode != "PermissionDeniedError" {
		t.Errorf("a User creates a gym: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/discovery/gym", "", ""); r.status != 200 || strings.Contains(r.raw, `"owner"`) {
		t.Errorf("discovery as a Guest: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{}}`); r.status != 401 ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("a Guest query: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// TestPermissionsFollowThePolicy: the permissions /api/account/me shows are
// the policy in force: a right taken away is gone on the next call.
func TestPermissionsFollowThePolicy(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	me := bearer(e.signUp(t, app, map[string]any{"username": "perm_user", "password": "a fine long password"}).AccessToken)
	perms := func() []string {
		return toStrings(dataOf(t, e.call(t, "GET", "/api/account/me", "", "", me...))["permissions"])
	}
	if !slices.Contains(perms(), "wallet:transfer") {
		t.Fatalf("a User's permissions: %v", perms())
	}
	lines, _ := e.policyLines(t)
	if r := e.putPolicy(t, "sysadmin", slices.DeleteFunc(lines, func(l string) bool { return l == "p, user, wallet, transfer" })); r.status != 200 {
		t.Fatal(r.raw)
	}
	if slices.Contains(perms(), "wallet:transfer") {
		t.Error("a right taken away still shows on the next call")
	}
}
