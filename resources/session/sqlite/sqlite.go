// Package sqlite is the embedded session store: sessions, spent refresh-token
// hashes, nonces and counters in one SQLite file, with a sweeper that deletes
// expired rows. It serves a single gateway process; replicas share Redis.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/tnt/gateway/resources/session"
)

// Store is a session.Store on a SQLite file.
type Store struct {
	write *sql.DB
	read  *sql.DB
	get   *sql.Stmt // the session check of every request, prepared once
	gen   *generation
	stop  chan struct{}
	done  sync.WaitGroup
}

var _ session.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, user_id TEXT NOT NULL, data TEXT NOT NULL,
  cur TEXT NOT NULL, seen INTEGER NOT NULL, expires INTEGER NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, expires);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE TABLE IF NOT EXISTS spent (sid TEXT NOT NULL, hash TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (sid, hash)) STRICT;
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL, expires INTEGER NOT NULL) STRICT;
`

// Open opens (creating) the session database at path and starts the
// sweeper, which runs every sweep until Close.
func Open(ctx context.Context, path string, sweep time.Duration) (*Store, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	if _, err := write.ExecContext(ctx, schema); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("session store: %w", err)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	get, err := read.PrepareContext(ctx, `SELECT data, cur, seen FROM sessions WHERE sid = ? AND expires > ?`)
	if err != nil {
		_ = read.Close()
		_ = write.Close()
		return nil, fmt.Errorf("session store: %w", err)
	}
	gen, err := openGeneration(path + ".generation")
	if err != nil {
		_ = get.Close()
		_ = read.Close()
		_ = write.Close()
		return nil, err
	}
	s := &Store{write: write, read: read, get: get, gen: gen, stop: make(chan struct{})}
	if sweep > 0 {
		s.done.Add(1)
		go s.sweeper(sweep) //nolint:gosec // the sweeper outlives every request by design
	}
	return s, nil
}

// Close stops the sweeper and closes the database.
func (s *Store) Close() error {
	close(s.stop)
	s.done.Wait()
	return errors.Join(s.get.Close(), s.read.Close(), s.write.Close(), s.gen.close())
}

func (s *Store) sweeper(every time.Duration) {
	defer s.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.Sweep(context.Background())
		}
	}
}

// Sweep deletes every expired row.
func (s *Store) Sweep(ctx context.Context) error {
	now := ms(time.Now())
	for _, table := range []string{"sessions", "spent", "nonces", "counters"} {
		if _, err := s.write.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires <= ?`, now); err != nil {
			return session.Unavailable(err)
		}
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// msCeil is an expiry in milliseconds rounded up, so a nonce or a counter
// never ends before its window does.
func msCeil(t time.Time) int64 {
	return (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
}

// Create stores a new session.
func (s *Store) Create(ctx context.Context, in session.Session) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO sessions (sid, user_id, data, cur, seen, expires) VALUES (?, ?, ?, ?, ?, ?)`,
		in.ID, in.UserID, string(data), in.RefreshHash, ms(in.LastSeen), ms(in.ExpiresAt))
	return session.Unavailable(err)
}

func scanSession(data, cur string, seen int64) (session.Session, error) {
	var out session.Session
	if err := json.Unmarshal([]byte(data), &out); err != nil {
		return out, fmt.Errorf("session store: corrupt session: %w", err)
	}
	out.RefreshHash = cur
	out.LastSeen = time.UnixMilli(seen).UTC()
	return out, nil
}

// Get returns a live session.
func (s *Store) Get(ctx context.Context, sid string) (session.Session, error) {
	var data, cur string
	var seen int64
	err := s.get.QueryRowContext(ctx, sid, ms(time.Now())).Scan(&data, &cur, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, session.Unavailable(err)
	}
	return scanSession(data, cur, seen)
}

// Touch records activity.
func (s *Store) Touch(ctx context.Context, sid string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE sessions SET seen = ? WHERE sid = ?`, ms(at), sid)
	return session.Unavailable(err)
}

