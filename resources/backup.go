package resources

import (
	"bufio"
	"bytes"
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

// CanBackup answers whether the caller may take a backup, without taking
// one (HEAD of the backup route).
func (a *Admin) CanBackup(p Principal) error {
	return a.require(p, objDatabase, actBackup)
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
// line, the document count, the checksum, and that its policy can be put in
// force) and only then replaces every collection it holds, in one
// transaction. A truncated or altered archive changes nothing.
//
// The audit trail is evidence and survives a restore: the archive's entries
// are merged into it, none is removed, and the restore itself is appended.
// The restored policy is stored with a version above every one in use, so
// every replica applies it. Afterwards every session ends but the restoring
// DBA's (and that one too if the restored data no longer holds the DBA at
// that level): no session outlives the users, levels and passwords it was
// made from.
func (a *Admin) Restore(ctx context.Context, p Principal, r io.Reader, ip string) (Document, error) {
	if err := a.require(p, objDatabase, actRestore); err != nil {
		return nil, err
	}
	arc, err := a.readArchive(r)
	if err != nil {
		return nil, err
	}
	if arc.hasSettings {
		if err := a.policy.Check(arc.policy(a.policy.Base())); err != nil {
			return nil, Errorf(EVALUE, "the archive's policy cannot be put in force (%s); nothing was changed", clipText(err.Error()))
		}
	}
	var version int64
	keep := ""
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		_, stored, err := storedPolicy(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range a.collections() {
			lines, has := arc.lines[c]
			if !has {
				continue
			}
			if err := a.restoreCollection(ctx, tx, c, lines); err != nil {
				return err
			}
		}
		if arc.hasSettings {
			version = max(stored, arc.policyVersion, a.policy.Version()) + 1
			if err := writePolicy(ctx, tx, arc.policy(a.policy.Base()), version, a.now(), p.UserID); err != nil {
				return err
			}
		}
		keep = ""
		if u, err := tx.Get(ctx, UsersCollection, p.UserID); err == nil && principalOf(u).Level == p.Level {
			keep = p.SessionID
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return a.audit(ctx, tx, p, ip, "restore", "database", Document{"documents": arc.count})
	})
	if err != nil {
		var dup *DuplicateError
		if errors.As(err, &dup) {
			return nil, corrupt("two documents share a unique key")
		}
		return nil, err
	}
	a.creds.Clear()
	if arc.hasSettings {
		if err := a.policy.Apply(arc.policy(a.policy.Base()), version); err != nil {
			return nil, err
		}
	}
	ended, err := a.sessions.RevokeAll(context.WithoutCancel(ctx), keep)
	if err != nil {
		return nil, &Error{Code: EUNAVAILABLE, Message: "the archive was restored, but the session store could not end every session; " +
			"sessions from before the restore may still work until it is reachable and the restore is run again"}
	}
	return Document{"collections": int64(len(arc.lines)), "documents": arc.count, "sessions_ended": int64(ended)}, nil
}

// restoreCollection replaces a collection with the archive's documents; the
// audit trail is merged instead, so that no entry is ever removed.
func (a *Admin) restoreCollection(ctx context.Context, tx Tx, c string, lines [][]byte) error {
	if c != AuditCollection {
		if err := tx.Drop(ctx, c); err != nil {
			return err
		}
	}
	for _, line := range lines {
		d, err := archivedDocument(line)
		if err != nil {
			return err
		}
		if c == AuditCollection {
			if _, err := tx.Get(ctx, c, stringOf(d[FieldID])); err == nil {
				continue
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if err := tx.Insert(ctx, c, d); err != nil {
			return fmt.Errorf("restore %s: %w", c, err)
		}
	}
	return nil
}

// archivedDocument decodes the document of a verified archive line.
func archivedDocument(line []byte) (Document, error) {
	v, err := DecodeJSON(line, archiveLineLimits)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	d, _ := m["d"].(map[string]any)
	return Numbers(d).(map[string]any), nil
}

var archiveLineLimits = JSONLimits{MaxDepth: 64, MaxElements: 1 << 20}

// archive is a verified archive, held as its document lines (the JSON text,
// not decoded maps, so memory is the archive's own size).
type archive struct {
	lines map[string][][]byte
	count int64
	// hasSettings says whether the archive holds the settings collection;
	// storedPolicy and policyVersion are its stored policy, if any.
	hasSettings   bool
	storedPolicy  []string
	policyVersion int64
}

// policy is the policy the archive puts in force: its stored one, or the
// configured base when it stored none.
func (arc *archive) policy(base []string) []string {
	if arc.storedPolicy != nil {
		return arc.storedPolicy
	}
	return base
}

// readArchive parses and verifies an archive without touching the store.
// Decompression is bounded while it streams: an archive that expands past
// maxExpansion times the compressed bytes read so far (plus a small floor),
// or past maxArchiveBytes, is refused at once.
func (a *Admin) readArchive(r io.Reader) (*archive, error) {
	in := &countingReader{r: r}
	zr, err := gzip.NewReader(in)
	if err != nil {
		return nil, corrupt("not a gzip stream")
	}
	limited := &expansionLimit{r: zr, in: in}
	sc := bufio.NewScanner(limited)
	sc.Buffer(make([]byte, 64<<10), maxBackupLine)
	sum := sha256.New()
	next := func() ([]byte, error) {
		more := sc.Scan()
		switch {
		case limited.tripped:
			// Checked first: the scanner hands out the cut-off line before
			// it reports the error.
			return nil, Errorf(ETOOLARGE, "the archive expands more than %d times its size or beyond %d GiB; nothing was changed", maxExpansion, maxArchiveBytes>>30)
		case !more && sc.Err() != nil:
			return nil, corrupt("unreadable: " + shortErr(sc.Err()))
		case !more:
			return nil, corrupt("it ends before its trailer")
		}
		return sc.Bytes(), nil
	}
	line, err := next()
	if err != nil {
		return nil, err
	}
	hashLine(sum, line)
	var h backupHeader
	if json.Unmarshal(line, &h) != nil || h.Format != backupFormat {
		return nil, corrupt("no backup header")
	}
	if h.Version != backupVersion {
		return nil, corrupt("format version " + strconv.Itoa(h.Version) + " is not supported")
	}
	known := a.collections()
	arc := &archive{lines: make(map[string][][]byte, len(h.Collections))}
	for _, c := range h.Collections {
		if !slices.Contains(known, c) {
			return nil, corrupt("unknown collection " + quoteName(c))
		}
		arc.lines[c] = nil
		arc.hasSettings = arc.hasSettings || c == SettingsCollection
	}
	for {
		line, err := next()
		if err != nil {
			return nil, err
		}
		v, err := DecodeJSON(line, archiveLineLimits)
		if err != nil {
			return nil, corrupt("line " + strconv.FormatInt(arc.count+2, 10) + " is not JSON")
		}
		m, _ := v.(map[string]any)
		if m["end"] == true {
			var t backupTrailer
			if json.Unmarshal(line, &t) != nil || t.Documents != arc.count || t.SHA256 != hex.EncodeToString(sum.Sum(nil)) {
				return nil, corrupt("the checksum or the document count does not match")
			}
			if sc.Scan() || sc.Err() != nil {
				return nil, corrupt("data after the trailer")
			}
			if _, err := io.Copy(io.Discard, limited); err != nil {
				return nil, corrupt("bad gzip trailer")
			}
			return arc, nil
		}
		hashLine(sum, line)
		c, _ := m["c"].(string)
		d, ok := m["d"].(map[string]any)
		docs, listed := arc.lines[c]
		if !ok || !listed || stringOf(d[FieldID]) == "" {
			return nil, corrupt("line " + strconv.FormatInt(arc.count+2, 10) + " is not a document of a listed collection")
		}
		if c == SettingsCollection && d[FieldID] == policySettingID {
			raw, _ := d["lines"].([]any)
			arc.storedPolicy = make([]string, 0, len(raw))
			for _, l := range raw {
				arc.storedPolicy = append(arc.storedPolicy, stringOf(l))
			}
			arc.policyVersion, _ = toInt(d["version"])
		}
		arc.lines[c] = append(docs, bytes.Clone(line))
		arc.count++
	}
}

// Bounds of decompression (API.md §8, bounded work).
const (
	// maxExpansion is how many times its compressed size an archive may
	// expand; backups of JSON documents expand 5 to 30 times.
	maxExpansion = 128
	// expansionFloor lets a small archive expand this much regardless.
	expansionFloor = 16 << 20
)

var errExpansion = errors.New("archive expands beyond its bounds")

// countingReader counts the compressed bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// expansionLimit reads decompressed bytes, failing with errExpansion (and
// staying tripped) as soon as they pass the bounds.
type expansionLimit struct {
	r       io.Reader
	in      *countingReader
	out     int64
	tripped bool
}

func (e *expansionLimit) Read(p []byte) (int, error) {
	if e.tripped {
		return 0, errExpansion
	}
	n, err := e.r.Read(p)
	e.out += int64(n)
	if e.out > maxArchiveBytes || e.out > maxExpansion*e.in.n+expansionFloor {
		e.tripped = true
		return 0, errExpansion
	}
	return n, err
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
