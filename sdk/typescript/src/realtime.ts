// Realtime: many subscriptions over one Server-Sent Events stream, read
// with fetch (browsers, Node ≥ 20, Deno; React Native needs a fetch that
// streams). A dropped stream is resumed from its last event id, so nothing is
// missed or doubled; a resync (too long away) is surfaced for the app to
// refetch.

import type { Gateway } from "./client.js";
import { GatewayError } from "./errors.js";
import type { Query } from "./resources.js";

/** A change a subscription receives. */
export interface RealtimeEvent<T = Record<string, unknown>> {
  /** The stream's event id (increasing). */
  id: string;
  type: "create" | "update" | "delete" | "leave";
  resource: string;
  /** The document as the subscriber's query would return it ({_id} for delete and leave). */
  record: T & { _id: string };
}

/** What a subscription follows: a resource, one document of it, or a query. */
export interface SubscribeOptions {
  id?: string;
  query?: Query | Record<string, unknown>;
}

interface Sub {
  resource: string;
  id?: string;
  query?: Record<string, unknown>;
  handler: (ev: RealtimeEvent) => void;
}

/** Realtime is one stream of a Gateway client and its subscriptions. */
export class Realtime {
  private subs: Sub[] = [];
  /** The subscriptions' version, and the one the gateway has (changes while paused are sent on resume). */
  private version = 0;
  private applied = -1;
  private clientId?: string;
  private lastEventId?: string;
  private abort?: AbortController;
  private paused = false;
  /** held: paused by the app (pause()), not closed. */
  private held = false;
  private running?: Promise<void>;
  private connected?: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void };
  private readonly resyncs = new Set<() => void>();
  private readonly ends = new Set<(reason: string) => void>();

  constructor(private readonly gw: Gateway) {}

  /** onResync calls fn when the gateway cannot replay what was missed: refetch. */
  onResync(fn: () => void): () => void {
    this.resyncs.add(fn);
    return () => this.resyncs.delete(fn);
  }

  /** onEnded calls fn when the stream ends for good: the gateway ended it (the session ended), or refused it ("refused"). */
  onEnded(fn: (reason: string) => void): () => void {
    this.ends.add(fn);
    return () => this.ends.delete(fn);
  }

  /** subscribe follows a resource; it resolves once the gateway applies it, to the unsubscribe. */
  async subscribe<T = Record<string, unknown>>(resource: string, opts: SubscribeOptions, handler: (ev: RealtimeEvent<T>) => void): Promise<() => Promise<void>> {
    const q = opts.query && "toData" in opts.query ? (opts.query as Query).toData() : (opts.query as Record<string, unknown> | undefined);
    const sub: Sub = { resource, id: opts.id, query: q, handler: handler as (ev: RealtimeEvent) => void };
    this.subs.push(sub);
    this.version++;
    if (this.held) return () => this.unsubscribe(sub); // applied on resume
    if (this.paused) {
      // Closed (its last subscription gone): a new stream opens.
      if (this.running) await this.running;
      this.paused = false;
    }
    try {
      await this.ensure();
      await this.put();
    } catch (err) {
      // Refused (a resource the caller may not follow, too many
      // subscriptions, a stream the gateway will not open): not kept.
      await this.unsubscribe(sub).catch(() => undefined);
      throw err;
    }
    return () => this.unsubscribe(sub);
  }

  private async unsubscribe(sub: Sub): Promise<void> {
    if (!this.subs.includes(sub)) return;
    this.subs = this.subs.filter((s) => s !== sub);
    this.version++;
    if (this.subs.length === 0) this.close();
    else if (!this.paused) await this.put();
  }

  /** pause drops the connection and keeps the subscriptions (an app going to the background). */
  pause(): void {
    this.held = true;
    this.paused = true;
    this.abort?.abort();
  }

  /** position is the id of the last event received: keep it to resume after the app restarts. */
  get position(): string | undefined {
    return this.lastEventId;
  }

  /**
   * resume reconnects, receiving every event missed meanwhile, in order and
   * once: from the last event received, or from a position kept earlier.
   * Too far back (beyond the gateway's retention) or unknown, onResync is
   * called instead: refetch.
   */
  async resume(from?: string): Promise<void> {
    // A stream still closing after pause() ends first; then a new one opens.
    if (this.running) await this.running;
    if (from !== undefined) this.lastEventId = from;
    this.held = false;
    this.paused = false;
    await this.ensure();
  }

  /** close ends the stream and forgets the subscriptions. */
  close(): void {
    this.subs = [];
    this.paused = true;
    this.abort?.abort();
    this.clientId = undefined;
    this.lastEventId = undefined;
    this.version++;
  }

  private ensure(): Promise<void> {
    if (!this.running) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => undefined); // a refusal nobody awaits is not an unhandled rejection
      this.connected = { promise, resolve, reject };
      this.running = this.loop().finally(() => { this.running = undefined; });
    }
    return this.connected!.promise;
  }

  private async put(): Promise<void> {
    if (!this.clientId) return;
    const version = this.version;
    await this.gw.request("PUT", "/api/realtime/subscriptions", {
      body: { client_id: this.clientId, subscriptions: this.subs.map((s) => ({ resource: s.resource, id: s.id, query: s.query })) },
    });
    this.applied = version;
  }

  private async loop(): Promise<void> {
    let retryMs = 1000;
    while (!this.paused) {
      this.abort = new AbortController();
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      // The position goes in the query (last_event_id), which a page of
      // another origin sends without a preflight the header would need.
      const path = this.lastEventId ? "/api/realtime?last_event_id=" + encodeURIComponent(this.lastEventId) : "/api/realtime";
      const signal = this.abort.signal;
      try {
        // An expired token is refreshed and the stream asked for again.
        const resp = await this.gw.exchange("GET", true, (token) => this.gw.fetch("GET", path, { headers, signal, token, auth: token !== undefined }));
        if (!resp.body) throw new Error("the stream has no body");
        const ended = await this.read(resp.body, (ms) => { retryMs = ms; });
        if (ended) return;
      } catch (err) {
        if (this.paused) return;
        if (err instanceof GatewayError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          // Refused for good (the session ended, a right is missing): say so and stop.
          this.connected?.reject(err);
          for (const fn of this.ends) fn("refused");
          this.close();
          return;
        }
        if (err instanceof GatewayError && err.retryAfter !== undefined) retryMs = err.retryAfter * 1000;
      }
      // Wait before reconnecting; pause() ends the wait too.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  /** read parses the stream; it reports whether the gateway ended it for good. */
  private async read(body: ReadableStream<Uint8Array>, retry: (ms: number) => void): Promise<boolean> {
    const reader = body.getReader();
    const text = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buf += text.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = "message";
        let data = "";
        let id: string | undefined;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data += (data ? "\n" : "") + val;
          else if (field === "id") id = val;
        }
        if (await this.dispatch(event, data, id, retry)) return true;
      }
    }
  }

  private async dispatch(event: string, data: string, id: string | undefined, retry: (ms: number) => void): Promise<boolean> {
    const d = data ? JSON.parse(data) : {};
    switch (event) {
      case "connected": {
        if (typeof d.retry_ms === "number") retry(d.retry_ms);
        const fresh = d.client_id !== this.clientId;
        this.clientId = d.client_id;
        // A new stream needs the subscriptions; a resumed one, what changed meanwhile.
        // A refusal here reaches subscribe, which sends them again.
        if (fresh || this.applied !== this.version) await this.put().catch(() => undefined);
        this.connected?.resolve();
        return false;
      }
      case "resync":
        this.lastEventId = undefined;
        for (const fn of this.resyncs) fn();
        return false;
      case "ended":
        for (const fn of this.ends) fn(d.reason ?? "ended");
        this.close();
        return true;
      case "shutdown":
        if (typeof d.retry_ms === "number") retry(d.retry_ms);
        return false;
    }
    if (id) this.lastEventId = id;
    const ev: RealtimeEvent = { id: id ?? "", type: event as RealtimeEvent["type"], resource: d.resource, record: d.record };
    for (const i of (d.subscriptions as number[] | undefined) ?? []) this.subs[i]?.handler(ev);
    return false;
  }
}
