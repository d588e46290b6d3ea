/**
 * ObjectSink over any S3-compatible store (AWS S3, MinIO, the built-in s3rver): path-style
 * addressing when an endpoint is given, multipart uploads for large objects.
 */
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectSink } from '../../domain/ports.js';
import { DEFAULT_S3_TIMEOUT_MS, s3ClientFor, withDeadline, type S3Connection } from '../s3-client.js';

const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;

export interface S3SinkOptions extends S3Connection {
  readonly createsBuckets: boolean;
}

export class S3Sink implements ObjectSink {
  private readonly client: S3Client;
  readonly createsBuckets: boolean;
  private readonly timeoutMs: number;

  constructor(o: S3SinkOptions) {
    this.client = s3ClientFor(o);
    this.createsBuckets = o.createsBuckets;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  }

  private bound(operation: string): { dependency: string; operation: string; timeoutMs: number } {
    return { dependency: 'the S3 store', operation, timeoutMs: this.timeoutMs };
  }

  async putObject(bucket: string, key: string, body: Buffer, contentType: string, signal?: AbortSignal): Promise<void> {
    if (body.length >= MULTIPART_THRESHOLD) {
      const upload = new Upload({ client: this.client, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType }, partSize: PART_SIZE, queueSize: 2 });
      const abort = () => void upload.abort();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        await upload.done();
      } finally {
        signal?.removeEventListener('abort', abort);
      }
      return;
    }
    await withDeadline(this.bound(`PutObject ${bucket}/${key}`), (abortSignal) => this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal }), signal);
  }

  async checkBucket(bucket: string): Promise<'ok' | 'missing' | 'denied'> {
    try {
      await withDeadline(this.bound(`HeadBucket ${bucket}`), (abortSignal) => this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }));
      return 'ok';
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return 'missing';
      if (status === 403) return 'denied';
      throw err;
    }
  }

  async createBucket(bucket: string): Promise<void> {
    try {
      await withDeadline(this.bound(`CreateBucket ${bucket}`), (abortSignal) => this.client.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal }));
    } catch (err) {
      const name = (err as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }
}
