package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// versions reads SQLite's data_version on one connection kept for the
// store's life. The value changes whenever another connection, of this
// process or any other, has committed a write to the file, and this
// connection never writes: so an unchanged value means nothing was written
// since. A replaced connection starts a new epoch, since its values are not
// comparable with the old one's.
type versions struct {
	db    *sql.DB
	mu    sync.Mutex
	conn  *sql.Conn
	stmt  *sql.Stmt
	epoch uint32
}

// Version returns a value that differs from every value returned before
// any write committed since (resources.Versioned).
func (s *Store) Version(ctx context.Context) (uint64, error) {
	v := s.versions
	v.mu.Lock()
	defer v.mu.Unlock()
	// No deadline of the request reaches the read (it takes no lock), so
	// the driver starts no watcher for it.
	ctx = context.WithoutCancel(ctx)
	if v.conn == nil {
		conn, err := v.db.Conn(ctx)
		if err != nil {
			return 0, classify(err)
		}
		stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
		if err != nil {
			_ = conn.Close()
			return 0, classify(err)
		}
		v.conn, v.stmt = conn, stmt
		v.epoch++
	}
	var n int64
	if err := v.stmt.QueryRowContext(ctx).Scan(&n); err != nil {
		_ = v.stmt.Close()
		_ = v.conn.Close()
		v.conn, v.stmt = nil, nil
		return 0, classify(err)
	}
	return uint64(v.epoch)<<32 | uint64(uint32(n)), nil //nolint:gosec // data_version is a 32-bit counter; only equality matters
}

func (v *versions) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var err error
	if v.conn != nil {
		err = errors.Join(v.stmt.Close(), v.conn.Close())
		v.conn, v.stmt = nil, nil
	}
	return errors.Join(err, v.db.Close())
}
