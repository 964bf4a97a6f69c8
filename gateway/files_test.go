package gateway_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/files/s3test"
)

const (
	filesResources = "testdata/files_resources.json"
	filesPolicy    = "testdata/files_policy.csv"
)

// filePart is one part of an upload.
type filePart struct {
	form, name, contentType string
	body                    []byte
}

// multipartBody builds an upload's body.
func multipartBody(t testing.TB, parts ...filePart) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := map[string][]string{"Content-Disposition": {fmt.Sprintf(`form-data; name=%q; filename=%q`, p.form, p.name)}}
		if p.contentType != "" {
			h["Content-Type"] = []string{p.contentType}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(p.body)
	}
	_ = w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// upload sends files to a document's field.
func (e *env) upload(t testing.TB, auth []string, resource, id, field string, parts ...filePart) reply {
	t.Helper()
	ct, body := multipartBody(t, parts...)
	return e.callRaw(t, "POST", "/api/"+resource+"/"+id+"/files/"+field, ct, body, auth...)
}

// callRaw sends a body of any type and decodes the envelope of a JSON
// answer.
func (e *env) callRaw(t testing.TB, method, path, contentType string, body []byte, headers ...string) reply {
	t.Helper()
	resp, raw := e.roundTrip(t, method, path, contentType, body, headers...)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

// fetch downloads a file (with extra headers) and returns the answer.
func (e *env) fetch(t testing.TB, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return e.roundTrip(t, "GET", path, "", nil, headers...)
}

// roundTrip sends one request and returns the answer and its body.
func (e *env) roundTrip(t testing.TB, method, path, contentType string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e.conformance.check(t, e, req, resp, raw) // every answer, as the description says
	return resp, raw
}

// pngOf draws a w×h PNG.
func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a small PNG whose header claims w×h pixels: decoding it would
// take gigabytes.
func bombPNG(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var b bytes.Buffer
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return b.Bytes()
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, chunk("IEND", nil)...)
}

// eachBlobStore runs a files test on a directory and on an S3 server.
func eachBlobStore(t *testing.T, opt options, run func(t *testing.T, e *env)) {
	opt.resourcesFile, opt.policyFile = filesResources, filesPolicy
	t.Run("directory", func(t *testing.T) { run(t, MustStartGatewayWith(t, opt)) })
	t.Run("s3", func(t *testing.T) {
		o := opt
		o.s3 = s3test.Start(t)
		run(t, MustStartGatewayWith(t, o))
	})
}

