// Signing in and the account: registration, logins (username or email,
// WeChat), the second factor, logout, passwords and email verification.
// Credentials always travel sealed to the gateway's key; a refused key id
// (the key rotated) is fetched again once.

import type { Gateway, StoredTokens } from "./client.js";
import { AuthenticationError } from "./errors.js";
import type { Tokens } from "./tokens.js";

/** Credentials name the account by username or by email. */
export type Credentials = ({ username: string } | { email: string }) & { password: string };

/** Auth is the account area of a Gateway client. */
export class Auth {
  constructor(private readonly gw: Gateway) {}

  /** sealed posts {payload} of sealed fields; a refused payload (a rotated key) is sealed again once with a fresh key. */
  private async sealed<T>(path: string, fields: Record<string, unknown>, auth = false, method = "POST"): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const payload = await this.gw.keys.seal(fields);
      try {
        return (await this.gw.request<T>(method, path, { body: { payload }, auth, headers: await this.headers() })).data;
      } catch (err) {
        if (attempt === 0 && err instanceof AuthenticationError && /payload was refused/.test(err.message)) {
          this.gw.keys.forget();
          continue;
        }
        throw err;
      }
    }
  }

  /** headers are a login's: the device token, and the cookie transport when chosen. */
  private async headers(): Promise<Record<string, string>> {
    const t = await this.gw.store.get();
    const h: Record<string, string> = t?.device_token ? { "X-Device-Token": t.device_token } : {};
    if (this.gw.transport === "cookie") h["X-Refresh-Transport"] = "cookie";
    return h;
  }

  private keep(t: Tokens): Promise<StoredTokens> { return this.gw.keep(t); }

  /** register makes an account (any writable profile field may come along) and signs in. */
  async register(fields: { username: string; password: string } & Record<string, unknown>): Promise<StoredTokens> {
    return this.keep(await this.sealed<Tokens>("/api/register", fields));
  }

  /** login signs in; an account with a second factor throws MfaRequiredError (finish with completeMfa). */
  async login(creds: Credentials): Promise<StoredTokens> {
    return this.keep(await this.sealed<Tokens>("/api/auth", creds));
  }

  /** completeMfa finishes a login with a TOTP or recovery code. */
  async completeMfa(mfaToken: string, code: string): Promise<StoredTokens> {
    const t = (await this.gw.request<Tokens>("POST", "/api/auth/mfa", { body: { mfa_token: mfaToken, code }, auth: false, headers: await this.headers() })).data;
    return this.keep(t);
  }

  /** loginWeChat signs in with a WeChat mini-program login code. */
  async loginWeChat(code: string): Promise<StoredTokens> {
    return this.keep(await this.sealed<Tokens>("/api/wechat_auth", { code }));
  }

  /** available tells whether a username is free (and well-formed). */
  async available(username: string): Promise<boolean> {
    return (await this.gw.request<{ available: boolean }>("GET", "/api/account/available?username=" + encodeURIComponent(username), { auth: false })).data.available;
  }

  /** logout ends the session on the gateway and forgets its tokens. */
  async logout(): Promise<void> {
    try { await this.gw.request("DELETE", "/api/session"); } finally { await this.gw.endSession("logout"); }
  }

  /** me is the signed-in account with what it may do. */
  async me<T = Record<string, unknown>>(): Promise<T> {
    return (await this.gw.request<T>("GET", "/api/account/me")).data;
  }

  /** changePassword changes the password; the account's other sessions end. */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await this.sealed("/api/account/password", { old_password: oldPassword, new_password: newPassword }, true);
  }

  /** requestPasswordReset asks for a reset mail (the answer is the same whether or not the account exists). */
  async requestPasswordReset(who: { email: string } | { username: string }): Promise<void> {
    await this.gw.request("POST", "/api/account/password/reset", { body: who, auth: false });
  }

  /** confirmPasswordReset sets a new password with a mailed (or handed over) token; every session ends. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    await this.sealed("/api/account/password/reset/confirm", { token, new_password: newPassword });
  }

  /** requestEmailVerification mails the account's address a verification link. */
  async requestEmailVerification(): Promise<void> {
    await this.gw.request("POST", "/api/account/email/verification");
  }

  /** verifyEmail spends a verification token. */
  async verifyEmail(token: string): Promise<void> {
    await this.gw.request("POST", "/api/account/email/verify", { body: { token }, auth: false });
  }

  /** sessions lists the account's sessions (each device signed in). */
  async sessions<T = Record<string, unknown>>(): Promise<T[]> {
    return (await this.gw.request<T[]>("GET", "/api/sessions")).data;
  }

  /** revokeSession revokes one of the account's sessions by its sid. */
  async revokeSession(sid: string): Promise<void> {
    await this.gw.request("DELETE", "/api/sessions/" + encodeURIComponent(sid));
  }

  /** enrolTotp starts enrolling an authenticator: show the URI as a QR code, then confirm with a code. */
  async enrolTotp(): Promise<{ secret: string; otpauth_uri: string } & Record<string, unknown>> {
    return (await this.gw.request<{ secret: string; otpauth_uri: string }>("POST", "/api/account/mfa/totp")).data;
  }

  /** confirmTotp finishes the enrolment with a code; it answers the recovery codes, shown once. */
  async confirmTotp(code: string): Promise<string[]> {
    return (await this.gw.request<{ recovery_codes: string[] }>("POST", "/api/account/mfa/totp/confirm", { body: { code } })).data.recovery_codes;
  }

  /** removeTotp removes the authenticator, with the password and a code (TOTP or recovery). */
  async removeTotp(password: string, code: string): Promise<void> {
    await this.sealed("/api/account/mfa/totp", { password, code }, true, "DELETE");
  }

  /** deleteAccount deletes the account and its sessions, with its password; the tokens are forgotten. */
  async deleteAccount(password: string): Promise<void> {
    await this.sealed("/api/account", { password }, true, "DELETE");
    await this.gw.endSession("logout");
  }
}
