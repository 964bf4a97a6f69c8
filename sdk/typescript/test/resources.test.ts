// Resources through the SDK: the operations, the query builder and every
// page by cursor.

import assert from "node:assert/strict";
import { test } from "node:test";
import { NotFoundError, ValidationError, query } from "../src/index.js";
import { admin, fresh, signedUp } from "./helpers.js";

type Gym = { name: string; description?: string; type?: { name?: string } };

test("create, get, update, delete, and every page", async () => {
  const gw = await admin();
  const gyms = gw.resource<Gym>("gym");
  const tag = fresh("paged");
  const made = await Promise.all(Array.from({ length: 25 }, (_, i) => gyms.create({ name: `${tag} ${String(i).padStart(2, "0")}` })));
  const one = await gyms.get(made[0]._id);
  assert.equal(one.name, `${tag} 00`);
  const changed = await gyms.update(one._id, { description: "renovated" });
  assert.equal(changed.description, "renovated");

  const names: string[] = [];
  for await (const g of gyms.list(query<Gym>().contains("name", tag).sort("name").find(10))) names.push(g.name);
  assert.deepEqual(names, made.map((g) => g.name).sort(), "25 documents over three pages, sorted, none twice");
  const page = await gyms.query(query<Gym>().contains("name", tag).sort("name", true).find(10));
  assert.equal(page.docs.length, 10);
  assert.equal(page.docs[0].name, `${tag} 24`, "descending");
  assert.ok(page.next);

  await gyms.delete(one._id);
  await assert.rejects(gyms.get(one._id), NotFoundError);
});

test("equals on a nested field, and a refused value", async () => {
  const gw = await admin();
  const gyms = gw.resource<Gym>("gym");
  const tag = fresh("kind");
  await gyms.create({ name: `${tag} a`, type: { name: tag } });
  await gyms.create({ name: `${tag} b`, type: { name: "other" } });
  const found = await gyms.query(query<Gym>().equals("type.name", tag));
  assert.deepEqual(found.docs.map((g) => g.name), [`${tag} a`]);
  await assert.rejects(gyms.create({ name: "" }), ValidationError);
});

test("a user reads what the policy lets it read", async () => {
  const gw = await admin();
  const tag = fresh("visible");
  const made = await gw.resource<Gym>("gym").create({ name: tag });
  const { gw: user } = await signedUp();
  const seen = await user.resource<Gym>("gym").query(query<Gym>().equals("name", tag));
  assert.deepEqual(seen.docs.map((g) => g._id), [made._id]);
});
