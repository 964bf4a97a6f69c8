// The bundle's size: the SDK minified and gzipped, without jose, stays
// within 12 KB (README.md records the figure).

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const pkg = join(import.meta.dirname, "..", "..");

test("the SDK is at most 12 KB minified and gzipped, without jose", async () => {
  const out = await build({
    entryPoints: [join(pkg, "dist", "index.js")], bundle: true, minify: true, format: "esm",
    external: ["jose"], write: false, platform: "neutral",
  });
  const min = out.outputFiles[0].contents;
  const gz = gzipSync(min, { level: 9 }).length;
  console.log(`bundle: ${min.length} bytes minified, ${gz} bytes gzipped`);
  assert.ok(gz <= 12 * 1024, `${gz} bytes gzipped`);
});
