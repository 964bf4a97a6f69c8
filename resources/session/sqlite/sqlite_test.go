package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/sessiontest"
	"github.com/tnt/gateway/resources/session/sqlite"
)

// MustOpen opens a session store on a fresh file.
func MustOpen(tb testing.TB) session.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "sessions.db"), time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) { sessiontest.Run(t, MustOpen) }

func TestSweeperDeletesExpiredRows(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	_ = s.Create(ctx, session.Session{ID: "a", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(100 * time.Millisecond)})
	_, _ = s.RememberNonce(ctx, "n", 100*time.Millisecond)
	if n, _ := s.Rows(ctx); n == 0 && time.Since(now) < 100*time.Millisecond {
		t.Fatal("rows gone before they expired")
	}
	// Expired rows are gone from the file, not just hidden by the reads.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := s.Rows(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows left 30 s after they expired: %d %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkSessionCheck(b *testing.B) {
	s := MustOpen(b)
	now := time.Now()
	ctx := context.Background()
	_ = s.Create(ctx, session.Session{ID: "bench", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
