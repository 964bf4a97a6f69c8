package files_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/files/s3test"
)

// eachBlobs runs a test on a directory and on an S3 server.
func eachBlobs(t *testing.T, run func(t *testing.T, b files.Blobs)) {
	t.Run("dir", func(t *testing.T) {
		d, err := files.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		run(t, d)
	})
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		s, err := files.OpenS3(context.Background(), files.S3Config{Endpoint: srv.URL, Bucket: srv.Bucket, AccessKey: "test", SecretKey: "test-secret"})
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
	})
}

// failing reads n bytes, then fails.
type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("cut off")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func TestBlobs(t *testing.T) {
	eachBlobs(t, func(t *testing.T, b files.Blobs) {
		ctx := context.Background()
		body := bytes.Repeat([]byte("0123456789"), 1000)
		if n, err := b.Put(ctx, "gym/0123456789abcdef01234567/a1.png", bytes.NewReader(body), "image/png"); err != nil || n != int64(len(body)) {
			t.Fatalf("Put: %d %v", n, err)
		}
		blob, err := b.Open(ctx, "gym/0123456789abcdef01234567/a1.png")
		if err != nil {
			t.Fatal(err)
		}
		if blob.Size() != int64(len(body)) || time.Since(blob.ModTime()) > time.Hour {
			t.Errorf("size %d, written %v", blob.Size(), blob.ModTime())
		}
		if _, err := blob.Seek(5000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		tail, _ := io.ReadAll(blob)
		_ = blob.Close()
		if !bytes.Equal(tail, body[5000:]) {
			t.Errorf("read after a seek: %d bytes", len(tail))
		}
		// A put whose reader fails leaves nothing under its key, and
		// keeps what was there.
		if _, err := b.Put(ctx, "gym/0123456789abcdef01234567/b2.png", &failing{n: 20 << 20}, "image/png"); err == nil {
			t.Fatal("a failing reader was stored")
		}
		if _, err := b.Open(ctx, "gym/0123456789abcdef01234567/b2.png"); !errors.Is(err, files.ErrNotFound) {
			t.Errorf("a cut-off put left a blob: %v", err)
		}
		if _, err := b.Put(ctx, "gym/0123456789abcdef01234567/a1.png", &failing{n: 10}, "image/png"); err == nil {
			t.Fatal("a failing reader was stored")
		}
		if blob, err := b.Open(ctx, "gym/0123456789abcdef01234567/a1.png"); err != nil || blob.Size() != int64(len(body)) {
			t.Errorf("a cut-off put over a blob changed it: %v", err)
		} else {
			_ = blob.Close()
		}
		_, _ = b.Put(ctx, "gym/fedcba9876543210fedcba98/c3.pdf", strings.NewReader("%PDF-1.4"), "application/pdf")
		var keys []string
		if err := b.List(ctx, "gym/", func(key string, size int64, _ time.Time) error { keys = append(keys, key); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 {
			t.Errorf("listed %v", keys)
		}
		if err := b.Delete(ctx, "gym/0123456789abcdef01234567/a1.png"); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, "gym/0123456789abcdef01234567/a1.png"); err != nil {
			t.Errorf("deleting a missing blob: %v", err)
		}
		if _, err := b.Open(ctx, "gym/0123456789abcdef01234567/a1.png"); !errors.Is(err, files.ErrNotFound) {
			t.Errorf("a deleted blob opens: %v", err)
		}
		for _, bad := range []string{"../etc/passwd", "gym/../../x", "/abs", "gym", "Gym/X"} {
			if _, err := b.Put(ctx, bad, strings.NewReader("x"), "text/plain"); err == nil {
				t.Errorf("key %q accepted", bad)
			}
		}
		if err := b.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}
