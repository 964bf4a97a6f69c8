package admin

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"slices"
	"strconv"

	"github.com/tnt/gateway/resources"
)

// corrupt is the refusal of an archive that does not verify.
func corrupt(why string) error {
	return resources.Errorf(resources.EINVALIDREQUEST, "the archive is corrupt or truncated (%s); nothing was changed", why)
}

// archive is a verified archive, held as its document lines (the JSON text,
// not decoded maps, so memory is the archive's own size).
type archive struct {
	lines map[string][][]byte
	count int64
	// files were staged while the archive was read; promoted once it is
	// verified, removed otherwise.
	files *staging
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
func (a *Admin) readArchive(ctx context.Context, r io.Reader) (arc *archive, err error) {
	stage := newStaging(ctx, a.blobs)
	defer func() {
		if err != nil {
			stage.abort()
		}
	}()
	kid, sum, err := a.archiveMAC()
	if err != nil {
		return nil, err
	}
	in := &countingReader{r: r}
	zr, err := gzip.NewReader(in)
	if err != nil {
		return nil, corrupt("not a gzip stream")
	}
	limited := &expansionLimit{r: zr, in: in}
	sc := bufio.NewScanner(limited)
	sc.Buffer(make([]byte, 64<<10), maxBackupLine)
	next := func() ([]byte, error) {
		more := sc.Scan()
		switch {
		case limited.tripped:
			// Checked first: the scanner hands out the cut-off line before
			// it reports the error.
			return nil, resources.Errorf(resources.ETOOLARGE, "the archive expands more than %d times its size or beyond %d GiB; nothing was changed", maxExpansion, maxArchiveBytes>>30)
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
		return nil, corrupt("format version " + strconv.Itoa(h.Version) + " is not supported: archives are authenticated from version " + strconv.Itoa(backupVersion) + " on")
	}
	known := a.collections()
	arc = &archive{lines: make(map[string][][]byte, len(h.Collections)), files: stage}
	for _, c := range h.Collections {
		if !slices.Contains(known, c) {
			return nil, corrupt("unknown collection " + resources.QuoteName(c))
		}
		arc.lines[c] = nil
		arc.hasSettings = arc.hasSettings || c == resources.SettingsCollection
	}
	for {
		line, err := next()
		if err != nil {
			return nil, err
		}
		v, err := resources.DecodeJSON(line, archiveLineLimits)
		if err != nil {
			return nil, corrupt("line " + strconv.FormatInt(arc.count+2, 10) + " is not JSON")
		}
		m, _ := v.(map[string]any)
		if m["end"] == true {
			var t backupTrailer
			if json.Unmarshal(line, &t) != nil {
				return nil, corrupt("no trailer")
			}
			if t.Key != kid {
				return nil, resources.Errorf(resources.EINVALIDREQUEST, "the archive was written under another archive key (%s; this gateway's is %s): restore it where that key is, or copy the key here first; nothing was changed", resources.QuoteName(resources.ClipText(t.Key)), kid)
			}
			mac, err := hex.DecodeString(t.HMAC)
			if err := stage.finish(); err != nil {
				return nil, err
			}
			if err != nil || !hmac.Equal(mac, sum.Sum(nil)) || t.Documents != arc.count || t.Files != int64(len(stage.keys)) {
				return nil, corrupt("it was changed after the gateway wrote it: its authentication does not match")
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
		if b, isBytes := m["b"].(string); isBytes && len(m) == 1 {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, corrupt("a file line is not base64")
			}
			if err := stage.write(raw); err != nil {
				return nil, err
			}
			continue
		}
		if key, isFile := m["f"].(string); isFile && h.Files {
			size, _ := resources.AsInt(m["n"])
			if err := stage.begin(key, size); err != nil {
				return nil, err
			}
			continue
		}
		if err := stage.finish(); err != nil {
			return nil, err
		}
		c, _ := m["c"].(string)
		d, ok := m["d"].(map[string]any)
		docs, listed := arc.lines[c]
		if !ok || !listed || resources.AsString(d[resources.FieldID]) == "" {
			return nil, corrupt("line " + strconv.FormatInt(arc.count+2, 10) + " is not a document of a listed collection")
		}
		if c == resources.SettingsCollection && d[resources.FieldID] == policySettingID {
			p := policySettingFrom(d)
			arc.storedPolicy, arc.policyVersion = p.Lines, p.Version
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

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
