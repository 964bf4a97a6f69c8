package sqlite

import "context"

// Rows counts every stored row, expired or not.
func (s *Store) Rows(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM nonces) +
		(SELECT count(*) FROM counters) + (SELECT count(*) FROM spent)`).Scan(&n)
	return n, err
}
