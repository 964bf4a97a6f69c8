package files

import (
	"context"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// Every stored file has a record (resources.FilesCollection): its key, who
// uploaded it and its size; each user's total is kept beside them
// (resources.FileUsageCollection) and changed in the transaction that
// changes a document's files, so two uploads racing a quota cannot both
// pass it.

// RefusedQuota is an upload over its uploader's quota.
const RefusedQuota = "quota"

// stored is a file an upload stored, before its document names it.
type stored struct {
	key  string
	size int64
}

// account records new files for their uploader (refusing them past the
// quota) and forgets the records of files leaving the document.
func (s *Service) account(ctx context.Context, tx resources.Tx, user string, added []stored, gone []string) error {
	// What leaves first: a replaced file's bytes count no more.
	if err := forgetRecords(ctx, tx, gone); err != nil {
		return err
	}
	var total int64
	for _, f := range added {
		total += f.size
	}
	if len(added) > 0 {
		used, err := usage(ctx, tx, user)
		if err != nil {
			return err
		}
		if s.cfg.QuotaPerUser > 0 && used+total > s.cfg.QuotaPerUser {
			return s.refused(RefusedQuota, resources.Errorf(resources.ETOOLARGE, "your files would take %d bytes; your quota is %d bytes", used+total, s.cfg.QuotaPerUser))
		}
		if err := setUsage(ctx, tx, user, used+total); err != nil {
			return err
		}
		now := resources.FormatTime(time.Now())
		for _, f := range added {
			if err := tx.Insert(ctx, resources.FilesCollection, resources.Document{resources.FieldID: f.key, "user": user, "size": f.size, resources.FieldCreatedAt: now}); err != nil {
				return err
			}
		}
	}
	return nil
}

// forgetRecords drops the records of files, and gives their bytes back to
// their uploaders.
func forgetRecords(ctx context.Context, tx resources.Tx, keys []string) error {
	for _, key := range keys {
		d, err := tx.Get(ctx, resources.FilesCollection, key)
		if errors.Is(err, resources.ErrNotFound) {
			continue // stored before records were kept, or a thumbnail
		}
		if err != nil {
			return err
		}
		user := resources.AsString(d["user"])
		size, _ := resources.AsInt(d["size"])
		used, err := usage(ctx, tx, user)
		if err != nil {
			return err
		}
		if err := setUsage(ctx, tx, user, max(0, used-size)); err != nil {
			return err
		}
		if err := tx.Delete(ctx, resources.FilesCollection, key); err != nil {
			return err
		}
	}
	return nil
}

func usage(ctx context.Context, g resources.Getter, user string) (int64, error) {
	d, err := g.Get(ctx, resources.FileUsageCollection, user)
	if errors.Is(err, resources.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, _ := resources.AsInt(d["bytes"])
	return n, nil
}

func setUsage(ctx context.Context, tx resources.Tx, user string, n int64) error {
	_, err := tx.Update(ctx, resources.FileUsageCollection, user, resources.Document{"bytes": n}, nil)
	if errors.Is(err, resources.ErrNotFound) {
		return tx.Insert(ctx, resources.FileUsageCollection, resources.Document{resources.FieldID: user, "bytes": n})
	}
	return err
}
