// The console's client of the gateway's public API. It holds the access
// token in memory and in this tab's session storage (never a cookie), and
// sends it as a bearer token.

import { seal } from "./seal.js";

const TOKEN_KEY = "gateway.console.token";

/** ApiError is a failed call: status, errorCode and the server's message. */
export class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code || "";
    // data is null but for MfaRequiredError: what the login needs next.
    this.data = data || null;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(t) { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); }

/** call sends a request and returns the envelope's data (and next). */
export async function call(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (token() && !opts.noAuth) headers.Authorization = "Bearer " + token();
  if (opts.headers) Object.assign(headers, opts.headers);
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: opts.credentials || "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "NetworkError", "the gateway cannot be reached");
  }
  let env = null;
  try { env = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok || !env || env.success === false) {
    if (resp.status === 401 && !opts.noAuth && token()) {
      setToken("");
      window.dispatchEvent(new Event("gateway:signed-out"));
    }
    throw new ApiError(resp.status, env && env.errorCode, env && env.exceptionMessage, env && env.data);
  }
  return { data: env.data, next: env.next || "" };
}

/** data is call, returning only the data. */
export async function data(method, path, body, opts) {
  return (await call(method, path, body, opts)).data;
}

/** utf8Base64 encodes text as base64 of its UTF-8 bytes. */
function utf8Base64(text) {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * signIn uses the admin scheme (levels 0–2) and keeps the token. An account
 * with a second factor adds its code (otp); without it the call fails with
 * MfaRequiredError.
 */
export async function signIn(username, password, otp) {
  const cred = utf8Base64(username + ":" + password);
  const code = otp ? `, otp="${otp.replace(/[^0-9A-Za-z-]/g, "")}"` : "";
  // With its cookies, so that the device cookie an earlier sign-in left
  // keeps this browser signing in while guesses from elsewhere are
  // throttled, and a new one is kept.
  const d = await data("GET", "/api/admin/auth", undefined, {
    noAuth: true, credentials: "same-origin",
    headers: { Authorization: `tnt-admin-auth-scheme realm="admin", credentials="${cred}"${code}` },
  });
  setToken(d.access_token);
}

/**
 * signInToEnrol signs in with the password at /api/auth, for an account
 * whose level must have a second factor and has none: the session it gets
 * may only enrol one.
 */
export async function signInToEnrol(username, password) {
  const payload = await seal({ username, password });
  const d = await data("POST", "/api/auth", { payload }, { noAuth: true, credentials: "same-origin" });
  setToken(d.access_token);
}

/** signOut ends the session on the server and forgets the token. */
export async function signOut() {
  try { await call("DELETE", "/api/session"); } catch { /* ended already */ }
  setToken("");
}

/** raw fetches with the token, for non-JSON answers (backup, metrics). */
export async function raw(path) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  const resp = await fetch(path, { headers, credentials: "omit", cache: "no-store" });
  if (!resp.ok) {
    let env = null;
    try { env = await resp.json(); } catch { /* not JSON */ }
    throw new ApiError(resp.status, env && env.errorCode, env && env.exceptionMessage);
  }
  return resp;
}

/**
 * upload sends a file as the raw body with progress reports
 * (onProgress(fraction)); it resolves to the envelope's data.
 */
export function upload(path, file, onProgress) {
  return send(path, file, "application/octet-stream", onProgress);
}

/**
 * uploadFiles sends files as multipart/form-data parts named file, with
 * progress reports (onProgress(fraction)); it resolves to the document.
 */
export function uploadFiles(path, files, onProgress) {
  const form = new FormData();
  for (const f of files) form.append("file", f, f.name);
  return send(path, form, "", onProgress); // the browser sets the multipart type
}

/** send POSTs a body with the token, reporting upload progress. */
function send(path, body, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", "Bearer " + token());
    if (contentType) xhr.setRequestHeader("Content-Type", contentType);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      let env = null;
      try { env = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300 && env && env.success) resolve(env.data);
      else reject(new ApiError(xhr.status, env && env.errorCode, env && env.exceptionMessage));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "NetworkError", "the upload was cut off")));
    xhr.send(body);
  });
}
