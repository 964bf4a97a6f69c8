// A typed client of the gateway. Every path, body and answer is checked by
// the compiler against src/schema.d.ts, which openapi-typescript generates
// from the gateway's served OpenAPI document (npm run generate).

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type Schemas = components["schemas"];
export type PublicKey = Schemas["PublicKey"];

/** Gateway is the typed fetch client of one gateway. */
export type Gateway = ReturnType<typeof createClient<paths>>;

/** connect makes a client; with a token every request carries it. */
export function connect(baseUrl: string, authorization?: string): Gateway {
  const client = createClient<paths>({ baseUrl });
  if (authorization) {
    const auth: Middleware = {
      onRequest({ request }) {
        request.headers.set("Authorization", authorization);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/** bearer is the Authorization value of an access token. */
export const bearer = (token: string): string => `Bearer ${token}`;

/** adminScheme is the Authorization value of the admin scheme (levels 0–2). */
export function adminScheme(username: string, password: string): string {
  const credentials = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
  return `tnt-admin-auth-scheme realm="admin", credentials="${credentials}"`;
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/**
 * sealPayload encrypts fields to the gateway's public key as a compact JWE
 * (RSA-OAEP-256 over a fresh A256GCM key), stamped with the current Unix
 * time as `ts` and 16 random bytes as `nonce`, as the gateway requires.
 */
export async function sealPayload(key: PublicKey, fields: Record<string, unknown>): Promise<string> {
  const subtle = globalThis.crypto.subtle;
  const jwk = key.jwk;
  const rsa = await subtle.importKey("jwk", { kty: jwk.kty, n: jwk.n, e: jwk.e, alg: "RSA-OAEP-256", ext: true },
    { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  const nonce = b64url(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const plain = new TextEncoder().encode(JSON.stringify({ ...fields, ts: Math.floor(Date.now() / 1000), nonce }));
  const header = b64url(new TextEncoder().encode(JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: key.kid })));
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const wrapped = new Uint8Array(await subtle.encrypt({ name: "RSA-OAEP" }, rsa, cek));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const aes = await subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(await subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(header), tagLength: 128 }, aes, plain));
  const tag = sealed.slice(sealed.length - 16);
  const ciphertext = sealed.slice(0, sealed.length - 16);
  return [header, b64url(wrapped), b64url(iv), b64url(ciphertext), b64url(tag)].join(".");
}

/** GatewayError is a refused call: the HTTP status and the contract's errorCode. */
export class GatewayError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
  }
}

/** must returns a call's data, or throws its error envelope as a GatewayError. */
export function must<T>(res: { data?: { data?: T } | undefined; error?: unknown; response: Response }): T {
  if (res.error !== undefined || res.data === undefined || res.data.data === undefined) {
    const e = (res.error ?? {}) as { errorCode?: string; exceptionMessage?: string };
    throw new GatewayError(res.response.status, e.errorCode ?? "", e.exceptionMessage ?? "no data");
  }
  return res.data.data;
}

/** one narrows an operation's answer to the single document a create or update returns. */
export function one<T extends object>(v: T | T[]): T {
  if (Array.isArray(v)) throw new Error("expected one document, got a list");
  return v;
}

/** many narrows an operation's answer to the list a query returns. */
export function many<T extends object>(v: T | T[]): T[] {
  if (!Array.isArray(v)) throw new Error("expected a list, got one document");
  return v;
}
