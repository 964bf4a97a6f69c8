// Accounts through the SDK: sign-in in every form, the session's tokens
// (one refresh for a storm, reuse detection), a rotated key, the second
// factor, passwords and email verification.

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import {
  AuthenticationError, Gateway, MfaRequiredError, MemoryStore, NotFoundError, PermissionDeniedError, RateLimitedError,
  type SignedOutReason, type StoredTokens,
} from "../src/index.js";
import { base, counting, fresh, mailedToken, password, signedUp, totp } from "./helpers.js";

test("register, me, logout", async () => {
  const { gw, username } = await signedUp();
  assert.equal(await gw.auth.available(username), false);
  assert.equal(await gw.auth.available(fresh("free")), true);
  const me = await gw.auth.me<{ username: string; level: number }>();
  assert.equal(me.username, username);
  assert.equal(me.level, 4);
  const reasons: SignedOutReason[] = [];
  gw.onSignedOut((r) => reasons.push(r));
  const token = ((await gw.store.get()) as StoredTokens).access_token;
  await gw.auth.logout();
  assert.deepEqual(reasons, ["logout"]);
  assert.equal(await gw.store.get(), null);
  const after = await fetch(base + "/api/account/me", { headers: { Authorization: "Bearer " + token } });
  assert.equal(after.status, 401, "the gateway ended the session");
});

