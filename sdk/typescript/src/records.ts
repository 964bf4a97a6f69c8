// Offline verification of transaction records: a record's signature is
// "<kid>.<base64url Ed25519 signature>" over its canonical form, and the
// keys that verify it are published at /api/transaction_record_keys (never
// rotated out). Verification uses WebCrypto's Ed25519 (browsers, Node ≥ 20,
// Deno; React Native needs a WebCrypto polyfill).

/** The signed fields of a record, in the gateway's canonical form. */
const signedFields = ["_id", "kind", "user", "recipient", "amount", "items", "total", "created_at"];

/** A record key as published (a JWK). */
interface RecordKey {
  kid: string;
  kty: string;
  crv: string;
  x: string;
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sorted((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * canonicalRecord is the form a record's signature covers: its signed
 * fields that are present and not null, as JSON with sorted keys and the
 * gateway's string escapes (<, >, &, U+2028 and U+2029 as \u escapes).
 */
export function canonicalRecord(record: Record<string, unknown>): Uint8Array {
  const picked: Record<string, unknown> = {};
  for (const f of signedFields) {
    if (record[f] !== undefined && record[f] !== null) picked[f] = record[f];
  }
  const json = JSON.stringify(sorted(picked)).replace(/[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  return new TextEncoder().encode(json);
}

function fromBase64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** RecordKeys fetches and keeps the record keys; an unknown kid is fetched again once. */
export class RecordKeys {
  private keys?: Promise<Map<string, CryptoKey>>;

  constructor(private readonly baseUrl: string, private readonly fetchFn: typeof fetch) {}

  private load(): Promise<Map<string, CryptoKey>> {
    this.keys ??= (async () => {
      const resp = await this.fetchFn(this.baseUrl + "/api/transaction_record_keys");
      if (!resp.ok) throw new Error(`the gateway's record keys cannot be read (${resp.status})`);
      const set = (await resp.json()) as { keys: RecordKey[] };
      const out = new Map<string, CryptoKey>();
      for (const k of set.keys) {
        if (k.kty !== "OKP" || k.crv !== "Ed25519") continue;
        out.set(k.kid, await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: k.x }, { name: "Ed25519" }, false, ["verify"]));
      }
      return out;
    })().catch((err) => {
      this.keys = undefined;
      throw err;
    });
    return this.keys;
  }

  /** verify checks a record's signature against the published keys, without asking the gateway about the record. */
  async verify(record: Record<string, unknown>): Promise<boolean> {
    const sig = record.signature;
    if (typeof sig !== "string") return false;
    const dot = sig.indexOf(".");
    if (dot <= 0 || sig.length > 256) return false;
    const kid = sig.slice(0, dot);
    let raw: Uint8Array;
    try {
      raw = fromBase64url(sig.slice(dot + 1));
    } catch {
      return false;
    }
    if (raw.length !== 64) return false;
    let key = (await this.load()).get(kid);
    if (!key) {
      this.keys = undefined; // a key added since: fetch the set again, once
      key = (await this.load()).get(kid);
    }
    if (!key) return false;
    return crypto.subtle.verify("Ed25519", key, raw as BufferSource, canonicalRecord(record) as BufferSource);
  }
}
