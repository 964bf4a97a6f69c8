package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/realtime"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/mongo"
	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/redis"
	sessionsqlite "github.com/tnt/gateway/resources/session/sqlite"
	"github.com/tnt/gateway/resources/sqlite"
	"github.com/tnt/gateway/resources/wallet"
)

// dataDir makes sure the data dir exists and can be written to, so that a
// read-only or full disk is named at start instead of failing a request.
func dataDir(cfg Config) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir %s cannot be created: %w", cfg.DataDir, err)
	}
	f, err := os.CreateTemp(cfg.DataDir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", cfg.DataDir, err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// OpenStore opens MongoDB when configured, else the embedded SQLite file in
// the data dir. The returned function closes it.
func OpenStore(ctx context.Context, cfg Config) (resources.Store, func() error, error) {
	if cfg.MongoURI != "" {
		s, err := mongo.Open(cfg.MongoURI, cfg.MongoDB)
		if err != nil {
			return nil, nil, err
		}
		return s, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.Close(ctx)
		}, nil
	}
	if err := dataDir(cfg); err != nil {
		return nil, nil, err
	}
	s, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "gateway.db"), 4)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// OpenSessions opens Redis when configured, else the embedded SQLite file in
// the data dir (with its sweeper running). The returned function closes it.
func OpenSessions(ctx context.Context, cfg Config) (session.Store, func() error, error) {
	if cfg.RedisURL != "" {
		s, err := redis.Open(cfg.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	if err := dataDir(cfg); err != nil {
		return nil, nil, err
	}
	s, err := sessionsqlite.Open(ctx, filepath.Join(cfg.DataDir, "sessions.db"), time.Minute)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// Registry builds the resources: the built-in ones and those of the
// configured resources file.
func Registry(cfg Config) (*resources.Registry, error) {
	var extra []byte
	if cfg.ResourcesFile != "" {
		b, err := os.ReadFile(cfg.ResourcesFile)
		if err != nil {
			return nil, fmt.Errorf("resources file: %w", err)
		}
		extra = b
	}
	return resources.NewRegistry(extra)
}

// Policy builds the policy from the built-in or configured files; a policy
// stored through the API replaces it once the administration syncs it.
func Policy(cfg Config, reg *resources.Registry) (*policy.Holder, error) {
	model, text := policy.DefaultModel(), policy.DefaultPolicy()
	if cfg.PolicyModelFile != "" {
		b, err := os.ReadFile(cfg.PolicyModelFile)
		if err != nil {
			return nil, fmt.Errorf("policy model file: %w", err)
		}
		model = string(b)
	}
	if cfg.PolicyFile != "" {
		b, err := os.ReadFile(cfg.PolicyFile)
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		text = string(b)
	}
	rules, err := policy.ParseRules(text)
	if err != nil {
		return nil, err
	}
	return policy.NewHolder(policy.Config{
		Model: model, Rules: rules, Groups: reg.Groups(),
		Actions: append(resources.EngineActions(), wallet.Actions()...),
	})
}

// OpenChanges opens the realtime change log: a Redis stream every replica
// shares when Redis is configured, else realtime.db in the data dir.
func OpenChanges(ctx context.Context, cfg Config) (realtime.Log, error) {
	if cfg.RedisURL != "" {
		return realtime.OpenRedisLog(cfg.RedisURL)
	}
	if err := dataDir(cfg); err != nil {
		return nil, err
	}
	return realtime.OpenFileLog(ctx, filepath.Join(cfg.DataDir, "realtime.db"))
}

// Data is the document store with every write to a resource recorded in
// the change log, as every process that writes the data must open it.
type Data struct {
	Store   resources.Store
	Changes realtime.Log
	Close   func() error
}

// OpenData opens the document store and the change log, and wraps the
// store so that its writes reach the log. onLost (may be nil) hears of
// changes committed but not recorded.
func OpenData(ctx context.Context, cfg Config, reg *resources.Registry, onLost func(error)) (Data, error) {
	st, closeStore, err := OpenStore(ctx, cfg)
	if err != nil {
		return Data{}, err
	}
	changes, err := OpenChanges(ctx, cfg)
	if err != nil {
		_ = closeStore()
		return Data{}, fmt.Errorf("realtime log: %w", err)
	}
	captured := realtime.Capture(st, changes, realtime.CaptureConfig{Schemas: reg.Schemas(), Serial: cfg.MongoURI == "", OnLost: onLost})
	return Data{Store: captured, Changes: changes, Close: func() error { return errors.Join(closeStore(), changes.Close()) }}, nil
}

// OpenBlobs opens where uploaded files live: the S3 bucket the settings
// name, or <data dir>/files.
func OpenBlobs(ctx context.Context, cfg Config) (files.Blobs, error) {
	if cfg.S3Endpoint != "" {
		return files.OpenS3(ctx, files.S3Config{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, Region: cfg.S3Region})
	}
	return files.OpenDir(filepath.Join(cfg.DataDir, "files"))
}
