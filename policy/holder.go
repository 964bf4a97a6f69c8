package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Holder keeps the policy in force and swaps it whole when an operator
// replaces it, so a request sees either the old policy or the new one,
// never a mix. Model, resource groups and actions stay as configured.
type Holder struct {
	cfg     Config
	cur     atomic.Pointer[Enforcer]
	mu      sync.Mutex
	version int64
}

// NewHolder builds the first policy from cfg.
func NewHolder(cfg Config) (*Holder, error) {
	e, err := NewEnforcer(cfg)
	if err != nil {
		return nil, err
	}
	h := &Holder{cfg: cfg}
	h.cur.Store(e)
	return h, nil
}

// Allowed asks the policy in force.
func (h *Holder) Allowed(l Level, object, action string) bool {
	return h.cur.Load().Allowed(l, object, action)
}

// Permissions lists what a level may do under the policy in force.
func (h *Holder) Permissions(l Level) []string { return h.cur.Load().Permissions(l) }

// Derived returns the g2 lines that place each resource in its group
// (`g2, gym, data`), sorted. They come from the resource registry, not from
// the policy text: they change when a resources file does, never through
// an edit of the policy.
func (h *Holder) Derived() []string {
	out := make([]string, 0, len(h.cfg.Groups))
	for res, group := range h.cfg.Groups {
		out = append(out, Rule{Type: "g2", Fields: []string{res, group}}.String())
	}
	sort.Strings(out)
	return out
}

// Lines returns the policy in force as CSV lines.
func (h *Holder) Lines() []string { return h.cur.Load().Lines() }

// Version is the stored version of the policy in force (0: the configured one).
func (h *Holder) Version() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.version
}

// ErrLockout refuses a policy under which no SystemAdmin could change the
// policy again.
var ErrLockout = errors.New("the policy would lock every SystemAdmin out of the policy")

// Base returns the configured policy (from the built-in or the operator's
// file) as CSV lines: the policy in force until one is stored through the
// API.
func (h *Holder) Base() []string {
	out := make([]string, len(h.cfg.Rules))
	for i, r := range h.cfg.Rules {
		out[i] = r.String()
	}
	return out
}

// Build checks lines as a whole policy: every line well-formed, the model
// able to decide with it, and SystemAdmins still able to manage the policy.
func (h *Holder) Build(lines []string) (*Enforcer, error) {
	e, err := h.Compile(lines)
	if err != nil {
		return nil, err
	}
	if !e.Allowed(SystemAdmin, ObjPolicy, ActManage) {
		return nil, ErrLockout
	}
	return e, nil
}

// Parse checks that lines form a policy, whoever may put it in force.
func (h *Holder) Parse(lines []string) error {
	_, err := h.Compile(lines)
	return err
}

// Check checks that lines form a policy that may be in force (Build).
func (h *Holder) Check(lines []string) error {
	_, err := h.Build(lines)
	return err
}

// Put builds lines and puts them in force with their stored version.
func (h *Holder) Put(lines []string, version int64) error {
	e, err := h.Build(lines)
	if err != nil {
		return err
	}
	h.Apply(e, version)
	return nil
}

// CheckEdit decides whether an editor of the level may replace the current
// policy with the proposed one (see the package function CheckEdit); both
// are given as lines.
func (h *Holder) CheckEdit(editor Level, current, proposed []string) error {
	next, err := h.Compile(proposed)
	if err != nil {
		return err
	}
	cur, err := h.Compile(current)
	if err != nil {
		return fmt.Errorf("the current policy: %w", err)
	}
	return CheckEdit(editor, cur, next)
}

// Compile builds lines into an enforcer with the holder's model, groups and
// actions, checking only that they form a policy; CheckEdit then decides
// whether an editor may put it in force.
func (h *Holder) Compile(lines []string) (*Enforcer, error) {
	for i, l := range lines {
		if strings.ContainsAny(l, "\n\r") {
			return nil, fmt.Errorf("policy line %d holds a line break", i+1)
		}
	}
	rules, err := ParseRules(strings.Join(lines, "\n"))
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		return nil, errors.New("the policy is empty")
	}
	cfg := h.cfg
	cfg.Rules = rules
	return NewEnforcer(cfg)
}

// Apply puts a built policy in force with its stored version; an older
// version than the one in force is ignored (replicas converge on the newest).
func (h *Holder) Apply(e *Enforcer, version int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if version < h.version {
		return false
	}
	h.version = version
	h.cur.Store(e)
	return true
}

// Objects and actions of the administration routes.
const (
	ObjPolicy      = "policy"
	ObjUsers       = "users"
	ObjCollections = "collections"
	ObjAudit       = "audit"
	ObjDatabase    = "database"
	ObjWallet      = "wallet"
	ActManage      = "manage"
	ActDrop        = "drop"
	ActRead        = "read"
	ActBackup      = "backup"
	ActRestore     = "restore"
)
