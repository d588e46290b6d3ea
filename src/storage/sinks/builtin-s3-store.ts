/**
 * The file store behind the built-in S3 endpoint: s3rver's layout (an object and its metadata
 * beside it as `{name}._S3rver_{object,metadata.json,object.md5}`), with three changes:
 * - names are checked before they become paths (bucket names and keys as in domain/s3-names.ts,
 *   upload ids and part numbers by their own format) and every path must stay under the root;
 * - every file is written to a temporary file beside it and renamed into place, the object last,
 *   so a crash or a cut-off upload leaves the previous version whole and no torn file;
 * - a metadata or checksum file that cannot be read (left torn by an older crash, or by another
 *   program) is treated as missing instead of breaking every request that touches it, and the
 *   next write of the object replaces it.
 * An upload whose body does not match the SHA-256 its signature declared is refused before it
 * replaces anything (the endpoint registers the declared hash per request; see `expectBody`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { finished, PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import FilesystemStore, { type StoredObject } from 's3rver/lib/stores/filesystem.js';
import S3Error from 's3rver/lib/models/error.js';
import S3Object from 's3rver/lib/models/object.js';
import { bucketNameProblem, MAX_KEY_BYTES, objectKeyProblem } from '../../domain/s3-names.js';
import { isStorageFull } from '../../domain/storage-full.js';
import { writeViaTemporary } from '../atomic-write.js';

const TMP_SUFFIX = '.s3tmp';
const ALLOWED_METADATA = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires', 'x-amz-storage-class', 'x-amz-website-redirect-location'];

/** Declared SHA-256 of a request body, by the body stream (set by the endpoint after it verified the signature). */
const expectedBodies = new WeakMap<object, string>();

export function expectBody(body: object, sha256Hex: string): void {
  expectedBodies.set(body, sha256Hex.toLowerCase());
}

function tmpPath(target: string): string {
  return join(dirname(target), `.${target.slice(dirname(target).length + 1)}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`);
}

/** Writes `data` beside `target` and renames it into place. */
async function writeAtomic(target: string, data: string | Buffer): Promise<void> {
  await writeViaTemporary(tmpPath(target), target, data);
}

/** A full disk as the 503 S3 clients retry, with the reason, instead of s3rver's 500 InternalError. */
async function guarded<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (isStorageFull(err)) throw new S3Error('ServiceUnavailable', 'The built-in S3 store is full: no space left on the device holding it. Free space and retry.');
    throw err;
  }
}

/**
 * Streams a request body through `tap` into the file `path`. When the file cannot be written (a
 * full disk), the rest of the body is read and dropped instead of resetting the connection, so
 * the client receives the error; a body cut off by the client fails the copy.
 */
