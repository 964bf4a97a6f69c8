// Where the SDK keeps a session's tokens. Apps choose: memory (the
// default), localStorage in a browser, or an adapter of their own (React
// Native's secure storage: see the README).

/** Tokens are what a sign-in or a refresh answers. */
export interface Tokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  refresh_expires_in?: number;
  device_token?: string;
  /** The cookie transport's CSRF token (then the refresh token stays in the gateway's httpOnly cookie). */
  csrf_token?: string;
  /** When the access token expires (milliseconds since the epoch), as the SDK noted it. */
  expires_at?: number;
}

/** TokenStore keeps the tokens of one session. */
export interface TokenStore {
  get(): Promise<Tokens | null> | Tokens | null;
  set(tokens: Tokens | null): Promise<void> | void;
}

/** MemoryStore keeps tokens for the life of the page or process. */
export class MemoryStore implements TokenStore {
  private tokens: Tokens | null = null;
  get(): Tokens | null { return this.tokens; }
  set(tokens: Tokens | null): void { this.tokens = tokens; }
}

/** LocalStorageStore keeps tokens in the browser's localStorage under key. */
export class LocalStorageStore implements TokenStore {
  constructor(private readonly key = "gateway.tokens") {}
  get(): Tokens | null {
    const raw = globalThis.localStorage?.getItem(this.key);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  }
  set(tokens: Tokens | null): void {
    if (tokens) globalThis.localStorage?.setItem(this.key, JSON.stringify(tokens));
    else globalThis.localStorage?.removeItem(this.key);
  }
}
