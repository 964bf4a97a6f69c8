package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names an S3-compatible store and an existing bucket in it.
type S3Config struct {
	// Endpoint is the server's URL (https://s3.example.com, or
	// http://minio:9000 on a private network).
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	// Region defaults to us-east-1.
	Region string
}

// S3 keeps blobs as objects of one bucket, addressed path-style so that any
// S3-compatible server works. A put streams in parts of 8 MiB (the only
// buffer), and an object appears whole or not at all.
type S3 struct {
	client *minio.Client
	bucket string
	// puts bounds the puts streaming at once, each with its part buffer.
	puts chan struct{}
}

// s3Puts is how many puts may stream at once (16 × 8 MiB of buffers).
const s3Puts = 16

// s3PartSize is the buffer of a streamed put.
const s3PartSize = 8 << 20

// OpenS3 connects to the store; the bucket must exist.
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("files: the S3 endpoint must be an http(s) URL with no path")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("files: the S3 bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: u.Scheme == "https",
		Region: cfg.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, puts: make(chan struct{}, s3Puts)}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Put streams r into the object key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	if !validKey(key) {
		return 0, fmt.Errorf("files: bad key %q", key)
	}
	select {
	case s.puts <- struct{}{}:
		defer func() { <-s.puts }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Unsigned payloads (integrity from TLS and a CRC32C checksum): some
	// S3-compatible servers do not take streamed payload signatures.
	info, err := s.client.PutObject(ctx, s.bucket, key, r, -1, minio.PutObjectOptions{ContentType: contentType, PartSize: s3PartSize, DisableContentSha256: true})
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// Open reads the object key.
func (s *S3) Open(ctx context.Context, key string) (Blob, error) {
	if !validKey(key) {
		return nil, ErrNotFound
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return s3Blob{Object: obj, info: info}, nil
}

type s3Blob struct {
	*minio.Object
	info minio.ObjectInfo
}

func (b s3Blob) Size() int64        { return b.info.Size }
func (b s3Blob) ModTime() time.Time { return b.info.LastModified }

// Delete removes the object key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return fmt.Errorf("files: bad key %q", key)
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil
	}
	return err
}

// List lists the objects under prefix.
func (s *S3) List(ctx context.Context, prefix string, fn func(key string, size int64, written time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn fails
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if err := fn(o.Key, o.Size, o.LastModified); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks that the bucket exists and the credentials reach it.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("files: the S3 store: %w", err)
	}
	if !ok {
		return fmt.Errorf("files: the S3 bucket %q does not exist", s.bucket)
	}
	return nil
}
