/**
 * The pure parts of ingest's bounds: the channel clock that one rendition cannot drag, the index
 * of pending playlists (parsed once per content, aged per process), and the admission rules.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { channelClock } from '../../src/dataplane/channel-clock.js';
import { PendingIndex } from '../../src/dataplane/ingest/pending.js';
import { checkIngestPath, implausibleTime } from '../../src/dataplane/ingest/admission.js';
import { DataplaneError } from '../../src/dataplane/channel-locator.js';

const NOW = Date.UTC(2026, 10, 29, 12);
const H = 3_600_000;

describe('channel clock', () => {
  test('renditions that agree: the newest end', () => {
    assert.equal(channelClock([NOW - 2000, NOW - 4000, NOW - 1000], NOW), NOW - 1000);
  });
  test('one rendition far ahead of the others moves nothing', () => {
    assert.equal(channelClock([NOW - 2000, NOW - 1000, NOW + 20 * H], NOW), NOW - 1000);
    assert.equal(channelClock([NOW - 2000, NOW - 1000, Date.UTC(2999, 0, 1)], NOW), NOW - 1000);
  });
  test('one against one: the one nearer the server clock', () => {
    assert.equal(channelClock([NOW - 1000, NOW + 20 * H], NOW), NOW - 1000);
  });
  test('an encoder whose clock is off as a whole is still followed', () => {
    assert.equal(channelClock([NOW - 5 * H, NOW - 5 * H + 2000, NOW - 5 * H + 1000], NOW), NOW - 5 * H + 2000);
  });
  test('no rendition: no clock', () => {
    assert.equal(channelClock([], NOW), undefined);
  });
});

describe('pending playlists', () => {
  const prefix = 'ingest/c/1/';
  const text = (n: number) => Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n${Array.from({ length: n }, (_, i) => `#EXTINF:2,\nv/s_${i}.m4s`).join('\n')}\n`);

  test('a playlist is parsed once per content, and its segment keys are resolved once', () => {
    const index = new PendingIndex(60_000);
    const first = index.playlist(prefix, `${prefix}v.m3u8`, text(3), NOW);
    const again = index.playlist(prefix, `${prefix}v.m3u8`, Buffer.from(text(3)), NOW + 5000);
    assert.equal(again.parsed, first.parsed);
    assert.equal(again.sinceMs, NOW);
    assert.equal(first.parsed.kind, 'media');
    if (first.parsed.kind !== 'media') return;
    assert.equal(first.parsed.byKey.get(`${prefix}v/s_2.m4s`), 2);
    assert.deepEqual([...first.parsed.mapKeys], [`${prefix}init.mp4`]);
    assert.deepEqual(first.parsed.toEndMs, [4000, 2000, 0]);
    const changed = index.playlist(prefix, `${prefix}v.m3u8`, text(4), NOW + 9000);
    assert.notEqual(changed.parsed, first.parsed);
    assert.equal(changed.sinceMs, NOW + 9000);
  });

  test('a playlist unchanged, or a segment unplaced, for longer than the pending time expires', () => {
    const index = new PendingIndex(60_000);
    const seen = index.playlist(prefix, `${prefix}v.m3u8`, text(1), NOW);
    assert.equal(index.expired(seen.sinceMs, NOW + 60_000), false);
    assert.equal(index.expired(seen.sinceMs, NOW + 60_001), true);
    assert.equal(index.segmentSince(prefix, `${prefix}x.ts`, NOW), NOW);
    assert.equal(index.segmentSince(prefix, `${prefix}x.ts`, NOW + 30_000), NOW);
    index.prune(prefix, new Set());
    assert.equal(index.segmentSince(prefix, `${prefix}x.ts`, NOW + 40_000), NOW + 40_000, 'a file seen again after it went is new');
  });

  test('an invalid playlist is remembered as invalid with its reason', () => {
    const index = new PendingIndex(60_000);
    const seen = index.playlist(prefix, `${prefix}bad.m3u8`, Buffer.from('not a playlist'), NOW);
    assert.equal(seen.parsed.kind, 'invalid');
  });

  test('the memory for cached playlists is bounded', () => {
    const index = new PendingIndex(60_000, 10_000);
    const big = text(200);
    assert.ok(big.length > 3000);
    const first = index.playlist(prefix, `${prefix}a.m3u8`, big, NOW);
    for (const name of ['b', 'c', 'd', 'e']) index.playlist(prefix, `${prefix}${name}.m3u8`, big, NOW);
    assert.notEqual(index.playlist(prefix, `${prefix}a.m3u8`, big, NOW + 1).parsed, first.parsed, 'the oldest entry was dropped and parsed again');
  });
});

describe('admission', () => {
  test('names: one file name of at most 128 bytes in a safe alphabet, never a folder', () => {
    assert.doesNotThrow(() => checkIngestPath('index_0.m3u8'));
    assert.doesNotThrow(() => checkIngestPath(`${'d'.repeat(125)}.ts`));
    for (const bad of [`${'a'.repeat(129)}`, '../x.ts', 'a/../../x.ts', 'a b.ts', 'video/seg_1.ts', 'a/b/c/d/e.ts', '', '..']) {
      assert.throws(() => checkIngestPath(bad), (e: unknown) => e instanceof DataplaneError && e.status === 400, bad);
    }
  });
  test('times: within the skew of the server clock', () => {
    assert.equal(implausibleTime(NOW + 23 * H, NOW, 24 * H), undefined);
    assert.match(implausibleTime(Date.UTC(2999, 0, 1), NOW, 24 * H) ?? '', /days ahead of the server's clock/);
    assert.match(implausibleTime(NOW - 30 * H, NOW, 24 * H) ?? '', /30\.0 hours behind/);
    assert.match(implausibleTime(8.65e15, NOW, 24 * H) ?? '', /not a valid time/);
    assert.match(implausibleTime(Number.NaN, NOW, 24 * H) ?? '', /not a valid time/);
  });
});
