/**
 * The interfaces the domain needs from the outside world: a metadata store, a clock and ids.
 * Everything is asynchronous so the same services run over SQLite in one process and over
 * PostgreSQL shared by several nodes. No adapter code lives here.
 */

/** Account and region a request acts in (from its SigV4 credential scope). */
export interface Scope {
  readonly accountId: string;
  readonly region: string;
}

export type ResourceKind = 'channelGroup' | 'channel' | 'originEndpoint' | 'harvestJob';

/** One stored resource: indexed columns plus the resource document itself. */
export interface ResourceRecord<D = unknown> {
  readonly arn: string;
  readonly kind: ResourceKind;
  readonly accountId: string;
  readonly region: string;
  readonly groupName: string;
  readonly channelName: string | null;
  readonly endpointName: string | null;
  readonly name: string;
  /** Harvest-job status, null for other kinds. */
  readonly status: string | null;
  readonly createdMs: number;
  /** When the record disappears (harvest jobs only), null for never. */
  readonly expiresMs: number | null;
  readonly doc: D;
}

export interface ResourceFilter {
  readonly kind: ResourceKind;
  readonly scope: Scope;
  readonly groupName?: string | undefined;
  readonly channelName?: string | undefined;
  readonly endpointName?: string | undefined;
  readonly name?: string | undefined;
  readonly statuses?: readonly string[] | undefined;
  /** Hide records whose expiresMs is at or before this instant. */
  readonly liveAtMs?: number | undefined;
}

/** Keyset position: list order is name ascending, or (createdMs descending, name ascending). */
export interface ListPage {
  readonly order: 'name' | 'newest';
  readonly limit: number;
  readonly after?: { readonly name: string; readonly createdMs: number } | undefined;
}

export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly response: string;
  readonly createdMs: number;
}

/** Operations available inside (and outside) a transaction. */
export interface MetadataOps {
  getResource<D>(arn: string): Promise<ResourceRecord<D> | undefined>;
  findResources<D>(filter: ResourceFilter, page?: ListPage): Promise<ResourceRecord<D>[]>;
  countResources(filter: ResourceFilter): Promise<number>;
  insertResource(record: ResourceRecord): Promise<void>;
  updateResource(record: ResourceRecord): Promise<void>;
  deleteResource(arn: string): Promise<boolean>;
  getIdempotency(scope: Scope, operation: string, token: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the record unless one exists already; returns false when it did. */
  putIdempotency(scope: Scope, operation: string, token: string, record: IdempotencyRecord): Promise<boolean>;
}

export interface MetadataStore extends MetadataOps {
  /** Runs fn atomically: every write commits together or not at all, isolated from other writers. */
  transaction<R>(fn: (tx: MetadataOps) => Promise<R>): Promise<R>;
  /** Removes expired harvest jobs and idempotency records; returns how many rows went. */
  sweep(nowMs: number, idempotencyTtlMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface Ids {
  /** A random RFC 4122 v4 id. */
  uuid(): string;
  /** A fresh opaque entity tag (44-character base64 of 32 random bytes, as AWS's look). */
  etag(): string;
}
