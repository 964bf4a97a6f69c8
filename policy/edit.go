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
	if e.Granted {
		return fmt.Sprintf("the edit grants %s %s to %s: %s", e.Object, e.Action, e.Level, e.Why)
	}
	return fmt.Sprintf("the edit takes %s %s away from %s: %s", e.Object, e.Action, e.Level, e.Why)
}

// CheckEdit applies the rule of policy edits (API.md §8) to a proposed
// policy:
//
//   - the lines of the editor's own level and of every higher one (their p
//     lines and the g lines that make them inherit) stay exactly as they are,
//     so nobody rewrites a peer's or a superior's rights;
//   - every right any level gains, by any path (a p line, a g line, a g2 line
//     regrouping an object), is one the editor holds under the current
//     policy: what a superior took from the editor stays taken, whatever
//     the configured policy once gave;
//   - the SystemAdmin keeps the right to edit the policy, whoever edits.
//
// Level 0 holds every right by the model, so the DBA may grant anything to
// the levels below and no edit takes a right from it. Levels are inclusive,
// so a right taken from a lower level is also lost by the levels above that
// held it only through inheritance (the DBA excepted): a loss is never an
// escalation and is allowed, and only an editor that still holds the right
// can give it back. Gains are found by comparing every decision of the two
// policies on everything either names.
func CheckEdit(editor Level, current, proposed *Enforcer) error {
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
		// Level 0 holds every right by the model (NewEnforcer refuses a
		// model that says otherwise), also on objects only the proposed
		// policy names.
		if editor != DBA && !current.Allowed(editor, k.object, k.action) {
			return &EditError{Editor: editor, Level: k.level, Object: k.object, Action: k.action, Granted: true,
				Why: fmt.Sprintf("%s may grant only rights it holds now", editor)}
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
	// Level 0's decisions are the model's, not the lines': it holds
	// every right under any policy, also on names only one of them uses.
	for k := range a.decisions {
		if !b.decisions[k] && k.level != DBA {
			out = append(out, k)
		}
	}
	for k := range b.decisions {
		if !a.decisions[k] && k.level != DBA {
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
