// Package sqlite is the embedded document store: every collection is a table
// of JSON documents in one SQLite file (modernc.org/sqlite, pure Go), queried
// with parameters only. It is the gateway's default when no MongoDB is set.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	msqlite "modernc.org/sqlite"

	"github.com/tnt/gateway/resources"
)

// Store is a resources.Store on one SQLite file. Writes go through a single
// connection (SQLite has one writer; queuing in Go beats SQLITE_BUSY), reads
// through a pool of read-only connections (WAL lets them run alongside).
type Store struct {
	ops
	write *sql.DB
	read  *sql.DB

	mu     sync.RWMutex
	unique map[string][]string // collection → unique key paths

	versions *versions
}

// dbtx is what the document operations need of a database or transaction.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops are the document operations on a reader and a writer: the two pools
// for the store, one transaction for both inside WithTx.
type ops struct {
	r, w   dbtx
	unique func(coll string) []string
	// stmts caches prepared read statements by SQL text (nil inside a
	// transaction, whose statements live and die with it).
	stmts *stmtCache
}

// stmtCache keeps prepared statements of the read pool, so a query shape is
// parsed and planned once, not on every request. Shapes are bounded: they
// come from schemas and validated queries, never from client text.
type stmtCache struct {
	db   *sql.DB
	mu   sync.RWMutex
	byQL map[string]*sql.Stmt
}

const maxCachedStmts = 512

func (c *stmtCache) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.mu.RLock()
	st := c.byQL[q]
	c.mu.RUnlock()
	if st == nil {
		prepared, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if existing := c.byQL[q]; existing != nil {
			_ = prepared.Close()
			st = existing
		} else {
			if len(c.byQL) >= maxCachedStmts {
				for k, old := range c.byQL {
					_ = old.Close()
					delete(c.byQL, k)
					break
				}
			}
			c.byQL[q] = prepared
			st = prepared
		}
		c.mu.Unlock()
	}
	return st.QueryContext(ctx, args...)
}

// readQuery runs a read through the statement cache when there is one.
func (s ops) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s.stmts != nil {
		return s.stmts.query(ctx, q, args...)
	}
	return s.r.QueryContext(ctx, q, args...)
}

var _ resources.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string, readers int) (*Store, error) {
	if readers < 1 {
		readers = 4
	}
	drv := &msqlite.Driver{}
	err := drv.RegisterDeterministicScalarFunction("gw_contains", 2, containsFunc)
	if err != nil {
		return nil, fmt.Errorf("sqlite: register function: %w", err)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	write := sql.OpenDB(connector{drv: drv, dsn: base})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, unique: make(map[string][]string)}
	s.ops = ops{w: write, unique: s.uniqueKeys}
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readDSN := strings.TrimSuffix(base, "&_txlock=immediate") + "&_pragma=query_only(1)"
	read := sql.OpenDB(connector{drv: drv, dsn: readDSN})
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	s.read = read
	vdb := sql.OpenDB(connector{drv: drv, dsn: readDSN})
	vdb.SetMaxOpenConns(1)
	s.versions = &versions{db: vdb}
	s.r = read
	s.stmts = &stmtCache{db: read, byQL: make(map[string]*sql.Stmt)}
	return s, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	s.stmts.mu.Lock()
	for _, st := range s.stmts.byQL {
		_ = st.Close()
	}
	clear(s.stmts.byQL)
	s.stmts.mu.Unlock()
	return errors.Join(s.versions.close(), s.read.Close(), s.write.Close())
}

// connector opens connections of a driver of our own, so the functions we
// register reach only our connections and nothing is registered globally.
type connector struct {
	drv *msqlite.Driver
	dsn string
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.drv.Open(c.dsn)
}

func (c connector) Driver() driver.Driver { return c.drv }

// containsFunc is gw_contains(text, needle): a case-insensitive literal
// substring test (no pattern syntax at all, so no injection and no ReDoS).
func containsFunc(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	h, ok1 := args[0].(string)
	n, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return int64(0), nil
	}
	if strings.Contains(strings.ToLower(h), strings.ToLower(n)) {
		return int64(1), nil
	}
	return int64(0), nil
}

// EnsureCollection creates the collection's table and indexes.
func (s *Store) EnsureCollection(ctx context.Context, spec resources.CollectionSpec) error {
	t, err := table(spec.Name)
	if err != nil {
		return err
	}
	stmts := []string{fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (id TEXT PRIMARY KEY, doc TEXT NOT NULL) STRICT`, t)}
	for _, u := range spec.Unique {
		e, err := expr(u)
		if err != nil {
			return err
		}
		stmts = append(stmts, fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s)`,
			indexName(spec.Name, "u", u), t, e))
	}
	for _, p := range spec.Indexed {
		e, err := expr(p)
		if err != nil {
			return err
		}
		if p == resources.FieldID {
			continue
		}
		stmts = append(stmts, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, id)`,
			indexName(spec.Name, "i", p), t, e))
	}
	for _, q := range stmts {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			return classify(err)
		}
	}
	s.mu.Lock()
	s.unique[spec.Name] = spec.Unique
	s.mu.Unlock()
	return nil
}

// Insert stores a new document.
func (s ops) Insert(ctx context.Context, coll string, doc resources.Document) error {
	t, err := table(coll)
	if err != nil {
		return err
	}
	id, _ := doc[resources.FieldID].(string)
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sqlite: encode document: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO `+t+` (id, doc) VALUES (?, ?)`, id, string(body))
	return s.writeError(coll, err)
}

