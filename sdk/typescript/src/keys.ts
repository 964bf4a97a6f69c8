// The gateway's payload key (GET /api/gpk), cached, and credentials sealed
// to it as a compact JWE (RSA-OAEP-256, A256GCM) with a fresh ts and nonce.
// A refused key id (the key rotated) is fetched again once.

import { CompactEncrypt, importJWK, type JWK } from "jose";

type PublicKey = Awaited<ReturnType<typeof importJWK>>;

interface GPK {
  kid: string;
  jwk: JWK;
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** KeyCache fetches and keeps the payload key. */
export class KeyCache {
  private current?: Promise<{ kid: string; key: PublicKey }>;

  constructor(private readonly baseUrl: string, private readonly fetchFn: typeof fetch) {}

  /** get returns the cached key, fetching it the first time (once). */
  get(): Promise<{ kid: string; key: PublicKey }> {
    this.current ??= this.load().catch((err) => {
      this.current = undefined;
      throw err;
    });
    return this.current;
  }

  /** forget drops the cached key: the next get fetches it again. */
  forget(): void {
    this.current = undefined;
  }

  private async load(): Promise<{ kid: string; key: PublicKey }> {
    const resp = await this.fetchFn(this.baseUrl + "/api/gpk", { cache: "no-store" });
    if (!resp.ok) throw new Error(`the gateway's public key cannot be read (${resp.status})`);
    const gpk = (await resp.json()) as GPK;
    return { kid: gpk.kid, key: await importJWK({ ...gpk.jwk, alg: "RSA-OAEP-256" }, "RSA-OAEP-256") };
  }

  /** seal encrypts fields with a fresh ts and a 128-bit nonce. */
  async seal(fields: Record<string, unknown>): Promise<string> {
    const { kid, key } = await this.get();
    const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const plain = new TextEncoder().encode(JSON.stringify({ ...fields, ts: Math.floor(Date.now() / 1000), nonce }));
    return new CompactEncrypt(plain).setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM", kid }).encrypt(key);
  }
}
