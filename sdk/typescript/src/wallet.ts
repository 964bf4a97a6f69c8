// The wallet: purchases and transfers with an Idempotency-Key that stays
// the same across retries (a dropped connection never charges twice).

import type { Gateway } from "./client.js";
import { UnavailableError } from "./errors.js";

/** Options of a money call. */
export interface MoneyOptions {
  /** The Idempotency-Key; a fresh one when not given. Reuse it to retry the same act yourself. */
  idempotencyKey?: string;
  /** Attempts after a network failure or a 503 (2 when not given). */
  retries?: number;
}

/** Wallet is the money area of a Gateway client. */
export class Wallet {
  constructor(private readonly gw: Gateway) {}

  private async money<T>(path: string, body: unknown, opts: MoneyOptions): Promise<T> {
    const key = opts.idempotencyKey ?? crypto.randomUUID();
    const retries = opts.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.gw.request<T>("POST", path, { body, headers: { "Idempotency-Key": key } })).data;
      } catch (err) {
        // The same key again: the gateway answers the first result
        // if the first attempt went through.
        if (attempt < retries && err instanceof UnavailableError) {
          // As long as the gateway asks (Retry-After), up to 30 s; otherwise a short backoff.
          const ms = err.retryAfter !== undefined ? Math.min(30, err.retryAfter) * 1000 : Math.min(2000, 200 * 2 ** attempt);
          await new Promise((r) => setTimeout(r, ms));
          continue;
        }
        throw err;
      }
    }
  }

  /** purchase buys merchandise; it answers the transaction record. */
  purchase<T = Record<string, unknown>>(data: Record<string, unknown>, opts: MoneyOptions = {}): Promise<T> {
    return this.money<T>("/api/perform_transaction", data, opts);
  }

  /** transfer sends an amount to another user (by id or username). */
  transfer<T = Record<string, unknown>>(recipient: string, amount: number, opts: MoneyOptions = {}): Promise<T> {
    return this.money<T>("/api/transfer", { recipient, amount }, opts);
  }

  /** balance is the account's balance (minor units). */
  async balance(): Promise<number> {
    return (await this.gw.request<{ balance: number }>("GET", "/api/account/balance")).data.balance;
  }

  /**
   * verify checks a transaction record's signature offline, against the
   * gateway's published record keys: true only if the gateway signed
   * exactly these signed fields. It proves the record is the gateway's, not
   * its current status; check asks the gateway for that.
   */
  verify(record: Record<string, unknown>): Promise<boolean> {
    return this.gw.recordKeys.verify(record);
  }

  /** check asks the gateway whether a record is valid and matches the stored one, and its status. */
  async check(record: Record<string, unknown>): Promise<{ valid: boolean; status?: string }> {
    return (await this.gw.request<{ valid: boolean; status?: string }>("POST", "/api/verify_transaction_record", { body: { record } })).data;
  }
}