// Rotate swaps the refresh hash in one immediate transaction.
func (s *Store) Rotate(ctx context.Context, sid, oldHash, newHash string) (session.Session, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return session.Session{}, session.Unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	now := ms(time.Now())
	var cur, data string
	var expires, seen int64
	err = tx.QueryRowContext(ctx, `SELECT cur, expires, data, seen FROM sessions WHERE sid = ? AND expires > ?`, sid, now).
		Scan(&cur, &expires, &data, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, session.Unavailable(err)
	}
	if cur == oldHash {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET cur = ? WHERE sid = ?`, newHash, sid); err != nil {
			return session.Session{}, session.Unavailable(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO spent (sid, hash, expires) VALUES (?, ?, ?)`, sid, oldHash, expires); err != nil {
			return session.Session{}, session.Unavailable(err)
		}
		if err := tx.Commit(); err != nil {
			return session.Session{}, session.Unavailable(err)
		}
		return scanSession(data, newHash, seen)
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM spent WHERE sid = ? AND hash = ?`, sid, oldHash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return session.Session{}, session.ErrStale
	}
	if err != nil {
		return session.Session{}, session.Unavailable(err)
	}
	if err := deleteSession(ctx, tx, sid); err != nil {
		return session.Session{}, err
	}
	if err := s.commitRevocation(tx); err != nil {
		return session.Session{}, err
	}
	return session.Session{}, session.ErrReused
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func deleteSession(ctx context.Context, db execer, sid string) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE sid = ?`, sid); err != nil {
		return session.Unavailable(err)
	}
	_, err := db.ExecContext(ctx, `DELETE FROM spent WHERE sid = ?`, sid)
	return session.Unavailable(err)
}

// Revoke ends one session.
func (s *Store) Revoke(ctx context.Context, sid string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return session.Unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := deleteSession(ctx, tx, sid); err != nil {
		return err
	}
	return s.commitRevocation(tx)
}

// commitRevocation commits and then bumps the shared generation: a cache
// that fills from the old rows in between sees the bump at its next check.
func (s *Store) commitRevocation(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return session.Unavailable(err)
	}
	s.gen.bump()
	return nil
}

// List returns a user's live sessions, newest first.
func (s *Store) List(ctx context.Context, userID string) ([]session.Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT data, cur, seen FROM sessions WHERE user_id = ? AND expires > ? ORDER BY sid`,
		userID, ms(time.Now()))
	if err != nil {
		return nil, session.Unavailable(err)
	}
	defer func() { _ = rows.Close() }()
	var out []session.Session
	for rows.Next() {
		var data, cur string
		var seen int64
		if err := rows.Scan(&data, &cur, &seen); err != nil {
			return nil, session.Unavailable(err)
		}
		x, err := scanSession(data, cur, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, session.Unavailable(rows.Err())
}

// RevokeUser ends a user's sessions except keep.
func (s *Store) RevokeUser(ctx context.Context, userID, keep string) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, session.Unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM spent WHERE sid IN (SELECT sid FROM sessions WHERE user_id = ? AND sid != ?)`, userID, keep); err != nil {
		return 0, session.Unavailable(err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND sid != ? AND expires > ?`, userID, keep, ms(time.Now()))
	if err != nil {
		return 0, session.Unavailable(err)
	}
	n, _ := res.RowsAffected()
	return int(n), s.commitRevocation(tx)
}

// RevokeAll ends every session except keep.
func (s *Store) RevokeAll(ctx context.Context, keep string) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, session.Unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM spent WHERE sid != ?`, keep); err != nil {
		return 0, session.Unavailable(err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE sid != ? AND expires > ?`, keep, ms(time.Now()))
	if err != nil {
		return 0, session.Unavailable(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE sid != ?`, keep); err != nil {
		return 0, session.Unavailable(err)
	}
	n, _ := res.RowsAffected()
	return int(n), s.commitRevocation(tx)
}

// RememberNonce records a nonce for ttl.
func (s *Store) RememberNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.write.ExecContext(ctx, `INSERT INTO nonces (nonce, expires) VALUES (?, ?)
		ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires WHERE nonces.expires <= ?`,
		nonce, msCeil(now.Add(ttl)), ms(now))
	if err != nil {
		return false, session.Unavailable(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Hit adds one to a counter.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	now := time.Now()
	var n, expires int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO counters (key, n, expires) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
		  n = CASE WHEN counters.expires <= ? THEN 1 ELSE counters.n + 1 END,
		  expires = CASE WHEN counters.expires <= ? THEN excluded.expires ELSE counters.expires END
		RETURNING n, expires`, key, msCeil(now.Add(window)), ms(now), ms(now)).Scan(&n, &expires)
	if err != nil {
		return 0, 0, session.Unavailable(err)
	}
	return n, min(window, time.UnixMilli(expires).Sub(now)), nil
}

// Count reads a counter.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Duration, error) {
	now := time.Now()
	var n, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT n, expires FROM counters WHERE key = ? AND expires > ?`, key, ms(now)).Scan(&n, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, session.Unavailable(err)
	}
	return n, time.UnixMilli(expires).Sub(now), nil
}

// Reset removes a counter.
func (s *Store) Reset(ctx context.Context, key string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key)
	return session.Unavailable(err)
}

// Ping checks the file.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.write.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return session.Unavailable(err)
	}
	return nil
}
