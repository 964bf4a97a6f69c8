package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/files"
)

// An archive of a gateway whose files live in a directory holds them after
// the documents: a line {"f": key, "n": size}, then its bytes in lines
// {"b": base64} of 48 KiB each. The archive's authentication covers them.
// A restore streams each file to a staging area as it reads it, never
// holding it in memory, and puts the staged files in place only once the
// whole archive is verified, before the documents that name them change.

// fileChunk is how many bytes of a file one archive line holds.
const fileChunk = 48 << 10

// stagingPrefix is where a restore keeps files until the archive verifies.
const stagingPrefix = "_restore/"

// backupFiles writes every stored file (not thumbnails, which are made
// again) into the archive and returns how many it wrote.
func (a *Admin) backupFiles(ctx context.Context, out io.Writer) (int64, error) {
	var keys []string
	err := a.blobs.List(ctx, "", func(key string, _ int64, _ time.Time) error {
		if !strings.HasPrefix(key, ".") && !strings.HasPrefix(key, stagingPrefix) && !files.IsThumbnail(key) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var n int64
	buf := make([]byte, fileChunk)
	for _, key := range keys {
		blob, err := a.blobs.Open(ctx, key)
		if err == files.ErrNotFound {
			continue // removed meanwhile, with its document
		}
		if err != nil {
			return n, err
		}
		err = func() error {
			defer blob.Close()
			if err := writeLine(out, map[string]any{"f": key, "n": blob.Size()}); err != nil {
				return err
			}
			for {
				k, rerr := io.ReadFull(blob, buf)
				if k > 0 {
					if err := writeLine(out, map[string]string{"b": base64.StdEncoding.EncodeToString(buf[:k])}); err != nil {
						return err
					}
				}
				if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
					return nil
				}
				if rerr != nil {
					return rerr
				}
			}
		}()
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// staging receives an archive's files while it is read.
type staging struct {
	ctx    context.Context
	blobs  files.Blobs
	prefix string
	keys   []string
	// the file being read: its key, declared size, bytes so far, and the
	// writer of the put that stores it.
	key   string
	size  int64
	got   int64
	pw    *io.PipeWriter
	done  chan error
	maxed bool
}

func newStaging(ctx context.Context, blobs files.Blobs) *staging {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &staging{ctx: ctx, blobs: blobs, prefix: stagingPrefix + hex.EncodeToString(b[:]) + "/"}
}

// begin starts a file of the archive.
func (s *staging) begin(key string, size int64) error {
	if err := s.finish(); err != nil {
		return err
	}
	if s.blobs == nil {
		return corrupt("it holds files, and this gateway keeps none")
	}
	if strings.HasPrefix(key, ".") || strings.HasPrefix(key, stagingPrefix) || size < 0 {
		return corrupt("a file line names " + resources.QuoteName(resources.ClipText(key)))
	}
	pr, pw := io.Pipe()
	s.key, s.size, s.got, s.pw, s.done = key, size, 0, pw, make(chan error, 1)
	go func() {
		_, err := s.blobs.Put(s.ctx, s.prefix+key, pr, "application/octet-stream")
		_ = pr.CloseWithError(err)
		s.done <- err
	}()
	return nil
}

// write adds bytes of the current file.
func (s *staging) write(b []byte) error {
	if s.pw == nil {
		return corrupt("file bytes before a file line")
	}
	s.got += int64(len(b))
	if s.got > s.size {
		return corrupt("a file is longer than its line says")
	}
	if _, err := s.pw.Write(b); err != nil {
		return err
	}
	return nil
}

// finish ends the current file, if any.
func (s *staging) finish() error {
	if s.pw == nil {
		return nil
	}
	_ = s.pw.Close()
	err := <-s.done
	s.pw = nil
	if err != nil {
		return err
	}
	if s.got != s.size {
		return corrupt("a file is shorter than its line says")
	}
	s.keys = append(s.keys, s.key)
	return nil
}

// abort stops the current file and removes what was staged.
func (s *staging) abort() {
	if s.pw != nil {
		_ = s.pw.CloseWithError(io.ErrClosedPipe)
		<-s.done
		s.pw = nil
	}
	if s.blobs == nil {
		return
	}
	ctx := context.WithoutCancel(s.ctx)
	_ = s.blobs.List(ctx, s.prefix, func(key string, _ int64, _ time.Time) error { return s.blobs.Delete(ctx, key) })
}

// promote puts every staged file in place. Names are the gateway's and
// never reused, so a file already in place is the same file.
func (s *staging) promote() error {
	ctx := context.WithoutCancel(s.ctx)
	for _, key := range s.keys {
		blob, err := s.blobs.Open(ctx, s.prefix+key)
		if err != nil {
			return err
		}
		_, err = s.blobs.Put(ctx, key, blob, "application/octet-stream")
		_ = blob.Close()
		if err != nil {
			return err
		}
		_ = s.blobs.Delete(ctx, s.prefix+key)
	}
	return nil
}
