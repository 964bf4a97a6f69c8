package realtime

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// FileLog is the embedded Log: a SQLite file beside the document store,
// shared by every process that opens the data dir (the gateway and the
// CLI), and kept across restarts. Appends in this process wake its readers
// at once; appends by another process are noticed within pollEvery.
type FileLog struct {
	write, read *sql.DB
	epoch       string
	key         []byte
	wake        *signal
}

const pollEvery = 200 * time.Millisecond

// OpenFileLog opens (creating if needed) the log file at path.
func OpenFileLog(ctx context.Context, path string) (*FileLog, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("realtime log: %w", err)
	}
	write.SetMaxOpenConns(1)
	l := &FileLog{write: write, wake: newSignal()}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT`,
		`CREATE TABLE IF NOT EXISTS changes (pos INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, body BLOB NOT NULL) STRICT`,
		`CREATE INDEX IF NOT EXISTS changes_at ON changes (at)`,
		`CREATE TABLE IF NOT EXISTS tickets (hash TEXT PRIMARY KEY, binding BLOB NOT NULL, expires INTEGER NOT NULL) STRICT`,
		`CREATE TABLE IF NOT EXISTS streams (id TEXT PRIMARY KEY, body BLOB NOT NULL, expires INTEGER NOT NULL) STRICT`,
		`INSERT INTO meta (k, v) VALUES ('epoch', '` + newID(6) + `') ON CONFLICT DO NOTHING`,
		`INSERT INTO meta (k, v) VALUES ('idkey', '` + hex.EncodeToString(randomBytes(16)) + `') ON CONFLICT DO NOTHING`,
	} {
		if _, err := write.ExecContext(ctx, stmt); err != nil {
			_ = write.Close()
			return nil, fmt.Errorf("realtime log %s: %w", path, err)
		}
	}
	var key string
	if err := write.QueryRowContext(ctx, `SELECT (SELECT v FROM meta WHERE k = 'epoch'), (SELECT v FROM meta WHERE k = 'idkey')`).Scan(&l.epoch, &key); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("realtime log %s: %w", path, err)
	}
	if l.key, err = hex.DecodeString(key); err != nil || len(l.key) != 16 {
		_ = write.Close()
		return nil, fmt.Errorf("realtime log %s: its key is damaged", path)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("realtime log: %w", err)
	}
	read.SetMaxOpenConns(4)
	l.read = read
	return l, nil
}

// Close closes the file.
func (l *FileLog) Close() error { return errors.Join(l.read.Close(), l.write.Close()) }

func unavailable(err error) error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }

// Append stores the changes in one transaction and wakes this process's
// readers.
func (l *FileLog) Append(ctx context.Context, changes []Change) error {
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, c := range changes {
		body, err := encodeChange(c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (at, body) VALUES (?, ?)`, c.At, body); err != nil {
			return unavailable(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	l.wake.fire()
	return nil
}

// Next returns the entries after pos, waiting for an append of this
// process or polling for another's.
func (l *FileLog) Next(ctx context.Context, after uint64, max int) ([]Entry, error) {
	for {
		woken := l.wake.wait()
		out, err := l.Range(ctx, after, 1<<63-1, max)
		if err != nil || len(out) > 0 {
			return out, err
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-woken:
		case <-t.C:
		}
		t.Stop()
	}
}

// Range returns the entries with after < pos <= upTo.
func (l *FileLog) Range(ctx context.Context, after, upTo uint64, max int) ([]Entry, error) {
	rows, err := l.read.QueryContext(ctx, `SELECT pos, body FROM changes WHERE pos > ? AND pos <= ? ORDER BY pos LIMIT ?`,
		int64(after), int64(min(upTo, 1<<63-1)), max)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var pos int64
		var body []byte
		if err := rows.Scan(&pos, &body); err != nil {
			return nil, unavailable(err)
		}
		c, err := decodeChange(body)
		if err != nil {
			return nil, fmt.Errorf("realtime log: entry %d: %w", pos, err)
		}
		out = append(out, Entry{Pos: uint64(pos), Change: c})
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Mark reads the epoch, the last position ever given and the horizon.
func (l *FileLog) Mark(ctx context.Context) (Mark, error) {
	m := Mark{Epoch: l.epoch, Key: l.key}
	var head sql.NullInt64
	// sqlite_sequence keeps the last position even when every entry is pruned.
	if err := l.read.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'changes'`).Scan(&head); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return m, unavailable(err)
	}
	var horizon sql.NullString
	if err := l.read.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'horizon'`).Scan(&horizon); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return m, unavailable(err)
	}
	m.Head = uint64(head.Int64)
	m.Horizon, _ = strconv.ParseUint(horizon.String, 10, 64)
	return m, nil
}

// Prune deletes the entries older than keep, expired tickets and stream
// descriptors, and moves the horizon past what it deleted.
func (l *FileLog) Prune(ctx context.Context, keep time.Duration) error {
	now := time.Now()
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(pos) FROM changes WHERE at < ?`, now.Add(-keep).UnixMilli()).Scan(&last); err != nil {
		return unavailable(err)
	}
	if last.Valid {
		if _, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE pos <= ?`, last.Int64); err != nil {
			return unavailable(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (k, v) VALUES ('horizon', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
			strconv.FormatInt(last.Int64, 10)); err != nil {
			return unavailable(err)
		}
	}
	for _, table := range []string{"tickets", "streams"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires < ?`, now.UnixMilli()); err != nil {
			return unavailable(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// PutTicket stores a ticket.
func (l *FileLog) PutTicket(ctx context.Context, hash string, b Binding, ttl time.Duration) error {
	_, err := l.write.ExecContext(ctx, `INSERT INTO tickets (hash, binding, expires) VALUES (?, ?, ?)`,
		hash, descriptor{Binding: b}.encode(), time.Now().Add(ttl).UnixMilli())
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// TakeTicket deletes a ticket and returns its binding if it had not expired.
func (l *FileLog) TakeTicket(ctx context.Context, hash string) (Binding, bool, error) {
	var body []byte
	var expires int64
	err := l.write.QueryRowContext(ctx, `DELETE FROM tickets WHERE hash = ? RETURNING binding, expires`, hash).Scan(&body, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, false, nil
	}
	if err != nil {
		return Binding{}, false, unavailable(err)
	}
	d, ok := decodeDescriptor(body)
	return d.Binding, ok && time.Now().UnixMilli() < expires, nil
}

// SaveStream keeps a stream's descriptor.
func (l *FileLog) SaveStream(ctx context.Context, clientID string, desc []byte, ttl time.Duration) error {
	_, err := l.write.ExecContext(ctx, `INSERT INTO streams (id, body, expires) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, expires = excluded.expires`, clientID, desc, time.Now().Add(ttl).UnixMilli())
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// LoadStream reads a stream's descriptor, if it has not expired.
func (l *FileLog) LoadStream(ctx context.Context, clientID string) ([]byte, bool, error) {
	var body []byte
	err := l.read.QueryRowContext(ctx, `SELECT body FROM streams WHERE id = ? AND expires >= ?`, clientID, time.Now().UnixMilli()).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return body, true, nil
}

// signal wakes every waiter at once: wait returns a channel that the next
// fire closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}
