// A mobile app's journey through the gateway with its SDK: register, log
// in, query gyms, buy merchandise and check the record. The admin steps (a
// gym, something to sell, a wallet credit) sign in as an administrator.
// Every resource is typed by src/gateway-types.ts, which the SDK generates
// from the gateway's served description (npm run generate).
//
//   GATEWAY_URL=http://localhost:8080 ADMIN_USER=rootadmin ADMIN_PASSWORD=... npm run journey
//
// It prints a JSON summary and exits non-zero on the first refused call.

import { Gateway, GatewayError, query } from "@tnt/gateway-sdk";
import { resources, type GymTypes } from "./gateway-types.js";

const baseUrl = process.env.GATEWAY_URL ?? "http://localhost:8080";

async function main(): Promise<void> {
  const admin = new Gateway({ baseUrl });
  await admin.auth.login({ username: process.env.ADMIN_USER ?? "", password: process.env.ADMIN_PASSWORD ?? "" });
  const suffix = Math.random().toString(36).slice(2, 8);

  // The admin sets the scene: a gym and something to sell.
  const scene = resources(admin);
  const gym = await scene.gym.create({ name: `Typed Gym ${suffix}`, type: { name: "boxing" }, location: { lat: 52.5, lng: 13.4 } });
  const gloves = await scene.merchandise.create({ name: `Typed Gloves ${suffix}`, price: 1200, stock: 5, gym_id: gym._id });

  // Register: the SDK seals the credentials to the gateway's key and keeps the tokens.
  const app = new Gateway({ baseUrl });
  const username = `ts_client_${suffix}`;
  await app.auth.register({ username, password: "a typed long password" });
  const me = await app.auth.me<{ _id: string; level: number }>();

  // Query gyms with the typed builder, every page.
  const { gym: gyms } = resources(app);
  let found = false;
  for await (const g of gyms.list(query<GymTypes>().equals("type.name", "boxing").find(10))) found ||= g._id === gym._id;

  // The admin credits the wallet; the user buys the gloves (the Idempotency-Key is the SDK's).
  await admin.request("POST", `/api/admin/users/${me._id}/balance`, { body: { delta: 5000, reason: "typed client journey" } });
  const record = await app.wallet.purchase<{ status: string; total: number }>({ items: [{ merchandise_id: gloves._id, quantity: 1 }] });
  const balance = await app.wallet.balance();

  // The record's signature, checked offline against the published keys, then by the gateway.
  const offline = await app.wallet.verify(record);
  const online = await app.wallet.check(record);

  await app.auth.logout();
  console.log(JSON.stringify({ username, level: me.level, gymFound: found, status: record.status, total: record.total, balance,
    recordVerified: offline, recordValid: online.valid }));
}

main().catch((err: unknown) => {
  console.error(err instanceof GatewayError ? `${err.status} ${err.code}: ${err.message}` : err);
  process.exit(1);
});
