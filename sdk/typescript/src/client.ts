// The gateway's client: requests in the gateway's envelope, the session's
// tokens (refreshed before they expire and on a 401, by one refresh however
// many calls need it), and the areas of the API.

import { Auth } from "./auth.js";
import { errorFor, GatewayError, UnavailableError } from "./errors.js";
import { Realtime } from "./realtime.js";
import { Resource } from "./resources.js";
import { Wallet } from "./wallet.js";
import { Files } from "./files.js";
import { KeyCache } from "./keys.js";
import { RecordKeys } from "./records.js";
import { MemoryStore, type TokenStore, type Tokens } from "./tokens.js";

/** Options of a Gateway client. */
export interface GatewayOptions {
  /** The gateway's address, e.g. https://api.example.com. */
  baseUrl: string;
  /** Where the session's tokens live (memory when not given). */
  store?: TokenStore;
  /** The fetch to use (the global one when not given). */
  fetch?: typeof fetch;
  /** A GET answered 429 or 503 with a Retry-After up to this many seconds is tried again once (5 when not given; 0: never). */
  maxRetryAfter?: number;
  /**
   * How the refresh token travels. "body" (the default) keeps it in the
   * store, for apps. "cookie" leaves it in the gateway's httpOnly cookie,
   * for pages of an origin the gateway lists (GATEWAY_CORS_ORIGINS): the
   * store then holds the access token and the CSRF token that goes with
   * the cookie, and script never sees the refresh token.
   */
  transport?: "body" | "cookie";
  /** Headers sent with every request (e.g. `browser`, which names the session's device in the sessions list). */
  headers?: Record<string, string>;
}

/** Options of one request. */
export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the session's token (true when not given). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** A request's answer: the envelope's data and, for pages, the next cursor. */
export interface Answer<T> {
  data: T;
  next?: string;
  status: number;
}

/** Why the session ended, as onSignedOut reports it. */
export type SignedOutReason = "logout" | "refresh_refused" | "refresh_reused";

/** StoredTokens are tokens with the instant the access token expires. */
export type StoredTokens = Tokens;

/** Gateway is a client of one gateway for one session at a time. */
export class Gateway {
  readonly baseUrl: string;
  /** The key credentials are sealed to. */
  readonly keys: KeyCache;
  /** The keys that verify transaction records offline. */
  readonly recordKeys: RecordKeys;
  readonly store: TokenStore;
  /** The account: sign-in, the second factor, passwords. */
  readonly auth: Auth;
  /** Money: purchases and transfers, idempotent. */
  readonly wallet: Wallet;
  /** Changes as they happen, over one resumable stream. */
  readonly realtime: Realtime;
  /** Uploads with progress, downloads and their URLs. */
  readonly files: Files;
  /** How the refresh token travels ("body" or "cookie"). */
  readonly transport: "body" | "cookie";
  private readonly fetchFn: typeof fetch;
  private readonly maxRetryAfter: number;
  /** @internal headers sent with every request. */
  readonly headers: Record<string, string>;
  private refreshing?: Promise<StoredTokens>;
  private readonly signedOut = new Set<(reason: SignedOutReason) => void>();

  constructor(opts: GatewayOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.store = opts.store ?? new MemoryStore();
    this.maxRetryAfter = opts.maxRetryAfter ?? 5;
    this.keys = new KeyCache(this.baseUrl, this.fetchFn);
    this.recordKeys = new RecordKeys(this.baseUrl, this.fetchFn);
    this.auth = new Auth(this);
    this.wallet = new Wallet(this);
    this.realtime = new Realtime(this);
    this.files = new Files(this);
    this.transport = opts.transport ?? "body";
    this.headers = { ...opts.headers };
  }

  /** resource is one resource's operations. */
  resource<T = Record<string, unknown>>(name: string): Resource<T> {
    return new Resource<T>(this, name);
  }

  /** onSignedOut calls fn when the session ends (also by a refused or reused refresh token); it returns the unsubscribe. */
  onSignedOut(fn: (reason: SignedOutReason) => void): () => void {
    this.signedOut.add(fn);
    return () => this.signedOut.delete(fn);
  }

  /** @internal */
  endSession(reason: SignedOutReason): Promise<void> | void {
    const done = this.store.set(null);
    for (const fn of this.signedOut) fn(reason);
    return done;
  }

  /** @internal keep stores tokens with their expiry instant. */
  async keep(t: Tokens): Promise<StoredTokens> {
    const stored: StoredTokens = { ...t, expires_at: Date.now() + t.expires_in * 1000 };
    await this.store.set(stored);
    return stored;
  }

  /** fetch sends a request and returns the raw answer (for files and streams). */
  async fetch(method: string, path: string, init: RequestInit & { auth?: boolean; token?: string } = {}): Promise<Response> {
    const headers = new Headers(this.headers);
    new Headers(init.headers).forEach((v, k) => headers.set(k, v));
    if (init.auth !== false) {
      const token = init.token ?? (await this.accessToken());
      if (token) headers.set("Authorization", "Bearer " + token);
    }
    try {
      const credentials = this.transport === "cookie" ? "include" : init.credentials;
      return await this.fetchFn(this.baseUrl + path, { ...init, method, headers, credentials });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw this.unreachable();
    }
  }

