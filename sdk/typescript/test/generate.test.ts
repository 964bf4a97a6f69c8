// Types generated from the served description: the command writes them,
// the compiler holds code to them, and they work against the gateway.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { generate } from "../src/generate.js";
import { base } from "./helpers.js";

const run = promisify(execFile);
// The package's directory (tests run from dist-test/test).
const pkg = join(import.meta.dirname, "..", "..");

test("npx … generate --url writes types the compiler holds code to", { timeout: 120_000 }, async () => {
  const dir = join(pkg, "dist-test", "generated");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const out = join(dir, "gateway-types.ts");
  await run("node", [join(pkg, "dist", "cli.js"), "generate", "--url", base, "--out", out]);
  const types = await readFile(out, "utf8");
  for (const want of ["export interface Coach {", "export type CoachField =", '"address.city"', 'export type CoachFileField = "portrait"', 'export type GymFileField = "photos"', "export interface Merchandise {", "export interface Profile {"]) {
    assert.ok(types.includes(want), `the types have ${want}`);
  }
  // A program written against them: what the gateway would refuse does not compile.
  await writeFile(join(dir, "app.ts"), `
import { Gateway, query } from "@tnt/gateway-sdk";
import { resources, type CoachTypes } from "./gateway-types.js";
export async function app(gw: Gateway) {
  const { coach } = resources(gw);
  const c = await coach.create({ name: "Ada", rank: "senior", address: { city: "Lyon" } });
  await coach.update(c._id, { rating: 5 });
  const page = await coach.query(query<CoachTypes>().equals("address.city", "Lyon").sort("name"));
  const names: string[] = page.docs.map((d) => d.name);
  // @ts-expect-error rank is junior or senior
  await coach.create({ name: "Bob", rank: "master" });
  // @ts-expect-error name is required
  await coach.create({ rank: "junior" });
  // @ts-expect-error no such field to query
  query<CoachTypes>().equals("nickname", "x");
  // @ts-expect-error portrait is set by uploads only
  await coach.update(c._id, { portrait: "x.png" });
  // @ts-expect-error coach has no such file field
  await coach.upload(c._id, "avatar", new Blob([]));
  await coach.upload(c._id, "portrait", new Blob([]));
  return names;
}
`);
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, lib: ["ES2022", "DOM"], types: [] },
    include: ["*.ts"],
  }));
  try {
    await run(join(pkg, "node_modules", ".bin", "tsc"), ["-p", dir]);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`the generated types do not compile with the program:\n${e.stdout}${e.stderr}`);
  }
});

test("generate: a clear refusal without --url or a gateway", async () => {
  const cli = join(pkg, "dist", "cli.js");
  await assert.rejects(run("node", [cli, "generate"]), (err: { code: number; stderr: string }) => err.code === 2 && /usage/.test(err.stderr));
  await assert.rejects(run("node", [cli, "generate", "--url", "http://127.0.0.1:9"]), (err: { code: number; stderr: string }) => err.code === 1 && /cannot read/.test(err.stderr));
});

test("generate: a schema that refers to itself, and keys that are not identifiers", () => {
  const out = generate({ components: { schemas: {
    "loop": { "x-resource": "loop", type: "object", properties: { self: { $ref: "#/components/schemas/loop" }, "odd-key": { type: ["string", "null"] } } },
    "loop.query": { "x-resource": "loop", type: "object", properties: { "self.self": {}, find: {} } },
  } } });
  assert.match(out, /self\?: unknown;/);
  assert.match(out, /"odd-key"\?: string \| null;/);
  assert.match(out, /export type LoopField = "self\.self";/);
  assert.match(out, /loop: gw\.resource<LoopTypes>\("loop"\)/);
});
