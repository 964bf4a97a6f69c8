// Files: uploads with progress, removals, and downloads with their URLs.
// A browser or React Native uploads through XMLHttpRequest, which reports
// progress; Node and Deno stream the multipart body through fetch and
// count what it reads.

import type { Gateway } from "./client.js";
import type { Doc } from "./resources.js";

/** Options of an upload. */
export interface UploadOptions {
  /** Called as the body goes out: bytes sent so far, and in all. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * A file to upload: a Blob (a File in browsers), bytes with a name, or, in
 * React Native (whose Blob cannot be made from bytes), a local file's uri.
 */
export type Upload = Blob | { name: string; data: Blob | Uint8Array } | { uri: string; name: string; type: string };

/** Options of a download or its URL. */
export interface FileOptions {
  /** A thumbnail size the field lists, as "WxH". */
  thumb?: string;
}

interface Part {
  name: string;
  blob?: Blob;
  /** React Native's form of a local file. */
  native?: { uri: string; name: string; type: string };
}

function partOf(u: Upload): Part {
  if (u instanceof Blob) return { name: (u as File).name || "file", blob: u };
  if ("uri" in u) return { name: u.name, native: u };
  return { name: u.name, blob: u.data instanceof Blob ? u.data : new Blob([u.data as BlobPart]) };
}

const seg = encodeURIComponent;

/** Files is the file area of a Gateway client. */
export class Files {
  constructor(private readonly gw: Gateway) {}

  /**
   * url is where a file (or its thumbnail) is downloaded. Public fields of
   * discoverable resources need no token, so the URL goes straight into an
   * <img src>; for the others use blob() (or objectUrl() in a browser).
   */
  url(resource: string, id: string, name: string, opts: FileOptions = {}): string {
    const q = opts.thumb ? "?thumb=" + seg(opts.thumb) : "";
    return `${this.gw.baseUrl}/api/files/${seg(resource)}/${seg(id)}/${seg(name)}${q}`;
  }

  /** blob downloads a file (or its thumbnail) with the session's token. */
  async blob(resource: string, id: string, name: string, opts: FileOptions = {}): Promise<Blob> {
    const path = this.url(resource, id, name, opts).slice(this.gw.baseUrl.length);
    const resp = await this.gw.exchange("GET", true, (token) => this.gw.fetch("GET", path, { token, auth: token !== undefined }));
    return resp.blob();
  }

  /** objectUrl downloads a file into a blob: URL for an <img> or a link (revoke it with URL.revokeObjectURL). */
  async objectUrl(resource: string, id: string, name: string, opts: FileOptions = {}): Promise<string> {
    return URL.createObjectURL(await this.blob(resource, id, name, opts));
  }

  /** upload adds files to a file field (a `file` field's one file is replaced); it answers the document. */
  async upload<T = Record<string, unknown>>(resource: string, id: string, field: string, files: Upload | Upload[], opts: UploadOptions = {}): Promise<Doc<T>> {
    const parts = (Array.isArray(files) ? files : [files]).map(partOf);
    const path = `/api/${seg(resource)}/${seg(id)}/files/${seg(field)}`;
    const xhr = typeof XMLHttpRequest === "function";
    if (!xhr && parts.some((p) => p.native)) throw new TypeError("a file given by uri is uploaded where XMLHttpRequest is (React Native)");
    const send = xhr
      ? (token: string | undefined) => this.viaXHR(path, parts, token, opts)
      : (token: string | undefined) => this.viaFetch(path, parts, token, opts);
    return (await this.gw.call<Doc<T>>("POST", true, send)).data;
  }

  /** remove deletes one file of a field; it answers the document. */
  async remove<T = Record<string, unknown>>(resource: string, id: string, field: string, name: string): Promise<Doc<T>> {
    return (await this.gw.request<Doc<T>>("DELETE", `/api/${seg(resource)}/${seg(id)}/files/${seg(field)}/${seg(name)}`)).data;
  }

  private viaXHR(path: string, parts: Part[], token: string | undefined, opts: UploadOptions): Promise<Response> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.gw.baseUrl + path);
      xhr.withCredentials = this.gw.transport === "cookie";
      for (const [k, v] of Object.entries(this.gw.headers)) xhr.setRequestHeader(k, v);
      xhr.setRequestHeader("Accept", "application/json");
      if (token) xhr.setRequestHeader("Authorization", "Bearer " + token);
      xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.total);
      xhr.onload = () => {
        const headers = new Headers();
        const retry = xhr.getResponseHeader("Retry-After");
        if (retry) headers.set("Retry-After", retry);
        resolve(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers }));
      };
      xhr.onerror = () => reject(this.gw.unreachable());
      xhr.onabort = () => reject(new DOMException("the upload was aborted", "AbortError"));
      if (opts.signal?.aborted) {
        reject(new DOMException("the upload was aborted", "AbortError"));
        return;
      }
      opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      const form = new FormData();
      // React Native's FormData takes {uri, name, type} for a local file.
      for (const p of parts) {
        if (p.native) form.append("file", p.native as unknown as Blob);
        else form.append("file", p.blob!, p.name);
      }
      xhr.send(form);
    });
  }

  private async viaFetch(path: string, parts: Part[], token: string | undefined, opts: UploadOptions): Promise<Response> {
    const boundary = "----gateway-sdk-" + crypto.randomUUID();
    const enc = new TextEncoder();
    const chunks: (Uint8Array | Blob)[] = [];
    for (const p of parts) {
      const name = p.name.replace(/["\\\r\n]/g, "_");
      chunks.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), p.blob!, enc.encode("\r\n"));
    }
    chunks.push(enc.encode(`--${boundary}--\r\n`));
    const total = chunks.reduce((n, c) => n + (c instanceof Blob ? c.size : c.byteLength), 0);
    let sent = 0;
    let i = 0;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        for (;;) {
          if (reader) {
            const { value, done } = await reader.read();
            if (!done) { sent += value.byteLength; ctl.enqueue(value); opts.onProgress?.(sent, total); return; }
            reader = undefined;
          }
          if (i === chunks.length) { ctl.close(); return; }
          const c = chunks[i++];
          if (c instanceof Blob) { reader = c.stream().getReader(); continue; }
          sent += c.byteLength;
          ctl.enqueue(c);
          opts.onProgress?.(sent, total);
          return;
        }
      },
    });
    return this.gw.fetch("POST", path, {
      token, auth: token !== undefined, body, signal: opts.signal,
      headers: { Accept: "application/json", "Content-Type": `multipart/form-data; boundary=${boundary}` },
      // A streamed request body (Node's and Deno's fetch).
      duplex: "half",
    } as RequestInit);
  }
}
