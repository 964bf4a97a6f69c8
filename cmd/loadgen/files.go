package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// The files comparison: the same 1 MB JPEG uploaded and downloaded at a
// fixed concurrency on the gateway and on PocketBase (both on their
// embedded default, each in a process of its own), and the latency of a
// thumbnail's first request (made then) and of a later one.

// filesOptions tune the comparison.
type filesOptions struct {
	uploads     int
	concurrency int
	pocketbase  string
	out         string
	only        string
}

// filesServer is a system under comparison.
type filesServer interface {
	name() string
	// upload stores the file in a new document; it returns what
	// download and thumb need.
	upload(body []byte) (string, error)
	download(ref string) (int, error)
	thumb(ref string) error
	stop()
}

type filesResult struct {
	system                   string
	uploadMBs, downloadMBs   float64
	uploadP50, uploadP99     time.Duration
	downloadP50, downloadP99 time.Duration
	thumbCold, thumbCold99   time.Duration
	thumbWarm                time.Duration
}

// testJPEG is a photo-like JPEG of about size bytes (noise compresses
// little, as a camera's picture does).
func testJPEG(size int) []byte {
	side := 256
	for {
		img := image.NewRGBA(image.Rect(0, 0, side, side*3/4))
		r := rand.New(rand.NewPCG(1, 2))
		for y := range img.Rect.Dy() {
			for x := range img.Rect.Dx() {
				img.Set(x, y, color.RGBA{uint8(x + r.IntN(64)), uint8(y + r.IntN(64)), uint8(r.IntN(256)), 255})
			}
		}
		var b bytes.Buffer
		_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
		if b.Len() >= size {
			return b.Bytes()
		}
		side = side * 21 / 20
	}
}

