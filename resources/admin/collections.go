package admin

import (
	"context"

	"github.com/tnt/gateway/resources"
)

// DropRequest removes every document of a resource; Confirm must repeat
// the resource's name.
type DropRequest struct {
	Resource string
	Confirm  string
	IP       string
}

// Dropped is the answer of DropCollection.
type Dropped struct {
	Dropped string `json:"dropped"`
}

// DropCollection removes every document of a resource. The confirmation
// must repeat the name; account data (profiles, transaction records) cannot
// be dropped this way.
func (a *Admin) DropCollection(ctx context.Context, p resources.Principal, req DropRequest) (Dropped, error) {
	if err := a.require(p, objCollections, actDrop); err != nil {
		return Dropped{}, err
	}
	sc, err := a.reg.Schema(req.Resource)
	if err != nil {
		return Dropped{}, err
	}
	if req.Confirm != req.Resource {
		return Dropped{}, resources.Errorf(resources.EINVALIDREQUEST, "confirm=%s is required for the request", req.Resource)
	}
	if sc.Collection == resources.UsersCollection || sc.Collection == resources.RecordsCollection {
		return Dropped{}, resources.Errorf(resources.EPERMISSION, "%s holds account data and cannot be dropped", req.Resource)
	}
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := tx.Drop(ctx, sc.Collection); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, req.IP, "drop_collection", req.Resource, nil)
	})
	if err != nil {
		return Dropped{}, err
	}
	if a.files != nil {
		a.files.ForgetCollection(ctx, sc.Collection)
	}
	return Dropped{Dropped: req.Resource}, nil
}
