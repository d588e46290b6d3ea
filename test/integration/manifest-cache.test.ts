/**
 * The closed-window manifest cache of the origin (src/dataplane/origin/manifest-cache.ts), through
 * OriginService on real SQLite with an injected clock: a closed window is rendered once; an
 * endpoint update, a reset, or the window's start leaving the startover window is never answered
 * from the cache; a window that ended moments ago is not cached while late input may still land.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { arns } from '../../src/domain/arn.js';
import type { Channel, ChannelGroup, OriginEndpoint } from '../../src/domain/model.js';
import { records } from '../../src/domain/services/context.js';
import { OriginService, type OriginResponse } from '../../src/dataplane/origin/origin-service.js';
import { ManifestCache } from '../../src/dataplane/origin/manifest-cache.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqlTimelineStore } from '../../src/storage/sql/sql-timeline-store.js';
import { openOriginFixture } from '../support/origin-fixture.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';

const scope = { accountId: '000000000000', region: 'us-east-1' };
const T0 = 1_800_000_000_000;
const STARTOVER = 3600;

describe('closed-window manifest cache', () => {
  let dir: string;
  let driver: SqliteDriver;
  let store: SqlMetadataStore;
  let timeline: SqlTimelineStore;
  let origin: OriginService;
  let clockMs = T0 + 600_000;
  const group: ChannelGroup = { name: 'g', arn: arns.group(scope, 'g'), egressDomain: 'localhost', createdMs: 0, modifiedMs: 0, etag: 'g1', tags: {} };
  const channel: Channel = { groupName: 'g', name: 'c', arn: arns.channel(scope, 'g', 'c'), inputType: 'HLS', createdMs: 0, modifiedMs: 0, etag: 'c1', tags: {} };
  const endpoint: OriginEndpoint = {
    groupName: 'g', channelName: 'c', name: 'e', arn: arns.endpoint(scope, 'g', 'c', 'e'), containerType: 'CMAF', segment: { SegmentName: 'seg', SegmentDurationSeconds: 2 },
    startoverWindowSeconds: STARTOVER, hlsManifests: [{ ManifestName: 'index' }], lowLatencyHlsManifests: [], dashManifests: [{ ManifestName: 'dash' }], mssManifests: [], extra: {},
    createdMs: 0, modifiedMs: 0, etag: 'e1', tags: {},
  };
  /** A manifest answer: its body is text (only grouped segments are streamed). */
  const manifest = (r: OriginResponse): OriginResponse & { readonly body: string | Buffer } => {
    assert.ok(typeof r.body === 'string' || Buffer.isBuffer(r.body), 'a manifest body is text');
    return r as OriginResponse & { readonly body: string | Buffer };
  };
  const serve = async (file: string, query: string) => manifest(await origin.serve({ groupName: 'g', channelName: 'c', endpointName: 'e', file, query: new URLSearchParams(query) }));
  /** start/end query of [T0 + a s, T0 + b s]. */
  const win = (a: number, b: number) => `start=${(T0 + a * 1000) / 1000}&end=${(T0 + b * 1000) / 1000}`;
  let append: (t: number) => Promise<unknown>;

  before(async () => {
    ({ dir, driver, store, timeline, segment: append } = await openOriginFixture({ prefix: 'packhouse-mcache-', group, channel, endpoint, t0: T0 }));
    // Ten minutes of 2 s segments.
    for (let t = T0; t < T0 + 600_000; t += 2000) await append(t);
    origin = new OriginService({ store, timeline, blobs: new DiskBlobStore(join(dir, 'media')), clock: { now: () => new Date(clockMs) }, manifestCacheBytes: 1 << 20 });
  });

  after(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a closed window is rendered once, then answered from memory with the same bytes and headers', async () => {
    const cache = origin.cache!;
    const first = await serve('index_v.m3u8', win(10, 70));
    assert.equal(first.status, 200);
    assert.equal(cache.hits, 0);
    const again = await serve('index_v.m3u8', win(10, 70));
    assert.equal(cache.hits, 1);
    assert.deepEqual(again, first);
    // The same window in another order of parameters is the same entry; an MPD is its own entry.
    // The same parameters in another order are the same window (child URIs list them sorted); an MPD is its own entry.
    assert.deepEqual(await serve('index_v.m3u8', `end=${(T0 + 70_000) / 1000}&start=${(T0 + 10_000) / 1000}`), first);
    assert.equal(cache.hits, 2);
    const mpd = await serve('dash.mpd', win(10, 70));
    assert.match(String(mpd.body), /type="static"/);
    assert.deepEqual(await serve('dash.mpd', win(10, 70)), mpd);
    assert.equal(cache.hits, 3);
  });

  test('a window that ended less than 30 s ago on the channel clock is rendered every time, while late input may still land', async () => {
    const hits = origin.cache!.hits;
    const q = win(560, 598);
    const before = String((await serve('index_v.m3u8', q)).body);
    await serve('index_v.m3u8', q);
    assert.equal(origin.cache!.hits, hits, 'not cached');
    assert.match(before, /seg_v_299\.mp4\n#EXT-X-ENDLIST/);
  });

  test('an endpoint update (new ETag) is never answered from the cache', async () => {
    const q = win(100, 130);
    const old = String((await serve('index_v.m3u8', q)).body);
    assert.match(old, /^seg_v_\d+\.mp4$/m);
    await store.updateResource(records.endpoint(scope, { ...endpoint, segment: { SegmentName: 'renamed', SegmentDurationSeconds: 2 }, etag: 'e2' }));
    const fresh = String((await serve('index_v.m3u8', q)).body);
    assert.match(fresh, /^renamed_v_\d+\.mp4$/m);
    await store.updateResource(records.endpoint(scope, endpoint));
  });

  test('a reset is never answered from the cache', async () => {
    const q = win(200, 260);
    assert.equal((await serve('index_v.m3u8', q)).status, 200);
    assert.equal((await serve('index_v.m3u8', q)).status, 200);
    await store.updateResource(records.channel(scope, { ...channel, resetMs: T0 + 400_000 }));
    await assert.rejects(serve('index_v.m3u8', q), (err: Error & { status?: number }) => err.status === 404);
    await store.updateResource(records.channel(scope, channel));
  });

  test('an entry expires when the startover window no longer reaches its first segment', async () => {
    // An endpoint with a 120 s startover window: at channel time T0 + 600 s it holds T0 + 480 s on.
    const short = { ...endpoint, name: 'short', arn: arns.endpoint(scope, 'g', 'c', 'short'), startoverWindowSeconds: 120 };
    await store.insertResource(records.endpoint(scope, short));
    const get = async () => manifest(await origin.serve({ groupName: 'g', channelName: 'c', endpointName: 'short', file: 'index_v.m3u8', query: new URLSearchParams(win(490, 520)) }));
    const body = String((await get()).body);
    assert.match(body, /^seg_v_246\.mp4$/m, body);
    const hits = origin.cache!.hits;
    assert.equal(String((await get()).body), body);
    assert.equal(origin.cache!.hits, hits + 1);
    // The channel moves on to T0 + 613 s: the startover window now begins at T0 + 493 s.
    clockMs = T0 + 613_000;
    await append(T0 + 611_000);
    const later = String((await get()).body);
    assert.equal(origin.cache!.hits, hits + 1, 'not from the cache');
    assert.doesNotMatch(later, /^seg_v_24[67]\.mp4$/m, later);
    assert.match(later, /#EXT-X-MEDIA-SEQUENCE:248\n/);
  });
});

describe('ManifestCache', () => {
  const entry = (body: string) => ({ status: 200, headers: {}, body });

  test('least recently used entries leave first once the byte budget is spent; one oversized entry is not kept', () => {
    const c = new ManifestCache(400);
    c.set('a', entry('x'.repeat(90)), 100);
    c.set('b', entry('x'.repeat(90)), 100);
    c.set('c', entry('x'.repeat(90)), 100);
    assert.ok(c.get('a', 0), 'a is now the most recent');
    c.set('d', entry('x'.repeat(90)), 100);
    c.set('e', entry('x'.repeat(90)), 100);
    assert.equal(c.get('b', 0), undefined, 'b was the least recently used');
    assert.ok(c.get('a', 0));
    assert.ok(c.get('e', 0));
    c.set('huge', entry('x'.repeat(200)), 100);
    assert.equal(c.get('huge', 0), undefined, 'more than a quarter of the budget');
    assert.equal(c.get('a', 100), undefined, 'expired at its time');
  });
});
