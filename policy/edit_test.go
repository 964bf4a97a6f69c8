package policy

import (
	"errors"
	"slices"
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
		{"DBA drops its own restore", DBA, edit(h, []string{"p, dba, database, restore"}), false},
		{"DBA grants itself a new right", DBA, edit(h, nil, "p, dba, orders, create"), false},
		{"unchanged policy", SystemAdmin, h.Base(), true},
	}
	for _, c := range cases {
		proposed, err := h.Compile(c.lines)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = CheckEdit(c.editor, current, current, proposed)
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
	if err := CheckEdit(Level(9), e, e, e); err == nil {
		t.Error("level 9 may edit")
	}
}

// TestCheckEditGivesBackWhatAnEditTook: a right taken from users (and so
// from every level) can be given back by the same editor, because the
// configured policy granted it; a right the configured policy never gave the
// editor cannot be introduced that way.
func TestCheckEditGivesBackWhatAnEditTook(t *testing.T) {
	h := defaultHolder(t)
	without := edit(h, []string{"p, user, data, query"})
	if err := h.CheckEdit(SystemAdmin, h.Base(), without); err != nil {
		t.Fatalf("take query from users: %v", err)
	}
	if err := h.CheckEdit(SystemAdmin, without, h.Base()); err != nil {
		t.Errorf("give it back: %v", err)
	}
	if err := h.CheckEdit(SystemAdmin, without, append(without, "p, user, database, restore")); err == nil {
		t.Error("a superior's right given to users")
	}
	if err := h.CheckEdit(Admin, h.Base(), edit(h, []string{"p, admin, data, delete"})); err == nil {
		t.Error("an Admin rewrote its own level's lines")
	}
}
