package admin

import (
	"context"
	"maps"
	"time"

	"github.com/tnt/gateway/resources"
)

// Bounds in time of an audit listing (RFC 3339 instants).
const (
	paramSince = "since"
	paramUntil = "until"
)

// Audit lists the audit trail, newest first (`?action=…&actor=…&target=…`,
// `since` and `until` as RFC 3339 instants, `find`, `after`). Nothing in
// the API changes it.
func (a *Admin) Audit(ctx context.Context, p resources.Principal, params map[string][]string) (resources.Result, error) {
	if err := a.require(p, objAudit, actRead); err != nil {
		return resources.Result{}, err
	}
	params = maps.Clone(params)
	since, err := instantParam(params, paramSince)
	if err != nil {
		return resources.Result{}, err
	}
	until, err := instantParam(params, paramUntil)
	if err != nil {
		return resources.Result{}, err
	}
	data, err := a.audits.QueryFromParams(params)
	if err != nil {
		return resources.Result{}, err
	}
	if _, has := data[resources.KeySort]; !has {
		data[resources.KeySort] = "-" + resources.FieldCreatedAt
	} else if !since.IsZero() || !until.IsZero() {
		return resources.Result{}, resources.Errorf(resources.EVALUE, "since and until list newest first: they take no sort")
	}
	q, err := a.audits.ParseQuery(data, a.maxPage)
	if err != nil {
		return resources.Result{}, err
	}
	if !until.IsZero() && q.After == nil {
		// Newest first, starting after the instant: entries strictly
		// before it (no id sorts below the empty one).
		q.After = &resources.Cursor{Value: resources.FormatTime(until)}
	}
	docs, next, err := resources.FindPage(ctx, a.store, resources.AuditCollection, q)
	if err != nil {
		return resources.Result{}, err
	}
	if !since.IsZero() {
		// Newest first: the first entry older than since ends the listing.
		bound := resources.FormatTime(since)
		for i, d := range docs {
			if at, _ := d[resources.FieldCreatedAt].(string); at < bound {
				docs, next = docs[:i], ""
				break
			}
		}
	}
	return resources.Result{Data: docs, Next: next}, nil
}

// CanSeeStatus decides whether the caller may read the gateway's status
// (stores, build, keys): whoever reads the audit trail may.
func (a *Admin) CanSeeStatus(p resources.Principal) error {
	return a.require(p, objAudit, actRead)
}

// instantParam takes an RFC 3339 instant out of the query parameters; zero
// when absent.
func instantParam(params map[string][]string, name string) (time.Time, error) {
	vs, has := params[name]
	delete(params, name)
	if !has {
		return time.Time{}, nil
	}
	if len(vs) != 1 {
		return time.Time{}, resources.Errorf(resources.EVALUE, "%s must be given once", name)
	}
	t, err := time.Parse(time.RFC3339Nano, vs[0])
	if err != nil {
		return time.Time{}, resources.Errorf(resources.EVALUE, "%s must be an RFC 3339 instant such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// auditSchema describes audit entries for filtering and paging.
func auditSchema() *resources.Schema {
	str := func() *resources.Field { return &resources.Field{Type: resources.TypeString} }
	s := &resources.Schema{Name: "audit", Fields: map[string]*resources.Field{
		"actor": str(), "actor_username": str(), "action": str(), "target": str(), "ip": str(),
		"actor_level": {Type: resources.TypeInt},
	}, Operations: []string{resources.OpQuery}}
	if err := s.Compile(); err != nil {
		panic(err) // a programming error in the literal above
	}
	return s
}