  /** request sends one call in the envelope and returns its data; a refusal throws its GatewayError class. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    return this.call<T>(method, opts.auth !== false,
      (token) => this.fetch(method, path, { headers, body, auth: token !== undefined, token, signal: opts.signal }));
  }

  /** @internal call sends a request through exchange and decodes its envelope. */
  async call<T>(method: string, auth: boolean, send: (token: string | undefined) => Promise<Response>): Promise<Answer<T>> {
    const answer = await this.decode<T>(await this.exchange(method, auth, send));
    if (answer instanceof GatewayError) throw answer;
    return answer;
  }

  /**
   * @internal exchange sends a request (send is called again for a retry)
   * and returns a successful answer; a refusal throws its GatewayError. A
   * 401 on a token the store still holds refreshes once, for every call
   * that waits, and the request goes again with the new token; a GET
   * answered 429 or 503 with a short Retry-After goes again once, after it.
   */
  async exchange(method: string, auth: boolean, send: (token: string | undefined) => Promise<Response>): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = auth ? await this.accessToken() : undefined;
      const resp = await send(token);
      if (resp.ok) return resp;
      const err = (await this.decode(resp)) as GatewayError;
      const now = await this.store.get();
      if (attempt === 0 && err.status === 401 && err.code === "AuthenticationError" && token && canRefresh(now)) {
        // Refreshed meanwhile (by a call that got its 401 first): try the
        // new token; otherwise refresh, once for every call that waits.
        if (now!.access_token === token) await this.refresh(); // throws, ending the session, when refused
        continue;
      }
      if (attempt === 0 && method === "GET" && (err.status === 429 || err.status === 503) && err.retryAfter !== undefined && err.retryAfter <= this.maxRetryAfter) {
        await new Promise((r) => setTimeout(r, err.retryAfter! * 1000));
        continue;
      }
      throw err;
    }
  }

  /** @internal unreachable is the error of a request that got no answer. */
  unreachable(): UnavailableError {
    return new UnavailableError(0, "NetworkError", "the gateway cannot be reached");
  }

  /** @internal decode reads an envelope, or the error it holds. */
  async decode<T>(resp: Response): Promise<Answer<T> | GatewayError> {
    let env: { success?: boolean; data?: unknown; next?: string; errorCode?: string; exceptionMessage?: string } | null = null;
    try { env = await resp.json(); } catch { /* not JSON */ }
    if (resp.ok && env && env.success !== false) return { data: env.data as T, next: env.next || undefined, status: resp.status };
    return errorFor(resp.status, env?.errorCode ?? "", env?.exceptionMessage ?? resp.statusText, retryAfter(resp.headers.get("Retry-After")), env?.data ?? null);
  }

  /** accessToken is the session's access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    const t = (await this.store.get()) as StoredTokens | null;
    if (!t) return undefined;
    if (canRefresh(t) && t.expires_at !== undefined && t.expires_at - Date.now() < 10_000) {
      return (await this.refresh()).access_token;
    }
    return t.access_token;
  }

  /**
   * refresh trades the refresh token for new tokens. However many calls
   * ask at once, one refresh goes to the gateway and all share its answer.
   * A refused refresh token (expired, revoked, or spent: then the gateway
   * revoked the session, for one of its holders is not its owner) ends the
   * session and is reported to onSignedOut.
   */
  refresh(): Promise<StoredTokens> {
    this.refreshing ??= (async () => {
      try {
        const t = await this.store.get();
        if (!canRefresh(t)) throw errorFor(401, "AuthenticationError", "no session to refresh");
        // The cookie transport sends the httpOnly cookie and its CSRF token;
        // the body transport, the refresh token.
        const cookie = !t!.refresh_token;
        const resp = await this.fetchFn(this.baseUrl + "/api/token/refresh", {
          method: "POST", credentials: cookie ? "include" : undefined,
          headers: { ...this.headers, Accept: "application/json", ...(cookie ? { "X-CSRF-Token": t!.csrf_token! } : { "Content-Type": "application/json" }) },
          body: cookie ? undefined : JSON.stringify({ refresh_token: t!.refresh_token }),
        }).catch(() => { throw this.unreachable(); });
        const answer = await this.decode<Tokens>(resp);
        // The store may have changed while the refresh was out (a logout, a
        // new login): only the session that was refreshed is written over.
        const now = await this.store.get();
        const same = now?.refresh_token === t!.refresh_token && now?.csrf_token === t!.csrf_token;
        if (answer instanceof GatewayError) {
          if (answer.status === 401 && same) await this.endSession(/already used/.test(answer.message) ? "refresh_reused" : "refresh_refused");
          throw answer;
        }
        if (!same) {
          if (now && canRefresh(now)) return now as StoredTokens;
          throw errorFor(401, "AuthenticationError", "signed out while the session was refreshed");
        }
        return await this.keep({ ...answer.data, device_token: answer.data.device_token ?? t!.device_token, csrf_token: answer.data.csrf_token ?? t!.csrf_token });
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

/** canRefresh tells whether tokens can be refreshed: by the refresh token, or by the cookie transport's CSRF token. */
function canRefresh(t: Tokens | null): boolean {
  return Boolean(t && (t.refresh_token || t.csrf_token));
}

/** retryAfter reads a Retry-After header, in seconds or as an HTTP date, as seconds from now. */
function retryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
