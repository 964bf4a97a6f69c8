package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/files/s3test"
)

// TestUploadCutBySIGKILL: the gateway is killed while a file streams in.
// After the restart the document still names its earlier file, which
// downloads whole; the cut-off file is in no document, and the sweep
// (gatewayctl sweep-files) removes what it left.
func TestUploadCutBySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := gatewaytest.Build(t, ".")
	ctl := gatewaytest.Build(t, "../gatewayctl")
	t.Run("directory", func(t *testing.T) { uploadCut(t, bin, ctl, nil) })
	t.Run("s3", func(t *testing.T) { uploadCut(t, bin, ctl, s3test.Start(t)) })
}

func uploadCut(t *testing.T, bin, ctl string, s3 *s3test.Server) {
	data := t.TempDir()
	env := []string{"GATEWAY_DATA_DIR=" + data, "GATEWAY_RSA_BITS=2048", "GATEWAY_RATE_LIMIT=0",
		"GATEWAY_RESOURCES_FILE=../../gateway/testdata/files_resources.json", "GATEWAY_POLICY_FILE=../../gateway/testdata/files_policy.csv"}
	if s3 != nil {
		env = append(env, "GATEWAY_S3_ENDPOINT="+s3.URL, "GATEWAY_S3_BUCKET="+s3.Bucket, "GATEWAY_S3_ACCESS_KEY=test", "GATEWAY_S3_SECRET_KEY=test-secret")
	}
	p := gatewaytest.Start(t, bin, env...)
	status, tk := payloadCall(t, p.URL(), "/api/register", map[string]any{"username": "crash_user", "password": "a fine long password"})
	if status != http.StatusCreated {
		t.Fatalf("register: %d", status)
	}
	token := tk["access_token"].(string)
	call := func(base, method, path, contentType string, body io.Reader) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var env struct {
			Data map[string]any `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&env)
		return resp.StatusCode, env.Data
	}
	_, doc := call(p.URL(), "POST", "/api/paper", "application/json", strings.NewReader(`{"operation":"create","data":{"title":"kept"}}`))
	paper := doc["_id"].(string)
	first := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("first "), 1000)...)
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("file", "first.pdf")
	_, _ = part.Write(first)
	_ = w.Close()
	status, doc = call(p.URL(), "POST", "/api/paper/"+paper+"/files/scan", w.FormDataContentType(), &b)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d", status)
	}
	kept := doc["scan"].(string)

	// The second upload streams slowly; the gateway dies in the middle.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	taken := make(chan struct{})
	go func() {
		part, _ := mw.CreateFormFile("file", "second.pdf")
		_, _ = part.Write([]byte("%PDF-1.4\n"))
		_, _ = part.Write(bytes.Repeat([]byte("second"), 100_000)) // 600 KB, then it waits
		// The gateway has read it: the pipe does not buffer.
		close(taken)
	}()
	uploadDone := make(chan struct{})
	go func() {
		defer close(uploadDone)
		call(p.URL(), "POST", "/api/paper/"+paper+"/files/scan", mw.FormDataContentType(), pr)
	}()
	tmp := filepath.Join(data, "files", ".tmp")
	if s3 == nil {
		gatewaytest.WaitFor(t, time.Minute, "the second file half written", func() bool {
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if info, err := e.Info(); err == nil && info.Size() > 300_000 {
					return true
				}
			}
			return false
		})
	} else {
		<-taken // in the put's part buffer, on its way to the store
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.Cmd.Wait()
	_ = pw.CloseWithError(io.ErrClosedPipe)
	<-uploadDone

	q := gatewaytest.Start(t, bin, env...)
	status, tk = payloadCall(t, q.URL(), "/api/auth", map[string]any{"username": "crash_user", "password": "a fine long password"})
	if status != http.StatusOK {
		t.Fatalf("sign in after the restart: %d", status)
	}
	token = tk["access_token"].(string)
	_, doc = call(q.URL(), "GET", "/api/paper/"+paper, "", nil)
	if doc["scan"] != kept {
		t.Fatalf("after the crash the document names %v, want the kept %s", doc["scan"], kept)
	}
	req, _ := http.NewRequest("GET", q.URL()+"/api/files/paper/"+paper+"/"+kept, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, first) {
		t.Errorf("the kept file after the crash: %d, %d bytes", resp.StatusCode, len(got))
	}
	if entries, _ := os.ReadDir(tmp); s3 == nil && len(entries) == 0 {
		t.Error("the cut-off write left nothing to sweep: was the upload cut at all?")
	}

	// The sweep removes what the crash left, and nothing a document
	// names.
	cmd := exec.Command(ctl, "sweep-files", "--grace", "0s")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "removed") {
		t.Fatalf("sweep-files: %v %s", err, out)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the sweep left %d temporary files", len(entries))
	}
	var names []string
	if s3 == nil {
		stored, _ := os.ReadDir(filepath.Join(data, "files", "paper", paper))
		for _, e := range stored {
			names = append(names, e.Name())
		}
	} else {
		blobs, err := files.OpenS3(context.Background(), files.S3Config{Endpoint: s3.URL, Bucket: s3.Bucket, AccessKey: "test", SecretKey: "test-secret"})
		if err != nil {
			t.Fatal(err)
		}
		_ = blobs.List(context.Background(), "paper/"+paper+"/", func(key string, _ int64, _ time.Time) error {
			names = append(names, filepath.Base(key))
			return nil
		})
	}
	if len(names) != 1 || names[0] != kept {
		t.Errorf("after the sweep the paper's files are %v, want only %s", names, kept)
	}
}
