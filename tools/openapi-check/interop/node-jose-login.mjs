// Registers and logs in with credentials that node-jose encrypts to the
// gateway's key, imported from its PEM the library's default way (which
// names the key by its RFC 7638 thumbprint, not by the published kid).
//
//   GATEWAY_URL=http://localhost:8080 node interop/node-jose-login.mjs
//
// Prints the JWE header's kid and each step's status as JSON.

import jose from "node-jose";

const base = process.env.GATEWAY_URL ?? "http://localhost:8080";
const gpk = await (await fetch(`${base}/api/gpk`)).json();
const key = await jose.JWK.asKey(gpk.publicKey, "pem");

async function seal(fields) {
  const nonce = jose.util.base64url.encode(jose.util.randomBytes(16));
  const plain = JSON.stringify({ ...fields, ts: Math.floor(Date.now() / 1000), nonce });
  return jose.JWE.createEncrypt({ format: "compact", fields: { alg: "RSA-OAEP-256", enc: "A256GCM" } }, key).update(plain).final();
}

async function post(path, body) {
  const r = await fetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return r.status;
}

const creds = { username: `node_jose_${Math.random().toString(36).slice(2, 8)}`, password: "a node-jose long password" };
const first = await seal(creds);
const header = JSON.parse(Buffer.from(first.split(".")[0], "base64url").toString());
const register = await post("/api/register", { payload: first });
const login = await post("/api/auth", { payload: await seal(creds) });
console.log(JSON.stringify({ kid: header.kid ?? "", publishedKid: gpk.kid, register, login }));
