// The SDK against a started gateway (GATEWAY_URL; the DBA's credentials in
// GATEWAY_ADMIN as user:password), as an app would use it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Gateway, MemoryStore, NotFoundError, PermissionDeniedError, query, type SignedOutReason, type StoredTokens } from "../src/index.js";

const base = process.env.GATEWAY_URL ?? "";
const [adminUser, adminPass] = (process.env.GATEWAY_ADMIN ?? ":").split(":");
let n = 0;
const fresh = (prefix: string) => `${prefix}_${process.pid}_${++n}`;

/** counting wraps fetch, counting requests by path. */
function counting(): { fetch: typeof fetch; count: (path: string) => number } {
  const seen = new Map<string, number>();
  return {
    fetch: (input, init) => {
      const path = new URL(String(input)).pathname;
      seen.set(path, (seen.get(path) ?? 0) + 1);
      return globalThis.fetch(input, init);
    },
    count: (path) => seen.get(path) ?? 0,
  };
}

async function signedUp(opts: { fetch?: typeof fetch } = {}): Promise<{ gw: Gateway; username: string }> {
  const gw = new Gateway({ baseUrl: base, fetch: opts.fetch });
  const username = fresh("sdk");
  await gw.auth.register({ username, password: "a fine long password" });
  return { gw, username };
}

test("register, me, logout", async () => {
  const { gw, username } = await signedUp();
  const me = await gw.auth.me<{ username: string; level: number }>();
  assert.equal(me.username, username);
  assert.equal(me.level, 4);
  const reasons: SignedOutReason[] = [];
  gw.onSignedOut((r) => reasons.push(r));
  await gw.auth.logout();
  assert.deepEqual(reasons, ["logout"]);
  assert.equal(await gw.store.get(), null);
});

test("a refresh storm: 50 calls at once, one refresh", async () => {
  const c = counting();
  const { gw } = await signedUp({ fetch: c.fetch });
  const t = (await gw.store.get()) as StoredTokens;
  await gw.store.set({ ...t, expires_at: Date.now() }); // the access token is about to expire
  const answers = await Promise.all(Array.from({ length: 50 }, () => gw.auth.me<{ level: number }>()));
  assert.equal(answers.length, 50);
  assert.ok(answers.every((a) => a.level === 4));
  assert.equal(c.count("/api/token/refresh"), 1);
  const after = (await gw.store.get()) as StoredTokens;
  assert.notEqual(after.refresh_token, t.refresh_token, "the refresh token rotated");
});

test("a 401 on an expired token refreshes once and goes on", async () => {
  const c = counting();
  const { gw } = await signedUp({ fetch: c.fetch });
  const t = (await gw.store.get()) as StoredTokens;
  await gw.store.set({ ...t, access_token: t.access_token.slice(0, -4) + "AAAA" }); // refused by the gateway
  const answers = await Promise.all(Array.from({ length: 10 }, () => gw.auth.me()));
  assert.equal(answers.length, 10);
  assert.equal(c.count("/api/token/refresh"), 1);
});

test("a reused refresh token ends the session, reported", async () => {
  const { gw } = await signedUp();
  const t = (await gw.store.get()) as StoredTokens;
  // Someone else spent it first.
  const stolen = await fetch(base + "/api/token/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: t.refresh_token }) });
  assert.equal(stolen.status, 200);
  const reasons: SignedOutReason[] = [];
  gw.onSignedOut((r) => reasons.push(r));
  await assert.rejects(gw.refresh(), (err: Error) => err.name === "AuthenticationError");
  assert.deepEqual(reasons, ["refresh_reused"]);
  assert.equal(await gw.store.get(), null);
});

test("errors are typed by errorCode", async () => {
  const { gw } = await signedUp();
  await assert.rejects(gw.resource("gym").create({ name: "not mine to make" }), PermissionDeniedError);
  await assert.rejects(gw.resource("gym").get("000000000000000000000000"), NotFoundError);
});

test("resources: create, get, update, query and every page", async () => {
  const admin = new Gateway({ baseUrl: base, store: new MemoryStore() });
  await admin.auth.login({ username: adminUser, password: adminPass });
  type Gym = { name: string; description?: string };
  const gyms = admin.resource<Gym>("gym");
  const tag = fresh("paged");
  const made = await Promise.all(Array.from({ length: 25 }, (_, i) => gyms.create({ name: `${tag} ${i}` })));
  const one = await gyms.get(made[0]._id);
  assert.equal(one.name, `${tag} 0`);
  const changed = await gyms.update(one._id, { description: "renovated" });
  assert.equal(changed.description, "renovated");
  const all: string[] = [];
  for await (const g of gyms.list(query<Gym>().contains("name", tag).sort("name").find(10))) all.push(g.name);
  assert.equal(all.length, 25);
  assert.equal(new Set(all).size, 25);
  await gyms.delete(one._id);
  await assert.rejects(gyms.get(one._id), NotFoundError);
});

test("a purchase retried after a dropped connection charges once", async () => {
  const admin = new Gateway({ baseUrl: base });
  await admin.auth.login({ username: adminUser, password: adminPass });
  const item = await admin.resource<{ name: string; price: number; stock: number }>("merchandise").create({ name: fresh("towel"), price: 300, stock: 10 });
  let dropped = 0;
  // The first purchase reaches the gateway, and its answer is lost.
  const flaky: typeof fetch = async (input, init) => {
    const resp = await globalThis.fetch(input, init);
    if (new URL(String(input)).pathname === "/api/perform_transaction" && dropped === 0) {
      dropped++;
      await resp.arrayBuffer();
      throw new TypeError("fetch failed");
    }
    return resp;
  };
  const { gw } = await signedUp({ fetch: flaky });
  const me = await gw.auth.me<{ _id: string }>();
  await admin.request("POST", `/api/admin/users/${me._id}/balance`, { body: { delta: 1000, reason: "sdk test" } });
  const record = await gw.wallet.purchase<{ total?: number; amount?: number }>({ items: [{ merchandise_id: item._id, quantity: 1 }] });
  assert.ok(record);
  assert.equal(dropped, 1);
  const after = await gw.auth.me<{ balance: number }>();
  assert.equal(after.balance, 700, "charged once");
  const stock = await admin.resource<{ stock: number }>("merchandise").get(item._id);
  assert.equal(stock.stock, 9);
});

test("realtime: a stream paused and resumed misses nothing and doubles nothing", { timeout: 60_000 }, async () => {
  const admin = new Gateway({ baseUrl: base });
  await admin.auth.login({ username: adminUser, password: adminPass });
  const tag = fresh("live");
  const { gw } = await signedUp();
  const seen: { name: string; id: string }[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  const until = (n: number) => new Promise<void>((resolve) => {
    waiting = { n, resolve };
    if (seen.length >= n) resolve();
  });
  const unsubscribe = await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag) }, (ev) => {
    if (ev.type !== "create") return;
    seen.push({ name: ev.record.name, id: ev.id });
    if (waiting && seen.length >= waiting.n) waiting.resolve();
  });
  const gyms = admin.resource<{ name: string }>("gym");
  await gyms.create({ name: `${tag} 0` });
  await until(1);
  gw.realtime.pause();
  for (let i = 1; i <= 3; i++) await gyms.create({ name: `${tag} ${i}` });
  await gw.realtime.resume();
  await gyms.create({ name: `${tag} 4` });
  await until(5);
  assert.deepEqual(seen.map((s) => s.name), [0, 1, 2, 3, 4].map((i) => `${tag} ${i}`));
  await unsubscribe();
});
