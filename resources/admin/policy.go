package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// PolicyEditor checks and applies whole policies (*policy.Holder).
type PolicyEditor interface {
	// Lines and Version are the policy in force.
	Lines() []string
	Version() int64
	// Derived are the g2 lines the resource registry adds (resource →
	// group); no edit changes them.
	Derived() []string
	// Base is the configured policy, in force while none is stored.
	Base() []string
	// Parse checks that lines form a policy.
	Parse(lines []string) error
	// CheckEdit decides whether an editor of the level may replace current
	// with proposed (API.md §8); a *policy.EditError says why not.
	CheckEdit(editor policy.Level, current, proposed []string) error
	// Check checks that lines form a policy that may be in force.
	Check(lines []string) error
	// Put puts lines in force with their stored version.
	Put(lines []string, version int64) error
}

// Bounds of a policy given through the API.
const (
	maxPolicyLines = 2000
	maxPolicyLine  = 512
)

// PolicyView is a policy and its stored version (0: the configured one).
// Lines are what an editor replaces; Derived are the g2 lines that place
// each resource in its group, from the registry: Lines and Derived together
// are the whole Casbin policy in force.
type PolicyView struct {
	Lines   []string `json:"lines"`
	Version int64    `json:"version"`
	Derived []string `json:"derived"`
}

// PolicyChange replaces the whole policy.
type PolicyChange struct {
	Lines []string
	IP    string
}

// policySettingID is the id of the stored policy in the settings.
const policySettingID = "policy"

// Policy returns the policy in force.
func (a *Admin) Policy(p resources.Principal) (PolicyView, error) {
	if err := a.require(p, objPolicy, actManage); err != nil {
		return PolicyView{}, err
	}
	return PolicyView{Lines: a.policy.Lines(), Version: a.policy.Version(), Derived: a.policy.Derived()}, nil
}

// ReplacePolicy checks a whole new policy, stores it with the next version
// and applies it; other replicas pick the version up (SyncPolicy). The edit
// is checked inside the transaction that stores it, against the policy
// stored there, so two editors racing each other cannot both pass a check
// against a policy the other is replacing.
func (a *Admin) ReplacePolicy(ctx context.Context, p resources.Principal, req PolicyChange) (PolicyView, error) {
	if err := a.require(p, objPolicy, actManage); err != nil {
		return PolicyView{}, err
	}
	lines := req.Lines
	if err := boundLines(lines); err != nil {
		return PolicyView{}, err
	}
	var version int64
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		_, stored, err := a.checkAgainstStored(ctx, tx, p, lines)
		if err != nil {
			return err
		}
		version = stored + 1
		if err := writePolicy(ctx, tx, lines, version, a.now(), p.UserID); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, req.IP, "replace_policy", "policy", resources.Document{"version": version, "lines": int64(len(lines))})
	})
	if err != nil {
		return PolicyView{}, err
	}
	if err := a.policy.Put(lines, version); err != nil {
		return PolicyView{}, err
	}
	return PolicyView{Lines: a.policy.Lines(), Version: version, Derived: a.policy.Derived()}, nil
}