func runFiles(o filesOptions, stdout io.Writer) error {
	started := time.Now()
	photo := testJPEG(1 << 20)
	fmt.Fprintf(stdout, "test file: a %d-byte JPEG\n", len(photo))
	var results []filesResult
	if o.only != "pocketbase" {
		gw, err := startFilesGateway()
		if err != nil {
			return err
		}
		r, err := measureFiles(gw, o, photo, stdout)
		gw.stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if o.only != "gateway" {
		pb, err := startPocketBase(o.pocketbase)
		if err != nil {
			return err
		}
		if err := pb.call("POST", "/api/collections", `{"name":"photos","type":"base","listRule":"","viewRule":"","createRule":"",
			"fields":[{"name":"name","type":"text"},{"name":"image","type":"file","maxSelect":1,"maxSize":2097152,"mimeTypes":["image/jpeg","image/png"],"thumbs":["200x200f"]}]}`, nil); err != nil {
			pb.stop()
			return err
		}
		r, err := measureFiles(pbFiles{pb}, o, photo, stdout)
		pb.stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	text := filesMarkdown(o, len(photo), results, started)
	fmt.Fprintln(stdout, text)
	if o.out != "" {
		return writeSection(o.out, filesMarker, text)
	}
	return nil
}

// measureFiles uploads o.uploads copies, downloads each twice, and asks
// for each one's thumbnail twice.
func measureFiles(s filesServer, o filesOptions, photo []byte, stdout io.Writer) (filesResult, error) {
	res := filesResult{system: s.name()}
	refs := make([]string, o.uploads)
	up, upWall, err := concurrently(o.uploads, o.concurrency, func(i int) error {
		ref, err := s.upload(photo)
		refs[i] = ref
		return err
	})
	if err != nil {
		return res, fmt.Errorf("%s upload: %w", s.name(), err)
	}
	res.uploadMBs = float64(o.uploads*len(photo)) / upWall.Seconds() / (1 << 20)
	res.uploadP50, res.uploadP99 = quantile(up, 0.5), quantile(up, 0.99)
	down, downWall, err := concurrently(2*o.uploads, o.concurrency, func(i int) error {
		n, err := s.download(refs[i%len(refs)])
		if err == nil && n != len(photo) {
			err = fmt.Errorf("downloaded %d bytes of %d", n, len(photo))
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("%s download: %w", s.name(), err)
	}
	res.downloadMBs = float64(2*o.uploads*len(photo)) / downWall.Seconds() / (1 << 20)
	res.downloadP50, res.downloadP99 = quantile(down, 0.5), quantile(down, 0.99)
	cold, _, err := concurrently(o.uploads, o.concurrency, func(i int) error { return s.thumb(refs[i]) })
	if err != nil {
		return res, fmt.Errorf("%s thumbnail: %w", s.name(), err)
	}
	warm, _, err := concurrently(o.uploads, o.concurrency, func(i int) error { return s.thumb(refs[i]) })
	if err != nil {
		return res, fmt.Errorf("%s thumbnail: %w", s.name(), err)
	}
	res.thumbCold, res.thumbCold99, res.thumbWarm = quantile(cold, 0.5), quantile(cold, 0.99), quantile(warm, 0.5)
	fmt.Fprintf(stdout, "%s: upload %.1f MB/s (p50 %v), download %.1f MB/s (p50 %v), thumbnail first %v, later %v\n",
		s.name(), res.uploadMBs, res.uploadP50, res.downloadMBs, res.downloadP50, res.thumbCold, res.thumbWarm)
	return res, nil
}

// concurrently runs n calls of f on c workers and returns each call's
// latency and the wall time.
func concurrently(n, c int, f func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	began := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(began), first
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// multipartFile is a multipart body with one file part and other fields.
func multipartFile(field, filename string, body []byte, fields map[string]string) (string, *bytes.Buffer) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	part, _ := w.CreateFormFile(field, filename)
	_, _ = part.Write(body)
	_ = w.Close()
	return w.FormDataContentType(), &b
}

func send(client *http.Client, method, url, auth, contentType string, body io.Reader) ([]byte, int, error) {
	req, _ := http.NewRequest(method, url, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, 0, fmt.Errorf("%s %s: %d %.200s", method, url, resp.StatusCode, b)
	}
	return b, len(b), err
}

// gatewayFiles is the gateway with a resource whose image field takes
// JPEGs with a 200x200 thumbnail.
type gatewayFiles struct {
	proc   *gatewayProc
	url    string
	bearer string
	http   *http.Client
}

func startFilesGateway() (*gatewayFiles, error) {
	dir, err := os.MkdirTemp("", "files-resources-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "resources.json")
	decl := `{"resources":[{"name":"photo","fields":{"name":{"type":"string","maxLength":100},
	  "image":{"type":"file","maxSize":2097152,"types":["image/jpeg","image/png"],"thumbs":["200x200"]}}}]}`
	if err := os.WriteFile(file, []byte(decl), 0o600); err != nil {
		return nil, err
	}
	_ = os.Setenv("GATEWAY_RESOURCES_FILE", file) // read by the child (gatewayConfig)
	g, err := startGateway("", "", false, true)
	_ = os.Unsetenv("GATEWAY_RESOURCES_FILE")
	if err != nil {
		return nil, err
	}
	gf := &gatewayFiles{proc: g, url: g.url, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	var tk struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	b, _, err := send(gf.http, "GET", g.url+"/api/admin/auth", adminAuth(), "", nil)
	if err == nil {
		err = json.Unmarshal(b, &tk)
	}
	if err != nil {
		g.stop()
		return nil, err
	}
	gf.bearer = "Bearer " + tk.Data.AccessToken
	return gf, nil
}

func (g *gatewayFiles) name() string { return "gateway" }
func (g *gatewayFiles) stop()        { g.proc.stop() }

// upload makes the document, then uploads its file: two requests, where
// PocketBase takes one; both are timed.
func (g *gatewayFiles) upload(body []byte) (string, error) {
	b, _, err := send(g.http, "POST", g.url+"/api/photo", g.bearer, "application/json", strings.NewReader(`{"operation":"create","data":{"name":"bench"}}`))
	if err != nil {
		return "", err
	}
	var created struct {
		Data struct {
			ID string `json:"_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &created); err != nil {
		return "", err
	}
	ct, mp := multipartFile("file", "photo.jpg", body, nil)
	b, _, err = send(g.http, "POST", g.url+"/api/photo/"+created.Data.ID+"/files/image", g.bearer, ct, mp)
	if err != nil {
		return "", err
	}
	var up struct {
		Data struct {
			Image string `json:"image"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &up); err != nil {
		return "", err
	}
	return created.Data.ID + "/" + up.Data.Image, nil
}

func (g *gatewayFiles) download(ref string) (int, error) {
	_, n, err := send(g.http, "GET", g.url+"/api/files/photo/"+ref, g.bearer, "", nil)
	return n, err
}

func (g *gatewayFiles) thumb(ref string) error {
	_, _, err := send(g.http, "GET", g.url+"/api/files/photo/"+ref+"?thumb=200x200", g.bearer, "", nil)
	return err
}

// pbFiles is PocketBase with a photos collection whose image field takes
// JPEGs with a 200x200 thumbnail.
type pbFiles struct{ pb *pocketBase }

func (p pbFiles) name() string { return p.pb.name() }
func (p pbFiles) stop()        { p.pb.stop() }

func (p pbFiles) upload(body []byte) (string, error) {
	ct, mp := multipartFile("image", "photo.jpg", body, map[string]string{"name": "bench"})
	b, _, err := send(p.pb.http, "POST", "http://"+p.pb.addr+"/api/collections/photos/records", p.pb.token, ct, mp)
	if err != nil {
		return "", err
	}
	var rec struct {
		ID    string `json:"id"`
		Image string `json:"image"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", err
	}
	return rec.ID + "/" + rec.Image, nil
}

func (p pbFiles) download(ref string) (int, error) {
	_, n, err := send(p.pb.http, "GET", "http://"+p.pb.addr+"/api/files/photos/"+ref, p.pb.token, "", nil)
	return n, err
}

func (p pbFiles) thumb(ref string) error {
	_, _, err := send(p.pb.http, "GET", "http://"+p.pb.addr+"/api/files/photos/"+ref+"?thumb=200x200f", p.pb.token, "", nil)
	return err
}

// filesMarker opens the files comparison's section of the report.
const filesMarker = "<!-- files comparison: make bench-files -->"

func filesMarkdown(o filesOptions, size int, rs []filesResult, started time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Files: uploads, downloads and thumbnails beside PocketBase\n\nMeasured %s on %s.\n\n", started.UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `make bench-files` (`go run ./cmd/loadgen -files -uploads %d -concurrency %d -out docs/PERFORMANCE.md`).\n\n", o.uploads, o.concurrency)
	fmt.Fprintf(&b, "Each system serves in a process of its own on its embedded default (files on local disk). A %d-byte JPEG "+
		"is uploaded %d times by %d concurrent clients: on the gateway an upload is two requests (the document, then "+
		"`POST /api/photo/{id}/files/image`), on PocketBase one (the record with its file), and both count. Each file is then downloaded twice, and each one's "+
		"200×200 thumbnail asked for twice: the first request makes it, the second serves it.\n\n", size, o.uploads, o.concurrency)
	b.WriteString("| | upload MB/s | upload p50 / p99 | download MB/s | download p50 / p99 | thumbnail, first request p50 / p99 | thumbnail, later p50 |\n|---|---|---|---|---|---|---|\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %.1f | %s / %s ms | %.1f | %s / %s ms | %s / %s ms | %s ms |\n", r.system, r.uploadMBs, ms(r.uploadP50), ms(r.uploadP99),
			r.downloadMBs, ms(r.downloadP50), ms(r.downloadP99), ms(r.thumbCold), ms(r.thumbCold99), ms(r.thumbWarm))
	}
	return b.String()
}
