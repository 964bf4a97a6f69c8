// A mobile app's journey through the typed client: register with an
// encrypted payload, log in, query gyms, buy merchandise. The admin steps
// (a gym, something to sell, a wallet credit) use the admin scheme.
//
//   GATEWAY_URL=http://localhost:8080 ADMIN_USER=rootadmin ADMIN_PASSWORD=... npm run journey
//
// It prints a JSON summary and exits non-zero on the first refused call.

import { adminScheme, bearer, connect, many, must, one, sealPayload } from "./client.js";

const base = process.env.GATEWAY_URL ?? "http://localhost:8080";
const adminUser = process.env.ADMIN_USER ?? "";
const adminPassword = process.env.ADMIN_PASSWORD ?? "";

async function main(): Promise<void> {
  const anonymous = connect(base);
  const admin = connect(base, adminScheme(adminUser, adminPassword));
  const suffix = Math.random().toString(36).slice(2, 8);
  const username = `ts_client_${suffix}`;
  const password = "a typed long password";

  // The admin sets the scene: a gym and something to sell.
  const gym = one(must(await admin.POST("/api/gym", {
    body: { operation: "create", data: { name: `Typed Gym ${suffix}`, type: { name: "boxing" }, location: { lat: 52.5, lng: 13.4 } } },
  })));
  const gloves = one(must(await admin.POST("/api/merchandise", {
    body: { operation: "create", data: { name: `Typed Gloves ${suffix}`, price: 1200, stock: 5, gym_id: gym._id } },
  })));

  // Register and log in: credentials travel encrypted to the gateway's key.
  const { data: key } = await anonymous.GET("/api/gpk");
  if (!key) throw new Error("no public key");
  must(await anonymous.POST("/api/register", { body: { payload: await sealPayload(key, { username, password }) } }));
  const tokens = must(await anonymous.POST("/api/auth", { body: { payload: await sealPayload(key, { username, password }) } }));
  const app = connect(base, bearer(tokens.access_token));
  const me = must(await app.GET("/api/account/me"));

  // Query gyms with a typed qualifier.
  const gyms = many(must(await app.POST("/api/gym", { body: { operation: "query", data: { "type.name": { equals: "boxing" }, find: 10 } } })));
  const found = gyms.some((g) => g._id === gym._id);

  // The admin credits the wallet; the user buys the gloves.
  must(await admin.POST("/api/admin/users/{id}/balance", { params: { path: { id: me._id } }, body: { delta: 5000, reason: "typed client journey" } }));
  const record = must(await app.POST("/api/perform_transaction", {
    params: { header: { "Idempotency-Key": `journey-${suffix}` } },
    body: { items: [{ merchandise_id: gloves._id, quantity: 1 }] },
  }));
  const balance = must(await app.GET("/api/account/balance"));

  // The record goes back exactly as it came, to check its signature.
  const verdict = must(await app.POST("/api/verify_transaction_record", { body: { record } }));

  // The generic envelope route takes any resource's fields.
  const generic = must(await app.POST("/api/{resource}", {
    params: { path: { resource: "gym" } },
    body: { operation: "query", data: { name: { contains: `Typed Gym ${suffix}` }, "type.name": { equals: "boxing" } } },
  }));
  const genericFound = Array.isArray(generic) && generic.some((g) => g._id === gym._id);

  console.log(JSON.stringify({ username, level: me.level, gymFound: found, status: record.status, total: record.total, balance: balance.balance,
    recordValid: verdict.valid, genericFound }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
