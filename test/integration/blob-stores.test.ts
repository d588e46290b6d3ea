/**
 * The BlobStore contract on local disk and on S3 (a real s3rver): what a put stores a get returns,
 * list shows only the keys directly under a folder, a move leaves one copy and a second move of
 * the same key fails with ENOENT (how ingest tells that another request or node registered the
 * segment first), deletes are idempotent, and no key may escape the store. A key rewritten while
 * it is read (an encoder's playlist, read by another node) gives every reader one whole version,
 * within a bound; a store that does not answer fails the call within its bound, naming the store.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../src/domain/ports.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { S3BlobStore, parseS3Url } from '../../src/storage/blobs/s3-blob-store.js';
import { startBuiltinS3, type BuiltinS3 } from '../../src/storage/sinks/builtin-s3.js';
import { DependencyError } from '../../src/domain/errors.js';
import { createServer, type Socket } from 'node:net';
import { S3RVER_KEYS, startS3rver } from '../support/harvest.js';

/** Rejects when p has not settled within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const backends: { name: string; open: () => Promise<{ blobs: BlobStore; close: () => Promise<void> }> }[] = [
  {
    name: 'disk',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'packhouse-blobs-'));
      return { blobs: new DiskBlobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'S3 (s3rver)',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'packhouse-blobs-s3-'));
      const s3: BuiltinS3 = await startBuiltinS3({ directory: dir, host: '127.0.0.1', port: 0, credentials: { accessKeyId: 'blob-test', secretAccessKey: 'blob-test-secret' } });
      const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: 'us-east-1', credentials: s3.credentials });
      await client.send(new CreateBucketCommand({ Bucket: 'live' }));
      client.destroy();
      return {
        blobs: new S3BlobStore({ bucket: 'live', prefix: 'node/', endpoint: s3.url, region: 'us-east-1', credentials: s3.credentials, timeoutMs: 2000 }),
        close: async () => {
          await s3.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    // s3rver as it comes rewrites an object in place: a read racing an overwrite sees the old
    // length with the new bytes, stops half-way and never ends, or mixes two versions.
    name: 'S3 (plain s3rver, objects rewritten in place)',
    async open() {
      const s3 = await startS3rver();
      await s3.createBucket('live');
      return {
        blobs: new S3BlobStore({ bucket: 'live', prefix: 'node/', endpoint: s3.url, region: 'us-east-1', credentials: S3RVER_KEYS, timeoutMs: 2000 }),
        close: async () => {
          await s3.close();
          rmSync(s3.directory, { recursive: true, force: true });
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`BlobStore on ${backend.name}`, () => {
    let blobs: BlobStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ blobs, close } = await backend.open());
    });
    after(() => close());

    test('put, get, list directly under a folder, move, delete', async () => {
      await blobs.put('ingest/c/1/index_0.m3u8', Buffer.from('#EXTM3U\n'));
      await blobs.put('ingest/c/1/index_0_5.m4s', Buffer.from([1, 2, 3]));
      await blobs.put('ingest/c/1/sub/deeper.m4s', Buffer.from([9]));
      assert.deepEqual((await blobs.get('ingest/c/1/index_0_5.m4s'))?.toJSON().data, [1, 2, 3]);
      assert.equal(await blobs.get('ingest/c/1/nothing.m4s'), undefined);
      assert.deepEqual((await blobs.list('ingest/c/1/')).sort(), ['ingest/c/1/index_0.m3u8', 'ingest/c/1/index_0_5.m4s']);
      assert.deepEqual(await blobs.list('ingest/none/'), []);
      await blobs.move('ingest/c/1/index_0_5.m4s', 'media/c/r/1000-1-ab.m4s');
      assert.equal(await blobs.get('ingest/c/1/index_0_5.m4s'), undefined);
      assert.deepEqual((await blobs.get('media/c/r/1000-1-ab.m4s'))?.toJSON().data, [1, 2, 3]);
      await assert.rejects(blobs.move('ingest/c/1/index_0_5.m4s', 'media/c/r/other.m4s'), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      await blobs.delete(['media/c/r/1000-1-ab.m4s', 'media/c/r/never.m4s']);
      assert.equal(await blobs.get('media/c/r/1000-1-ab.m4s'), undefined);
      await blobs.delete([]);
    });

    test('a put replaces the whole object; many keys delete at once', async () => {
      await blobs.put('x/a', Buffer.from('first version'));
      await blobs.put('x/a', Buffer.from('2nd'));
      assert.equal((await blobs.get('x/a'))?.toString(), '2nd');
      const keys = Array.from({ length: 30 }, (_, i) => `x/many-${i}`);
      await Promise.all(keys.map((k) => blobs.put(k, Buffer.from(k))));
      assert.equal((await blobs.list('x/')).length, 31);
      await blobs.delete([...keys, 'x/a']);
      assert.deepEqual(await blobs.list('x/'), []);
    });

    test('deletePrefix removes a whole tree and nothing beside it', async () => {
      await blobs.put('media/c1/r/1.mp4', Buffer.from('1'));
      await blobs.put('media/c1/s/init-aa.mp4', Buffer.from('2'));
      await blobs.put('media/c10/r/1.mp4', Buffer.from('3'));
      await blobs.deletePrefix('media/c1/');
      assert.equal(await blobs.get('media/c1/r/1.mp4'), undefined);
      assert.equal(await blobs.get('media/c1/s/init-aa.mp4'), undefined);
      assert.equal((await blobs.get('media/c10/r/1.mp4'))?.toString(), '3', 'a sibling whose name starts the same stays');
      await blobs.deletePrefix('media/none/');
      await assert.rejects(blobs.deletePrefix('media/c10'), /ending in "\/"/);
      await blobs.deletePrefix('media/c10/');
    });

    test('a key rewritten while it is read: every read answers promptly with one whole version', { timeout: 120_000 }, async () => {
      const versions = [Buffer.alloc(200_000, 1), Buffer.alloc(150_000, 2), Buffer.alloc(250_000, 3)];
      const key = 'ingest/c/2/index_2.m3u8';
      await blobs.put(key, versions[0]!);
      for (let round = 1; round <= 12; round++) {
        const reads = Array.from({ length: 3 }, async () => {
          const got = await within(blobs.get(key), 10_000, `read ${round}`);
          assert.ok(got && versions.some((v) => v.equals(got)), `read ${round}: one whole version (got ${got?.length} bytes)`);
        });
        await Promise.all([blobs.put(key, versions[round % 3]!), ...reads]);
      }
      assert.ok((await blobs.get(key))!.equals(versions[12 % 3]!));
    });

    test('keys cannot leave the store', async () => {
      await assert.rejects(blobs.put('../outside', Buffer.from('x')), /escapes the store/);
      await assert.rejects(blobs.get('a/../../outside'), /escapes the store/);
    });
  });
}

test('an S3 store that accepts connections but never answers: each call fails within its bound, naming the store and the call', { timeout: 60_000 }, async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const blobs = new S3BlobStore({ bucket: 'live', prefix: 'p/', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, timeoutMs: 1000 });
  try {
    const calls: [string, () => Promise<unknown>][] = [
      ['GetObject', () => blobs.get('media/c/r/init-1.mp4')],
      ['PutObject', () => blobs.put('ingest/c/1/index_0.m3u8', Buffer.from('#EXTM3U\n'))],
      ['ListObjectsV2', () => blobs.list('ingest/c/1/')],
    ];
    for (const [what, call] of calls) {
      const t0 = Date.now();
      await assert.rejects(
        within(call(), 5000, what),
        (err: unknown) => err instanceof DependencyError && err.timeoutMs === 1000 && err.message.includes(`the S3 segment store did not answer within 1 s (${what} p/`),
      );
      assert.ok(Date.now() - t0 < 3000, `${what} gave up after ${Date.now() - t0} ms`);
    }
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('parseS3Url', () => {
  assert.deepEqual(parseS3Url('s3://live'), { bucket: 'live', prefix: '' });
  assert.deepEqual(parseS3Url('s3://live/segments/'), { bucket: 'live', prefix: 'segments/' });
  assert.deepEqual(parseS3Url('s3://my.bucket-1/a/b'), { bucket: 'my.bucket-1', prefix: 'a/b/' });
  assert.equal(parseS3Url('s3://Bad_Bucket'), undefined);
  assert.equal(parseS3Url('http://live'), undefined);
});