// checkAgainstStored decides an edit to lines against the policy stored in
// tx (the configured one while none is) and returns that policy and its
// version.
func (a *Admin) checkAgainstStored(ctx context.Context, tx resources.Tx, p resources.Principal, lines []string) ([]string, int64, error) {
	current, stored, err := storedPolicy(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	if stored == 0 {
		current = a.policy.Base()
	}
	return current, stored, a.checkEdit(p, current, lines)
}

// boundLines refuses a policy too long, empty, or with a line too long.
func boundLines(lines []string) error {
	if len(lines) == 0 || len(lines) > maxPolicyLines {
		return InvalidField("lines")
	}
	for i, l := range lines {
		if len(l) > maxPolicyLine {
			return InvalidLine(i)
		}
	}
	return nil
}

// PolicyPreview is what replacing the policy would change: the lines it
// would add and remove, in their order, each written as `p, admin, gym,
// update` whatever its spacing.
type PolicyPreview struct {
	Version int64    `json:"version"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// PreviewPolicy checks a whole new policy exactly as ReplacePolicy would,
// against the policy stored now, and answers what would change, or the
// error ReplacePolicy would answer. Nothing is stored or audited.
func (a *Admin) PreviewPolicy(ctx context.Context, p resources.Principal, req PolicyChange) (PolicyPreview, error) {
	if err := a.require(p, objPolicy, actManage); err != nil {
		return PolicyPreview{}, err
	}
	if err := boundLines(req.Lines); err != nil {
		return PolicyPreview{}, err
	}
	var out PolicyPreview
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		current, stored, err := a.checkAgainstStored(ctx, tx, p, req.Lines)
		if err != nil {
			return err
		}
		out = PolicyPreview{Version: stored, Added: lineDiff(req.Lines, current), Removed: lineDiff(current, req.Lines)}
		return nil
	})
	return out, err
}

// lineDiff lists the rules of a that b lacks, blank lines and comments
// left out.
func lineDiff(a, b []string) []string {
	has := map[string]bool{}
	for _, l := range b {
		has[canonicalLine(l)] = true
	}
	out := []string{}
	for _, l := range a {
		l = canonicalLine(l)
		if l == "" || strings.HasPrefix(l, "#") || has[l] {
			continue
		}
		has[l] = true
		out = append(out, l)
	}
	return out
}

// canonicalLine writes a policy line with one space after each comma.
func canonicalLine(l string) string {
	l = strings.TrimSpace(l)
	if strings.HasPrefix(l, "#") {
		return l
	}
	parts := strings.Split(l, ",")
	for i, part := range parts {
		parts[i] = strings.TrimSpace(part)
	}
	return strings.Join(parts, ", ")
}

// policySetting is the stored policy, translated at the store edge.
type policySetting struct {
	Lines     []string
	Version   int64
	UpdatedAt time.Time
	By        string
}

func (p policySetting) document() resources.Document {
	lines := make([]any, len(p.Lines))
	for i, l := range p.Lines {
		lines[i] = l
	}
	return resources.Document{"lines": lines, "version": p.Version, resources.FieldUpdatedAt: resources.FormatTime(p.UpdatedAt), "by": p.By}
}

func policySettingFrom(d resources.Document) policySetting {
	v, _ := resources.AsInt(d["version"])
	raw, _ := d["lines"].([]any)
	p := policySetting{Version: v, By: resources.AsString(d["by"]), Lines: make([]string, 0, len(raw))}
	p.UpdatedAt, _ = time.Parse(time.RFC3339Nano, resources.AsString(d[resources.FieldUpdatedAt]))
	for _, l := range raw {
		p.Lines = append(p.Lines, resources.AsString(l))
	}
	return p
}

// storedPolicy reads the stored policy and its version (0: none stored).
func storedPolicy(ctx context.Context, g resources.Getter) ([]string, int64, error) {
	d, err := g.Get(ctx, resources.SettingsCollection, policySettingID)
	if errors.Is(err, resources.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	p := policySettingFrom(d)
	return p.Lines, p.Version, nil
}

// writePolicy stores lines as the policy of the version.
func writePolicy(ctx context.Context, tx resources.Tx, lines []string, version int64, now time.Time, by string) error {
	doc := policySetting{Lines: lines, Version: version, UpdatedAt: now, By: by}.document()
	_, err := tx.Get(ctx, resources.SettingsCollection, policySettingID)
	switch {
	case err == nil:
		_, err = tx.Update(ctx, resources.SettingsCollection, policySettingID, doc, nil)
		return err
	case !errors.Is(err, resources.ErrNotFound):
		return err
	}
	doc[resources.FieldID] = policySettingID
	return tx.Insert(ctx, resources.SettingsCollection, doc)
}

// SyncPolicy applies the stored policy when it is newer than the one in
// force. Every replica calls it at start and then every few seconds.
func (a *Admin) SyncPolicy(ctx context.Context) error {
	lines, v, err := storedPolicy(ctx, a.store)
	if err != nil || v <= a.policy.Version() {
		return err
	}
	return a.policy.Put(lines, v)
}

// checkEdit applies the rule of policy edits in the domain's words: 400 for
// lines that are no policy, 403 for an edit the caller may not make.
func (a *Admin) checkEdit(p resources.Principal, current, proposed []string) error {
	if err := a.policy.Parse(proposed); err != nil {
		return resources.Errorf(resources.EVALUE, "the policy is refused: %s", err.Error())
	}
	err := a.policy.CheckEdit(p.Role(), current, proposed)
	var edit *policy.EditError
	switch {
	case errors.As(err, &edit):
		return resources.Errorf(resources.EPERMISSION, "the policy is refused: %s; nothing was changed", edit.Error())
	case err != nil:
		return fmt.Errorf("policy edit: %w", err)
	}
	return nil
}
