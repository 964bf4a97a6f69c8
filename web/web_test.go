package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredFilesMatchTheirRecord: every file under a vendor folder is
// recorded in THIRD_PARTY.md with its digest, and is byte for byte the file
// recorded there.
func TestVendoredFilesMatchTheirRecord(t *testing.T) {
	record, err := os.ReadFile("THIRD_PARTY.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|.*\\| `([0-9a-f]{64})` \\|$").FindAllStringSubmatch(string(record), -1)
	digests := map[string]string{}
	for _, r := range rows {
		digests[r[1]] = r[2]
	}
	seen := 0
	err = fs.WalkDir(os.DirFS("."), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "/vendor/") {
			return err
		}
		seen++
		want, ok := digests[path]
		if !ok {
			t.Errorf("%s is vendored but not recorded in THIRD_PARTY.md", path)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s differs from the recorded file", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 || seen != len(digests) {
		t.Errorf("%d vendored files, %d recorded", seen, len(digests))
	}
}

// TestConsoleHasNoInlineCode: the console's pages load scripts and styles
// from files only, as its Content-Security-Policy demands, and never write
// markup from strings.
func TestConsoleHasNoInlineCode(t *testing.T) {
	err := fs.WalkDir(Console(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Console(), path)
		if err != nil {
			return err
		}
		text := string(b)
		if strings.HasSuffix(path, ".html") {
			if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(text) || strings.Contains(text, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(text) {
				t.Errorf("%s has inline script, style or handlers", path)
			}
		}
		if strings.HasSuffix(path, ".js") {
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
				if strings.Contains(text, sink) {
					t.Errorf("%s uses %s", path, sink)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
