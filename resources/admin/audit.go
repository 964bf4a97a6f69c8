package admin

import (
	"context"

	"github.com/tnt/gateway/resources"
)

// Audit lists the audit trail, newest first (`?action=…&actor=…&target=…`,
// `find`, `after`). Nothing in the API changes it.
func (a *Admin) Audit(ctx context.Context, p resources.Principal, params map[string][]string) (resources.Result, error) {
	if err := a.require(p, objAudit, actRead); err != nil {
		return resources.Result{}, err
	}
	data, err := a.audits.QueryFromParams(params)
	if err != nil {
		return resources.Result{}, err
	}
	if _, has := data[resources.KeySort]; !has {
		data[resources.KeySort] = "-" + resources.FieldCreatedAt
	}
	q, err := a.audits.ParseQuery(data, a.maxPage)
	if err != nil {
		return resources.Result{}, err
	}
	docs, next, err := resources.FindPage(ctx, a.store, resources.AuditCollection, q)
	if err != nil {
		return resources.Result{}, err
	}
	return resources.Result{Data: docs, Next: next}, nil
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
