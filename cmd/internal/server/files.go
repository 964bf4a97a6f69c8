package server

import (
	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/resources/files"
)

// blobBackend names where files live, for the status report.
func blobBackend(cfg config.Config) string {
	if cfg.S3Endpoint != "" {
		return "s3"
	}
	return "directory"
}

// archivedBlobs are the files backups hold: those of the embedded store's
// directory; an S3 store keeps its own (versioning, replication).
func archivedBlobs(cfg config.Config, blobs files.Blobs) files.Blobs {
	if cfg.S3Endpoint != "" {
		return nil
	}
	return blobs
}
