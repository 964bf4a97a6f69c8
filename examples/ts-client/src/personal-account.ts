// The personal-account example's client (examples/personal-account) on the
// SDK: a user with a Cyrillic name checks a login, registers, logs in by
// email naming the browser, edits the profile, searches users and lists
// the sessions; a Latin name and a taken email are refused.
//
//   GATEWAY_URL=http://localhost:8080 node dist/personal-account.js
//
// against a gateway started with examples/personal-account/resources.json.
// It prints a JSON summary and exits non-zero on the first unexpected answer.

import { DuplicateError, Gateway, GatewayError, ValidationError, query } from "@tnt/gateway-sdk";

const baseUrl = process.env.GATEWAY_URL ?? "http://localhost:8080";
const password = "a fine long password";

/** A profile as examples/personal-account/resources.json extends it. */
interface Profile {
  first_name: string;
  last_name: string;
  patronymic?: string;
  nickname?: string;
  city?: string;
  birthday?: string;
}

/** refusedAs names the SDK's class of a refusal ("accepted" when there is none). */
async function refusedAs(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "accepted";
  } catch (err) {
    if (err instanceof ValidationError) return "ValidationError";
    if (err instanceof DuplicateError) return "DuplicateError";
    throw err;
  }
}

async function main(): Promise<void> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const username = `danila_${suffix}`;
  const email = `Danila.${suffix}@example.org`;
  const anonymous = new Gateway({ baseUrl });
  const free = await anonymous.auth.available(username);

  // Register with names, an email and a birthday.
  await anonymous.auth.register({ username, password, email, first_name: "Данила", last_name: "Гинда", patronymic: "Сергеевич", birthday: "1990-04-01" });

  // Log in by email (any case), naming the browser for the sessions list.
  const gw = new Gateway({ baseUrl, headers: { browser: "Firefox 130" } });
  await gw.auth.login({ email: email.toLowerCase(), password });
  const me = await gw.auth.me<{ _id: string; permissions: string[] }>();

  // The profile editor, then the user search.
  const profiles = gw.resource<Profile>("profile");
  const edited = await profiles.update(me._id, { nickname: "Дэн", city: "Казань" });
  const found = await profiles.query(query<Profile>().contains("last_name", "гин"));

  // The sessions, each with its browser.
  const sessions = await gw.auth.sessions<{ device?: { browser?: string } }>();

  // A Latin name and a taken email are refused.
  const latin = await refusedAs(new Gateway({ baseUrl }).auth.register({ username: `latin_${suffix}`, password, first_name: "Danila", last_name: "Ginda" }));
  const taken = await refusedAs(new Gateway({ baseUrl }).auth.register({ username: `again_${suffix}`, password, email: email.toUpperCase(), first_name: "Данила", last_name: "Гинда" }));

  console.log(JSON.stringify({
    free, editsOwn: me.permissions.includes("profile:update_own"), city: edited.city, nickname: edited.nickname,
    found: found.docs.some((p) => p._id === me._id), browsers: sessions.map((s) => s.device?.browser ?? ""),
    latin, taken,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof GatewayError ? `${err.status} ${err.code}: ${err.message}` : err);
  process.exit(1);
});
