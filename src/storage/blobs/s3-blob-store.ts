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
import { s3ClientFor, type S3Connection } from '../s3-client.js';
import type { BlobStore } from '../../domain/ports.js';

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

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(o: S3BlobStoreOptions) {
    this.client = s3ClientFor(o);
    this.bucket = o.bucket;
    this.prefix = o.prefix;
  }

  private key(k: string): string {
    if (k.split('/').some((part) => part === '..' || part === '.')) throw new Error(`blob key escapes the store: ${k}`);
    return `${this.prefix}${k}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data }));
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      // Deleted by another node while being read (see move).
      if (isMissing(err) || !(await this.exists(key))) return undefined;
      throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(to), CopySource: encodeURI(`${this.bucket}/${this.key(from)}`) }));
    } catch (err) {
      // A copy can also fail otherwise when another node deletes the source meanwhile (some
      // S3-compatible stores answer 500 then): if the source is gone, that is what it was.
      if (isMissing(err) || !(await this.exists(from))) throw Object.assign(new Error(`no blob ${from} to move`), { code: 'ENOENT' });
      throw err;
    }
    await this.delete([from]);
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true } }));
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), Delimiter: '/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix takes a folder ending in "/": ${prefix}`);
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
      if (keys.length) await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
