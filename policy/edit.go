package policy

import (
	"fmt"
	"sort"
)

// EditError explains why a policy edit is refused: the first decision it
// would change that the editor may not change.
type EditError struct {
	Editor Level
	Level  Level
	Object string
	Action string
	// Granted is true when the edit grants the right, false when it takes
	// it away.
	Granted bool
	// Why names the rule the edit breaks.
	Why string
}

func (e *EditError) Error() string {
	verb := "takes away"
	if e.Granted {
		verb = "grants"
	}
	return fmt.Sprintf("the edit %s %s %s from %s: %s", verb, e.Object, e.Action, e.Level, e.Why)
}

// CheckEdit applies the rule of policy edits (API.md §8) to a proposed
// policy:
//
//   - the lines of the editor's own level and of every higher one (their p
//     lines and the g lines that make them inherit) stay exactly as they are,
//     so the DBA's rights are fixed and nobody rewrites a peer's or a
//     superior's rights;
//   - every right any level gains, by any path (a p line, a g line, a g2 line
//     regrouping an object), is one the editor holds under the current
//     policy or under the configured one (base, the operator's file or the
//     built-in policy);
//   - the SystemAdmin keeps the right to edit the policy, whoever edits.
//
// Levels are inclusive, so a right taken from a lower level is also lost by
// the levels above that held it only through inheritance: a loss is never an
// escalation and is allowed, and the base policy lets an editor give back
// what an earlier edit took. What no editor can do is spread a right that
// only its superiors hold (the DBA's backup and restore) to itself or below,
// or invent one the operator never granted to its level. Gains are found by
// comparing every decision of the two policies on everything either names.
func CheckEdit(editor Level, base, current, proposed *Enforcer) error {
	if !editor.Valid() {
		return fmt.Errorf("level %d cannot edit the policy", int(editor))
	}
	if !proposed.Allowed(SystemAdmin, ObjPolicy, ActManage) {
		return &EditError{Editor: editor, Level: SystemAdmin, Object: ObjPolicy, Action: ActManage,
			Why: "the SystemAdmin's right to edit the policy is fixed"}
	}
	if err := checkOwnLines(editor, current, proposed); err != nil {
		return err
	}
	for _, k := range changedDecisions(current, proposed) {
		if !proposed.decisions[k] {
			continue // a loss
		}
		if !current.Allowed(editor, k.object, k.action) && !base.Allowed(editor, k.object, k.action) {
			return &EditError{Editor: editor, Level: k.level, Object: k.object, Action: k.action, Granted: true,
				Why: fmt.Sprintf("%s may grant only rights it holds", editor)}
		}
	}
	return nil
}

// checkOwnLines refuses an edit that adds or removes a line assigned to the
// editor's level or a higher one.
func checkOwnLines(editor Level, current, proposed *Enforcer) error {
	guarded := map[string]Level{}
	for l := DBA; l <= editor; l++ {
		guarded[l.Role()] = l
	}
	lines := func(e *Enforcer) map[string]Rule {
		out := map[string]Rule{}
		for _, r := range e.rules {
			if _, ok := guarded[r.Fields[0]]; ok && (r.Type == "p" || r.Type == "g") {
				out[r.String()] = r
			}
		}
		return out
	}
	was, now := lines(current), lines(proposed)
	for _, pair := range []struct {
		from, to map[string]Rule
		granted  bool
	}{{now, was, true}, {was, now, false}} {
		keys := make([]string, 0, len(pair.from))
		for k := range pair.from {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, kept := pair.to[k]; kept {
				continue
			}
			r := pair.from[k]
			e := &EditError{Editor: editor, Level: guarded[r.Fields[0]], Granted: pair.granted,
				Why: fmt.Sprintf("%s may change only the rights of levels below its own", editor)}
			if r.Type == "p" {
				e.Object, e.Action = r.Fields[1], r.Fields[2]
			} else {
				e.Object, e.Action = "role", r.Fields[1]
			}
			return e
		}
	}
	return nil
}

// changedDecisions lists the decisions on which a and b differ, highest
// level first, then by object and action, so the error an editor sees is the
// same on every run.
func changedDecisions(a, b *Enforcer) []decisionKey {
	var out []decisionKey
	for k := range a.decisions {
		if !b.decisions[k] {
			out = append(out, k)
		}
	}
	for k := range b.decisions {
		if !a.decisions[k] {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.level != y.level {
			return x.level < y.level
		}
		if x.object != y.object {
			return x.object < y.object
		}
		return x.action < y.action
	})
	return out
}
