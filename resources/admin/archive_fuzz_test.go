package admin

import (
	"bytes"
	"compress/gzip"
	"context"
	"testing"

	"github.com/tnt/gateway/resources"
)

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

// FuzzReadArchive feeds hostile archives to the restore's reader: it must
// never panic, and whatever it refuses it refuses as a client error, with
// nothing read into the store (the reader never touches it).
func FuzzReadArchive(f *testing.F) {
	f.Add(gz(`{"format":"gateway-backup","version":2,"collections":["gym"]}` + "\n" + `{"c":"gym","d":{"_id":"x"}}` + "\n" + `{"end":true,"documents":1,"key":"k","hmac":"00"}` + "\n"))
	f.Add(gz(`{"format":"gateway-backup","version":2,"collections":["../etc"]}` + "\n"))
	f.Add(gz(""))
	f.Add([]byte("not gzip"))
	reg, err := resources.NewRegistry(nil)
	if err != nil {
		f.Fatal(err)
	}
	a := New(Deps{Registry: reg, ArchiveKey: func() (string, []byte) { return "k", bytes.Repeat([]byte{1}, 32) }})
	f.Fuzz(func(t *testing.T, archive []byte) {
		_, err := a.readArchive(context.Background(), bytes.NewReader(archive))
		if code := resources.ErrorCode(err); err != nil && code != resources.EINVALIDREQUEST && code != resources.ETOOLARGE {
			t.Fatalf("refusal of another kind: %v", err)
		}
	})
}
