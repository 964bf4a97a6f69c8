// Realtime through the SDK: one stream, resumed without loss or doubles,
// a resync surfaced, and unsubscribing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { NotFoundError, query, type RealtimeEvent } from "../src/index.js";
import { admin, fresh, signedUp } from "./helpers.js";

/** collector gathers events and waits for a count of them. */
function collector<T>() {
  const seen: RealtimeEvent<T>[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  return {
    seen,
    handler: (ev: RealtimeEvent<T>) => {
      seen.push(ev);
      if (waiting && seen.length >= waiting.n) waiting.resolve();
    },
    until: (n: number) => new Promise<void>((resolve) => {
      waiting = { n, resolve };
      if (seen.length >= n) resolve();
    }),
  };
}

/**
 * following signs up a user whose stream follows gyms named with a fresh
 * tag, and waits for the first such gym the DBA makes to arrive.
 */
async function following(prefix: string) {
  const gyms = (await admin()).resource<{ name: string }>("gym");
  const tag = fresh(prefix);
  const { gw } = await signedUp();
  const c = collector<{ name: string }>();
  const unsubscribe = await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag) }, c.handler);
  await gyms.create({ name: `${tag} 0` });
  await c.until(1);
  return { gyms, tag, gw, c, unsubscribe };
}

test("a stream paused and resumed misses nothing and doubles nothing", { timeout: 60_000 }, async () => {
  const { gyms, tag, gw, c, unsubscribe } = await following("live");
  gw.realtime.pause();
  for (let i = 1; i <= 3; i++) await gyms.create({ name: `${tag} ${i}` });
  await gw.realtime.resume();
  await gyms.create({ name: `${tag} 4` });
  await c.until(5);
  assert.deepEqual(c.seen.map((e) => `${e.type} ${e.record.name}`), [0, 1, 2, 3, 4].map((i) => `create ${tag} ${i}`));
  await unsubscribe();
});

test("two subscriptions on one stream; one document; unsubscribing one", { timeout: 60_000 }, async () => {
  const gyms = (await admin()).resource<{ name: string; description?: string }>("gym");
  const tag = fresh("two");
  const doc = await gyms.create({ name: `${tag} watched` });
  const { gw } = await signedUp();
  const all = collector<{ name: string }>();
  const one = collector<{ name: string; description?: string }>();
  const stopAll = await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag) }, all.handler);
  const stopOne = await gw.realtime.subscribe<{ name: string; description?: string }>("gym", { id: doc._id }, one.handler);
  await gyms.update(doc._id, { description: "first" });
  await all.until(1);
  await one.until(1);
  assert.equal(one.seen[0].record.description, "first");
  assert.equal(all.seen[0].id, one.seen[0].id, "one event on the stream for both");
  await stopOne();
  await gyms.update(doc._id, { description: "second" });
  await gyms.create({ name: `${tag} other` });
  await all.until(3);
  assert.equal(one.seen.length, 1, "nothing after unsubscribing");
  assert.deepEqual(all.seen.map((e) => e.type), ["update", "update", "create"]);
  await stopAll();
});

test("a position the gateway cannot replay is a resync; the stream goes on", { timeout: 60_000 }, async () => {
  const { gyms, tag, gw, c, unsubscribe } = await following("resync");
  assert.equal(gw.realtime.position, c.seen[0].id);
  const resynced = new Promise<void>((resolve) => gw.realtime.onResync(resolve));
  gw.realtime.pause();
  await gw.realtime.resume("0-no-such-position");
  await resynced;
  await gyms.create({ name: `${tag} 1` });
  await c.until(2);
  assert.equal(c.seen[1].record.name, `${tag} 1`);
  await unsubscribe();
});

test("a subscription made while paused applies on resume", { timeout: 60_000 }, async () => {
  const gyms = (await admin()).resource<{ name: string }>("gym");
  const tag = fresh("later");
  const { gw } = await signedUp();
  const first = collector<{ name: string }>();
  const stopFirst = await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag + " a") }, first.handler);
  await gyms.create({ name: `${tag} a0` });
  await first.until(1);
  gw.realtime.pause();
  const second = collector<{ name: string }>();
  const stopSecond = await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag + " b") }, second.handler);
  await gw.realtime.resume();
  await gyms.create({ name: `${tag} b0` });
  await second.until(1);
  assert.equal(second.seen[0].record.name, `${tag} b0`);
  await stopSecond();
  await stopFirst();
});

test("a refused subscription rejects and is not kept; the session's end ends the stream", { timeout: 60_000 }, async () => {
  const gyms = (await admin()).resource<{ name: string }>("gym");
  const tag = fresh("refused");
  const { gw } = await signedUp();
  await assert.rejects(gw.realtime.subscribe("no_such_resource", {}, () => undefined), NotFoundError);
  const c = collector<{ name: string }>();
  await gw.realtime.subscribe<{ name: string }>("gym", { query: query().contains("name", tag) }, c.handler);
  await assert.rejects(gw.realtime.subscribe("no_such_resource", {}, () => undefined), NotFoundError);
  await gyms.create({ name: `${tag} 0` });
  await c.until(1);
  const ended = new Promise<string>((resolve) => gw.realtime.onEnded(resolve));
  await gw.auth.logout();
  assert.ok(await ended, "the stream ended with the session");
});
