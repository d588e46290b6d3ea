/**
 * Long media playlists through OriginService on real SQLite with an injected clock, against a
 * second OriginService on the same database with its caches turned off: an open window
 * (`?start=` without `end`) polled as the channel goes on is extended, not rewritten; windows of
 * other starts and ends are cut from the same lines; every answer is byte for byte the
 * uncached one, across a gap in the input and an endpoint update.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { arns } from '../../src/domain/arn.js';
import type { Channel, ChannelGroup, OriginEndpoint } from '../../src/domain/model.js';
import { records } from '../../src/domain/services/context.js';
import { OriginService } from '../../src/dataplane/origin/origin-service.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqlTimelineStore } from '../../src/storage/sql/sql-timeline-store.js';
import { openOriginFixture } from '../support/origin-fixture.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';

const scope = { accountId: '000000000000', region: 'us-east-1' };
const T0 = 1_800_000_000_000;

for (const threads of [0, 1]) describe(`long playlists extended and cut, not rewritten (${threads ? 'on a render thread' : 'on the main thread'})`, () => {
  let dir: string;
  let driver: SqliteDriver;
  let store: SqlMetadataStore;
  let timeline: SqlTimelineStore;
  let segment: (t: number) => Promise<unknown>;
  let cached: OriginService;
  let plain: OriginService;
  let clockMs = T0 + 600_000;
  let nextMs = T0;
  const group: ChannelGroup = { name: 'g', arn: arns.group(scope, 'g'), egressDomain: 'localhost', createdMs: 0, modifiedMs: 0, etag: 'g1', tags: {} };
  const channel: Channel = { groupName: 'g', name: 'c', arn: arns.channel(scope, 'g', 'c'), inputType: 'HLS', createdMs: 0, modifiedMs: 0, etag: 'c1', tags: {} };
  const endpoint: OriginEndpoint = {
    groupName: 'g', channelName: 'c', name: 'e', arn: arns.endpoint(scope, 'g', 'c', 'e'), containerType: 'CMAF', segment: { SegmentName: 'seg', SegmentDurationSeconds: 2 },
    startoverWindowSeconds: 3600, hlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 5 }], lowLatencyHlsManifests: [], dashManifests: [], mssManifests: [], extra: {},
    createdMs: 0, modifiedMs: 0, etag: 'e1', tags: {},
  };
  const clock = { now: () => new Date(clockMs) };
  /** The answer of both services, checked equal; the cached one's body. */
  const both = async (query: string): Promise<string> => {
    const ask = (o: OriginService) => o.serve({ groupName: 'g', channelName: 'c', endpointName: 'e', file: 'index_v.m3u8', query: new URLSearchParams(query) });
    const a = await ask(cached);
    const b = await ask(plain);
    assert.equal(a.status, 200);
    assert.deepEqual(a.headers, b.headers);
    const body = (r: { body: unknown }) => {
      assert.ok(typeof r.body === 'string' || Buffer.isBuffer(r.body), 'a playlist is text');
      return String(r.body);
    };
    const text = body(a);
    assert.equal(text, body(b), `the same playlist with and without the caches (${query})`);
    return text;
  };
  /** Appends n segments of 2 s (after a gap of gapMs) and moves the clock past them. */
  const feed = async (n: number, gapMs = 0) => {
    nextMs += gapMs;
    for (let i = 0; i < n; i++, nextMs += 2000) {
      await segment(nextMs);
    }
    clockMs = nextMs + 1000;
  };

  before(async () => {
    ({ dir, driver, store, timeline, segment } = await openOriginFixture({ prefix: 'packhouse-lines-', group, channel, endpoint, t0: T0 }));
    await feed(300); // ten minutes
    const blobs = new DiskBlobStore(join(dir, 'media'));
    cached = new OriginService({ store, timeline, blobs, clock, manifestCacheBytes: 8 << 20, renderThreads: threads });
    plain = new OriginService({ store, timeline, blobs, clock, manifestCacheBytes: 0 });
  });

  after(async () => {
    await cached.close();
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const counts = () => cached.lines!.counts();

  test('an open window polled as the channel goes on is written once, then extended by the new segments', async () => {
    const q = `start=${(T0 + 10_000) / 1000}`;
    const first = await both(q);
    assert.match(first, /#EXT-X-MEDIA-SEQUENCE:6\n/);
    // DATAPLANE.md §4.6: a fixed start with a live-growing end, not a closed (VOD) playlist.
    assert.doesNotMatch(first, /#EXT-X-ENDLIST|#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.equal((await counts()).written, 1);
    await feed(3);
    const second = await both(q);
    assert.equal((await counts()).extended, 1, 'the second poll extends the lines');
    assert.ok(second.startsWith(first.slice(0, first.lastIndexOf('#EXTINF'))), 'what was listed stays as it was');
    // A gap in the input (the encoder stalled for 7 s): a new run, listed with its own date.
    await feed(4, 7000);
    const third = await both(q);
    assert.equal((await counts()).extended, 2);
    assert.match(third, new RegExp(`#EXT-X-PROGRAM-DATE-TIME:${new Date(nextMs - 8000).toISOString()}\\n#EXTINF`));
    assert.equal((await counts()).written, 1);
  });

  test('closed windows of the same start are cut from the same lines', async () => {
    const before = await counts();
    for (const end of [560, 580, 590.5, 600]) await both(`start=${(T0 + 10_000) / 1000}&end=${(T0 + end * 1000) / 1000}`);
    const after = await counts();
    assert.equal(after.shared, before.shared + 4);
    assert.equal(after.written, before.written);
  });

  test('a live window (no start) is short and written whole; other starts share the same lines', async () => {
    const before = await counts();
    await both('');
    assert.deepEqual(await counts(), before, 'a live window does not use the lines cache');
    // A later start and end: a slice of the text held, after its own first segment's lines.
    for (const start of [20, 22, 36.5, 60]) await both(`start=${(T0 + start * 1000) / 1000}&end=${(T0 + 590_000) / 1000}`);
    await both(`start=${(T0 + 24_000) / 1000}`);
    const later = await counts();
    assert.equal(later.shared, before.shared + 5);
    assert.equal(later.written, before.written);
    // An earlier start: only the segments before the text held are written.
    await both(`start=${(T0 + 2_000) / 1000}`);
    await both(`start=${(T0 + 6_000) / 1000}&end=${(T0 + 580_000) / 1000}`);
    const earlier = await counts();
    assert.equal(earlier.extended, later.extended + 1);
    assert.equal(earlier.shared, later.shared + 1);
    assert.equal(earlier.written, before.written);
  });

  test('the lines are written where configured', () => {
    assert.equal(cached.lines!.threaded, threads > 0);
  });

  if (threads > 0) {
    test('a render thread that is lost is replaced, and what it held is written on the main thread', async () => {
      const renderer = cached.lines! as unknown as { workers: ({ terminate(): Promise<number> } | undefined)[] };
      const q = `start=${(T0 + 30_000) / 1000}`;
      const asked = both(q);
      await renderer.workers.find((w) => w !== undefined)!.terminate();
      await asked;
      await both(q);
      assert.ok(renderer.workers.some((w) => w !== undefined), 'a new thread took over');
    });
  }

  test('an endpoint update is never answered from lines written before it', async () => {
    const q = `start=${(T0 + 10_000) / 1000}`;
    await store.updateResource(records.endpoint(scope, { ...endpoint, segment: { SegmentName: 'renamed', SegmentDurationSeconds: 2 }, etag: 'e2' }));
    const text = await both(q);
    assert.match(text, /^renamed_v_\d+\.mp4$/m);
    assert.doesNotMatch(text, /^seg_v_\d+\.mp4$/m);
    await store.updateResource(records.endpoint(scope, endpoint));
  });
});
