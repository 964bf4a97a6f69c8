package gateway_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// archiveLines opens a backup archive into its lines.
func archiveLines(t *testing.T, archive []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// sealArchive writes lines (without a trailer) as an archive whose trailer
// is authenticated with secret under the key id kid.
func sealArchive(t *testing.T, lines []string, kid string, secret []byte) []byte {
	t.Helper()
	mac := hmac.New(sha256.New, secret)
	for _, l := range lines {
		mac.Write([]byte(l + "\n"))
	}
	trailer, _ := json.Marshal(map[string]any{"end": true, "documents": len(lines) - 1, "key": kid, "hmac": hex.EncodeToString(mac.Sum(nil))})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(strings.Join(append(lines, string(trailer)), "\n") + "\n"))
	_ = zw.Close()
	return buf.Bytes()
}

// memberLevel reads the member's stored level as the DBA sees it.
func (e *env) memberLevel(t *testing.T) string {
	t.Helper()
	r := e.call(t, "GET", "/api/admin/users?username=member", "dba", "")
	var users []struct {
		Level int `json:"level"`
	}
	if err := json.Unmarshal(r.body.Data, &users); err != nil || len(users) != 1 {
		t.Fatalf("users: %d %s", r.status, r.raw)
	}
	return fmt.Sprint(users[0].Level)
}

// TestArchivesAreAuthenticated: whoever holds an archive but not the
// gateway's archive key cannot change it, its checksum or its trailer: the
// restore refuses it whole. An archive of the unauthenticated format, or one
// written under another deployment's key, is refused too, with a message
// that says which.
func TestArchivesAreAuthenticated(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		lines := archiveLines(t, e.backup(t))
		body := lines[:len(lines)-1]
		promoted := make([]string, len(body))
		found := false
		for i, l := range body {
			if strings.Contains(l, `"username":"member"`) {
				l, found = strings.Replace(l, `"level":4`, `"level":0`, 1), true
			}
			promoted[i] = l
		}
		if !found {
			t.Fatal("no member in the archive")
		}
		// The unkeyed checksum of the first format, recomputed by the
		// attacker, under either format's header.
		checksummed := func(lines []string) []byte {
			sum := sha256.New()
			for _, l := range lines {
				sum.Write([]byte(l + "\n"))
			}
			old, _ := json.Marshal(map[string]any{"end": true, "documents": len(lines) - 1, "sha256": hex.EncodeToString(sum.Sum(nil))})
			var plain bytes.Buffer
			zw := gzip.NewWriter(&plain)
			_, _ = zw.Write([]byte(strings.Join(append(lines, string(old)), "\n") + "\n"))
			_ = zw.Close()
			return plain.Bytes()
		}
		v1 := append([]string{strings.Replace(promoted[0], `"version":2`, `"version":1`, 1)}, promoted[1:]...)
		kid, _ := e.keyring.ArchiveKey()
		for name, archive := range map[string][]byte{
			"recomputed checksum":    checksummed(promoted),
			"guessed key":            sealArchive(t, promoted, kid, bytes.Repeat([]byte{1}, 32)),
			"version 1, checksummed": checksummed(v1),
			"another deployment's":   sealArchive(t, promoted, "another-key", bytes.Repeat([]byte{2}, 32)),
			"a wrong short key":      sealArchive(t, promoted, kid, []byte("x")),
		} {
			r := e.restore(t, archive)
			if r.status != 400 || r.body.ErrorCode != "InvalidRequestError" {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
			if name == "another deployment's" && !strings.Contains(r.body.ExceptionMessage, "another archive key") {
				t.Errorf("a foreign archive's refusal does not say why: %s", r.raw)
			}
		}
		if lvl := e.memberLevel(t); lvl != "4" {
			t.Fatalf("a refused archive changed the member's level to %s", lvl)
		}
		// The untouched archive restores.
		if r := e.restore(t, e.backup(t)); r.status != 200 {
			t.Errorf("an untouched archive: %d %s", r.status, r.raw)
		}
	})
}

// TestRestoreAppliesTheEditRules: an archive is authentic yet its policy is
// still an edit, checked like one: it cannot cut the DBA off its lines or
// take the SystemAdmin's right to edit the policy. Nothing is changed.
func TestRestoreAppliesTheEditRules(t *testing.T) {
	e := MustStartGateway(t)
	base, _ := e.policyLines(t)
	var edited []string
	for _, l := range base {
		if l != "p, sysadmin, audit, read" {
			edited = append(edited, l)
		}
	}
	if r := e.putPolicy(t, "dba", edited); r.status != 200 {
		t.Fatalf("a stored policy: %d %s", r.status, r.raw)
	}
	lines := archiveLines(t, e.backup(t))
	body := lines[:len(lines)-1]
	kid, secret := e.keyring.ArchiveKey()
	for name, cut := range map[string]string{
		"the DBA cut off the SystemAdmin's rights": `"g, dba, sysadmin",`,
		"a DBA line dropped":                       `"p, dba, database, restore",`,
	} {
		var changed []string
		hit := false
		for _, l := range body {
			if strings.Contains(l, `"_id":"policy"`) && strings.Contains(l, cut) {
				l, hit = strings.Replace(l, cut, "", 1), true
			}
			changed = append(changed, l)
		}
		if !hit {
			t.Fatalf("%s: the archive's policy lacks %s", name, cut)
		}
		r := e.restore(t, sealArchive(t, changed, kid, secret))
		if r.status != 403 || r.body.ErrorCode != "PermissionDeniedError" {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
		if now, _ := e.policyLines(t); len(now) != len(edited) {
			t.Errorf("%s changed the policy: %v", name, now)
		}
	}
	if r := e.restore(t, sealArchive(t, body, kid, secret)); r.status != 200 {
		t.Errorf("the archive as written: %d %s", r.status, r.raw)
	}
}

// TestBulkRoutesCheckTheCallerFirst: backup and restore refuse a caller
// without the DBA's right before reading a byte of the body or writing a
// header of an archive: the refusal is the JSON envelope and arrives while
// the declared body has not been sent.
func TestBulkRoutesCheckTheCallerFirst(t *testing.T) {
	e := MustStartGateway(t)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, who := range []struct{ name, header string }{
		{"anonymous", ""},
		{"a SystemAdmin", "Authorization: " + adminHeader("sysadmin", testPassword) + "\r\n"},
	} {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /api/admin/restore HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", host, who.header)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body: %v", who.name, err)
		}
		if resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Errorf("%s's restore: %d", who.name, resp.StatusCode)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		// The connection is closed, not held open for the body.
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s's refused restore left the connection open: %d %v", who.name, n, err)
		}
		_ = c.Close()
	}
	for _, user := range []string{"", "sysadmin"} {
		r := e.call(t, "GET", "/api/admin/backup", user, "")
		if r.status != 401 && r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.header.Get("Content-Disposition") != "" {
			t.Errorf("a refused backup (%q): %d %s %q", user, r.status, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
		}
	}
}
