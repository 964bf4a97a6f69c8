// The orders example's client (examples/orders) on the SDK: two customers
// register, one by email; each places orders and sees, updates and cancels
// only their own; then one deletes the account.
//
//   GATEWAY_URL=http://localhost:8080 node dist/orders.js
//
// against a gateway started with examples/orders/resources.json and
// policy.csv. It prints a JSON summary and exits non-zero on the first
// unexpected answer.

import { Gateway, GatewayError, NotFoundError, query } from "@tnt/gateway-sdk";

const baseUrl = process.env.GATEWAY_URL ?? "http://localhost:8080";

/** An order as examples/orders/resources.json declares it. */
interface Order {
  items: { product: string; quantity: number }[];
  status?: "new" | "paid" | "shipped" | "delivered" | "cancelled";
  address?: string;
  phone?: string;
  note?: string;
}

async function customer(name: string): Promise<Gateway> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const email = `${name}_${suffix}@shop.example`;
  const gw = new Gateway({ baseUrl });
  await gw.auth.register({ username: `${name}_${suffix}`, password: "a fine long password", email });
  await gw.auth.login({ email, password: "a fine long password" }); // log in by email: a fresh session
  return gw;
}

async function main(): Promise<void> {
  const a = await customer("customer_a");
  const b = await customer("customer_b");
  const ordersOf = (gw: Gateway) => gw.resource<Order>("order");

  // Each places an order.
  const mine = await ordersOf(a).create({ items: [{ product: "Rope", quantity: 2 }], address: "1 Main St", phone: "+1 555 0100" });
  const theirs = await ordersOf(b).create({ items: [{ product: "Mat", quantity: 1 }] });

  // My orders, newest first, every page: theirs is not among them.
  const listed: string[] = [];
  for await (const o of ordersOf(a).list(query<Order>().sort("created_at", true).find(1))) listed.push(o._id);

  // Theirs by id is exactly a missing order.
  let theirsHidden = false;
  try {
    await ordersOf(a).get(theirs._id);
  } catch (err) {
    theirsHidden = err instanceof NotFoundError;
  }

  // Update the status, then cancel.
  const paid = await ordersOf(a).update(mine._id, { status: "paid" });
  const cancelled = await ordersOf(a).update(mine._id, { status: "cancelled" });

  // Delete the account: its sessions end.
  await b.auth.deleteAccount("a fine long password");

  console.log(JSON.stringify({
    created: mine.status, listed: listed.length, seesOnlyOwn: listed.length === 1 && listed[0] === mine._id,
    theirsHidden, paid: paid.status, cancelled: cancelled.status, deleted: (await b.store.get()) === null,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof GatewayError ? `${err.status} ${err.code}: ${err.message}` : err);
  process.exit(1);
});
