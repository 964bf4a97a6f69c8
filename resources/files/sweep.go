package files

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tnt/gateway/resources"
)

// Sweep removes what no document names any more: files of deleted
// documents and dropped collections whose removal failed, files stored by
// an upload that crashed before its document changed, thumbnails of
// removed files, and temporary files of cut-off writes. Only what was
// written more than grace ago is looked at, so uploads in flight are left
// alone. It reports how many blobs it removed and sets the stored bytes.
func (s *Service) Sweep(ctx context.Context, store resources.Store, reg *resources.Registry, grace time.Duration) (int, error) {
	fields := map[string][]*resources.Field{} // collection → file fields
	for _, sc := range reg.Schemas() {
		fields[sc.Collection] = append(fields[sc.Collection], sc.FileFields()...)
	}
	now := time.Now()
	var total int64
	var stale []string
	names := map[string]map[string]bool{} // collection/id → names it holds (nil: gone)
	err := s.cfg.Blobs.List(ctx, "", func(key string, size int64, written time.Time) error {
		total += size
		if now.Sub(written) < grace {
			return nil
		}
		if strings.HasPrefix(key, ".tmp/") {
			stale = append(stale, key)
			return nil
		}
		parts := strings.Split(key, "/")
		if len(parts) < 3 {
			stale = append(stale, key)
			return nil
		}
		doc := parts[0] + "/" + parts[1]
		held, seen := names[doc]
		if !seen {
			held = nil
			if d, err := store.Get(ctx, parts[0], parts[1]); err == nil {
				held = map[string]bool{}
				for _, f := range fields[parts[0]] {
					for _, n := range f.FileNames(d) {
						held[n] = true
					}
				}
			} else if !errors.Is(err, resources.ErrNotFound) {
				return err // the store cannot tell: remove nothing
			}
			names[doc] = held
		}
		name := parts[len(parts)-1]
		if IsThumbnail(key) {
			name, _, _ = strings.Cut(name, "-")
		}
		if !held[name] {
			stale = append(stale, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	var gone []string
	for _, key := range stale {
		var derr error
		if d, isDir := s.cfg.Blobs.(*Dir); isDir && strings.HasPrefix(key, ".tmp/") {
			derr = d.RemoveTemp(key)
		} else {
			derr = s.cfg.Blobs.Delete(ctx, key)
		}
		if derr == nil {
			removed++
			gone = append(gone, key)
		}
	}
	if len(gone) > 0 {
		if err := store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error { return forgetRecords(ctx, tx, gone) }); err != nil {
			return removed, err
		}
	}
	s.cfg.Observe.StoredBytes(total)
	return removed, nil
}
