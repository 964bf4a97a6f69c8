// Package files keeps the files of `file` and `files` fields: where their
// bytes live (a directory under the data dir, or any S3-compatible store),
// what an upload is (its type decided from its content, its size and an
// image's pixels bounded while it streams in), how a file is served
// (ranges, ETags, thumbnails made once), and the sweep that removes what no
// document names any more. Rights come from the resource engine; this
// package knows nothing of HTTP.
package files
