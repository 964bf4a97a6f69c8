package resources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/domaintest"
)

// fixture is a service on a real SQLite file with the default policy.
type fixture struct {
	svc   *resources.Service
	store resources.Store
	ctx   context.Context
}

func newFixture(t *testing.T, maxPage int) *fixture {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	svc := resources.NewService(kit.Store, kit.Registry, kit.Policy, resources.ServiceConfig{MaxPage: maxPage})
	return &fixture{svc: svc, store: kit.Store, ctx: kit.Ctx}
}

func (f *fixture) user(t *testing.T, name string, level int, extra resources.Document) resources.Principal {
	t.Helper()
	id := resources.NewID(time.Now())
	doc := resources.Document{"_id": id, "username": name, "level": int64(level), "balance": int64(100), "password_hash": "secret-hash"}
	for k, v := range extra {
		doc[k] = v
	}
	if err := f.store.Insert(f.ctx, resources.UsersCollection, doc); err != nil {
		t.Fatal(err)
	}
	return resources.Principal{UserID: id, Username: name, Level: level}
}

func (f *fixture) do(p resources.Principal, resource, op string, data resources.Document) (resources.Result, error) {
	return f.svc.Execute(f.ctx, p, resource, &resources.Envelope{Operation: op, Data: data})
}

func expectCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := resources.ErrorCode(err); got != code {
		t.Errorf("%s: got %s (%v), want %s", what, got, err, code)
	}
}

func TestOwnershipAndLevels(t *testing.T) {
	f := newFixture(t, 1000)
	coachA := f.user(t, "coach_a", 3, nil)
	coachB := f.user(t, "coach_b", 3, nil)
	member := f.user(t, "member", 4, nil)
	admin := f.user(t, "admin1", 2, nil)
	guest := resources.Principal{Level: resources.GuestLevel}

	res, err := f.do(coachA, "gym", "create", resources.Document{"name": "A's gym"})
	if err != nil {
		t.Fatal(err)
	}
	gym := res.Data.(resources.Document)
	id := gym["_id"].(string)
	if gym["owner"] != coachA.UserID {
		t.Errorf("owner = %v, want the creator", gym["owner"])
	}

	_, err = f.do(coachB, "gym", "update", resources.Document{"_id": id, "address": "hijack"})
	expectCode(t, "PowerUser updates another's gym", err, resources.EPERMISSION)
	_, err = f.do(coachB, "gym", "delete", resources.Document{"_id": id})
	expectCode(t, "PowerUser deletes another's gym", err, resources.EPERMISSION)
	_, err = f.do(member, "gym", "create", resources.Document{"name": "x"})
	expectCode(t, "User creates", err, resources.EPERMISSION)
	_, err = f.do(member, "gym", "update", resources.Document{"_id": id, "address": "x"})
	expectCode(t, "User updates a gym", err, resources.EPERMISSION)
	_, err = f.do(guest, "gym", "query", resources.Document{})
	expectCode(t, "Guest queries", err, resources.EAUTHENTICATION)
	_, err = f.do(guest, "gym", "update", resources.Document{"_id": id, "address": "x"})
	expectCode(t, "Guest updates", err, resources.EAUTHENTICATION)

	if _, err := f.do(coachA, "gym", "update", resources.Document{"_id": id, "address": "Main St"}); err != nil {
		t.Errorf("owner updates own gym: %v", err)
	}
	if _, err := f.do(admin, "gym", "update", resources.Document{"_id": id, "phone": "123 456"}); err != nil {
		t.Errorf("Admin updates any gym: %v", err)
	}
	got, err := f.svc.Get(f.ctx, member, "gym", id)
	if err != nil || got.Data.(resources.Document)["address"] != "Main St" {
		t.Errorf("User reads the gym: %v %v", got.Data, err)
	}
	if _, err := f.do(coachA, "gym", "delete", resources.Document{"_id": id}); err != nil {
		t.Errorf("owner deletes own gym: %v", err)
	}
	_, err = f.svc.Get(f.ctx, member, "gym", id)
	expectCode(t, "deleted gym", err, resources.ENOTFOUND)
}

func TestProfilesPrivacyAndMassAssignment(t *testing.T) {
	f := newFixture(t, 1000)
	alice := f.user(t, "alice", 4, resources.Document{"email": "alice@example.com"})
	bob := f.user(t, "bob_1", 4, resources.Document{"email": "bob@example.com"})
	admin := f.user(t, "admin1", 2, nil)

	res, err := f.do(alice, "profile", "query", resources.Document{"username": map[string]any{"equals": "bob_1"}})
	if err != nil {
		t.Fatal(err)
	}
	others := docs(t, res)
	if len(others) != 1 || others[0]["email"] != nil || others[0]["balance"] != nil || others[0]["password_hash"] != nil {
		t.Errorf("another user's profile shows private or secret fields: %v", others)
	}
	res, _ = f.do(alice, "profile", "query", resources.Document{"username": "alice"})
	if own := docs(t, res); own[0]["email"] != "alice@example.com" || own[0]["balance"] != int64(100) || own[0]["password_hash"] != nil {
		t.Errorf("own profile: %v", own)
	}
	_, err = f.do(alice, "profile", "query", resources.Document{"email": map[string]any{"contains": "bob"}})
	expectCode(t, "query by another's private field", err, resources.EPERMISSION)

	if _, err := f.do(alice, "profile", "update", resources.Document{"_id": alice.UserID, "nickname": "Al"}); err != nil {
		t.Errorf("own profile update: %v", err)
	}
	_, err = f.do(alice, "profile", "update", resources.Document{"_id": bob.UserID, "nickname": "pwned"})
	expectCode(t, "update another's profile", err, resources.EPERMISSION)
	for _, field := range []string{"level", "balance", "username", "created_at", "updated_at", "owner"} {
		_, err = f.do(alice, "profile", "update", resources.Document{"_id": alice.UserID, field: int64(0)})
		expectCode(t, "mass assignment of "+field, err, resources.EPARAMETER)
	}
	_, err = f.do(alice, "profile", "update", resources.Document{"_id": alice.UserID, "password_hash": "x"})
	expectCode(t, "password hash through the envelope", err, resources.EPARAMETER)
	_, err = f.do(admin, "profile", "create", resources.Document{"username": "x"})
	expectCode(t, "profile create", err, resources.EINVALIDOPERATION)

	stored, _ := f.store.Get(f.ctx, resources.UsersCollection, alice.UserID)
	if stored["level"] != int64(4) || stored["balance"] != int64(100) || stored["password_hash"] != "secret-hash" || stored["nickname"] != "Al" {
		t.Errorf("stored user changed beyond the nickname: %v", stored)
	}
	res, _ = f.do(admin, "profile", "query", resources.Document{"username": "bob_1"})
	if p := docs(t, res); p[0]["email"] != "bob@example.com" {
		t.Errorf("Admin reads private fields: %v", p)
	}
}

