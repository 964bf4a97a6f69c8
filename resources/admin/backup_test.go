package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/admin"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/mongo"
)

type backend struct {
	name  string
	admin *admin.Admin
	store resources.Store
}

// admins opens the embedded store always, and MongoDB when
// GATEWAY_TEST_MONGO_URI is set, each with an Admin ready to back up, on a
// real session store and the default policy.
func admins(t *testing.T) []*backend {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	stores := map[string]resources.Store{"sqlite": kit.Store}
	if uri := os.Getenv("GATEWAY_TEST_MONGO_URI"); uri != "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		m, err := mongo.Open(uri, "gateway_test_"+hex.EncodeToString(b[:]))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.DropDatabase(context.Background()); _ = m.Close(context.Background()) })
		if err := resources.NewService(m, kit.Registry, kit.Policy, resources.ServiceConfig{}).Prepare(kit.Ctx); err != nil {
			t.Fatal(err)
		}
		stores["mongo"] = m
	}
	var out []*backend
	for name, st := range stores {
		a := admin.New(admin.Deps{Store: st, Registry: kit.Registry, Auth: kit.Policy, Sessions: kit.Sessions, Policy: kit.Policy, MaxPage: 100, ArchiveKey: sharedArchiveKey})
		if err := a.Prepare(kit.Ctx); err != nil {
			t.Fatal(err)
		}
		out = append(out, &backend{name: name, admin: a, store: st})
	}
	return out
}

// sharedArchiveKey is the archive key of every deployment the tests move
// archives between, as an operator shares it (README: moving an archive).
func sharedArchiveKey() (string, []byte) { return "shared-test-key", bytes.Repeat([]byte{7}, 32) }

func dump(t *testing.T, st resources.Store) string {
	t.Helper()
	var out []any
	for _, c := range []string{"gym", "merchandise", "users", "transaction_record"} {
		docs, err := st.Find(context.Background(), c, resources.Query{SortPath: resources.FieldID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c, docs)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestBackupAcrossBackends: an archive restores on the backend it came from
// and on the other one (MongoDB when GATEWAY_TEST_MONGO_URI is set).
func TestBackupAcrossBackends(t *testing.T) {
	dba := resources.Principal{UserID: "0123456789abcdef01234567", Username: "dba", Level: 0}
	for _, from := range admins(t) {
		ctx := context.Background()
		now := resources.FormatTime(time.Now())
		seed := []struct {
			coll string
			doc  resources.Document
		}{
			{"gym", resources.Document{"_id": resources.NewID(time.Now()), "name": "Gym " + from.name, "location": resources.Document{"lat": 1.5, "lng": -2.0}, "created_at": now}},
			{"merchandise", resources.Document{"_id": resources.NewID(time.Now()), "name": "Mat", "price": int64(9007199254740993), "stock": int64(3), "created_at": now}},
			{"users", resources.Document{"_id": dba.UserID, "username": "dba_user", "password_hash": "$argon2id$x", "level": int64(0), "balance": int64(0)}},
			{"transaction_record", resources.Document{"_id": resources.NewID(time.Now()), "kind": "purchase", "items": []any{resources.Document{"name": "Mat", "quantity": int64(2)}}, "total": int64(4)}},
		}
		for _, s := range seed {
			if err := from.store.Insert(ctx, s.coll, s.doc); err != nil {
				t.Fatal(err)
			}
		}
		want := dump(t, from.store)
		var archive bytes.Buffer
		if err := from.admin.Backup(ctx, dba, &archive, "127.0.0.1"); err != nil {
			t.Fatalf("backup on %s: %v", from.name, err)
		}
		for _, to := range admins(t) {
			if _, err := to.admin.Restore(ctx, dba, bytes.NewReader(archive.Bytes()), "127.0.0.1"); err != nil {
				t.Fatalf("restore %s → %s: %v", from.name, to.name, err)
			}
			if got := dump(t, to.store); got != want {
				t.Errorf("restore %s → %s:\n got %s\nwant %s", from.name, to.name, got, want)
			}
		}
	}
}
