package admin

import (
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"slices"

	"github.com/tnt/gateway/resources"
)

// The backup archive: gzip of JSON lines — a header naming the format,
// version and collections; one line per document; a trailer with the count
// of documents, the id of the archive key and the HMAC-SHA256 under that key
// of every line before it. Whoever holds an archive but not the key cannot
// change it, nor its trailer, without the restore refusing it. It holds
// plain JSON, so an archive from one backend restores on the other.
const (
	backupFormat  = "gateway-backup"
	backupVersion = 2
	maxBackupLine = 16 << 20
	// maxArchiveBytes bounds an archive once decompressed: the restore holds
	// it in memory, and a small gzip can expand without limit.
	maxArchiveBytes = 4 << 30
)

type backupHeader struct {
	Format      string   `json:"format"`
	Version     int      `json:"version"`
	CreatedAt   string   `json:"created_at"`
	Collections []string `json:"collections"`
	// Files says the archive holds the uploaded files after the documents.
	Files bool `json:"files,omitempty"`
}

type backupTrailer struct {
	End       bool   `json:"end"`
	Documents int64  `json:"documents"`
	Files     int64  `json:"files,omitempty"`
	Key       string `json:"key"`
	HMAC      string `json:"hmac"`
}

// archiveMAC returns the archive key's id and a fresh HMAC under it.
func (a *Admin) archiveMAC() (string, hash.Hash, error) {
	if a.archive == nil {
		return "", nil, resources.Errorf(resources.EUNAVAILABLE, "no archive key is configured")
	}
	kid, secret := a.archive()
	if len(secret) < 32 {
		return "", nil, resources.Errorf(resources.EUNAVAILABLE, "no archive key is configured")
	}
	return kid, hmac.New(sha256.New, secret), nil
}

// collections lists every collection a backup holds.
func (a *Admin) collections() []string {
	set := []string{resources.UsersCollection, resources.IdempotencyCollection, resources.AuditCollection, resources.SettingsCollection,
		resources.FilesCollection, resources.FileUsageCollection}
	for _, n := range a.reg.Names() {
		sc, _ := a.reg.Schema(n)
		set = append(set, sc.Collection)
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// CanBackup answers whether the caller may take a backup, without taking
// one (HEAD of the backup route).
func (a *Admin) CanBackup(p resources.Principal) error {
	return a.require(p, objDatabase, actBackup)
}

// Backup streams a consistent archive of every collection to w. The backup
// is audited before it starts.
func (a *Admin) Backup(ctx context.Context, p resources.Principal, w io.Writer, ip string) error {
	if err := a.require(p, objDatabase, actBackup); err != nil {
		return err
	}
	kid, sum, err := a.archiveMAC()
	if err != nil {
		return err
	}
	if err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		return a.audit(ctx, tx, p, ip, "backup", "database", nil)
	}); err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	out := io.MultiWriter(zw, sum)
	colls := a.collections()
	if err := writeLine(out, backupHeader{Format: backupFormat, Version: backupVersion, CreatedAt: resources.FormatTime(a.now()), Collections: colls,
		Files: a.blobs != nil}); err != nil {
		return err
	}
	var count, fileCount int64
	err = a.store.ReadSnapshot(ctx, func(ctx context.Context, r resources.Tx) error {
		for _, c := range colls {
			q := resources.Query{SortPath: resources.FieldID, Limit: 1000}
			for {
				docs, err := r.Find(ctx, c, q)
				if err != nil {
					return err
				}
				for _, d := range docs {
					if err := writeLine(out, map[string]any{"c": c, "d": d}); err != nil {
						return err
					}
					count++
				}
				if len(docs) < q.Limit {
					break
				}
				q.After = &resources.Cursor{ID: resources.AsString(docs[len(docs)-1][resources.FieldID])}
			}
		}
		if a.blobs == nil {
			return nil
		}
		// Files are immutable under their names; one removed (with its
		// document) after the snapshot began is left out.
		fileCount, err = a.backupFiles(ctx, out)
		return err
	})
	if err != nil {
		return err
	}
	if err := writeLine(zw, backupTrailer{End: true, Documents: count, Files: fileCount, Key: kid, HMAC: hex.EncodeToString(sum.Sum(nil))}); err != nil {
		return err
	}
	return zw.Close()
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
