package resources

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
)

// The backup archive: gzip of JSON lines — a header naming the format,
// version and collections; one line per document; a trailer with the count
// of documents and the SHA-256 of every line before it. It holds plain JSON,
// so an archive from one backend restores on the other.
const (
	backupFormat  = "gateway-backup"
	backupVersion = 1
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
}

type backupTrailer struct {
	End       bool   `json:"end"`
	Documents int64  `json:"documents"`
	SHA256    string `json:"sha256"`
}

// collections lists every collection a backup holds.
func (a *Admin) collections() []string {
	set := []string{UsersCollection, IdempotencyCollection, AuditCollection, SettingsCollection}
	for _, n := range a.reg.Names() {
		sc, _ := a.reg.Schema(n)
		set = append(set, sc.Collection)
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// Backup streams a consistent archive of every collection to w. The backup
// is audited before it starts.
func (a *Admin) Backup(ctx context.Context, p Principal, w io.Writer, ip string) error {
	if err := a.require(p, objDatabase, actBackup); err != nil {
		return err
	}
	if err := a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		return a.audit(ctx, tx, p, ip, "backup", "database", nil)
	}); err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	sum := sha256.New()
	out := io.MultiWriter(zw, sum)
	colls := a.collections()
	if err := writeLine(out, backupHeader{Format: backupFormat, Version: backupVersion, CreatedAt: FormatTime(a.now()), Collections: colls}); err != nil {
		return err
	}
	var count int64
	err := a.store.ReadSnapshot(ctx, func(ctx context.Context, r Tx) error {
		for _, c := range colls {
			q := Query{SortPath: FieldID, Limit: 1000}
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
				q.After = &Cursor{ID: stringOf(docs[len(docs)-1][FieldID])}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := writeLine(zw, backupTrailer{End: true, Documents: count, SHA256: hex.EncodeToString(sum.Sum(nil))}); err != nil {
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

// corrupt is the refusal of an archive that does not verify.
func corrupt(why string) error {
	return Errorf(EINVALIDREQUEST, "the archive is corrupt or truncated (%s); nothing was changed", why)
}

// Restore reads a whole archive, verifies it completely (format, every
// line, the document count and the checksum) and only then replaces every
// collection it holds, in one transaction. A truncated or altered archive
// changes nothing.
func (a *Admin) Restore(ctx context.Context, p Principal, r io.Reader, ip string) (Document, error) {
	if err := a.require(p, objDatabase, actRestore); err != nil {
		return nil, err
	}
	byColl, count, err := a.readArchive(r)
	if err != nil {
		return nil, err
	}
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		for _, c := range a.collections() {
			docs, has := byColl[c]
			if !has {
				continue
			}
			if err := tx.Drop(ctx, c); err != nil {
				return err
			}
			for _, d := range docs {
				if err := tx.Insert(ctx, c, d); err != nil {
					return fmt.Errorf("restore %s: %w", c, err)
				}
			}
		}
		return a.audit(ctx, tx, p, ip, "restore", "database", Document{"documents": count})
	})
	if err != nil {
		var dup *DuplicateError
		if errors.As(err, &dup) {
			return nil, corrupt("two documents share a unique key")
		}
		return nil, err
	}
	a.creds.Clear()
	return Document{"collections": int64(len(byColl)), "documents": count}, nil
}

// readArchive parses and verifies an archive without touching the store.
func (a *Admin) readArchive(r io.Reader) (map[string][]Document, int64, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, 0, corrupt("not a gzip stream")
	}
	limited := &io.LimitedReader{R: zr, N: maxArchiveBytes}
	sc := bufio.NewScanner(limited)
	sc.Buffer(make([]byte, 64<<10), maxBackupLine)
	sum := sha256.New()
	next := func() ([]byte, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return nil, corrupt("unreadable: " + shortErr(err))
			}
			if limited.N == 0 {
				return nil, corrupt("it expands beyond 4 GiB")
			}
			return nil, corrupt("it ends before its trailer")
		}
		return sc.Bytes(), nil
	}
	line, err := next()
	if err != nil {
		return nil, 0, err
	}
	hashLine(sum, line)
	var h backupHeader
	if json.Unmarshal(line, &h) != nil || h.Format != backupFormat {
		return nil, 0, corrupt("no backup header")
	}
	if h.Version != backupVersion {
		return nil, 0, corrupt("format version " + strconv.Itoa(h.Version) + " is not supported")
	}
	known := a.collections()
	for _, c := range h.Collections {
		if !slices.Contains(known, c) {
			return nil, 0, corrupt("unknown collection " + quoteName(c))
		}
	}
	byColl := make(map[string][]Document, len(h.Collections))
	for _, c := range h.Collections {
		byColl[c] = nil
	}
	var count int64
	for {
		line, err := next()
		if err != nil {
			return nil, 0, err
		}
		v, err := DecodeJSON(line, JSONLimits{MaxDepth: 64, MaxElements: 1 << 20})
		if err != nil {
			return nil, 0, corrupt("line " + strconv.FormatInt(count+2, 10) + " is not JSON")
		}
		m, _ := v.(map[string]any)
		if m["end"] == true {
			var t backupTrailer
			if json.Unmarshal(line, &t) != nil || t.Documents != count || t.SHA256 != hex.EncodeToString(sum.Sum(nil)) {
				return nil, 0, corrupt("the checksum or the document count does not match")
			}
			if sc.Scan() || sc.Err() != nil {
				return nil, 0, corrupt("data after the trailer")
			}
			if _, err := io.Copy(io.Discard, limited); err != nil {
				return nil, 0, corrupt("bad gzip trailer")
			}
			return byColl, count, nil
		}
		hashLine(sum, line)
		c, _ := m["c"].(string)
		d, ok := m["d"].(map[string]any)
		docs, listed := byColl[c]
		if !ok || !listed || stringOf(d[FieldID]) == "" {
			return nil, 0, corrupt("line " + strconv.FormatInt(count+2, 10) + " is not a document of a listed collection")
		}
		byColl[c] = append(docs, Numbers(d).(map[string]any))
		count++
	}
}

func hashLine(h hash.Hash, line []byte) {
	h.Write(line)
	h.Write([]byte{'\n'})
}

// Numbers turns decoded JSON numbers (json.Number) into int64 when they are
// integers and float64 otherwise, in place, through maps and slices.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, ok := toInt(x); ok {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
		return x
	}
	return v
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
