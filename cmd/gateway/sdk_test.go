package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tnt/gateway/cmd/internal/config"
)

// sdkDir is the TypeScript SDK.
const sdkDir = "../../sdk/typescript"

// TestTypeScriptSDK compiles the SDK and runs its tests (node's test
// runner) against a gateway started here: sign-in, a refresh storm that
// makes one refresh, reuse detection, typed errors, resources page by
// page, and a purchase retried after a dropped connection charged once.
func TestTypeScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	npmTools(t)
	if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", ".bin", "tsc")); err != nil {
		runIn(t, sdkDir, nil, "npm", "ci", "--no-audit", "--no-fund")
	}
	const root, rootPass = "sdk_root", "a root long password"
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_DATA_DIR": t.TempDir(), "GATEWAY_RSA_BITS": "2048",
			"GATEWAY_HASH_CONCURRENCY": "2", "GATEWAY_RATE_LIMIT": "0",
			"GATEWAY_BOOTSTRAP_USER": root, "GATEWAY_BOOTSTRAP_PASSWORD": rootPass,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	g := MustRun(t, cfg)
	// Compiled beside the package, where node finds its dependency (jose).
	runIn(t, sdkDir, nil, "node_modules/.bin/tsc", "-p", "test")
	runIn(t, sdkDir, []string{"GATEWAY_URL=" + g.url, "GATEWAY_ADMIN=" + root + ":" + rootPass}, "node", "--test", filepath.Join("dist-test", "test"))
}