func TestTransactionRecordVisibility(t *testing.T) {
	f := newFixture(t, 1000)
	alice := f.user(t, "alice", 4, nil)
	bob := f.user(t, "bob_1", 4, nil)
	admin := f.user(t, "admin1", 2, nil)
	var bobRecord string
	for i, owner := range []resources.Principal{alice, alice, bob} {
		id := fmt.Sprintf("%024x", i+1)
		if owner == bob {
			bobRecord = id
		}
		if err := f.store.Insert(f.ctx, "transaction_record", resources.Document{
			"_id": id, "owner": owner.UserID, "user": owner.UserID, "kind": "purchase", "status": "pending", "total": int64(10),
			"verification_code": "123456", "created_at": resources.FormatTime(time.Now()),
		}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.do(alice, "transaction_record", "query", resources.Document{})
	if err != nil {
		t.Fatal(err)
	}
	if recs := docs(t, res); len(recs) != 2 {
		t.Errorf("User sees %d records, want their own 2", len(recs))
	}
	// Naming another owner does not widen the view: the owner filter is
	// forced server-side and ANDed.
	res, _ = f.do(alice, "transaction_record", "query", resources.Document{"owner": bob.UserID})
	if recs := docs(t, res); len(recs) != 0 {
		t.Errorf("query naming another owner returned %v", recs)
	}
	_, err = f.svc.Get(f.ctx, alice, "transaction_record", bobRecord)
	expectCode(t, "read another's record by id", err, resources.ENOTFOUND)
	_, err = f.do(alice, "transaction_record", "update", resources.Document{"_id": bobRecord, "fulfillment": "x"})
	expectCode(t, "User sets fulfillment", err, resources.EPERMISSION)
	_, err = f.do(admin, "transaction_record", "update", resources.Document{"_id": bobRecord, "status": "completed"})
	expectCode(t, "status through the envelope", err, resources.EPARAMETER)
	if _, err := f.do(admin, "transaction_record", "update", resources.Document{"_id": bobRecord, "fulfillment": "shipped"}); err != nil {
		t.Errorf("Admin sets fulfillment: %v", err)
	}
	res, _ = f.do(admin, "transaction_record", "query", resources.Document{"status": "pending", "user": bob.UserID})
	if recs := docs(t, res); len(recs) != 1 || recs[0]["fulfillment"] != "shipped" {
		t.Errorf("Admin filter by status and user: %v", recs)
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t, 3)
	admin := f.user(t, "admin1", 2, nil)
	for i := range 8 {
		if _, err := f.do(admin, "merchandise", "create", resources.Document{"name": fmt.Sprintf("item%d", i), "price": int64(i % 3)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var order []int64
	after := ""
	for page := 0; ; page++ {
		data := resources.Document{"sort": "-price", "find": int64(0)}
		if after != "" {
			data["after"] = after
		}
		res, err := f.do(admin, "merchandise", "query", data)
		if err != nil {
			t.Fatal(err)
		}
		docs := docs(t, res)
		if len(docs) > 3 {
			t.Fatalf("page of %d, max 3", len(docs))
		}
		for _, d := range docs {
			if seen[d["name"].(string)] {
				t.Errorf("%s seen twice", d["name"])
			}
			seen[d["name"].(string)] = true
			order = append(order, d["price"].(int64))
		}
		if res.Next == "" {
			break
		}
		after = res.Next
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 8 {
		t.Errorf("paged through %d of 8", len(seen))
	}
	for i := 1; i < len(order); i++ {
		if order[i] > order[i-1] {
			t.Errorf("not sorted by -price: %v", order)
		}
	}
	res, _ := f.do(admin, "merchandise", "query", resources.Document{"find": int64(2)})
	if docs := docs(t, res); len(docs) != 2 || res.Next == "" {
		t.Errorf("find 2: %d docs, next %q", len(docs), res.Next)
	}
}

// docs reads a query result's documents, whichever path produced them.
func docs(t *testing.T, res resources.Result) []resources.Document {
	t.Helper()
	switch d := res.Data.(type) {
	case []resources.Document:
		return d
	case []json.RawMessage:
		out := make([]resources.Document, len(d))
		for i, raw := range d {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			out[i] = resources.Numbers(m).(map[string]any)
		}
		return out
	}
	t.Fatalf("query data of type %T", res.Data)
	return nil
}