// Get returns the document with the id.
func (s ops) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	t, err := table(coll)
	if err != nil {
		return nil, err
	}
	rows, err := s.readQuery(ctx, `SELECT doc FROM `+t+` WHERE id = ?`, id)
	if err != nil {
		return nil, classify(err)
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, classify(err)
		}
		return nil, resources.ErrNotFound
	}
	var body string
	if err := rows.Scan(&body); err != nil {
		return nil, classify(err)
	}
	return decode(body)
}

// Find runs a validated query.
func (s ops) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	docs := make([]resources.Document, 0, min(q.Limit, 64))
	err := s.query(ctx, coll, q, func(body []byte) error {
		d, err := decode(string(body))
		docs = append(docs, d)
		return err
	})
	return docs, err
}

// FindRaw runs a validated query and hands over each document as stored
// JSON, in a buffer reused from one row to the next.
func (s ops) FindRaw(ctx context.Context, coll string, q resources.Query, each func(doc []byte) error) error {
	return s.query(ctx, coll, q, each)
}

// query runs a validated query and hands each stored document to each, in
// the query's order. The bytes are the driver's, valid until the next row.
func (s ops) query(ctx context.Context, coll string, q resources.Query, each func(body []byte) error) error {
	t, err := table(coll)
	if err != nil {
		return err
	}
	where, args, order, err := buildQuery(q)
	if err != nil {
		return err
	}
	rows, err := s.readQuery(ctx, `SELECT doc FROM `+t+where+order+` LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return classify(err)
	}
	defer func() { _ = rows.Close() }()
	var body sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&body); err != nil {
			return classify(err)
		}
		if err := each(body); err != nil {
			return err
		}
	}
	return classify(rows.Err())
}

// Update sets and removes top-level fields in one statement.
func (s ops) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	t, err := table(coll)
	if err != nil {
		return nil, err
	}
	e := "doc"
	var args []any
	if len(set) > 0 {
		var b strings.Builder
		b.WriteString("json_set(doc")
		for k, v := range set {
			if !validKey(k) {
				return nil, fmt.Errorf("sqlite: bad field name %q", k)
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("sqlite: encode value: %w", err)
			}
			b.WriteString(", ?, json(?)")
			args = append(args, "$."+k, string(raw))
		}
		b.WriteString(")")
		e = b.String()
	}
	if len(unset) > 0 {
		var b strings.Builder
		b.WriteString("json_remove(" + e)
		for _, k := range unset {
			if !validKey(k) {
				return nil, fmt.Errorf("sqlite: bad field name %q", k)
			}
			b.WriteString(", ?")
			args = append(args, "$."+k)
		}
		b.WriteString(")")
		e = b.String()
	}
	var body string
	err = s.w.QueryRowContext(ctx, `UPDATE `+t+` SET doc = `+e+` WHERE id = ? RETURNING doc`,
		append(args, id)...).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resources.ErrNotFound
	}
	if err != nil {
		return nil, s.writeError(coll, err)
	}
	return decode(body)
}

// Delete removes one document.
func (s ops) Delete(ctx context.Context, coll, id string) error {
	t, err := table(coll)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM `+t+` WHERE id = ?`, id)
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return resources.ErrNotFound
	}
	return nil
}

// Drop removes every document of the collection.
func (s ops) Drop(ctx context.Context, coll string) error {
	t, err := table(coll)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `DELETE FROM `+t)
	return classify(err)
}

// Ping checks that the file can still be read and written to.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return classify(err)
	}
	var n int
	if err := s.write.QueryRowContext(ctx, `SELECT 1`).Scan(&n); err != nil {
		return classify(err)
	}
	return nil
}

func (s *Store) uniqueKeys(coll string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.unique[coll]
}

func (s ops) writeError(coll string, err error) error {
	if err == nil {
		return nil
	}
	var se *msqlite.Error
	if errors.As(err, &se) && (se.Code() == codeConstraintUnique || se.Code() == codeConstraintPrimaryKey) {
		if se.Code() == codeConstraintPrimaryKey {
			return &resources.DuplicateError{Field: resources.FieldID}
		}
		// The message names the index that refused the write.
		keys := s.unique(coll)
		for _, k := range keys {
			if strings.Contains(se.Error(), strings.Trim(indexName(coll, "u", k), `"`)) {
				return &resources.DuplicateError{Field: k}
			}
		}
		field := ""
		if len(keys) > 0 {
			field = keys[0]
		}
		return &resources.DuplicateError{Field: field}
	}
	return classify(err)
}

// WithTx runs fn in one immediate transaction on the single writer
// connection: all its writes commit together or none does, and no other
// write interleaves. fn must use only the tx it is given.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(ctx, ops{r: tx, w: tx, unique: s.uniqueKeys}); err != nil {
		return err
	}
	return classify(tx.Commit())
}

// ReadSnapshot runs fn in a read transaction on a reader connection: WAL
// gives it one consistent snapshot while writers go on.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r resources.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(ctx, ops{r: tx, w: tx, unique: s.uniqueKeys})
}