test("login by username and by email", async () => {
  const { username, email } = await signedUp({ email: true });
  const byName = new Gateway({ baseUrl: base });
  await byName.auth.login({ username, password });
  const byEmail = new Gateway({ baseUrl: base });
  await byEmail.auth.login({ email: email.toUpperCase(), password });
  assert.equal((await byEmail.auth.me<{ username: string }>()).username, username);
  const sessions = await byEmail.auth.sessions<{ sid: string }>();
  assert.ok(sessions.length >= 3, "register, and two logins");
  await assert.rejects(new Gateway({ baseUrl: base }).auth.login({ username, password: "not the password" }), AuthenticationError);
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

test("a 401 on a refused token refreshes once and goes on", async () => {
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
  await assert.rejects(gw.refresh(), AuthenticationError);
  assert.deepEqual(reasons, ["refresh_reused"]);
  assert.equal(await gw.store.get(), null);
  await assert.rejects(gw.auth.me(), AuthenticationError);
});

test("a cached key the gateway no longer holds is fetched again, once", async () => {
  // The first /api/gpk answers a key the gateway never had (as after
  // rotations): the sealed login is refused, and the SDK fetches the key
  // again and seals once more.
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  let gpk = 0;
  const c = counting();
  const stale: typeof fetch = async (input, init) => {
    if (new URL(String(input)).pathname === "/api/gpk" && gpk++ === 0) {
      return Response.json({ kid: "retired", jwk: { ...publicKey.export({ format: "jwk" }), kid: "retired" } });
    }
    return c.fetch(input, init);
  };
  const { username } = await signedUp();
  const gw = new Gateway({ baseUrl: base, fetch: stale });
  await gw.auth.login({ username, password });
  assert.equal(gpk, 2);
  assert.equal(c.count("/api/auth"), 2);
  await gw.auth.login({ username, password });
  assert.equal(gpk, 2, "the fresh key is kept");
});

test("errors are typed by errorCode, with Retry-After", async () => {
  const { gw, username } = await signedUp();
  await assert.rejects(gw.resource("gym").create({ name: "not mine to make" }), PermissionDeniedError);
  await assert.rejects(gw.resource("gym").get("000000000000000000000000"), NotFoundError);
  const stranger = new Gateway({ baseUrl: base });
  let limited: RateLimitedError | undefined;
  for (let i = 0; i < 30 && !limited; i++) {
    try {
      await stranger.auth.login({ username, password: "a wrong password " + i });
    } catch (err) {
      if (err instanceof RateLimitedError) limited = err;
      else assert.ok(err instanceof AuthenticationError, String(err));
    }
  }
  assert.ok(limited, "failed logins are throttled");
  assert.equal(limited.status, 429);
  assert.ok(limited.retryAfter! > 0, "Retry-After is read");
});

test("a second factor: enrol, sign in with a code, remove", async () => {
  const { gw, username } = await signedUp();
  const enrolment = await gw.auth.enrolTotp();
  assert.match(enrolment.otpauth_uri, /^otpauth:\/\/totp\//);
  const codes = await gw.auth.confirmTotp(totp(enrolment.secret));
  assert.equal(codes.length, 10);
  const app = new Gateway({ baseUrl: base });
  const challenge = await app.auth.login({ username, password }).then(() => undefined, (err) => err);
  assert.ok(challenge instanceof MfaRequiredError, String(challenge));
  assert.ok(challenge.mfaToken);
  await assert.rejects(app.auth.completeMfa(challenge.mfaToken, "000000"), AuthenticationError);
  await app.auth.completeMfa(challenge.mfaToken, totp(enrolment.secret, 1));
  const me = await app.auth.me<{ mfa: { totp: boolean } }>();
  assert.equal(me.mfa.totp, true);
  await app.auth.removeTotp(password, codes[0]);
  const plain = new Gateway({ baseUrl: base });
  await plain.auth.login({ username, password });
});

test("passwords: change, and reset through the mailed token", async () => {
  const { gw, username, email } = await signedUp({ email: true });
  const other = new Gateway({ baseUrl: base });
  await other.auth.login({ username, password });
  await gw.auth.changePassword(password, "a changed long password");
  await assert.rejects(other.auth.me(), AuthenticationError, "other sessions end");
  await gw.auth.me();

  const anonymous = new Gateway({ baseUrl: base });
  await anonymous.auth.requestPasswordReset({ email });
  await anonymous.auth.requestPasswordReset({ email: fresh("nobody") + "@example.com" }); // the same answer
  const token = await mailedToken(email, "reset");
  await anonymous.auth.confirmPasswordReset(token, "a reset long password");
  await assert.rejects(gw.auth.me(), AuthenticationError, "every session ends");
  await assert.rejects(anonymous.auth.confirmPasswordReset(token, "another long password"), AuthenticationError);
  await anonymous.auth.login({ email, password: "a reset long password" });
});

test("email verification", async () => {
  const { gw, email } = await signedUp({ email: true });
  assert.equal((await gw.auth.me<{ email_verified?: boolean }>()).email_verified ?? false, false);
  await gw.auth.requestEmailVerification();
  await new Gateway({ baseUrl: base }).auth.verifyEmail(await mailedToken(email, "verify"));
  assert.equal((await gw.auth.me<{ email_verified: boolean }>()).email_verified, true);
});

test("WeChat login", async () => {
  const code = fresh("wx");
  const gw = new Gateway({ baseUrl: base, store: new MemoryStore() });
  await gw.auth.loginWeChat(code);
  const me = await gw.auth.me<{ _id: string; level: number }>();
  assert.equal(me.level, 4);
  const again = new Gateway({ baseUrl: base });
  await again.auth.loginWeChat(code);
  assert.equal((await again.auth.me<{ _id: string }>())._id, me._id, "the same account");
});

test("deleting the account", async () => {
  const { gw, username } = await signedUp();
  await gw.auth.deleteAccount(password);
  assert.equal(await gw.store.get(), null);
  await assert.rejects(new Gateway({ baseUrl: base }).auth.login({ username, password }), AuthenticationError);
});

test("a GET answered 429 with a short Retry-After is sent again once, after it", async () => {
  // The gateway's per-address limit is off here: the first answer of
  // /api/account/me is made a 429, as the limit would answer it.
  let limited = 0;
  let meCalls = 0;
  const crowded: typeof fetch = async (input, init) => {
    if (new URL(String(input)).pathname === "/api/account/me" && meCalls++ === 0) {
      limited = Date.now();
      return Response.json({ success: false, data: null, exceptionMessage: "too many requests", errorCode: "RateLimitedError" },
        { status: 429, headers: { "Retry-After": "1" } });
    }
    return globalThis.fetch(input, init);
  };
  const { username } = await signedUp();
  const gw = new Gateway({ baseUrl: base, fetch: crowded });
  await gw.auth.login({ username, password });
  const me = await gw.auth.me<{ username: string }>();
  assert.equal(me.username, username);
  assert.equal(meCalls, 2);
  assert.ok(Date.now() - limited >= 950, "it waited as asked (1 s)");
  const patient = new Gateway({ baseUrl: base, fetch: crowded, maxRetryAfter: 0 });
  meCalls = 0;
  await patient.auth.login({ username, password });
  await assert.rejects(patient.auth.me(), (err: RateLimitedError) => err instanceof RateLimitedError && err.retryAfter === 1);
});

test("a logout while a refresh's answer is on its way is not undone by it", async () => {
  let answered!: () => void;
  const refreshed = new Promise<void>((r) => (answered = r));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow: typeof fetch = async (input, init) => {
    const resp = await globalThis.fetch(input, init);
    if (new URL(String(input)).pathname === "/api/token/refresh") {
      answered(); // the gateway has refreshed; the answer is held back
      await held;
    }
    return resp;
  };
  const { gw } = await signedUp({ fetch: slow });
  const reasons: SignedOutReason[] = [];
  gw.onSignedOut((r) => reasons.push(r));
  const refresh = gw.refresh();
  await refreshed;
  await gw.auth.logout();
  release();
  await assert.rejects(refresh, AuthenticationError);
  assert.equal(await gw.store.get(), null, "the session stays ended");
  assert.deepEqual(reasons, ["logout"]);
});
