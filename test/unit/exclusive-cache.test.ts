// The memory a process keeps of the disk store it alone writes (src/storage/blobs/exclusive-cache.ts),
// over the real disk blob store: listings and kept bytes always agree with the files after any mix of
// writes, moves and deletes; the memory is dropped when a write fails, when a listing was read while
// a change was under way, and for a deleted folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { BlobStore } from '../../src/domain/ports.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { ExclusiveStoreCache } from '../../src/storage/blobs/exclusive-cache.js';

const OPTIONS = { keepBytes: (key: string) => key.startsWith('ingest/'), maxBytes: 1024, maxFolders: 100 };

describe('ExclusiveStoreCache', () => {
  let dir: string;
  let n = 0;
  const fresh = () => {
    const root = path.join(dir, `store-${++n}`);
    const disk = new DiskBlobStore(root);
    return { root, disk, cache: new ExclusiveStoreCache(disk, OPTIONS) };
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-exclusive-cache-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sorted = async (store: BlobStore, prefix: string) => (await store.list(prefix)).sort();

  test('after any mix of writes, moves and deletes, run one at a time or side by side, listings and reads agree with a fresh look at the files', async () => {
    for (const start of [7, 11, 13, 17, 19]) await mix(start);
  });

  async function mix(start: number): Promise<void> {
    const { cache, root } = fresh();
    let seed = start;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const folders = ['ingest/a/1/', 'ingest/a/2/', 'media/a/v/'];
    const keys = folders.flatMap((f) => ['x.ts', 'y.ts', 'p.m3u8'].map((k) => `${f}${k}`));
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    for (let round = 0; round < 60; round++) {
      // A burst of operations at once, as concurrent uploads make them, then a check.
      const ops: Promise<unknown>[] = [];
      const burst = 1 + Math.floor(next() * 6);
      for (let i = 0; i < burst; i++) {
        const r = next();
        const key = pick(keys);
        if (r < 0.35) ops.push(cache.put(key, Buffer.from(`${key} ${round} ${i}`)));
        else if (r < 0.5) ops.push(cache.delete([key, pick(keys)]));
        else if (r < 0.65) ops.push(cache.move(key, pick(keys)).catch(() => undefined)); // a missing source fails, as on disk
        else if (r < 0.85) ops.push(cache.list(pick(folders)));
        else ops.push(cache.get(key));
      }
      await Promise.all(ops);
      const disk = new DiskBlobStore(root);
      for (const f of folders) assert.deepEqual(await sorted(cache, f), await sorted(disk, f), `seed ${start}, round ${round}: listing of ${f}`);
      for (const k of keys) assert.deepEqual(await cache.get(k), await disk.get(k), `seed ${start}, round ${round}: bytes of ${k}`);
    }
    const stats = cache.stats();
    assert.ok(stats.listedFromMemory > stats.listed, `most listings come from memory (${JSON.stringify(stats)})`);
    assert.ok(stats.readFromMemory > 0, `some reads come from memory (${JSON.stringify(stats)})`);
  }

  test('a listing or a kept upload is answered without the file system, which this process alone writes', async () => {
    const { cache, root } = fresh();
    await cache.put('ingest/c/1/v.m3u8', Buffer.from('#EXTM3U\n'));
    assert.deepEqual(await cache.list('ingest/c/1/'), ['ingest/c/1/v.m3u8']);
    // Written behind its back (which the store's owner never does): the memory answers, not the disk.
    writeFileSync(path.join(root, 'ingest/c/1/w.ts'), 'x');
    writeFileSync(path.join(root, 'ingest/c/1/v.m3u8'), 'changed');
    assert.deepEqual(await cache.list('ingest/c/1/'), ['ingest/c/1/v.m3u8']);
    assert.equal((await cache.get('ingest/c/1/v.m3u8'))!.toString(), '#EXTM3U\n');
    // Bytes are kept only for the keys chosen, and only within the budget.
    await cache.put('media/c/v/1.ts', Buffer.from('segment'));
    writeFileSync(path.join(root, 'media/c/v/1.ts'), 'on disk');
    assert.equal((await cache.get('media/c/v/1.ts'))!.toString(), 'on disk');
    await cache.put('ingest/c/1/big.ts', Buffer.alloc(2048, 1));
    assert.equal((await cache.get('ingest/c/1/big.ts'))!.length, 2048);
    assert.equal(cache.stats().read, 2, 'the media segment and the upload over the budget were read from disk');
  });

  test('a write that fails drops the folder\'s listing, so the next list reads the files', async () => {
    const { cache, root } = fresh();
    await cache.put('ingest/d/1/a.ts', Buffer.from('a'));
    assert.deepEqual(await cache.list('ingest/d/1/'), ['ingest/d/1/a.ts']);
    writeFileSync(path.join(root, 'ingest/d/1/b.ts'), 'b'); // a file the memory does not know of
    // A write into a "folder" that is a file fails on disk.
    await assert.rejects(cache.put('ingest/d/1/a.ts/x.ts', Buffer.from('x')));
    await assert.rejects(cache.move('ingest/d/1/missing.ts', 'ingest/d/1/c.ts'));
    assert.deepEqual(await sorted(cache, 'ingest/d/1/'), ['ingest/d/1/a.ts', 'ingest/d/1/b.ts']);
  });

  test('a listing read while a change to its folder is under way is not kept; a change that ends later is applied to it', async () => {
    const root = path.join(dir, `store-${++n}`);
    const disk = new DiskBlobStore(root);
    let releaseList: () => void = () => undefined;
    const listGate = new Promise<void>((r) => (releaseList = r));
    let gated = true;
    // The disk store with a list() that waits until released, after reading the folder.
    const slow: BlobStore = Object.assign(Object.create(disk) as BlobStore, {
      list: async (prefix: string) => {
        const keys = await disk.list(prefix);
        if (gated) await listGate;
        return keys;
      },
    });
    const cache = new ExclusiveStoreCache(slow, OPTIONS);
    await cache.put('ingest/e/1/a.ts', Buffer.from('a'));
    const listing = cache.list('ingest/e/1/'); // reads the folder with a.ts in it, then waits
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    await cache.delete(['ingest/e/1/a.ts']); // ends while the listing waits
    releaseList();
    gated = false;
    assert.deepEqual(await listing, ['ingest/e/1/a.ts'], 'the listing read before the delete');
    assert.deepEqual(await cache.list('ingest/e/1/'), [], 'not kept: the next list reads the folder again');
    // Now kept; a write that ends after it was kept shows in it.
    await cache.put('ingest/e/1/b.ts', Buffer.from('b'));
    assert.deepEqual(await cache.list('ingest/e/1/'), ['ingest/e/1/b.ts']);
    assert.equal(cache.stats().listedFromMemory, 1);
  });

  test('deleting a folder forgets its listings and kept bytes, however deep', async () => {
    const { cache } = fresh();
    await cache.put('ingest/f/1/a.ts', Buffer.from('a'));
    await cache.put('ingest/f/2/sub/b.ts', Buffer.from('b'));
    await cache.list('ingest/f/1/');
    await cache.list('ingest/f/2/sub/');
    await cache.deletePrefix('ingest/f/');
    assert.deepEqual(await cache.list('ingest/f/1/'), []);
    assert.deepEqual(await cache.list('ingest/f/2/sub/'), []);
    assert.equal(await cache.get('ingest/f/1/a.ts'), undefined);
    assert.equal(await cache.exists('ingest/f/2/sub/b.ts'), false);
  });
});
