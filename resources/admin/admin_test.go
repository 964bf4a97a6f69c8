package admin_test

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/admin"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/session"
)

func newAdmin(t *testing.T) (*admin.Admin, *domaintest.Kit) {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	a := admin.New(admin.Deps{Store: kit.Store, Registry: kit.Registry, Auth: kit.Policy, Sessions: kit.Sessions, Policy: kit.Policy, MaxPage: 100, ArchiveKey: kit.Keyring.ArchiveKey})
	if err := a.Prepare(kit.Ctx); err != nil {
		t.Fatal(err)
	}
	return a, kit
}

// login makes a session for a user in the real session store.
func login(t *testing.T, kit *domaintest.Kit, p resources.Principal) string {
	t.Helper()
	now := time.Now()
	sid := resources.NewID(now) + "aaaaaaaa"
	if err := kit.Sessions.Create(kit.Ctx, session.Session{ID: sid, UserID: p.UserID, Username: p.Username, Level: p.Level, Kind: "access",
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), RefreshHash: "h"}); err != nil {
		t.Fatal(err)
	}
	return sid
}

func alive(kit *domaintest.Kit, sid string) bool {
	_, err := kit.Sessions.Get(kit.Ctx, sid)
	return err == nil
}

func code(err error) string { return resources.ErrorCode(err) }

