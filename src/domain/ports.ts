/**
 * The interfaces the domain needs from the outside world: a metadata store, a clock and ids.
 * Everything is asynchronous so the same services run over SQLite in one process and over
 * PostgreSQL shared by several nodes. No adapter code lives here.
 */
import type { SegmentRun } from './timeline-runs.js';

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
  /**
   * When background work should next look at the record (harvest jobs: a QUEUED job's EndTime, an
   * IN_PROGRESS job's lease end); null or absent when nothing is pending.
   */
  readonly dueMs?: number | null | undefined;
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

export interface TransactionOptions {
  readonly joinNested?: boolean;
  readonly exclusive?: boolean;
}

/** Operations available inside (and outside) a transaction. */
export interface MetadataOps {
  getResource<D>(arn: string): Promise<ResourceRecord<D> | undefined>;
  /** The records of these ARNs that exist, in no particular order (one statement for a resource and its parents). */
  getResources<D>(arns: readonly string[]): Promise<ResourceRecord<D>[]>;
  findResources<D>(filter: ResourceFilter, page?: ListPage): Promise<ResourceRecord<D>[]>;
  countResources(filter: ResourceFilter): Promise<number>;
  /**
   * The channel groups of this name in every account and Region. A group name is unique per
   * Packhouse (CreateChannelGroup refuses a name another scope holds), because the data-plane URLs
   * name a group without its account; more than one only in a database from before that rule.
   */
  locateGroups<D>(groupName: string): Promise<ResourceRecord<D>[]>;
  /** Resources of a kind in the given statuses, in every account and Region, oldest (or newest) first. */
  findByStatus<D>(kind: ResourceKind, statuses: readonly string[], limit: number, order?: 'oldest' | 'newest'): Promise<ResourceRecord<D>[]>;
  /**
   * Resources of a kind in the given statuses, in every account and Region, whose dueMs is at or
   * before `nowMs`, earliest due first (then by ARN), after `after` when given: one page of the
   * background work that is due.
   */
  findDue<D>(kind: ResourceKind, statuses: readonly string[], nowMs: number, limit: number, after?: { readonly dueMs: number; readonly arn: string }): Promise<ResourceRecord<D>[]>;
  /**
   * Resources of a kind in the given statuses that carry no due time, in every account and Region:
   * rows written by a node of an earlier version (during a rolling upgrade), which findDue cannot see.
   */
  findUndated<D>(kind: ResourceKind, statuses: readonly string[], limit: number): Promise<ResourceRecord<D>[]>;
  /** Queues event deliveries (written in the caller's transaction, so a status change and its event commit together). */
  enqueueEvents(events: readonly OutboxEvent[]): Promise<void>;
  insertResource(record: ResourceRecord): Promise<void>;
  updateResource(record: ResourceRecord): Promise<void>;
  /** Deletes a resource, and the content keys of the origin endpoints at or under its ARN. */
  deleteResource(arn: string): Promise<boolean>;
  getIdempotency(scope: Scope, operation: string, token: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the record unless one exists already; returns false when it did. */
  putIdempotency(scope: Scope, operation: string, token: string, record: IdempotencyRecord): Promise<boolean>;
}

/** One delivery of one event to one target (a webhook URL), kept until it succeeds. */
export interface OutboxEvent {
  readonly id: string;
  readonly target: string;
  readonly payload: string;
  readonly attempts: number;
  readonly nextMs: number;
}

export interface MetadataStore extends MetadataOps {
  dueEvents(nowMs: number, limit: number): Promise<OutboxEvent[]>;
  markEventDelivered(id: string, target: string, nowMs: number): Promise<void>;
  markEventFailed(id: string, target: string, attempts: number, nextMs: number, error: string): Promise<void>;
  /**
   * Runs fn atomically: every write commits together or not at all, isolated from other writers.
   * Called while another transaction is open in the same async flow, it joins that one (its writes
   * commit with the outer transaction, or roll back alone if fn throws), and every read or write
   * made through the store itself in that flow runs inside the open transaction.
   *
   * With `joinNested`, transactions begun inside this one join it without a savepoint of their
   * own (two statements, two round trips on PostgreSQL, fewer): one of them that throws fails
   * this whole transaction, which then rolls back even if fn catches the error. For callers that
   * fail as a whole anyway (the API pipeline around a handler).
   *
   * With `exclusive`, it runs one at a time with every other exclusive transaction, on every node:
   * for creates, which check names and quotas and on PostgreSQL would otherwise abort each other
   * (serialisation failures) when many arrive at once.
   */
  transaction<R>(fn: (tx: MetadataOps) => Promise<R>, options?: TransactionOptions): Promise<R>;
  /** A stored content-key document (src/encryption/content-keys.ts) by its id. */
  getContentKeys(id: string): Promise<string | undefined>;
  /**
   * Stores a content-key document unless one with this id exists; returns the document stored
   * (the first writer's, so that every node encrypts with the same keys).
   */
  putContentKeys(id: string, endpointArn: string, doc: string, nowMs: number): Promise<string>;
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

/** Bytes by key: segment files on local disk or in S3-compatible storage. */
export interface BlobStore {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Whether a blob is there, without reading it. */
  exists(key: string): Promise<boolean>;
  /**
   * The blob's bytes in chunks, for stores that can read a part at a time (else callers use get);
   * undefined when absent. A stream not read to its end must be destroyed.
   */
  stream?(key: string): Promise<(AsyncIterable<Buffer> & { destroy(): void }) | undefined>;
  /** The blob's size in bytes without reading it, for stores that can tell cheaply; undefined when absent. */
  size?(key: string): Promise<number | undefined>;
  /** Moves a blob to another key (a rename on disk, copy and delete elsewhere). */
  move(from: string, to: string): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Keys directly under a prefix ending in "/", in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Removes every blob whose key starts with the prefix (ending in "/"), however deep. */
  deletePrefix(prefix: string): Promise<void>;
}

/** One output rendition of a channel (a video, audio or muxed track), learnt from ingest. */
export interface RenditionRecord {
  readonly channelArn: string;
  /** Stable id: the ingest media playlist's name without extension (e.g. "index_0"). */
  readonly id: string;
  readonly container: 'ts' | 'fmp4';
  readonly kind: 'video' | 'audio' | 'muxed';
  readonly codecs: string;
  readonly bandwidth: number;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly frameRate?: number | undefined;
  readonly sampleRate?: number | undefined;
  readonly channels?: number | undefined;
  readonly language?: string | undefined;
  readonly audioGroup?: string | undefined;
  readonly timescale: number;
  /**
   * Blob key of the current init segment: the input's (fMP4), or that of its CMAF repackaging
   * (TS input that Packhouse repackaged).
   */
  readonly initKey?: string | undefined;
  /** TS input: RFC 6381 codecs of the CMAF repackaging, once a segment of it was repackaged. */
  readonly cmafCodecs?: string | undefined;
  /** TS input: why its newest segment could not be repackaged into CMAF (absent when it could). */
  readonly cmafError?: string | undefined;
  /** fMP4 input: RFC 6381 codecs of the MPEG-TS repackaging, once a segment of it was repackaged. */
  readonly tsCodecs?: string | undefined;
  /** fMP4 input: why its newest segment could not be repackaged into MPEG-TS (absent when it could). */
  readonly tsError?: string | undefined;
  readonly updatedMs: number;
}

/** One ingested segment placed on the channel's wall-clock timeline. */
export interface SegmentRecord {
  readonly channelArn: string;
  readonly rendition: string;
  /** Per-rendition sequence number, increasing by one per segment kept. */
  readonly seq: number;
  readonly startMs: number;
  readonly durationMs: number;
  /** Media time of the first sample, in the rendition's timescale. */
  readonly mediaTime: number;
  readonly mediaDuration: number;
  readonly key: string;
  readonly bytes: number;
  readonly discontinuity: boolean;
  /**
   * Discontinuity sequence number: how many discontinuities the rendition has had up to and
   * including this segment (assigned on append; never goes down as old segments are removed).
   */
  readonly discSeq: number;
  /** Which ingest endpoint ("1" or "2") it came from. */
  readonly source: string;
  /** The init segment the bytes need: the input's (fMP4), or that of cmafKey (TS). */
  readonly initKey?: string | undefined;
  /** TS input: blob key of the segment repackaged as a CMAF fragment (absent when it could not be). */
  readonly cmafKey?: string | undefined;
  /** fMP4 input: blob key of the segment repackaged as MPEG-TS (absent when it could not be). */
  readonly tsKey?: string | undefined;
}

export interface TimelineStore {
  upsertRendition(r: RenditionRecord): Promise<void>;
  listRenditions(channelArn: string): Promise<RenditionRecord[]>;
  /**
   * Appends a segment unless a segment of the same rendition already covers its midpoint (the
   * redundant input delivered it first). Assigns seq and discSeq from per-rendition counters that
   * outlive the segments (numbers never start again after retention or a reset removed them all;
   * the first segment after such a gap is a discontinuity). Returns the stored record or undefined.
   */
  appendSegment(s: Omit<SegmentRecord, 'seq' | 'discSeq'>): Promise<SegmentRecord | undefined>;
  /** Segments of a rendition overlapping [fromMs, toMs), oldest first. */
  findSegments(channelArn: string, rendition: string, fromMs: number, toMs: number): Promise<SegmentRecord[]>;
  getSegment(channelArn: string, rendition: string, seq: number): Promise<SegmentRecord | undefined>;
  /** Segments of a rendition with fromSeq <= seq <= toSeq, oldest first. */
  segmentsBySeq(channelArn: string, rendition: string, fromSeq: number, toSeq: number): Promise<SegmentRecord[]>;
  latestSegment(channelArn: string, rendition: string): Promise<SegmentRecord | undefined>;
  /**
   * The given renditions' segments as runs (timeline-runs.ts), current as of the call, for
   * manifests: a store may keep them in memory and read only what changed. Read them at once
   * after the await (a later call may extend them in place). Undefined when the store cannot say:
   * read segments instead.
   */
  segmentRuns?(channelArn: string, renditions: readonly string[]): Promise<ReadonlyMap<string, readonly SegmentRun[]> | undefined>;
  /** Where the run of a rendition with discontinuity sequence number discSeq starts (its oldest segment held). */
  runStartMs(channelArn: string, rendition: string, discSeq: number): Promise<number | undefined>;
  /** Removes segments that ended before `beforeMs` and returns them (so their blobs can go). */
  deleteSegmentsBefore(channelArn: string, beforeMs: number): Promise<SegmentRecord[]>;
  /**
   * Drops the segments and renditions of a channel (channel deleted). Its sequence counters stay,
   * so a channel created again under the same name never reuses a segment URL.
   */
  deleteChannel(channelArn: string): Promise<SegmentRecord[]>;
  /** Every channel ARN that has segments or renditions on the timeline. */
  channelArns(): Promise<string[]>;
}

/** The destination of harvested assets: any S3-compatible store. */
export interface ObjectSink {
  /** Writes one object (large bodies in parts); rejects when the signal aborts. */
  putObject(bucket: string, key: string, body: Buffer, contentType: string, signal?: AbortSignal): Promise<void>;
  checkBucket(bucket: string): Promise<'ok' | 'missing' | 'denied'>;
  createBucket(bucket: string): Promise<void>;
  /** Whether missing buckets are created on first use (the built-in local store). */
  readonly createsBuckets: boolean;
}
