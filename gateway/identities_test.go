package gateway_test

// Identities nobody can take from another (API.md §3, §8): WeChat
// bindings, names of an id's form, the operator's bootstrap name.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// fakeWeChat answers jscode2session: each code is its own openid.
func fakeWeChat(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"openid": "o-" + r.URL.Query().Get("js_code"), "session_key": "sk"})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// derivedName is the name the gateway derives for an openid.
func derivedName(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return "wx_" + hex.EncodeToString(sum[:])[:24]
}

// insertLegacyUser stores an account as a gateway before these rules could
// have: a name nobody may register now.
func (e *env) insertLegacyUser(t *testing.T, username string) string {
	t.Helper()
	now := resources.FormatTime(time.Now())
	u := resources.User{ID: resources.NewID(time.Now()), Username: username, PasswordHash: "$argon2id$legacy", Level: 4, CreatedAt: now, UpdatedAt: now}
	if err := e.store.Insert(context.Background(), resources.UsersCollection, u.Document()); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestWeChatLoginNeverLandsInAnotherAccount: the derived name of a victim's
// openid cannot be registered; an account that holds it from before is
// passed over, and the victim's WeChat login makes and keeps an account of
// its own, bound by the stored openid.
func TestWeChatLoginNeverLandsInAnotherAccount(t *testing.T) {
	eachSessionStore(t, options{wechatBase: fakeWeChat(t)}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		squat := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": derivedName("o-victim"), "password": "attacker password 1"}))
		if squat.status != 400 {
			t.Fatalf("the derived name was registered: %d %s", squat.status, squat.raw)
		}
		if r := e.call(t, "GET", "/api/account/available?username="+derivedName("o-victim"), "", ""); r.status != 200 || string(r.body.Data) != `{"available":false}` {
			t.Errorf("a derived name is offered as available: %s", r.raw)
		}
		legacy := e.insertLegacyUser(t, derivedName("o-victim"))
		login := func() string {
			tk := tokensOf(t, e.payloadCall(t, "/api/wechat_auth", app.seal(t, map[string]any{"code": "victim"})))
			me := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...)
			var doc struct {
				ID string `json:"_id"`
			}
			_ = json.Unmarshal(me.body.Data, &doc)
			return doc.ID
		}
		first := login()
		if first == "" || first == legacy {
			t.Fatalf("the victim's WeChat login landed in the squatter's account (%s)", first)
		}
		if again := login(); again != first {
			t.Errorf("the second WeChat login found another account: %s, then %s", first, again)
		}
	})
}

// TestIDFormNamesAndTransfers: a name of an id's form cannot be registered,
// and a reference of an id's form always means the id: a legacy account so
// named never diverts nor blocks a transfer to the user whose id it is.
func TestIDFormNamesAndTransfers(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		sender, senderID := e.userWithLevel(t, app, "sender_1", 4)
		payee, payeeID := e.userWithLevel(t, app, "payee_1", 4)
		if r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": payeeID, "password": "a fine long password"})); r.status != 400 || r.body.ErrorCode != "InvalidResourceValueError" {
			t.Fatalf("a username of an id's form: %d %s", r.status, r.raw)
		}
		e.insertLegacyUser(t, payeeID)
		e.credit(t, senderID, 100)
		if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"`+payeeID+`","amount":10}`, sender...); r.status != 201 {
			t.Fatalf("a transfer by id, with a legacy name equal to that id: %d %s", r.status, r.raw)
		}
		if b := e.balance(t, payee); b != 10 {
			t.Errorf("the payee got %d", b)
		}
		named := e.insertLegacyUser(t, "abcdefabcdefabcdefabcdef")
		if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"abcdefabcdefabcdefabcdef","amount":10}`, sender...); r.status != 404 {
			t.Errorf("an id-form reference that is only a name (%s): %d %s", named, r.status, r.raw)
		}
		if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"payee_1","amount":5}`, sender...); r.status != 201 {
			t.Errorf("a transfer by username: %d %s", r.status, r.raw)
		}
	})
}

// TestBootstrapNameIsReserved: while GATEWAY_BOOTSTRAP_USER is configured,
// nobody registers that name, whether or not the level-0 user exists yet.
func TestBootstrapNameIsReserved(t *testing.T) {
	eachSessionStore(t, options{auth: account.Config{ReservedNames: []string{"rootadmin"}}}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": "rootadmin", "password": "a fine long password"}))
		if r.status != 409 || r.body.ErrorCode != "DuplicateResourceCreationError" {
			t.Errorf("the bootstrap name was registered: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/api/account/available?username=rootadmin", "", ""); string(r.body.Data) != `{"available":false}` {
			t.Errorf("the bootstrap name is offered: %s", r.raw)
		}
		e.register(t, app, "rootadmin2", "a fine long password")
	})
}

// TestEmailsFoldCase: emails are one value under Unicode case folding, for
// uniqueness and for login: "ſam@…" (long s) cannot register beside
// "sam@…", nor the final and the medial sigma beside each other, and each
// spelling signs in to the one account.
func TestEmailsFoldCase(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		reg := func(name, email string) reply {
			return e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": name, "password": "a fine long password", "email": email}))
		}
		for _, c := range []struct{ first, variant string }{
			{"sam@example.com", "ſam@example.com"},
			{"ας@example.gr", "ασ@example.gr"},            // final and medial sigma
			{"kate@example.com", "\u212Aate@example.com"}, // the Kelvin sign
			{"strasse@example.de", "STRAßE@example.de"},
		} {
			if r := reg("first_"+hex.EncodeToString([]byte(c.first))[:8], c.first); r.status != 201 {
				t.Fatalf("register %s: %d %s", c.first, r.status, r.raw)
			}
			if r := reg("second_"+hex.EncodeToString([]byte(c.variant))[:8], c.variant); r.status != 409 {
				t.Errorf("%s registered beside %s: %d %s", c.variant, c.first, r.status, r.raw)
			}
			if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"email": c.variant, "password": "a fine long password"})); r.status != 200 {
				t.Errorf("login as %s (registered as %s): %d %s", c.variant, c.first, r.status, r.raw)
			}
		}
	})
}

// TestOptionalNamesMayBeEmpty: a personal-account client's profile editor
// sends "" for a name the user has none of; it is accepted as none, while a
// name that is there must still be a name.
func TestOptionalNamesMayBeEmpty(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		user, id := e.userWithLevel(t, app, "ivan_petrov", 4)
		upd := func(data string) reply {
			return e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+id+`",`+data+`}}`, user...)
		}
		if r := upd(`"first_name":"Иван","last_name":"Петров","patronymic":""`); r.status != 200 {
			t.Errorf("an empty patronymic: %d %s", r.status, r.raw)
		}
		if r := upd(`"patronymic":"1234"`); r.status != 400 || r.body.ErrorCode != "InvalidResourceValueError" {
			t.Errorf("a patronymic of digits: %d %s", r.status, r.raw)
		}
		if r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": "olga_k", "password": "a fine long password", "patronymic": "", "email": ""})); r.status != 400 {
			t.Errorf("an empty email (unique, so never empty): %d %s", r.status, r.raw)
		}
	})
}