// TestLevels: the rules of level changes and deletions, and their sessions.
func TestLevels(t *testing.T) {
	a, kit := newAdmin(t)
	sys := kit.User(t, "sys_one", 1, 0)
	peer := kit.User(t, "sys_two", 1, 0)
	member := kit.User(t, "member_one", 4, 0)
	for name, c := range map[string]struct {
		req  admin.LevelChange
		code string
	}{
		"grant level 0":     {admin.LevelChange{UserID: member.UserID, Level: 0}, resources.EPERMISSION},
		"grant one's level": {admin.LevelChange{UserID: member.UserID, Level: 1}, resources.EPERMISSION},
		"out of range":      {admin.LevelChange{UserID: member.UserID, Level: 9}, resources.EVALUE},
		"a peer":            {admin.LevelChange{UserID: peer.UserID, Level: 3}, resources.EPERMISSION},
		"oneself":           {admin.LevelChange{UserID: sys.UserID, Level: 2}, resources.EPERMISSION},
		"nobody":            {admin.LevelChange{UserID: resources.NewID(time.Now()), Level: 3}, resources.ENOTFOUND},
		"not an id":         {admin.LevelChange{UserID: "x", Level: 3}, resources.ENOTFOUND},
	} {
		if _, err := a.SetLevel(kit.Ctx, sys, c.req); code(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	sid := login(t, kit, member)
	u, err := a.SetLevel(kit.Ctx, sys, admin.LevelChange{UserID: member.UserID, Level: 3, IP: "10.0.0.1"})
	if err != nil || u["level_name"] != "PowerUser" || u["password_hash"] != nil {
		t.Fatalf("promote: %v %v", u, err)
	}
	if alive(kit, sid) {
		t.Error("a session outlived a level change")
	}
	sid = login(t, kit, resources.Principal{UserID: member.UserID, Username: "member_one", Level: 3})
	if err := a.DeleteUser(kit.Ctx, sys, admin.UserDeletion{UserID: member.UserID}); err != nil {
		t.Fatal(err)
	}
	if alive(kit, sid) {
		t.Error("a session outlived a deletion")
	}
	if _, err := a.SetLevelByOperator(kit.Ctx, resources.Principal{UserID: "gatewayctl", Level: 0}, "sys_two", 0); err != nil {
		t.Errorf("the operator makes a DBA: %v", err)
	}
	trail, _ := a.Audit(kit.Ctx, resources.Principal{UserID: sys.UserID, Level: 1}, nil)
	var actions []string
	for _, d := range trail.Data.([]resources.Document) {
		actions = append(actions, resources.AsString(d["action"]))
	}
	if !slices.Equal(actions, []string{"set_level", "delete_user", "set_level"}) {
		t.Errorf("trail, newest first: %v", actions)
	}
}

// TestPolicyEdits: an edit that escalates is refused with nothing changed; an
// allowed one is stored, versioned, applied and audited; racing editors each
// edit the policy the other stored.
func TestPolicyEdits(t *testing.T) {
	a, kit := newAdmin(t)
	sys := resources.Principal{UserID: kit.User(t, "sys_edit", 1, 0).UserID, Level: 1}
	base := kit.Policy.Base()
	if _, err := a.ReplacePolicy(kit.Ctx, sys, admin.PolicyChange{Lines: append(slices.Clone(base), "p, sysadmin, database, restore")}); code(err) != resources.EPERMISSION {
		t.Errorf("escalation: %v", err)
	}
	if _, err := a.ReplacePolicy(kit.Ctx, sys, admin.PolicyChange{Lines: append(slices.Clone(base), "p, user, gym")}); code(err) != resources.EVALUE {
		t.Errorf("a line that is no policy: %v", err)
	}
	if kit.Policy.Version() != 0 {
		t.Fatal("a refused edit changed the policy")
	}
	without := slices.DeleteFunc(slices.Clone(base), func(l string) bool { return l == "p, user, wallet, transfer" })
	// A SystemAdmin that took a right from users lost it too, and cannot
	// give it back; the DBA, who holds every right, can: the racing
	// editors are DBAs, so either order is allowed.
	dba := resources.Principal{UserID: kit.User(t, "dba_edit", 0, 0).UserID, Level: 0}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var versions []int64
	for _, lines := range [][]string{without, base} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := a.ReplacePolicy(kit.Ctx, dba, admin.PolicyChange{Lines: lines})
			if err != nil {
				t.Errorf("an allowed edit: %v", err)
				return
			}
			mu.Lock()
			versions = append(versions, v.Version)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(versions)
	if !slices.Equal(versions, []int64{1, 2}) || kit.Policy.Version() != 2 {
		t.Errorf("versions %v, in force %d", versions, kit.Policy.Version())
	}
}

// TestCollectionsAndBackups: account data cannot be dropped; a backup and
// a restore are the DBA's, and a restore keeps the trail and ends sessions.
func TestCollectionsAndBackups(t *testing.T) {
	a, kit := newAdmin(t)
	sys := kit.User(t, "sys_drop", 1, 0)
	dba := kit.User(t, "dba_one", 0, 0)
	for name, req := range map[string]admin.DropRequest{
		"profiles":    {Resource: "profile", Confirm: "profile"},
		"records":     {Resource: "transaction_record", Confirm: "transaction_record"},
		"unconfirmed": {Resource: "gym", Confirm: "gyms"},
	} {
		if _, err := a.DropCollection(kit.Ctx, sys, req); err == nil {
			t.Errorf("%s: dropped", name)
		}
	}
	if _, err := a.DropCollection(kit.Ctx, sys, admin.DropRequest{Resource: "gym", Confirm: "gym"}); err != nil {
		t.Errorf("drop gyms: %v", err)
	}
	var archive bytes.Buffer
	if err := a.Backup(kit.Ctx, sys, &archive, ""); code(err) != resources.EPERMISSION {
		t.Errorf("a SystemAdmin's backup: %v", err)
	}
	if err := a.Backup(kit.Ctx, dba, &archive, "10.0.0.9"); err != nil {
		t.Fatal(err)
	}
	member := kit.User(t, "member_late", 4, 0)
	if _, err := a.SetLevel(kit.Ctx, sys, admin.LevelChange{UserID: member.UserID, Level: 3}); err != nil {
		t.Fatal(err)
	}
	other := login(t, kit, sys)
	mine := login(t, kit, dba)
	dba.SessionID = mine
	summary, err := a.Restore(kit.Ctx, dba, bytes.NewReader(archive.Bytes()), "10.0.0.9")
	if err != nil || summary.SessionsEnded != 1 {
		t.Fatalf("restore: %+v %v", summary, err)
	}
	if alive(kit, other) || !alive(kit, mine) {
		t.Errorf("after the restore: another's session alive %v, the DBA's %v", alive(kit, other), alive(kit, mine))
	}
	trail, _ := a.Audit(kit.Ctx, sys, map[string][]string{"action": {"set_level"}})
	if n := len(trail.Data.([]resources.Document)); n != 1 {
		t.Errorf("a level change made after the backup is gone from the trail after the restore: %d entries", n)
	}
}
