#!/usr/bin/env node
// The SDK's command line: `generate` writes the types of a gateway's
// resources from the description it serves.
//
//   npx @tnt/gateway-sdk generate --url https://api.example.com [--out src/gateway-types.ts]

import { writeFile } from "node:fs/promises";
import { generate } from "./generate.js";

const usage = "usage: gateway-sdk generate --url GATEWAY_URL [--out FILE]  (without --out: to standard output)";

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== "generate") {
    console.error(usage);
    return 2;
  }
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--(url|out)(?:=(.*))?$/.exec(rest[i]);
    if (!m) {
      console.error(`unknown argument ${rest[i]}\n${usage}`);
      return 2;
    }
    opts[m[1]] = m[2] ?? rest[++i] ?? "";
  }
  if (!opts.url) {
    console.error(usage);
    return 2;
  }
  const url = opts.url.replace(/\/+$/, "") + "/api/openapi.json";
  let description: unknown;
  try {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    description = await resp.json();
  } catch (err) {
    console.error(`cannot read ${url}: ${(err as Error).message}`);
    return 1;
  }
  const source = generate(description as Parameters<typeof generate>[0]);
  if (opts.out) {
    await writeFile(opts.out, source);
    console.error(`wrote ${opts.out}`);
  } else {
    process.stdout.write(source);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
