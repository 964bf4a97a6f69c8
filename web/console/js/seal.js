// Encrypted payloads, as apps send credentials: the fields with a fresh
// "ts" and a random "nonce", as a compact JWE (RSA-OAEP-256, A256GCM) to the
// gateway's current payload key (GET /api/gpk), with the browser's own
// WebCrypto.

function b64url(bytes) {
  let bin = "";
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** seal encrypts fields to the gateway's payload key. */
export async function seal(fields) {
  const resp = await fetch("/api/gpk", { cache: "no-store", credentials: "omit" });
  if (!resp.ok) throw new Error("the gateway's public key cannot be read");
  const gpk = await resp.json();
  const key = await crypto.subtle.importKey("jwk", { kty: gpk.jwk.kty, n: gpk.jwk.n, e: gpk.jwk.e, alg: "RSA-OAEP-256", ext: true },
    { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const plain = new TextEncoder().encode(JSON.stringify({ ...fields, ts: Math.floor(Date.now() / 1000), nonce: b64url(nonce) }));
  const header = b64url(new TextEncoder().encode(JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: gpk.kid })));
  const cek = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aes = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(header), tagLength: 128 }, aes, plain));
  const wrapped = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, key, cek);
  return [header, b64url(wrapped), b64url(iv), b64url(sealed.slice(0, -16)), b64url(sealed.slice(-16))].join(".");
}
