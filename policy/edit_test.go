package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func defaultHolder(t *testing.T) *Holder {
	t.Helper()
	rules, err := ParseRules(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHolder(Config{Rules: rules, Groups: map[string]string{
		"gym": "data", "merchandise": "data", "profile": "profiles", "transaction_record": "ledger",
	}, Actions: []string{"create", "query", "query_own", "update", "update_own", "delete", "delete_own", "discover", "read_private"}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// edit returns the default policy without the lines of drop and with add.
func edit(h *Holder, drop []string, add ...string) []string {
	var out []string
	for _, l := range h.Base() {
		if !slices.Contains(drop, l) {
			out = append(out, l)
		}
	}
	return append(out, add...)
}

// TestCheckEdit: the rule of policy edits, case by case, including the
// escalation outside testing found (a SystemAdmin granting itself the DBA's
// backup and restore) and its variants through inheritance and groups.
func TestCheckEdit(t *testing.T) {
	h := defaultHolder(t)
	current, err := h.Compile(h.Base())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		editor  Level
		lines   []string
		allowed bool
	}{
		{"sysadmin grants itself backup", SystemAdmin, edit(h, nil, "p, sysadmin, database, backup"), false},
		{"sysadmin grants itself restore", SystemAdmin, edit(h, nil, "p, sysadmin, database, restore"), false},
		{"sysadmin strips the DBA of restore", SystemAdmin, edit(h, []string{"p, dba, database, restore"}), false},
		{"sysadmin drops its own policy right", SystemAdmin, edit(h, []string{"p, sysadmin, policy, manage"}), false},
		{"sysadmin drops a peer right of its own level", SystemAdmin, edit(h, []string{"p, sysadmin, audit, read"}), false},
		{"sysadmin cuts the DBA off inheritance", SystemAdmin, edit(h, []string{"g, dba, sysadmin"}), false},
		{"sysadmin makes admins inherit the DBA", SystemAdmin, edit(h, nil, "g, admin, dba"), false},
		{"sysadmin grants users backup", SystemAdmin, edit(h, nil, "p, user, database, backup"), false},
		{"sysadmin grants users a right nobody holds", SystemAdmin, edit(h, nil, "p, user, orders, create"), false},
		{"sysadmin regroups records so that every level may create them", SystemAdmin, edit(h, nil, "g2, transaction_record, data"), false},
		{"sysadmin regroups merchandise with profiles, holding every right it gives", SystemAdmin, edit(h, nil, "g2, merchandise, profiles"), true},
		{"sysadmin grants users delete on data, holding it", SystemAdmin, edit(h, nil, "p, user, data, delete"), true},
		{"sysadmin takes query from users", SystemAdmin, edit(h, []string{"p, user, data, query"}), true},
		{"sysadmin takes a right from admins", SystemAdmin, edit(h, []string{"p, admin, users, balance"}), true},
		{"sysadmin makes itself inherit users' rights twice over", SystemAdmin, edit(h, nil, "g, admin, user"), true},
		{"DBA grants sysadmin backup", DBA, edit(h, nil, "p, sysadmin, database, backup"), true},
		{"DBA drops sysadmin's policy right", DBA, edit(h, []string{"p, sysadmin, policy, manage"}), false},
		{"DBA grants users a right on a group no line names", DBA, edit(h, nil, "p, user, orders, create"), true},
		{"DBA grants users restore", DBA, edit(h, nil, "p, user, database, restore"), true},
		{"DBA takes audit from sysadmin", DBA, edit(h, []string{"p, sysadmin, audit, read"}), true},
		{"DBA drops its own restore", DBA, edit(h, []string{"p, dba, database, restore"}), false},
		{"DBA grants itself a new right", DBA, edit(h, nil, "p, dba, orders, create"), false},
		{"unchanged policy", SystemAdmin, h.Base(), true},
	}
	for _, c := range cases {
		proposed, err := h.Compile(c.lines)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = CheckEdit(c.editor, current, proposed)
		var edit *EditError
		switch {
		case c.allowed && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case !c.allowed && !errors.As(err, &edit):
			t.Errorf("%s: want an EditError, got %v", c.name, err)
		}
	}
}

func TestCheckEditRefusesUnknownEditor(t *testing.T) {
	h := defaultHolder(t)
	e, _ := h.Compile(h.Base())
	if err := CheckEdit(Level(9), e, e); err == nil {
		t.Error("level 9 may edit")
	}
}

// TestCheckEditGivesBackOnlyWhatTheEditorHolds: a right taken from users is
// lost by every level that held it through them, the DBA excepted; the
// SystemAdmin that took it no longer holds it and cannot give it back, the
// DBA can. The configured policy justifies nothing.
func TestCheckEditGivesBackOnlyWhatTheEditorHolds(t *testing.T) {
	h := defaultHolder(t)
	without := edit(h, []string{"p, user, data, query"})
	if err := h.CheckEdit(SystemAdmin, h.Base(), without); err != nil {
		t.Fatalf("take query from users: %v", err)
	}
	if err := h.CheckEdit(SystemAdmin, without, h.Base()); err == nil {
		t.Error("the SystemAdmin gave back a right it no longer holds")
	}
	if err := h.CheckEdit(DBA, without, h.Base()); err != nil {
		t.Errorf("the DBA gives it back: %v", err)
	}
	if err := h.CheckEdit(Admin, h.Base(), edit(h, []string{"p, admin, data, delete"})); err == nil {
		t.Error("an Admin rewrote its own level's lines")
	}
}

// TestSystemAdminCannotRegainWhatTheDBATook is the third outside round's
// finding: the DBA takes the audit trail from SystemAdmins; a SystemAdmin
// then grants it to Admins, and so to itself by inheritance. Refused, for
// every right the configured policy once gave the SystemAdmin.
func TestSystemAdminCannotRegainWhatTheDBATook(t *testing.T) {
	h := defaultHolder(t)
	for _, right := range []string{"p, sysadmin, audit, read", "p, sysadmin, users, manage", "p, sysadmin, collections, drop"} {
		taken := edit(h, []string{right})
		if err := h.CheckEdit(DBA, h.Base(), taken); err != nil {
			t.Fatalf("the DBA takes %s: %v", right, err)
		}
		parts := strings.Split(right, ", ")
		regain := append(append([]string{}, taken...), "p, admin, "+parts[2]+", "+parts[3])
		var edit *EditError
		if err := h.CheckEdit(SystemAdmin, taken, regain); !errors.As(err, &edit) || !edit.Granted {
			t.Errorf("a SystemAdmin regained %s through Admins: %v", right, err)
		}
		viaRole := append(append([]string{}, taken...), "g, admin, dba")
		if err := h.CheckEdit(SystemAdmin, taken, viaRole); err == nil {
			t.Errorf("a SystemAdmin regained %s through a role", right)
		}
	}
}

// TestLevelZeroHoldsEveryRight: by the model, on every resource, group and
// administrative object, whatever the lines say; a model that does not give
// level 0 every right is refused at start.
func TestLevelZeroHoldsEveryRight(t *testing.T) {
	rules, err := ParseRules("p, sysadmin, policy, manage\ng, dba, sysadmin")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEnforcer(Config{Rules: rules, Groups: map[string]string{"order": "orders", "gym": "data"},
		Actions: []string{"create", "query", "query_own", "backup", "restore"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range append([]string{"order", "orders", "gym", "data"}, AdminObjects()...) {
		for _, act := range []string{"create", "query", "query_own", "backup", "restore", "manage"} {
			if !e.Allowed(DBA, obj, act) {
				t.Errorf("the DBA lacks %s on %s", act, obj)
			}
		}
	}
	if e.Allowed(SystemAdmin, "order", "create") {
		t.Error("a SystemAdmin holds what no line gives it")
	}
	old := strings.Replace(DefaultModel(), `r.sub == "dba" || `, "", 1)
	if _, err := NewEnforcer(Config{Model: old, Rules: rules, Groups: map[string]string{"gym": "data"}}); err == nil {
		t.Error("a model without level 0's rights was accepted")
	}
}
