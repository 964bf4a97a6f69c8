package files

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"
)

// ErrNotFound means no blob has the key.
var ErrNotFound = errors.New("files: no such blob")

// Blob is a stored file opened for reading: it seeks (for ranges) and
// knows its size and when it was written.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Blobs keeps file contents by key: a directory (Dir) or an S3 bucket
// (S3). A key is either absent or whole: an upload cut off leaves nothing
// under its key.
type Blobs interface {
	// Put stores r under key and returns how many bytes it stored. An
	// error from r (a size limit, a refused type) aborts the put and
	// leaves the key as it was.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error)
	// Open reads a blob; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes a blob; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob whose key begins with prefix.
	List(ctx context.Context, prefix string, fn func(key string, size int64, written time.Time) error) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// keyPattern is what a key may hold: the gateway makes every key from a
// collection name, a document id and a name of its own.
var keyPattern = regexp.MustCompile(`^[a-z0-9_]+(/[a-z0-9_.-]+)+$`)

// validKey refuses a key the gateway would never make (a path escape).
func validKey(key string) bool {
	return keyPattern.MatchString(key) && !strings.Contains(key, "..") && len(key) <= 512
}
