// Resources: the envelope operations of one resource, a typed query
// builder, every page of a query by cursor, and the resource's files.

import type { Gateway } from "./client.js";
import type { FileOptions, Upload, UploadOptions } from "./files.js";

/**
 * ResourceTypes are what `generate` writes for a resource: the stored
 * document, the data of a create and of an update, and the fields a query
 * may name (dot paths for nested ones).
 */
export interface ResourceTypes {
  doc: object;
  create: object;
  update: object;
  field: string;
  /** The file fields (never: none). */
  files: string;
}

/** TypesOf is T when T is generated ResourceTypes; for a plain document type, what follows from it. */
export type TypesOf<T> = T extends ResourceTypes ? T : {
  doc: T;
  create: Partial<T>;
  update: Partial<T>;
  field: (keyof T & string) | `${keyof T & string}.${string}` | "_id" | "created_at" | "updated_at" | "owner";
  files: string;
};

/** A stored document: its fields and the gateway's. */
export type Doc<T> = T & { _id: string; created_at?: string; updated_at?: string; owner?: string };

type Scalar = string | number | boolean;

/** Query is what a query operation takes: conditions, sort and paging, over the fields F. */
export class Query<F extends string = string> {
  private readonly data: Record<string, unknown> = {};

  /** equals keeps documents whose field is value. */
  equals(field: F, value: Scalar): this {
    this.data[field] = { equals: value };
    return this;
  }

  /** contains keeps documents whose text field holds value (any case). */
  contains(field: F, value: string): this {
    this.data[field] = { contains: value };
    return this;
  }

  /** sort orders by a field, descending when desc. */
  sort(field: F, desc = false): this {
    this.data.sort = (desc ? "-" : "") + field;
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

/** query starts a query builder over T's fields (T: a document type or generated ResourceTypes). */
export function query<T = Record<string, unknown>>(): Query<TypesOf<T>["field"]> {
  return new Query<TypesOf<T>["field"]>();
}

/** A page of documents and the cursor of the next one. */
export interface Page<T> {
  docs: Doc<T>[];
  next?: string;
}

/** Resource is one resource's operations; T is its document type or its generated ResourceTypes. */
export class Resource<T = Record<string, unknown>> {
  constructor(private readonly gw: Gateway, readonly name: string) {}

  private op<R>(operation: string, data: unknown) {
    return this.gw.request<R>("POST", "/api/" + encodeURIComponent(this.name), { body: { operation, data } });
  }

  /** create stores a new document and returns it. */
  async create(data: TypesOf<T>["create"]): Promise<Doc<TypesOf<T>["doc"]>> {
    return (await this.op<Doc<TypesOf<T>["doc"]>>("create", data)).data;
  }

  /** get reads one document by id. */
  async get(id: string): Promise<Doc<TypesOf<T>["doc"]>> {
    return (await this.gw.request<Doc<TypesOf<T>["doc"]>>("GET", `/api/${encodeURIComponent(this.name)}/${encodeURIComponent(id)}`)).data;
  }

  /** update changes fields of a document. */
  async update(id: string, changes: Omit<TypesOf<T>["update"], "_id">): Promise<Doc<TypesOf<T>["doc"]>> {
    return (await this.op<Doc<TypesOf<T>["doc"]>>("update", { ...changes, _id: id })).data;
  }

  /** delete removes a document (and its files). */
  async delete(id: string): Promise<void> {
    await this.op("delete", { _id: id });
  }

  /** query returns one page. */
  async query(q: Query<TypesOf<T>["field"]> = new Query(), after?: string): Promise<Page<TypesOf<T>["doc"]>> {
    const a = await this.op<Doc<TypesOf<T>["doc"]>[]>("query", q.toData(after));
    return { docs: a.data, next: a.next };
  }

  /** list iterates over every document the query finds, page by page. */
  async *list(q: Query<TypesOf<T>["field"]> = new Query()): AsyncGenerator<Doc<TypesOf<T>["doc"]>> {
    let after: string | undefined;
    do {
      const page = await this.query(q, after);
      yield* page.docs;
      after = page.next;
    } while (after);
  }

  /** upload adds files to a file field of a document (replacing a `file` field's); it answers the document. */
  upload(id: string, field: TypesOf<T>["files"], files: Upload | Upload[], opts?: UploadOptions): Promise<Doc<TypesOf<T>["doc"]>> {
    return this.gw.files.upload<TypesOf<T>["doc"]>(this.name, id, field, files, opts);
  }

  /** removeFile deletes one file of a field; it answers the document. */
  removeFile(id: string, field: TypesOf<T>["files"], name: string): Promise<Doc<TypesOf<T>["doc"]>> {
    return this.gw.files.remove<TypesOf<T>["doc"]>(this.name, id, field, name);
  }

  /** fileUrl is where a file of a document (or its thumbnail) is downloaded. */
  fileUrl(id: string, name: string, opts?: FileOptions): string {
    return this.gw.files.url(this.name, id, name, opts);
  }

  /** file downloads a file of a document (or its thumbnail) with the session's token. */
  file(id: string, name: string, opts?: FileOptions): Promise<Blob> {
    return this.gw.files.blob(this.name, id, name, opts);
  }
}
