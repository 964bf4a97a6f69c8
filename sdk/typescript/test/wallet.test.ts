// The wallet through the SDK: idempotent purchases and transfers, and
// records verified offline against the gateway's published keys.

import assert from "node:assert/strict";
import { test } from "node:test";
import { IdempotencyKeyReusedError, canonicalRecord } from "../src/index.js";
import { admin, fresh, signedUp } from "./helpers.js";

type Record_ = Record<string, unknown> & { _id: string; total?: number; signature: string; status: string };

async function funded(amount: number, opts: { fetch?: typeof fetch } = {}) {
  const gw = await admin();
  const user = await signedUp(opts);
  const me = await user.gw.auth.me<{ _id: string }>();
  await gw.request("POST", `/api/admin/users/${me._id}/balance`, { body: { delta: amount, reason: "sdk test" } });
  return { admin: gw, ...user, id: me._id };
}

test("a purchase retried after a dropped connection charges once", async () => {
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
  const { admin: gw, gw: user } = await funded(1000, { fetch: flaky });
  const item = await gw.resource<{ name: string; price: number; stock: number }>("merchandise").create({ name: fresh("towel"), price: 300, stock: 10 });
  const record = await user.wallet.purchase<Record_>({ items: [{ merchandise_id: item._id, quantity: 1 }] });
  assert.equal(record.total, 300);
  assert.equal(dropped, 1);
  assert.equal(await user.wallet.balance(), 700, "charged once");
  assert.equal((await gw.resource<{ stock: number }>("merchandise").get(item._id)).stock, 9);
});

test("a transfer with a key of the app's: the same act answered once", async () => {
  const { gw: sender } = await funded(500);
  const { gw: recipient, username } = await signedUp();
  const key = crypto.randomUUID();
  const first = await sender.wallet.transfer<Record_>(username, 120, { idempotencyKey: key });
  const again = await sender.wallet.transfer<Record_>(username, 120, { idempotencyKey: key });
  assert.equal(again._id, first._id);
  await assert.rejects(sender.wallet.transfer(username, 121, { idempotencyKey: key }), IdempotencyKeyReusedError);
  assert.equal(await sender.wallet.balance(), 380);
  assert.equal(await recipient.wallet.balance(), 120);
});

test("records verify offline; a changed one does not", async () => {
  const { admin: gw, gw: user } = await funded(10_000);
  // A name with what escapes differently across JSON encoders.
  const name = fresh(`Rope <&> "quoted" \u2028 ünïcode 😀`);
  const item = await gw.resource<{ name: string; price: number; stock: number }>("merchandise").create({ name, price: 250, stock: 5 });
  const record = await user.wallet.purchase<Record_>({ items: [{ merchandise_id: item._id, quantity: 2 }] });
  assert.ok(new TextDecoder().decode(canonicalRecord(record)).includes("\\u003c\\u0026\\u003e"));
  assert.equal(await user.wallet.verify(record), true);
  assert.equal(await user.wallet.verify({ ...record, total: 1 }), false, "a changed total");
  assert.equal(await user.wallet.verify({ ...record, items: [] }), false, "changed items");
  assert.equal(await user.wallet.verify({ ...record, signature: record.signature.replace(/^[^.]+/, "unknown") }), false, "an unknown key");
  assert.equal(await user.wallet.verify({ ...record, status: "delivered" }), true, "the status is not signed");
  const online = await user.wallet.check(record);
  assert.equal(online.valid, true);
  const transfer = await user.wallet.transfer<Record_>((await gw.auth.me<{ username: string }>()).username, 5);
  assert.equal(await user.wallet.verify(transfer), true);
});
