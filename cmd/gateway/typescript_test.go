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
	"slices"
	"strings"
	"testing"
	"time"
)

// Node packages of the repository: the example app on the SDK, and the
// other tools that read the served description.
const (
	tsClientDir     = "../../examples/ts-client"
	openAPICheckDir = "../../tools/openapi-check"
)

var updateClient = flag.Bool("update-client", false, "rewrite the types generated from the served description (examples/ts-client/src/gateway-types.ts, tools/openapi-check/schema.d.ts)")

// npmTools makes sure node and the packages of the example app and of the
// description checks are there: it skips without node (failing under CI,
// where .ci/run installs the packages) and installs the locked packages
// when they are missing.
func npmTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed for the TypeScript tests", tool)
			}
			t.Skipf("%s is not installed: the TypeScript tests are skipped", tool)
		}
	}
	for _, dir := range []string{tsClientDir, openAPICheckDir} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "tsc")); err != nil {
			runIn(t, dir, nil, "npm", "ci", "--no-audit", "--no-fund")
		}
	}
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

// servedDescription starts a gateway and writes the description it serves
// into a file.
func servedDescription(t *testing.T) (*gatewayProc, string) {
	t.Helper()
	g := MustRun(t, testConfig(t, t.TempDir()))
	resp, err := http.Get(g.url + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, served, 0o644); err != nil {
		t.Fatal(err)
	}
	return g, doc
}

// sameAsCommitted fails unless a generated file is the committed one (with
// -update-client it rewrites the committed one first).
func sameAsCommitted(t *testing.T, generated, committed string) {
	t.Helper()
	want, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if *updateClient {
		if err := os.WriteFile(committed, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(committed)
	if err != nil || !bytes.Equal(want, have) {
		t.Fatalf("%s is not what the served description generates: run `make ts-client` (%v)", committed, err)
	}
}

// TestServedDescriptionWithOtherTools: tools that are not ours read the
// description a gateway serves. It passes Redocly's recommended rules with
// no error; openapi-typescript types it as committed, and the types
// compile under --strict; node-jose seals payloads the gateway opens.
func TestServedDescriptionWithOtherTools(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	npmTools(t)
	g, doc := servedDescription(t)
	bin := func(name string) string {
		abs, _ := filepath.Abs(filepath.Join(openAPICheckDir, "node_modules", ".bin", name))
		return abs
	}

	// Lint: Redocly's recommended rules, no error.
	out := runIn(t, openAPICheckDir, nil, bin("redocly"), "lint", doc, "--format", "json")
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

	// openapi-typescript's types are the committed ones, and compile.
	generated := filepath.Join(t.TempDir(), "schema.d.ts")
	runIn(t, openAPICheckDir, nil, bin("openapi-typescript"), doc, "-o", generated)
	sameAsCommitted(t, generated, filepath.Join(openAPICheckDir, "schema.d.ts"))
	runIn(t, openAPICheckDir, nil, bin("tsc"), "--noEmit", "--strict", "schema.d.ts")

	// node-jose's default PEM import names the key by its RFC 7638
	// thumbprint, not by the published kid; its payloads open.
	out = runIn(t, openAPICheckDir, []string{"GATEWAY_URL=" + g.url}, "node", "interop/node-jose-login.mjs")
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

// builtExampleApp builds the SDK and, on it, the example app under
// tsc --strict (it skips in -short runs).
func builtExampleApp(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	npmTools(t)
	sdkTools(t)
	runIn(t, sdkDir, nil, "node_modules/.bin/tsc", "-p", ".")
	runIn(t, tsClientDir, nil, "node_modules/.bin/tsc", "-p", ".", "--strict")
}

// TestExampleAppOnTheSDK: the example app (examples/ts-client) is written
// on the SDK. The resource types the SDK generates from the served
// description are the committed ones; the app compiles under tsc --strict
// and runs its journey (register, query through the typed builder,
// purchase, the record verified offline and by the gateway).
func TestExampleAppOnTheSDK(t *testing.T) {
	builtExampleApp(t)
	g, _ := servedDescription(t)
	generated := filepath.Join(t.TempDir(), "gateway-types.ts")
	runIn(t, tsClientDir, nil, "node", "node_modules/@tnt/gateway-sdk/dist/cli.js", "generate", "--url", g.url, "--out", generated)
	sameAsCommitted(t, generated, filepath.Join(tsClientDir, "src", "gateway-types.ts"))
	out := runIn(t, tsClientDir, []string{"GATEWAY_URL=" + g.url, "ADMIN_USER=" + rootUser, "ADMIN_PASSWORD=" + rootPass}, "node", "dist/journey.js")
	var journey struct {
		Level          int    `json:"level"`
		GymFound       bool   `json:"gymFound"`
		Status         string `json:"status"`
		Total          int    `json:"total"`
		Balance        int    `json:"balance"`
		RecordVerified bool   `json:"recordVerified"`
		RecordValid    bool   `json:"recordValid"`
	}
	if err := json.Unmarshal([]byte(out), &journey); err != nil {
		t.Fatalf("journey output: %v\n%s", err, out)
	}
	if journey.Level != 4 || !journey.GymFound || journey.Status != "pending" || journey.Total != 1200 || journey.Balance != 3800 ||
		!journey.RecordVerified || !journey.RecordValid {
		t.Errorf("journey: %+v", journey)
	}
}

// TestExampleClientsOnTheSDK runs the clients of examples/orders and
// examples/personal-account, written on the SDK (examples/ts-client/src),
// against gateways started on those examples' very files.
func TestExampleClientsOnTheSDK(t *testing.T) {
	builtExampleApp(t)
	journey := func(t *testing.T, settings map[string]string, script string, into any) {
		g := MustRun(t, fastConfig(t, settings))
		out := runIn(t, tsClientDir, []string{"GATEWAY_URL=" + g.url}, "node", script)
		if err := json.Unmarshal([]byte(out), into); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	t.Run("orders", func(t *testing.T) {
		var got struct {
			Created, Paid, Cancelled           string
			Listed                             int
			SeesOnlyOwn, TheirsHidden, Deleted bool
		}
		journey(t, map[string]string{"GATEWAY_RESOURCES_FILE": "../../examples/orders/resources.json", "GATEWAY_POLICY_FILE": "../../examples/orders/policy.csv"}, "dist/orders.js", &got)
		if got.Created != "new" || got.Listed != 1 || !got.SeesOnlyOwn || !got.TheirsHidden || got.Paid != "paid" || got.Cancelled != "cancelled" || !got.Deleted {
			t.Errorf("orders journey: %+v", got)
		}
	})
	t.Run("personal-account", func(t *testing.T) {
		var got struct {
			Free, EditsOwn, Found bool
			City, Nickname        string
			Browsers              []string
			Latin, Taken          string
		}
		journey(t, map[string]string{"GATEWAY_RESOURCES_FILE": "../../examples/personal-account/resources.json"}, "dist/personal-account.js", &got)
		if !got.Free || !got.EditsOwn || !got.Found || got.City != "Казань" || got.Nickname != "Дэн" ||
			!slices.Contains(got.Browsers, "Firefox 130") || got.Latin != "ValidationError" || got.Taken != "DuplicateError" {
			t.Errorf("personal-account journey: %+v", got)
		}
	})
}
