package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Dir keeps blobs as files under a directory: key "a/b/c" is root/a/b/c.
// A put writes a temporary file beside the blobs (root/.tmp), syncs it and
// renames it into place, so a key is never half written; what a crash
// leaves in .tmp is swept by age.
type Dir struct {
	root string
}

// OpenDir uses root (made if missing, mode 0700) for blobs.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, ".tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("files: bad key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file, then renames it to key.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, _ string) (int64, error) {
	dst, err := d.path(key)
	if err != nil {
		return 0, err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(d.root, ".tmp", hex.EncodeToString(b[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, readerWithContext(ctx, r))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o700)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// Open opens the blob's file.
func (d *Dir) Open(_ context.Context, key string) (Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, ErrNotFound
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, ErrNotFound
	}
	return dirBlob{File: f, info: st}, nil
}

type dirBlob struct {
	*os.File
	info fs.FileInfo
}

func (b dirBlob) Size() int64        { return b.info.Size() }
func (b dirBlob) ModTime() time.Time { return b.info.ModTime() }

// Delete removes the blob's file, and the directories it leaves empty.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for dir := filepath.Dir(p); dir != d.root && strings.HasPrefix(dir, d.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty, or gone
		}
	}
	return nil
}

// List walks the blobs under prefix; the temporary files are listed
// under ".tmp/".
func (d *Dir) List(ctx context.Context, prefix string, fn func(key string, size int64, written time.Time) error) error {
	// Walk only the directory the prefix names, when it names one.
	start := d.root
	if i := strings.LastIndex(prefix, "/"); i > 0 && validKey(prefix[:i]+"/x") {
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	return filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(key, info.Size(), info.ModTime())
	})
}

// Ping checks that the directory is there.
func (d *Dir) Ping(context.Context) error {
	_, err := os.Stat(filepath.Join(d.root, ".tmp"))
	return err
}

// RemoveTemp removes a leftover temporary file (from List's ".tmp/" keys).
func (d *Dir) RemoveTemp(key string) error {
	name, ok := strings.CutPrefix(key, ".tmp/")
	if !ok || strings.ContainsAny(name, `/\`) || name == "" {
		return fmt.Errorf("files: %q is not a temporary file", key)
	}
	return os.Remove(filepath.Join(d.root, ".tmp", name))
}

// readerWithContext stops reading once ctx ends.
func readerWithContext(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
