package policy

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

//go:embed model.conf
var defaultModel string

//go:embed policy.csv
var defaultPolicy string

// DefaultModel returns the embedded Casbin model.
func DefaultModel() string { return defaultModel }

// DefaultPolicy returns the embedded default policy (Casbin CSV).
func DefaultPolicy() string { return defaultPolicy }

var namePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// Rule is one policy line: p (sub, obj, act), g (role inherits role) or g2
// (object belongs to group).
type Rule struct {
	Type   string
	Fields []string
}

// String renders the rule as a Casbin CSV line.
func (r Rule) String() string { return r.Type + ", " + strings.Join(r.Fields, ", ") }

// ParseRules reads Casbin CSV policy text strictly: blank lines and # comments
// are skipped; every other line is p with three names or g/g2 with two, each
// name of [a-z0-9_]. Anything else (quotes, expressions, extra columns) is an
// error naming the line, so a policy can never smuggle in an expression.
func ParseRules(text string) ([]Rule, error) {
	var rules []Rule
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ",")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		want := map[string]int{"p": 4, "g": 3, "g2": 3}[parts[0]]
		if want == 0 || len(parts) != want {
			return nil, fmt.Errorf("policy line %d: want \"p, subject, object, action\", \"g, role, parent\" or \"g2, object, group\"", i+1)
		}
		for _, name := range parts[1:] {
			if !namePattern.MatchString(name) {
				return nil, fmt.Errorf("policy line %d: %q is not a name of a-z, 0-9 and _", i+1, name)
			}
		}
		rules = append(rules, Rule{Type: parts[0], Fields: parts[1:]})
	}
	return rules, nil
}

// Config is what an Enforcer is built from.
type Config struct {
	// Model is Casbin model text; DefaultModel() when empty.
	Model string
	// Rules is the policy.
	Rules []Rule
	// Groups maps each resource to the object group it belongs to.
	Groups map[string]string
	// Actions are the actions the gateway asks about, beside those the
	// policy names.
	Actions []string
}

type decisionKey struct {
	level          Level
	object, action string
}

// Enforcer answers policy questions. Casbin decides every (level, object,
// action) once when the enforcer is built; a question at request time is a
// map lookup that does not allocate. An Enforcer is immutable: a new policy
// means a new Enforcer.
type Enforcer struct {
	rules     []Rule
	decisions map[decisionKey]bool
	// groups are the names that stand for groups of resources, not for
	// a resource or an object of their own.
	groups map[string]bool
}

// NewEnforcer builds an enforcer with Casbin from the model and rules.
func NewEnforcer(cfg Config) (*Enforcer, error) {
	text := cfg.Model
	if text == "" {
		text = defaultModel
	}
	m, err := model.NewModelFromString(text)
	if err != nil {
		return nil, fmt.Errorf("policy model: %w", err)
	}
	ce, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("policy model: %w", err)
	}
	ce.EnableLog(false)
	byType := map[string][][]string{}
	objects := map[string]bool{}
	for _, o := range AdminObjects() {
		objects[o] = true
	}
	actions := map[string]bool{}
	for _, a := range AdminActions() {
		actions[a] = true
	}
	for _, a := range cfg.Actions {
		actions[a] = true
	}
	for _, r := range cfg.Rules {
		byType[r.Type] = append(byType[r.Type], r.Fields)
		if r.Type == "p" {
			objects[r.Fields[1]] = true
			actions[r.Fields[2]] = true
		}
	}
	for res, group := range cfg.Groups {
		if !namePattern.MatchString(res) || !namePattern.MatchString(group) {
			return nil, fmt.Errorf("policy: resource %q or group %q is not a name", res, group)
		}
		byType["g2"] = append(byType["g2"], []string{res, group})
		objects[res], objects[group] = true, true
	}
	for _, t := range []string{"p", "g", "g2"} {
		if len(byType[t]) == 0 {
			continue
		}
		add := ce.AddNamedGroupingPolicies
		if t == "p" {
			add = ce.AddNamedPolicies
		}
		if _, err := add(t, byType[t]); err != nil {
			return nil, fmt.Errorf("policy %s rules: %w", t, err)
		}
	}
	e := &Enforcer{rules: cfg.Rules, decisions: make(map[decisionKey]bool), groups: map[string]bool{}}
	for _, g := range cfg.Groups {
		e.groups[g] = true
	}
	for res := range cfg.Groups {
		delete(e.groups, res)
	}
	for l := DBA; l <= Guest; l++ {
		for obj := range objects {
			for act := range actions {
				ok, err := ce.Enforce(l.Role(), obj, act)
				if err != nil {
					return nil, fmt.Errorf("policy: deciding %s %s %s: %w", l.Role(), obj, act, err)
				}
				if ok {
					e.decisions[decisionKey{l, obj, act}] = true
				} else if l == DBA {
					return nil, fmt.Errorf("policy model: level 0 (dba) must hold every right by the model itself (API.md §8), and it does not hold %s on %s", act, obj)
				}
			}
		}
	}
	return e, nil
}

// AdminActions are the actions of the administration routes, which every
// policy decides on whether or not its lines name them.
func AdminActions() []string {
	return []string{ActManage, ActDrop, ActRead, ActBackup, ActRestore}
}

// AdminObjects are the objects of the administration and the wallet, which
// every policy decides on whether or not its lines name them.
func AdminObjects() []string {
	return []string{ObjPolicy, ObjUsers, ObjCollections, ObjAudit, ObjDatabase, ObjWallet}
}

// Allowed reports whether level l holds action on object (a resource name,
// or an object named in the policy). Unknown levels, objects and actions are
// refused.
func (e *Enforcer) Allowed(l Level, object, action string) bool {
	return e.decisions[decisionKey{l, object, action}]
}

// Permissions lists what a level may do, as "object:action", sorted: every
// resource and every object of the administration and the wallet, never a
// group name (a right on a group shows as the right on each of its
// resources).
func (e *Enforcer) Permissions(l Level) []string {
	var out []string
	for k := range e.decisions {
		if k.level == l && !e.groups[k.object] {
			out = append(out, k.object+":"+k.action)
		}
	}
	sort.Strings(out)
	return out
}

// Lines returns the policy as Casbin CSV lines, sorted.
func (e *Enforcer) Lines() []string {
	out := make([]string, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.String()
	}
	sort.Strings(out)
	return out
}
