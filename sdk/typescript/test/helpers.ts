// What the SDK's tests share: the gateway under test (GATEWAY_URL; the
// DBA's credentials in GATEWAY_ADMIN as user:password; GATEWAY_MAILBOX
// answers the text of mails that arrived), fresh names, counted fetches,
// TOTP codes and PNG images.

import { createHmac } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import { Gateway } from "../src/index.js";

export const base = process.env.GATEWAY_URL ?? "";
const [adminUser, adminPass] = (process.env.GATEWAY_ADMIN ?? ":").split(":");
export const password = "a fine long password";

let n = 0;
/** fresh is a name no other test uses. */
export const fresh = (prefix: string) => `${prefix}_${process.pid}_${++n}`;

/** counting wraps fetch, counting requests by path. */
export function counting(): { fetch: typeof fetch; count: (path: string) => number } {
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

/** signedUp registers a fresh user (level 4) and returns its client. */
export async function signedUp(opts: { fetch?: typeof fetch; email?: boolean } = {}): Promise<{ gw: Gateway; username: string; email: string }> {
  const gw = new Gateway({ baseUrl: base, fetch: opts.fetch });
  const username = fresh("sdk");
  const email = `${username}@example.com`;
  await gw.auth.register({ username, password, ...(opts.email ? { email } : {}) });
  return { gw, username, email };
}

/** admin is a client signed in as the DBA. */
export async function admin(): Promise<Gateway> {
  const gw = new Gateway({ baseUrl: base });
  await gw.auth.login({ username: adminUser, password: adminPass });
  return gw;
}

/** mailedToken waits for the mail to an address after the first skip, and reads the token of its link of a kind. */
export async function mailedToken(to: string, kind: "reset" | "verify" | "invite", skip = 0): Promise<string> {
  const resp = await fetch(`${process.env.GATEWAY_MAILBOX}/?to=${encodeURIComponent(to)}&skip=${skip}`);
  if (!resp.ok) throw new Error(`no mail to ${to}`);
  const text = await resp.text();
  const m = new RegExp(`#${kind}=([A-Za-z0-9_-]{43})`).exec(text);
  if (!m) throw new Error(`no ${kind} link in: ${text}`);
  return m[1];
}

/** totp is the RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, steps ahead of now. */
export function totp(secret: string, steps = 0): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** png encodes a width×height RGB image; noisy pixels do not compress (a large file). */
export function png(width: number, height: number, noisy = false): Uint8Array {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) raw[y * (width * 3 + 1) + 1 + x] = noisy ? Math.floor(Math.random() * 256) : (x + y) % 256;
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]));
}

/** pngSize reads a PNG's width and height. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(bytes);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
