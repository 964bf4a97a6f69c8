package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tsClientDir is the typed TypeScript client of examples/.
const tsClientDir = "../../examples/ts-client"

var updateClient = flag.Bool("update-client", false, "rewrite examples/ts-client/src/schema.d.ts from the served document")

// npmTools makes sure node and the example's packages are there: it skips
// without node (failing under CI, where .ci/run installs the packages) and
// installs the locked packages when they are missing.
func npmTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed for the TypeScript client's test", tool)
			}
			t.Skipf("%s is not installed: the TypeScript client's test is skipped", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(tsClientDir, "node_modules", ".bin", "tsc")); err == nil {
		return
	}
	runIn(t, tsClientDir, nil, "npm", "ci", "--no-audit", "--no-fund")
}

// runIn runs a command in dir and returns its standard output, failing the
// test with both outputs when it fails.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestTypedClientFromTheServedDocument: the API description a gateway
// serves passes Redocly's recommended rules with no error; the TypeScript
// types openapi-typescript generates from it are the ones the example
// client is written against; the client compiles under tsc --strict; and
// it runs an app's journey (register with an encrypted payload, log in,
// query, purchase) against the gateway.
func TestTypedClientFromTheServedDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	npmTools(t)
	g := MustRun(t, testConfig(t, t.TempDir()))
	resp, err := http.Get(g.url + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tmp := t.TempDir()
	doc := filepath.Join(tmp, "openapi.json")
	if err := os.WriteFile(doc, served, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := func(name string) string {
		abs, _ := filepath.Abs(filepath.Join(tsClientDir, "node_modules", ".bin", name))
		return abs
	}

	// Lint: Redocly's recommended rules, no error.
	out := runIn(t, tsClientDir, nil, bin("redocly"), "lint", doc, "--format", "json")
	var lint struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &lint); err != nil {
		t.Fatalf("redocly's report: %v\n%s", err, out)
	}
	if lint.Totals.Errors != 0 {
		t.Errorf("redocly finds %d errors in the served document:\n%s", lint.Totals.Errors, out)
	}
	t.Logf("redocly recommended: %d errors, %d warnings", lint.Totals.Errors, lint.Totals.Warnings)

	// The committed types are what the served document generates.
	generated := filepath.Join(tmp, "schema.d.ts")
	runIn(t, tsClientDir, nil, bin("openapi-typescript"), doc, "-o", generated)
	want, _ := os.ReadFile(generated)
	committed := filepath.Join(tsClientDir, "src", "schema.d.ts")
	if *updateClient {
		if err := os.WriteFile(committed, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(committed)
	if err != nil || !bytes.Equal(want, have) {
		t.Fatalf("examples/ts-client/src/schema.d.ts is not what the served document generates: run `make ts-client` (%v)", err)
	}

	// It compiles under --strict and runs the journey.
	runIn(t, tsClientDir, nil, bin("tsc"), "-p", ".", "--strict")
	out = runIn(t, tsClientDir, []string{"GATEWAY_URL=" + g.url, "ADMIN_USER=" + rootUser, "ADMIN_PASSWORD=" + rootPass}, "node", "dist/journey.js")
	var journey struct {
		Level    int    `json:"level"`
		GymFound bool   `json:"gymFound"`
		Status   string `json:"status"`
		Total    int    `json:"total"`
		Balance  int    `json:"balance"`
		// The record sent back as returned, and an envelope through the
		// generic route with the resource's own fields: both typed, no cast.
		RecordValid  bool `json:"recordValid"`
		GenericFound bool `json:"genericFound"`
	}
	if err := json.Unmarshal([]byte(out), &journey); err != nil {
		t.Fatalf("journey output: %v\n%s", err, out)
	}
	if journey.Level != 4 || !journey.GymFound || journey.Status != "pending" || journey.Total != 1200 || journey.Balance != 3800 ||
		!journey.RecordValid || !journey.GenericFound {
		t.Errorf("journey: %+v", journey)
	}

	// node-jose's default PEM import names the key by its RFC 7638
	// thumbprint, not by the published kid; its payloads open.
	out = runIn(t, tsClientDir, []string{"GATEWAY_URL=" + g.url}, "node", "interop/node-jose-login.mjs")
	var interop struct {
		Kid, PublishedKid string
		Register, Login   int
	}
	if err := json.Unmarshal([]byte(out), &interop); err != nil {
		t.Fatalf("node-jose output: %v\n%s", err, out)
	}
	if interop.Kid == "" || interop.Kid == interop.PublishedKid || interop.Register != 201 || interop.Login != 200 {
		t.Errorf("node-jose's default PEM import: %+v", interop)
	}
}
