// Resources: the envelope operations of one resource, a typed query
// builder, and every page of a query by cursor.

import type { Gateway } from "./client.js";

/** A stored document: its fields and the gateway's. */
export type Doc<T> = T & { _id: string; created_at?: string; updated_at?: string; owner?: string };

type Scalar = string | number | boolean;

/** Query is what a query operation takes: conditions, sort and paging. */
export class Query<T = Record<string, unknown>> {
  private readonly data: Record<string, unknown> = {};

  /** equals keeps documents whose field (a dot path) is value. */
  equals(field: keyof T & string | string, value: Scalar): this {
    this.data[field] = { equals: value };
    return this;
  }

  /** contains keeps documents whose text field holds value (any case). */
  contains(field: keyof T & string | string, value: string): this {
    this.data[field] = { contains: value };
    return this;
  }

  /** sort orders by a field; "-name" is descending. */
  sort(field: string): this {
    this.data.sort = field;
    return this;
  }

  /** find is the page size. */
  find(n: number): this {
    this.data.find = n;
    return this;
  }

  /** @internal */
  toData(after?: string): Record<string, unknown> {
    return after ? { ...this.data, after } : { ...this.data };
  }
}

/** query starts a query builder. */
export function query<T = Record<string, unknown>>(): Query<T> {
  return new Query<T>();
}

/** A page of documents and the cursor of the next one. */
export interface Page<T> {
  docs: Doc<T>[];
  next?: string;
}

/** Resource is one resource's operations. */
export class Resource<T = Record<string, unknown>> {
  constructor(private readonly gw: Gateway, readonly name: string) {}

  private op<R>(operation: string, data: unknown) {
    return this.gw.request<R>("POST", "/api/" + encodeURIComponent(this.name), { body: { operation, data } });
  }

  /** create stores a new document and returns it. */
  async create(data: Partial<T>): Promise<Doc<T>> {
    return (await this.op<Doc<T>>("create", data)).data;
  }

  /** get reads one document by id. */
  async get(id: string): Promise<Doc<T>> {
    return (await this.gw.request<Doc<T>>("GET", `/api/${encodeURIComponent(this.name)}/${encodeURIComponent(id)}`)).data;
  }

  /** update changes fields of a document (null removes an optional one). */
  async update(id: string, changes: Partial<{ [K in keyof T]: T[K] | null }>): Promise<Doc<T>> {
    return (await this.op<Doc<T>>("update", { _id: id, ...changes })).data;
  }

  /** delete removes a document. */
  async delete(id: string): Promise<void> {
    await this.op("delete", { _id: id });
  }

  /** query returns one page. */
  async query(q: Query<T> = new Query<T>(), after?: string): Promise<Page<T>> {
    const a = await this.op<Doc<T>[]>("query", q.toData(after));
    return { docs: a.data, next: a.next };
  }

  /** list iterates over every document the query finds, page by page. */
  async *list(q: Query<T> = new Query<T>()): AsyncGenerator<Doc<T>> {
    let after: string | undefined;
    do {
      const page = await this.query(q, after);
      yield* page.docs;
      after = page.next;
    } while (after);
  }
}
