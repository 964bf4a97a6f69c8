// Package web holds what the gateway serves to browsers: the admin console
// (plain ES modules, no build step) and the API reference page with its
// vendored renderer. Both are embedded in the binary, so the gateway serves
// them offline; THIRD_PARTY.md records every vendored file's version,
// licence and digest.
package web

import (
	"embed"
	"io/fs"
)

//go:embed console
var console embed.FS

//go:embed docs
var docs embed.FS

// Console is the admin console's files, index.html at the root.
func Console() fs.FS { return sub(console, "console") }

// Docs is the API reference page's files, index.html at the root.
func Docs() fs.FS { return sub(docs, "docs") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return s
}