// blobKeys lists the stored blobs under a prefix.
func (e *env) blobKeys(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	if err := e.blobs.List(context.Background(), prefix, func(k string, _ int64, _ time.Time) error {
		if !strings.HasPrefix(k, ".tmp/") {
			keys = append(keys, k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestFilesUploadDownloadRemove(t *testing.T) {
	eachBlobStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		ana, _ := e.userWithLevel(t, app, "ana_files", 4)
		bob, _ := e.userWithLevel(t, app, "bob_files", 4)
		r := e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"tax"}}`, ana...)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		paper := dataOf(t, r)["_id"].(string)
		pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789"), 500)...)
		r = e.upload(t, ana, "paper", paper, "scan", filePart{"file", "tax.pdf", "image/png", pdf})
		if r.status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.status, r.raw)
		}
		name, _ := dataOf(t, r)["scan"].(string)
		if !strings.HasSuffix(name, ".pdf") || strings.Contains(name, "tax") {
			t.Fatalf("the stored name %q: the gateway's, with the type it found", name)
		}
		path := "/api/files/paper/" + paper + "/" + name
		resp, body := e.fetch(t, path, ana...)
		if resp.StatusCode != 200 || !bytes.Equal(body, pdf) {
			t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
		}
		for h, want := range map[string]string{"Content-Type": "application/pdf", "X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": "sandbox; default-src 'none'", "Accept-Ranges": "bytes"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("a PDF is served %q", resp.Header.Get("Content-Disposition"))
		}
		etag := resp.Header.Get("ETag")
		if resp, _ := e.fetch(t, path, append(ana, "If-None-Match", etag)...); resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", resp.StatusCode)
		}
		if resp, body := e.fetch(t, path, append(ana, "Range", "bytes=0-4")...); resp.StatusCode != http.StatusPartialContent || string(body) != "%PDF-" {
			t.Errorf("Range: %d %q", resp.StatusCode, body)
		}
		// Rights: another user, a guest: as for a missing file; an
		// admin (query on papers): the file.
		for who, auth := range map[string][]string{"another user": bob, "a guest": nil} {
			if resp, _ := e.fetch(t, path, auth...); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s downloads: %d", who, resp.StatusCode)
			}
		}
		if resp, _ := e.fetch(t, path, "Authorization", adminHeader("admin", testPassword)); resp.StatusCode != 200 {
			t.Errorf("an admin downloads: %d", resp.StatusCode)
		}
		if r := e.upload(t, bob, "paper", paper, "scan", filePart{"file", "x.pdf", "", pdf}); r.status != http.StatusNotFound {
			t.Errorf("another user uploads to ana's paper: %d %s", r.status, r.raw)
		}

		// A private field: the owner and read_private only.
		r = e.upload(t, ana, "paper", paper, "secret", filePart{"file", "s.txt", "", []byte("the safe's code is 1234\n")})
		secret := dataOf(t, r)["secret"].(string)
		if resp, _ := e.fetch(t, "/api/files/paper/"+paper+"/"+secret, ana...); resp.StatusCode != 200 {
			t.Errorf("the owner reads a private file: %d", resp.StatusCode)
		}

		// A new file replaces the old one, which is gone.
		r = e.upload(t, ana, "paper", paper, "scan", filePart{"file", "v2.txt", "", []byte("plain words\n")})
		second := dataOf(t, r)["scan"].(string)
		if second == name || !strings.HasSuffix(second, ".txt") {
			t.Fatalf("replaced by %q", second)
		}
		if resp, _ := e.fetch(t, path, ana...); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a replaced file: %d", resp.StatusCode)
		}
		if keys := e.blobKeys(t, "paper/"+paper+"/"); len(keys) != 2 {
			t.Errorf("stored after the replacement: %v", keys)
		}
		r = e.call(t, "DELETE", "/api/paper/"+paper+"/files/scan/"+second, "", "", ana...)
		if r.status != http.StatusOK || strings.Contains(r.raw, second) {
			t.Fatalf("remove: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "paper/"+paper+"/"); len(keys) != 1 {
			t.Errorf("stored after the removal: %v", keys)
		}

		// Gym photos: public, so a guest sees them; several at once, up
		// to maxItems; thumbnails made once.
		gym := e.create(t, "admin", "gym", `{"name":"Photo Gym"}`)
		admin := []string{"Authorization", adminHeader("admin", testPassword)}
		r = e.upload(t, admin, "gym", gym, "photos", filePart{"file", "a.png", "", pngOf(t, 640, 320)}, filePart{"file", "b.png", "", pngOf(t, 50, 50)})
		if r.status != http.StatusCreated {
			t.Fatalf("photos: %d %s", r.status, r.raw)
		}
		photos := dataOf(t, r)["photos"].([]any)
		first := photos[0].(string)
		resp, body = e.fetch(t, "/api/files/gym/"+gym+"/"+first)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") {
			t.Fatalf("a guest downloads a public photo: %d %v", resp.StatusCode, resp.Header)
		}
		for _, c := range []struct {
			thumb string
			w, h  int
		}{{"100x100", 100, 50}, {"480x0", 480, 240}} {
			resp, body = e.fetch(t, "/api/files/gym/"+gym+"/"+first+"?thumb="+c.thumb)
			if resp.StatusCode != 200 {
				t.Fatalf("thumb %s: %d %s", c.thumb, resp.StatusCode, body)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(body))
			if err != nil || cfg.Width != c.w || cfg.Height != c.h {
				t.Errorf("thumb %s is %dx%d (%v)", c.thumb, cfg.Width, cfg.Height, err)
			}
		}
		again, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+first+"?thumb=100x100")
		if again.Header.Get("ETag") != resp.Header.Get("ETag") && again.StatusCode != 200 {
			t.Errorf("a thumbnail again: %d", again.StatusCode)
		}
		if keys := e.blobKeys(t, "gym/"+gym+"/thumbs/"); len(keys) != 2 {
			t.Errorf("thumbnails stored: %v", keys)
		}
		if resp, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+first+"?thumb=50x50"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unlisted thumbnail: %d", resp.StatusCode)
		}
		if r := e.upload(t, admin, "gym", gym, "photos", filePart{"file", "c.png", "", pngOf(t, 10, 10)}, filePart{"file", "d.png", "", pngOf(t, 10, 10)}); r.status != http.StatusBadRequest {
			t.Errorf("beyond maxItems: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "gym/"+gym+"/"); len(keys) != 4 {
			t.Errorf("a refused upload left files: %v", keys)
		}
		// A private field of a discoverable resource: not a guest's, nor
		// a member's; the admin (read_private) reads it.
		r = e.upload(t, admin, "gym", gym, "contract", filePart{"file", "c.pdf", "", []byte("%PDF-1.4 the lease\n")})
		contract := dataOf(t, r)["contract"].(string)
		for who, auth := range map[string][]string{"a guest": nil, "a user": bob} {
			if resp, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+contract, auth...); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s downloads a private field's file: %d", who, resp.StatusCode)
			}
		}
		if resp, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+contract, admin...); resp.StatusCode != 200 {
			t.Errorf("the admin downloads the private file: %d", resp.StatusCode)
		}
		// A member may read gyms but not change them.
		member := []string{"Authorization", adminHeader("member", testPassword)}
		if r := e.upload(t, member, "gym", gym, "photos", filePart{"file", "m.png", "", pngOf(t, 10, 10)}); r.status != http.StatusForbidden {
			t.Errorf("a member uploads to a gym: %d %s", r.status, r.raw)
		}
	})
}

func TestUploadRefusals(t *testing.T) {
	eachBlobStore(t, options{maxImagePixels: 1_000_000}, testUploadRefusals)
}

func testUploadRefusals(t *testing.T, e *env) {
	app := newAppClient(t, e.srv.URL)
	ana, _ := e.userWithLevel(t, app, "ana_refused", 4)
	paper := dataOf(t, e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"x"}}`, ana...))["_id"].(string)
	gym := e.create(t, "admin", "gym", `{"name":"Refusal Gym"}`)
	admin := []string{"Authorization", adminHeader("admin", testPassword)}
	for _, c := range []struct {
		name   string
		auth   []string
		target string
		part   filePart
		status int
		code   string
	}{
		{"a PHP script named .jpg", admin, "gym/" + gym + "/files/photos", filePart{"file", "shell.jpg", "image/jpeg", []byte("<?php system($_GET['c']); ?>")}, 400, "InvalidResourceValueError"},
		{"HTML named .png", admin, "gym/" + gym + "/files/photos", filePart{"file", "x.png", "image/png", []byte("<html><script>alert(1)</script></html>")}, 400, "InvalidResourceValueError"},
		{"HTML where text is taken", ana, "paper/" + paper + "/files/scan", filePart{"file", "x.txt", "text/plain", []byte("<!DOCTYPE html><body onload=alert(1)>")}, 400, "InvalidResourceValueError"},
		{"a decompression bomb", admin, "gym/" + gym + "/files/photos", filePart{"file", "bomb.png", "", bombPNG(100_000, 100_000)}, 400, "InvalidResourceValueError"},
		{"over the pixel bound", admin, "gym/" + gym + "/files/photos", filePart{"file", "big.png", "", bombPNG(2000, 1000)}, 400, "InvalidResourceValueError"},
		{"a part not named file", admin, "gym/" + gym + "/files/photos", filePart{"photo", "a.png", "", pngOf(t, 5, 5)}, 400, "InvalidRequestError"},
		{"an unknown field", admin, "gym/" + gym + "/files/name", filePart{"file", "a.png", "", pngOf(t, 5, 5)}, 400, "InvalidResourceParameterError"},
		{"a guest", nil, "gym/" + gym + "/files/photos", filePart{"file", "a.png", "", pngOf(t, 5, 5)}, 401, "AuthenticationError"},
	} {
		ct, body := multipartBody(t, c.part)
		r := e.callRaw(t, "POST", "/api/"+c.target, ct, body, c.auth...)
		if r.status != c.status || r.body.ErrorCode != c.code {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	if keys := e.blobKeys(t, ""); len(keys) != 0 {
		t.Errorf("refused uploads left files: %v", keys)
	}
	if r := e.callRaw(t, "POST", "/api/gym/"+gym+"/files/photos", "application/json", []byte(`{"file":"x"}`), admin...); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("not multipart: %d", r.status)
	}
	if r := e.callRaw(t, "POST", "/api/gym/"+gym+"/create", "application/json", nil, admin...); r.status == http.StatusCreated {
		t.Errorf("a stray route made something")
	}
	// The file fields are not set by the operations.
	if r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"update","data":{"_id":"`+gym+`","photos":["x"]}}`); r.status != http.StatusBadRequest || !strings.Contains(r.raw, "upload") {
		t.Errorf("photos set by an update: %d %s", r.status, r.raw)
	}

	// Over maxSize: refused while the body still streams in, never
	// buffered whole: the answer comes before the client has sent it.
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	sent := make(chan int64, 1)
	go func() {
		part, _ := w.CreateFormFile("file", "huge.pdf")
		n, _ := part.Write([]byte("%PDF-1.4\n"))
		total := int64(n)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for total < 200<<20 {
			k, err := part.Write(chunk)
			total += int64(k)
			if err != nil {
				break
			}
		}
		sent <- total
		_ = pw.CloseWithError(io.ErrClosedPipe)
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/paper/"+paper+"/files/scan", pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for i := 0; i+1 < len(ana); i += 2 {
		req.Header.Set(ana[i], ana[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the upload over maxSize got no answer: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	_ = pr.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over maxSize: %d %s", resp.StatusCode, raw)
	}
	if n := <-sent; n >= 200<<20 {
		t.Errorf("the server read all %d bytes before refusing", n)
	}
	refused := metricsText(t, e)
	for _, reason := range []string{files.RefusedSize, files.RefusedType, files.RefusedPixels} {
		if !strings.Contains(refused, `gateway_file_uploads_refused_total{reason="`+reason+`"} `) || strings.Contains(refused, `gateway_file_uploads_refused_total{reason="`+reason+`"} 0`) {
			t.Errorf("refusals for %s are not counted", reason)
		}
	}
}

func metricsText(t *testing.T, e *env) string {
	t.Helper()
	return e.call(t, "GET", "/metrics", "", "").raw
}

func TestFilesGoWithTheirDocument(t *testing.T) {
	eachBlobStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		ana, anaID := e.userWithLevel(t, app, "ana_gone", 4)
		admin := []string{"Authorization", adminHeader("admin", testPassword)}
		paper := dataOf(t, e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"x"}}`, ana...))["_id"].(string)
		e.upload(t, ana, "paper", paper, "scan", filePart{"file", "a.txt", "", []byte("words\n")})
		r := e.upload(t, ana, "profile", anaID, "avatar_file", filePart{"file", "me.png", "", pngOf(t, 30, 30)})
		if r.status != http.StatusCreated {
			t.Fatalf("avatar: %d %s", r.status, r.raw)
		}
		gym := e.create(t, "admin", "gym", `{"name":"Gone Gym"}`)
		e.upload(t, admin, "gym", gym, "photos", filePart{"file", "a.png", "", pngOf(t, 20, 20)})
		if n := len(e.blobKeys(t, "")); n != 3 {
			t.Fatalf("%d files stored", n)
		}
		// What a crash leaves (a file stored, its document never
		// changed; a file of a document that is gone; a thumbnail of a
		// removed file) is swept; what documents name stays.
		ctx := context.Background()
		for _, key := range []string{"gym/" + gym + "/0123456789abcdef0123456789abcdef.png", "paper/000000000000000000000000/0123456789abcdef0123456789abcdef.txt",
			"gym/" + gym + "/thumbs/fedcba9876543210fedcba9876543210.png-100x100.png"} {
			if _, err := e.blobs.Put(ctx, key, strings.NewReader("left over"), "text/plain"); err != nil {
				t.Fatal(err)
			}
		}
		sweeper := files.New(files.Config{Blobs: e.blobs})
		if n, err := sweeper.Sweep(ctx, e.store, e.reg, time.Hour); err != nil || n != 0 {
			t.Errorf("the sweep removed %d files younger than its grace (%v)", n, err)
		}
		if n, err := sweeper.Sweep(ctx, e.store, e.reg, 0); err != nil || n != 3 {
			t.Errorf("the sweep removed %d files, want 3 (%v)", n, err)
		}
		if n := len(e.blobKeys(t, "")); n != 3 {
			t.Errorf("after the sweep %d files stay, want the 3 documents name", n)
		}
		if r := e.call(t, "POST", "/api/paper", "", `{"operation":"delete","data":{"_id":"`+paper+`"}}`, ana...); r.status != http.StatusOK {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "paper/"); len(keys) != 0 {
			t.Errorf("a deleted document's files stay: %v", keys)
		}
		if r := e.call(t, "DELETE", "/api/admin/users/"+anaID, "sysadmin", ""); r.status != http.StatusOK {
			t.Fatalf("delete user: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "users/"); len(keys) != 0 {
			t.Errorf("a deleted user's files stay: %v", keys)
		}
		// An account deleted by its owner takes its files along too.
		bea, beaID := e.userWithLevel(t, app, "bea_gone", 4)
		e.upload(t, bea, "profile", beaID, "avatar_file", filePart{"file", "me.png", "", pngOf(t, 30, 30)})
		if keys := e.blobKeys(t, "users/"+beaID+"/"); len(keys) != 1 {
			t.Fatalf("bea's avatar: %v", keys)
		}
		b, _ := json.Marshal(map[string]string{"payload": app.seal(t, map[string]any{"password": "a fine long password"})})
		if r := e.call(t, "DELETE", "/api/account", "", string(b), bea...); r.status != http.StatusOK {
			t.Fatalf("delete own account: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "users/"+beaID+"/"); len(keys) != 0 {
			t.Errorf("a deleted account's files stay: %v", keys)
		}
		if r := e.call(t, "DELETE", "/api/admin/collections/gym?confirm=gym", "dba", ""); r.status != http.StatusOK {
			t.Fatalf("drop: %d %s", r.status, r.raw)
		}
		if keys := e.blobKeys(t, "gym/"); len(keys) != 0 {
			t.Errorf("a dropped collection's files stay: %v", keys)
		}
	})
}

