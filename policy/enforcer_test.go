package policy

import (
	"slices"
	"strings"
	"testing"
)

func defaultEnforcer(t testing.TB) *Enforcer {
	t.Helper()
	rules, err := ParseRules(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEnforcer(Config{Rules: rules, Groups: map[string]string{
		"gym": "data", "merchandise": "data", "coach": "data", "profile": "profiles", "transaction_record": "ledger",
	}, Actions: []string{"create", "query", "query_own", "update", "update_own", "delete", "delete_own", "discover", "read_private"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDefaultPolicyMatrix pins every decision of the default policy for the
// six levels, so a policy edit that changes a right shows up here.
func TestDefaultPolicyMatrix(t *testing.T) {
	e := defaultEnforcer(t)
	// The lowest level (highest number) that holds each right; "-" nobody.
	want := map[string]map[string]string{
		"gym": {"discover": "5", "query": "4", "create": "3", "update_own": "3", "delete_own": "3",
			"update": "2", "delete": "2", "read_private": "2", "query_own": "-"},
		"coach": {"discover": "5", "query": "4", "create": "3", "update": "2"},
		"profile": {"discover": "-", "query": "4", "update_own": "4", "update": "2", "read_private": "2",
			"create": "-", "delete": "-", "delete_own": "-"},
		"transaction_record": {"discover": "-", "query_own": "4", "query": "2", "update": "2", "read_private": "2",
			"create": "-", "delete": "-", "update_own": "-"},
	}
	for obj, acts := range want {
		for act, lowest := range acts {
			for l := DBA; l <= Guest; l++ {
				expect := l == DBA || lowest != "-" && int(l) <= int(lowest[0]-'0')
				if got := e.Allowed(l, obj, act); got != expect {
					t.Errorf("%s %s %s: got %v, want %v", l, act, obj, got, expect)
				}
			}
		}
	}
	if e.Allowed(Admin, "unknown", "query") || e.Allowed(Level(9), "gym", "query") || e.Allowed(DBA, "gym", "drop_everything") {
		t.Error("unknown object, level or action allowed")
	}
}

func TestParseRulesRefusesInjection(t *testing.T) {
	for _, bad := range []string{
		"p, admin, gym",
		"p, admin, gym, update, extra",
		"p, admin, gym, update\" || true",
		"p, admin, gym, keyMatch(r.obj, '*')",
		"p, Admin, gym, update",
		"p, admin, *, update",
		"q, admin, gym, update",
		"g, admin",
		"p, admin, gym, up date",
	} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	rules, err := ParseRules("# comment\n\np, admin, gym, update\r\ng, admin, user\n")
	if err != nil || len(rules) != 2 || rules[0].String() != "p, admin, gym, update" {
		t.Errorf("valid rules: %v %v", rules, err)
	}
}

func TestLevelNames(t *testing.T) {
	names := []string{}
	for l := DBA; l <= Guest; l++ {
		names = append(names, l.String()+"/"+l.Role())
	}
	if got := strings.Join(names, " "); got != "DBA/dba SystemAdmin/sysadmin Admin/admin PowerUser/poweruser User/user Guest/guest" {
		t.Errorf("levels: %s", got)
	}
	if Level(7).Valid() || Level(7).Role() != "" {
		t.Error("level 7 is valid")
	}
}

func BenchmarkAllowed(b *testing.B) {
	e := defaultEnforcer(b)
	b.ReportAllocs()
	for b.Loop() {
		if !e.Allowed(User, "gym", "query") {
			b.Fatal("denied")
		}
	}
}

func TestHolderRefusesLockoutAndBadPolicies(t *testing.T) {
	rules, _ := ParseRules(DefaultPolicy())
	h, err := NewHolder(Config{Rules: rules, Groups: map[string]string{"gym": "data"}})
	if err != nil {
		t.Fatal(err)
	}
	lines := h.Lines()
	if !h.Allowed(SystemAdmin, ObjPolicy, ActManage) || h.Allowed(Admin, ObjPolicy, ActManage) {
		t.Fatal("default policy rights on the policy")
	}
	var without []string
	for _, l := range lines {
		if l != "p, sysadmin, policy, manage" {
			without = append(without, l)
		}
	}
	if _, err := h.Build(without); err != ErrLockout {
		t.Errorf("lockout policy: %v", err)
	}
	for _, bad := range [][]string{{}, {"p, admin, gym"}, {"p, admin, gym, update\np, guest, gym, delete"}, append(append([]string{}, lines...), "p, guest, gym, delete, extra")} {
		if _, err := h.Build(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	e, err := h.Build(append(append([]string{}, lines...), "p, guest, gym, query"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Allowed(Guest, "gym", "query") {
		t.Error("built policy applied before Apply")
	}
	if !h.Apply(e, 2) || !h.Allowed(Guest, "gym", "query") || h.Version() != 2 {
		t.Error("Apply")
	}
	old, _ := h.Build(lines)
	if h.Apply(old, 1) || !h.Allowed(Guest, "gym", "query") {
		t.Error("an older version replaced a newer one")
	}
}

// TestPermissions: what a level may do, as a client shows it: resources and
// objects, never group names, and more for higher levels.
func TestPermissions(t *testing.T) {
	e := defaultEnforcer(t)
	user := e.Permissions(User)
	for _, want := range []string{"gym:query", "profile:update_own", "transaction_record:query_own", "wallet:purchase"} {
		if !slices.Contains(user, want) {
			t.Errorf("a User's permissions lack %s: %v", want, user)
		}
	}
	for _, p := range user {
		if strings.HasPrefix(p, "data:") || strings.HasPrefix(p, "ledger:") || strings.HasPrefix(p, "profiles:") {
			t.Errorf("a group name among the permissions: %s", p)
		}
		if p == "gym:update" || p == "database:backup" {
			t.Errorf("a User holds %s", p)
		}
	}
	if !slices.IsSorted(user) || len(e.Permissions(DBA)) <= len(user) || !slices.Contains(e.Permissions(DBA), "database:backup") {
		t.Errorf("DBA %v, User %v", e.Permissions(DBA), user)
	}
}
