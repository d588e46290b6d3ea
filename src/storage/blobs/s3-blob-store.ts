/**
 * BlobStore in an S3-compatible bucket (AWS S3, MinIO, s3rver): live segments, init segments and
 * pending ingest uploads as objects under one prefix, so that several Packhouse nodes over one
 * PostgreSQL database share them without a shared disk. A PUT is atomic (a reader never sees half
 * a segment); a move is a copy then a delete, and a move whose source is gone (another node
 * registered the segment first) fails with code ENOENT, as a rename on disk does.
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DEFAULT_S3_TIMEOUT_MS, s3ClientFor, withDeadline, type S3Connection } from '../s3-client.js';
import type { BlobStore } from '../../domain/ports.js';
import { DependencyError } from '../../domain/errors.js';

export interface S3BlobStoreOptions extends S3Connection {
  readonly bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"). */
  readonly prefix: string;
}

/** `s3://bucket[/prefix]` → bucket and a prefix ending in "/" (or empty). */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) return undefined;
  const path = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, prefix: path ? `${path}/` : '' };
}

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isMissing = (err: unknown) => status(err) === 404 || (err as Error).name === 'NoSuchKey';

/** A read that ended before its Content-Length: the object was being rewritten. */
class ShortRead extends Error {}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  /**
   * Whether this store's ETags are MD5s of the object (s3rver, MinIO, S3 without KMS): learnt from
   * the first read whose bytes match; until then a mismatch is not taken for a torn read.
   */
  private md5Etags: boolean | undefined;

  constructor(o: S3BlobStoreOptions) {
    this.client = s3ClientFor(o);
    this.bucket = o.bucket;
    this.prefix = o.prefix;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  }

  /** One S3 call under the store's bound (or `timeoutMs`). */
  private call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    return withDeadline({ dependency: 'the S3 segment store', operation, timeoutMs }, fn);
  }

  private key(k: string): string {
    if (k.split('/').some((part) => part === '..' || part === '.')) throw new Error(`blob key escapes the store: ${k}`);
    return `${this.prefix}${k}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const k = this.key(key);
    await this.call(`PutObject ${k}`, (abortSignal) => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: data }), { abortSignal }));
  }

  async get(key: string): Promise<Buffer | undefined> {
    const k = this.key(key);
    const until = Date.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      // The first attempt gets half the bound, so that a stalled read can be tried again within it.
      const left = until - Date.now();
      const bound = attempt === 1 ? Math.ceil(this.timeoutMs / 2) : left;
      try {
        return await this.call(`GetObject ${k}`, (signal) => this.read(k, signal, attempt === 1), Math.max(1, bound));
      } catch (err) {
        const retry = (err instanceof ShortRead || err instanceof DependencyError) && attempt === 1 && until - Date.now() > 0;
        if (retry) continue;
        if (err instanceof ShortRead) throw new DependencyError('the S3 segment store', `GetObject ${k}`, undefined, 'the object kept changing while it was read');
        if (err instanceof DependencyError) throw new DependencyError(err.dependency, err.operation, this.timeoutMs);
        // Deleted by another node while being read (see move).
        if (isMissing(err) || !(await this.exists(key))) return undefined;
        throw err;
      }
    }
  }

  /** GetObject and its whole body; the body is destroyed (its socket closed) when the call is aborted. */
  private async read(k: string, signal: AbortSignal, checkEtag: boolean): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k }), { abortSignal: signal });
    const body = out.Body as (Readable & { transformToByteArray(): Promise<Uint8Array> }) | undefined;
    if (!body) throw new ShortRead();
    const abort = () => body.destroy();
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      const bytes = Buffer.from(await body.transformToByteArray());
      if (out.ContentLength !== undefined && bytes.length !== out.ContentLength) throw new ShortRead();
      // Where the store's ETags are the MD5 of the bytes, a read that mixes two versions shows.
      const etag = /^"?([0-9a-f]{32})"?$/.exec(out.ETag ?? '')?.[1];
      // (Only on a first attempt: a store may update an object and its ETag one after the other.)
      if (checkEtag && etag !== undefined && this.md5Etags !== false) {
        const same = createHash('md5').update(bytes).digest('hex') === etag;
        if (same) this.md5Etags = true;
        else if (this.md5Etags) throw new ShortRead();
      }
      return bytes;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  async move(from: string, to: string): Promise<void> {
    try {
      await this.call(`CopyObject ${this.key(from)}`, (abortSignal) =>
        this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(to), CopySource: encodeURI(`${this.bucket}/${this.key(from)}`) }), { abortSignal }),
      );
    } catch (err) {
      if (err instanceof DependencyError) throw err;
      // A copy can also fail otherwise when another node deletes the source meanwhile (some
      // S3-compatible stores answer 500 then): if the source is gone, that is what it was.
      if (isMissing(err) || !(await this.exists(from))) throw Object.assign(new Error(`no blob ${from} to move`), { code: 'ENOENT' });
      throw err;
    }
    await this.delete([from]);
  }

  async exists(key: string): Promise<boolean> {
    const k = this.key(key);
    try {
      await this.call(`HeadObject ${k}`, (abortSignal) => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }), { abortSignal }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.call(`DeleteObjects ${this.key(batch[0]!)} (${batch.length})`, (abortSignal) =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true } }), { abortSignal }),
      );
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`ListObjectsV2 ${this.key(prefix)}`, (abortSignal) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), Delimiter: '/', ContinuationToken: token }), { abortSignal }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix takes a folder ending in "/": ${prefix}`);
    let token: string | undefined;
    do {
      const page = await this.call(`ListObjectsV2 ${this.key(prefix)}`, (abortSignal) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token }), { abortSignal }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
      if (keys.length) {
        await this.call(`DeleteObjects ${this.key(prefix)} (${keys.length})`, (abortSignal) =>
          this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