func TestBackupAndRestoreHoldTheFiles(t *testing.T) {
	e := MustStartGatewayWith(t, options{resourcesFile: filesResources, policyFile: filesPolicy})
	app := newAppClient(t, e.srv.URL)
	ana, _ := e.userWithLevel(t, app, "ana_backup", 4)
	admin := []string{"Authorization", adminHeader("admin", testPassword)}
	gym := e.create(t, "admin", "gym", `{"name":"Backup Gym"}`)
	photo := pngOf(t, 300, 200)
	name := dataOf(t, e.upload(t, admin, "gym", gym, "photos", filePart{"file", "a.png", "", photo}))["photos"].([]any)[0].(string)
	paper := dataOf(t, e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"x"}}`, ana...))["_id"].(string)
	original := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 1, 2, 3, 250}, 40_000)...) // 200 KB, several archive lines
	scan := dataOf(t, e.upload(t, ana, "paper", paper, "scan", filePart{"file", "a.pdf", "", original}))["scan"].(string)
	if resp, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+name+"?thumb=100x100"); resp.StatusCode != 200 {
		t.Fatalf("thumb: %d", resp.StatusCode)
	}
	archive := e.backup(t)

	// Afterwards: the gym goes (with its photo), the scan is replaced.
	if r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"delete","data":{"_id":"`+gym+`"}}`); r.status != 200 {
		t.Fatalf("delete gym: %d", r.status)
	}
	newer := dataOf(t, e.upload(t, ana, "paper", paper, "scan", filePart{"file", "b.txt", "", []byte("newer\n")}))["scan"].(string)

	// An archive whose file bytes were altered is refused, and changes
	// nothing: no file staged is left, the files in place stay.
	tampered := recompress(t, archive, func(s string) string {
		i := strings.Index(s, `{"b":"`)
		if i < 0 {
			t.Fatal("no file in the archive")
		}
		j := i + len(`{"b":"`) + 10
		c := byte('A')
		if s[j] == 'A' {
			c = 'B'
		}
		return s[:j] + string(c) + s[j+1:]
	})
	if r := e.restore(t, tampered); r.status != http.StatusBadRequest {
		t.Fatalf("a tampered archive: %d %s", r.status, r.raw)
	}
	if keys := e.blobKeys(t, "_restore/"); len(keys) != 0 {
		t.Errorf("a refused restore left staged files: %v", keys)
	}
	if resp, _ := e.fetch(t, "/api/files/paper/"+paper+"/"+newer, ana...); resp.StatusCode != 200 {
		t.Errorf("after a refused restore the newer scan: %d", resp.StatusCode)
	}

	if r := e.restore(t, archive); r.status != http.StatusOK {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	tk := tokensOf(t, e.login(t, app, "ana_backup", "a fine long password"))
	resp, body := e.fetch(t, "/api/files/gym/"+gym+"/"+name)
	if resp.StatusCode != 200 || !bytes.Equal(body, photo) {
		t.Errorf("the restored photo: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = e.fetch(t, "/api/files/paper/"+paper+"/"+scan, bearer(tk.AccessToken)...)
	if resp.StatusCode != 200 || !bytes.Equal(body, original) {
		t.Errorf("the restored scan: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := e.fetch(t, "/api/files/paper/"+paper+"/"+newer, bearer(tk.AccessToken)...); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file the restored document does not name: %d", resp.StatusCode)
	}
	if keys := e.blobKeys(t, "_restore/"); len(keys) != 0 {
		t.Errorf("staged files stay after the restore: %v", keys)
	}
	// Thumbnails are not archived; they are made again.
	if resp, _ := e.fetch(t, "/api/files/gym/"+gym+"/"+name+"?thumb=100x100"); resp.StatusCode != 200 {
		t.Errorf("a thumbnail after the restore: %d", resp.StatusCode)
	}
}

func TestUploadQuota(t *testing.T) {
	e := MustStartGatewayWith(t, options{resourcesFile: filesResources, policyFile: filesPolicy, filesQuota: 100_000})
	app := newAppClient(t, e.srv.URL)
	ana, _ := e.userWithLevel(t, app, "ana_quota", 4)
	bob, _ := e.userWithLevel(t, app, "bob_quota", 4)
	paper := func(auth []string) string {
		return dataOf(t, e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"q"}}`, auth...))["_id"].(string)
	}
	text := func(n int) []byte { return append(bytes.Repeat([]byte("a"), n-1), '\n') }
	p1, p2 := paper(ana), paper(ana)
	if r := e.upload(t, ana, "paper", p1, "scan", filePart{"file", "a.txt", "", text(60_000)}); r.status != http.StatusCreated {
		t.Fatalf("within the quota: %d %s", r.status, r.raw)
	}
	r := e.upload(t, ana, "paper", p2, "scan", filePart{"file", "b.txt", "", text(50_000)})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.raw, "quota") {
		t.Errorf("past the quota: %d %s", r.status, r.raw)
	}
	if keys := e.blobKeys(t, "paper/"+p2+"/"); len(keys) != 0 {
		t.Errorf("an upload past the quota left files: %v", keys)
	}
	// Another user has a quota of their own.
	if r := e.upload(t, bob, "paper", paper(bob), "scan", filePart{"file", "c.txt", "", text(50_000)}); r.status != http.StatusCreated {
		t.Errorf("another user: %d %s", r.status, r.raw)
	}
	// Replacing a file gives its bytes back, and so does deleting its
	// document.
	if r := e.upload(t, ana, "paper", p1, "scan", filePart{"file", "d.txt", "", text(90_000)}); r.status != http.StatusCreated {
		t.Errorf("a replacement within the quota: %d %s", r.status, r.raw)
	}
	e.call(t, "POST", "/api/paper", "", `{"operation":"delete","data":{"_id":"`+p1+`"}}`, ana...)
	if r := e.upload(t, ana, "paper", p2, "scan", filePart{"file", "e.txt", "", text(95_000)}); r.status != http.StatusCreated {
		t.Errorf("after the document went: %d %s", r.status, r.raw)
	}
	if !strings.Contains(metricsText(t, e), `gateway_file_uploads_refused_total{reason="quota"} 1`) {
		t.Error("the refusal is not counted")
	}
}

// TestUploadRechecksItsRight: a right withdrawn while a file streams in
// refuses the upload when it ends (the right is checked again in the
// transaction that would name the file), and nothing stays stored.
func TestUploadRechecksItsRight(t *testing.T) {
	e := MustStartGatewayWith(t, options{resourcesFile: filesResources, policyFile: filesPolicy})
	app := newAppClient(t, e.srv.URL)
	ana, _ := e.userWithLevel(t, app, "ana_recheck", 4)
	paper := dataOf(t, e.call(t, "POST", "/api/paper", "", `{"operation":"create","data":{"title":"x"}}`, ana...))["_id"].(string)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	taken := make(chan struct{})
	go func() {
		part, _ := mw.CreateFormFile("file", "slow.txt")
		_, _ = part.Write(bytes.Repeat([]byte("slow words\n"), 20_000))
		close(taken) // the gateway has read it: the pipe does not buffer
	}()
	answered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/paper/"+paper+"/files/scan", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set(ana[0], ana[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- nil
			return
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		answered <- resp
	}()
	<-taken
	lines, _ := e.policyLines(t)
	kept := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return l == "p, user, papers, update_own" })
	if len(kept) == len(lines) {
		t.Fatal("the policy has no update_own on papers")
	}
	if r := e.putPolicy(t, "dba", kept); r.status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.status, r.raw)
	}
	_ = mw.Close()
	_ = pw.Close()
	resp := <-answered
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an upload whose right went while it streamed: %v", resp)
	}
	if keys := e.blobKeys(t, "paper/"); len(keys) != 0 {
		t.Errorf("the refused upload left files: %v", keys)
	}
}