function copyInto(content: Readable, tap: Transform, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const out = createWriteStream(path);
    let settled = false;
    let written = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      content.unpipe(tap);
      tap.unpipe(out);
      out.destroy();
      content.resume();
      reject(err);
    };
    finished(content, (err) => {
      if (err) fail(err);
    });
    tap.once('error', fail);
    out.once('error', fail);
    out.once('finish', () => (written = true));
    out.once('close', () => {
      if (settled) return;
      settled = true;
      if (written) resolve();
      else reject(new Error('the object file was closed before the body was written'));
    });
    content.pipe(tap).pipe(out);
  });
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class SafeFilesystemStore extends FilesystemStore {
  private readonly root: string;

  constructor(rootDirectory: string) {
    super(resolve(rootDirectory));
    this.root = resolve(rootDirectory);
  }

  /** Removes temporaries a crash left behind (called once at start). */
  async sweepTemporaries(): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith(TMP_SUFFIX)) {
          await rm(p, { force: true });
          removed++;
        }
      }
    };
    await walk(this.root);
    return removed;
  }

  private inside(p: string, what: string): string {
    const full = resolve(p);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new S3Error('InvalidArgument', `${what} would be stored outside the store.`);
    return full;
  }

  override getBucketPath(bucket: string): string {
    const problem = bucketNameProblem(bucket);
    if (problem) throw new S3Error('InvalidBucketName', problem, { BucketName: bucket });
    return this.inside(super.getBucketPath(bucket), `Bucket ${bucket}`);
  }

  override async getBucket(bucket: string): Promise<unknown> {
    // A name that cannot be a bucket names none (a stray folder in the store is not listed).
    return bucketNameProblem(bucket) ? null : super.getBucket(bucket);
  }

  override getResourcePath(bucket: string, key: string | undefined, resource: string): string {
    const bucketPath = this.getBucketPath(bucket);
    if (key !== undefined && key !== '') {
      const problem = objectKeyProblem(key);
      if (problem) throw new S3Error(Buffer.byteLength(key) > MAX_KEY_BYTES ? 'KeyTooLongError' : 'InvalidArgument', problem);
    }
    const full = resolve(super.getResourcePath(bucket, key, resource));
    if (!full.startsWith(bucketPath + sep)) throw new S3Error('InvalidArgument', `The key would be stored outside bucket ${bucket}.`);
    return full;
  }

  private uploadDir(bucket: string, uploadId: string): string {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: String(uploadId) });
    return join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  }

  override async getMetadata(bucket: string, key: string): Promise<Record<string, unknown>> {
    const objectPath = this.getResourcePath(bucket, key, 'object');
    const metadataPath = this.getResourcePath(bucket, key, 'metadata.json');
    const md5Path = this.getResourcePath(bucket, key, 'object.md5');
    const st = await stat(objectPath); // throws ENOENT when the object does not exist
    let stored: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(await readFile(metadataPath, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) stored = parsed as Record<string, unknown>;
    } catch (err) {
      if (!isMissing(err) && !(err instanceof SyntaxError)) throw err;
      // Missing or torn: the object is served with default metadata until it is written again.
    }
    let md5 = '';
    try {
      md5 = (await readFile(md5Path, 'utf8')).trim();
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (!/^[0-9a-f]{32}$/.test(md5)) {
      const hash = createHash('md5');
      await pipeline(createReadStream(objectPath), hash);
      md5 = hash.digest('hex');
      await writeAtomic(md5Path, md5);
    }
    return { ...stored, etag: JSON.stringify(md5), 'last-modified': st.mtime.toUTCString(), 'content-length': st.size };
  }

  override async putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void> {
    const json: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) if (ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')) json[k] = v;
    if (md5) await writeAtomic(this.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeAtomic(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
  }

  /** Streams `content` to a temporary file beside `target`: size, MD5, and the temporary's path. */
  private async receive(target: string, content: Readable | Buffer): Promise<{ tmp: string; size: number; md5: string }> {
    await mkdir(dirname(target), { recursive: true });
    const tmp = tmpPath(target);
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    const expected = Buffer.isBuffer(content) ? undefined : expectedBodies.get(content);
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        if (expected !== undefined) sha.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      if (Buffer.isBuffer(content)) {
        tap.end(content);
        await pipeline(tap, createWriteStream(tmp));
      } else {
        await copyInto(content, tap, tmp);
      }
      if (expected !== undefined && sha.digest('hex') !== expected) {
        // s3rver knows no status for this S3 error code: it is a 400, as on S3.
        throw Object.assign(new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."), { status: 400, expose: true });
      }
      return { tmp, size, md5: md5.digest('hex') };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  override putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    return guarded(this.putObjectInside(object));
  }

  private async putObjectInside(object: StoredObject): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    const { tmp, size, md5 } = await this.receive(objectPath, object.content);
    try {
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      await rename(tmp, objectPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { size, md5 };
  }

  override copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: Record<string, string>): Promise<Record<string, unknown>> {
    return guarded(this.copyObjectInside(srcBucket, srcKey, destBucket, destKey, replacementMetadata));
  }

  private async copyObjectInside(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata?: Record<string, string>): Promise<Record<string, unknown>> {
    const srcPath = this.getResourcePath(srcBucket, srcKey, 'object');
    const destPath = this.getResourcePath(destBucket, destKey, 'object');
    const source = await this.getMetadata(srcBucket, srcKey);
    const md5 = String(source['etag']).replace(/"/g, '');
    if (srcPath !== destPath) {
      await mkdir(dirname(destPath), { recursive: true });
      const tmp = tmpPath(destPath);
      try {
        await copyFile(srcPath, tmp);
        await this.putMetadata(destBucket, destKey, replacementMetadata ?? (source as Record<string, string>), md5);
        await rename(tmp, destPath);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    } else if (replacementMetadata) {
      await this.putMetadata(destBucket, destKey, replacementMetadata, md5);
    }
    return this.getMetadata(destBucket, destKey);
  }

  override initiateUpload(bucket: string, key: string, uploadId: string, metadata: Record<string, string>): Promise<void> {
    return guarded(this.initiateUploadInside(bucket, key, uploadId, metadata));
  }

  private async initiateUploadInside(bucket: string, key: string, uploadId: string, metadata: Record<string, string>): Promise<void> {
    this.getResourcePath(bucket, key, 'object'); // the key is checked now, not at completion
    const dir = this.uploadDir(bucket, uploadId);
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, 'metadata'), JSON.stringify(metadata));
    await writeAtomic(join(dir, 'key'), key);
  }

  override putPart(bucket: string, uploadId: string, partNumber: string | number, content: Readable): Promise<{ size: number; md5: string }> {
    return guarded(this.putPartInside(bucket, uploadId, partNumber, content));
  }

  private async putPartInside(bucket: string, uploadId: string, partNumber: string | number, content: Readable): Promise<{ size: number; md5: string }> {
    const dir = this.uploadDir(bucket, uploadId);
    const part = String(partNumber);
    if (!/^\d{1,5}$/.test(part) || Number(part) < 1 || Number(part) > 10_000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
    try {
      await stat(join(dir, 'key'));
    } catch {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    const partPath = join(dir, part);
    const { tmp, size, md5 } = await this.receive(partPath, content);
    try {
      await writeAtomic(`${partPath}.md5`, md5);
      await rename(tmp, partPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { size, md5 };
  }

  override async putObjectMultipart(bucket: string, uploadId: string, parts: { number: number }[]): Promise<{ size: number; md5: string }> {
    const dir = this.uploadDir(bucket, uploadId);
    let key: string;
    let metadata: Record<string, unknown>;
    try {
      key = await readFile(join(dir, 'key'), 'utf8');
      metadata = JSON.parse(await readFile(join(dir, 'metadata'), 'utf8')) as Record<string, unknown>;
    } catch {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    const ordered = [...parts].sort((a, b) => a.number - b.number);
    for (const p of ordered) {
      if (!Number.isInteger(p.number) || p.number < 1 || p.number > 10_000) throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found.');
    }
    const joined = new PassThrough();
    void (async () => {
      try {
        for (const p of ordered) {
          await new Promise<void>((done, fail) => {
            const part = createReadStream(join(dir, String(p.number)));
            part.once('error', fail);
            part.once('end', () => done());
            part.pipe(joined, { end: false });
          });
        }
        joined.end();
      } catch (err) {
        joined.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    })();
    const normalised = new S3Object(bucket, key, null, metadata).metadata;
    const result = await this.putObject({ bucket, key, content: joined, metadata: normalised });
    await rm(dir, { recursive: true, force: true });
    return result;
  }

  override putBucket(bucket: string): Promise<unknown> {
    return guarded(super.putBucket(bucket));
  }

  override async getSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<unknown> {
    this.getResourcePath(bucket, key, `${resourceType}.xml`); // names are checked first
    try {
      return await super.getSubresource(bucket, key, resourceType);
    } catch (err) {
      if (typeof (err as NodeJS.ErrnoException).errno === 'number') throw err;
      // A torn configuration file reads as no configuration, not as a broken bucket.
      return null;
    }
  }

  override async putSubresource(bucket: string, key: string | undefined, resource: { type: string; toXML(indent: number): string }): Promise<void> {
    await writeAtomic(this.getResourcePath(bucket, key, `${resource.type}.xml`), resource.toXML(2));
  }
}
