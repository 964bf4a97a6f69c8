package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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
	epoch uint32
	dest  [1]driver.Value
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
		v.conn = conn
		v.epoch++
	}
	var n int64
	// The driver's own query, under database/sql's lock of the connection:
	// database/sql's statement and rows would allocate more than the read
	// itself on every request.
	err := v.conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("sqlite: the driver cannot query")
		}
		rows, err := q.QueryContext(ctx, `PRAGMA data_version`, nil)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		if err := rows.Next(v.dest[:]); err != nil {
			return err
		}
		n, ok = v.dest[0].(int64)
		if !ok {
			return fmt.Errorf("sqlite: data_version is %T", v.dest[0])
		}
		return nil
	})
	if err != nil {
		_ = v.conn.Close()
		v.conn = nil
		return 0, classify(err)
	}
	return uint64(v.epoch)<<32 | uint64(uint32(n)), nil //nolint:gosec // data_version is a 32-bit counter; only equality matters
}

func (v *versions) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var err error
	if v.conn != nil {
		err = v.conn.Close()
		v.conn = nil
	}
	return errors.Join(err, v.db.Close())
}
