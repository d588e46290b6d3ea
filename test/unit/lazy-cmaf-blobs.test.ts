// A TS segment's CMAF fragment made on its first read (src/storage/blobs/lazy-cmaf-blobs.ts), over
// the real disk blob store: made once and stored; nothing for a segment that is gone; and no
// fragment left behind when retention removes the segment while the fragment is being made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { BlobStore } from '../../src/domain/ports.js';
import { readMediaSegment } from '../../src/media/container/isobmff.js';
import { repackageTs } from '../../src/media/package/ts-to-cmaf.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { lazyCmafKey, withLazyCmaf } from '../../src/storage/blobs/lazy-cmaf-blobs.js';
import { NO_FFMPEG, run } from '../support/media-fixtures.js';

describe('CMAF fragments made on first read', { skip: NO_FFMPEG }, () => {
  let dir: string;
  let ts: Buffer;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-lazy-cmaf-'));
    run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-c:v', 'libx264', '-g', '50', '-pix_fmt', 'yuv420p', '-f', 'mpegts', 'seg.ts']);
    ts = readFileSync(path.join(dir, 'seg.ts'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const SEGMENT = 'segments/ch/r/1.ts';

  test('the first read makes the fragment from the stored TS and stores it; a missing segment gives nothing', async () => {
    const inner = new DiskBlobStore(path.join(dir, 'store-1'));
    const store = withLazyCmaf(inner);
    await inner.put(SEGMENT, ts);
    const media = await store.get(lazyCmafKey(SEGMENT));
    assert.ok(media, 'a fragment');
    assert.deepEqual(media, Buffer.from(repackageTs(ts).media), 'the bytes ingest would have stored');
    assert.ok(readMediaSegment(media).fragments.length > 0, 'a CMAF fragment');
    assert.deepEqual(await inner.get(lazyCmafKey(SEGMENT)), media, 'stored once made');
    assert.equal(await store.get(lazyCmafKey('segments/ch/r/2.ts')), undefined);
    assert.equal(await inner.exists(lazyCmafKey('segments/ch/r/2.ts')), false);
  });

  test('retention removing the segment while its fragment is made leaves no fragment behind', async () => {
    const disk = new DiskBlobStore(path.join(dir, 'store-2'));
    await disk.put(SEGMENT, ts);
    // The segment and its fragment key are removed (as retention does) just before the fragment is written.
    let removed = false;
    const inner: BlobStore = {
      ...bind(disk),
      put: async (key, data) => {
        if (key === lazyCmafKey(SEGMENT) && !removed) {
          removed = true;
          await disk.delete([SEGMENT, key]);
        }
        await disk.put(key, data);
      },
    };
    const store = withLazyCmaf(inner);
    assert.equal(await store.get(lazyCmafKey(SEGMENT)), undefined, 'nothing served for a segment that is gone');
    assert.ok(removed, 'the removal happened during the read');
    assert.equal(await disk.exists(lazyCmafKey(SEGMENT)), false, 'no orphan fragment');
    assert.deepEqual(await disk.list('segments/ch/r/'), []);
  });
});

/** The store's methods bound to it, to wrap one of them. */
function bind(s: DiskBlobStore): BlobStore {
  return {
    put: s.put.bind(s),
    get: s.get.bind(s),
    exists: s.exists.bind(s),
    move: s.move.bind(s),
    delete: s.delete.bind(s),
    list: s.list.bind(s),
    deletePrefix: s.deletePrefix.bind(s),
  };
}
