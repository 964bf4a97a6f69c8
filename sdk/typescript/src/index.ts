// The gateway's client SDK.

export { Gateway, type GatewayOptions, type RequestOptions, type Answer, type SignedOutReason, type StoredTokens } from "./client.js";
export { Auth, type Credentials } from "./auth.js";
export { KeyCache } from "./keys.js";
export { MemoryStore, LocalStorageStore, type TokenStore, type Tokens } from "./tokens.js";
export * from "./errors.js";
export { Resource, Query, query, type Doc, type Page, type ResourceTypes, type TypesOf } from "./resources.js";
export { Wallet, type MoneyOptions } from "./wallet.js";
export { Realtime, type RealtimeEvent, type SubscribeOptions } from "./realtime.js";
export { Files, type Upload, type UploadOptions, type FileOptions } from "./files.js";
export { RecordKeys, canonicalRecord } from "./records.js";
