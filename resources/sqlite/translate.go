package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	msqlite "modernc.org/sqlite"

	"github.com/tnt/gateway/resources"
)

// SQLite result codes the store tells apart.
const (
	codeBusy                 = 5
	codeInterrupt            = 9
	codeLocked               = 6
	codeReadOnly             = 8
	codeIOErr                = 10
	codeCorrupt              = 11
	codeFull                 = 13
	codeCantOpen             = 14
	codeConstraintUnique     = 2067
	codeConstraintPrimaryKey = 1555
)

var (
	collPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	pathPattern = regexp.MustCompile(`^(_id|[A-Za-z][A-Za-z0-9_]{0,63})(\.[A-Za-z][A-Za-z0-9_]{0,63}){0,7}$`)
	keyPattern  = regexp.MustCompile(`^(_id|[A-Za-z_][A-Za-z0-9_]{0,63})$`)
)

// table returns the quoted table name of a collection. Names are checked
// again here although the registry already did: nothing unchecked is ever
// written into SQL text.
func table(coll string) (string, error) {
	if !collPattern.MatchString(coll) {
		return "", fmt.Errorf("sqlite: bad collection name %q", coll)
	}
	return `"c_` + coll + `"`, nil
}

func indexName(coll, kind, path string) string {
	return `"c_` + coll + `__` + kind + `_` + strings.ReplaceAll(path, ".", "__") + `"`
}

func validKey(k string) bool { return keyPattern.MatchString(k) }

// expr returns the SQL expression of a field path. It is the same text in
// indexes and queries, so SQLite uses the expression indexes.
func expr(path string) (string, error) {
	if path == resources.FieldID {
		return "id", nil
	}
	if !pathPattern.MatchString(path) {
		return "", fmt.Errorf("sqlite: bad field path %q", path)
	}
	return "json_extract(doc, '$." + path + "')", nil
}

// arg converts a validated literal to an SQL argument; JSON true/false read
// back from json_extract as 1/0.
func arg(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// buildQuery turns a validated query into a WHERE clause, its arguments and
// an ORDER BY. Every value is a bound parameter.
func buildQuery(q resources.Query) (where string, args []any, order string, err error) {
	var conds []string
	for _, c := range q.Conditions {
		e, err := expr(c.Path)
		if err != nil {
			return "", nil, "", err
		}
		switch c.Op {
		case resources.Equals:
			conds = append(conds, e+" = ?")
		case resources.Contains:
			conds = append(conds, "gw_contains("+e+", ?)")
		default:
			return "", nil, "", fmt.Errorf("sqlite: unknown qualifier %d", c.Op)
		}
		args = append(args, arg(c.Value))
	}
	se, err := expr(q.SortPath)
	if err != nil {
		return "", nil, "", err
	}
	dir, cmp := "ASC", ">"
	if q.SortDesc {
		dir, cmp = "DESC", "<"
	}
	if a := q.After; a != nil {
		// Keyset pagination; NULLs (missing values) sort first ascending and
		// last descending, as in MongoDB.
		switch {
		case se == "id":
			conds = append(conds, "id "+cmp+" ?")
			args = append(args, a.ID)
		case a.Null && !q.SortDesc:
			conds = append(conds, "(("+se+" IS NULL AND id > ?) OR "+se+" IS NOT NULL)")
			args = append(args, a.ID)
		case a.Null:
			conds = append(conds, "("+se+" IS NULL AND id < ?)")
			args = append(args, a.ID)
		case !q.SortDesc:
			conds = append(conds, "("+se+" > ? OR ("+se+" = ? AND id > ?))")
			args = append(args, arg(a.Value), arg(a.Value), a.ID)
		default:
			conds = append(conds, "("+se+" < ? OR ("+se+" = ? AND id < ?) OR "+se+" IS NULL)")
			args = append(args, arg(a.Value), arg(a.Value), a.ID)
		}
	}
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	order = " ORDER BY " + se + " " + dir
	if se != "id" {
		order += ", id " + dir
	}
	return where, args, order, nil
}

// decode reads a stored document, keeping integers exact.
func decode(body string) (resources.Document, error) {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("sqlite: decode stored document: %w", err)
	}
	return resources.Numbers(doc).(map[string]any), nil
}

// classify marks errors that mean "the store cannot serve now" (busy, I/O,
// full disk, read-only file, deadline) as unavailable; nothing was written.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return resources.Unavailable(err)
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case codeBusy, codeLocked, codeInterrupt, codeReadOnly, codeIOErr, codeFull, codeCantOpen, codeCorrupt:
			return resources.Unavailable(err)
		}
	}
	if msg := err.Error(); strings.Contains(msg, "database is closed") || strings.Contains(msg, "interrupted") {
		return resources.Unavailable(err)
	}
	return err
}
