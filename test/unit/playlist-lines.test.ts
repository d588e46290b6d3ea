/**
 * The segment lines cache of long media playlists (src/dataplane/origin/playlist-lines.ts): every
 * answer, whether cut from an entry, an entry extended, or written afresh, is exactly the text a
 * fresh writer gives for the same runs. Timelines are generated at random (seeded): runs that grow,
 * new runs after gaps and discontinuities, init segments that change, windows of any start and
 * end sharing one text, and a timeline rewritten under an entry.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MediaSegmentLines, type SegmentLinesOptions } from '../../src/media/hls/writer.js';
import { runSegment, runsCount, type OutputRun } from '../../src/media/timeline/model.js';
import { PlaylistLinesCache, upTo } from '../../src/dataplane/origin/playlist-lines.js';
import { seededRandom } from '../support/seeded-random.js';

const rng = seededRandom;

const fresh = (runs: readonly OutputRun[], o: SegmentLinesOptions) => {
  const l = new MediaSegmentLines(o);
  l.append(runs);
  return l.text();
};

const options = (pdt: number | undefined): SegmentLinesOptions => ({
  segmentUri: (s) => `seg_${s.seq}.mp4`,
  segmentUriAffixes: { prefix: 'seg_', suffix: '.mp4' },
  initUri: (s) => `init_${s.initId}.mp4`,
  programDateTimeIntervalSeconds: pdt,
});

/** A timeline of runs: each run follows the last, after a gap or a discontinuity, or not at all. */
function timeline(r: () => number, runs: number): OutputRun[] {
  const out: OutputRun[] = [];
  let seq = 100;
  let t = 1_800_000_000_000;
  let disc = 0;
  let init = 'a';
  for (let i = 0; i < runs; i++) {
    const durationMs = [2000, 2002, 1999, 4000][Math.floor(r() * 4)]!;
    const count = 1 + Math.floor(r() * 120);
    const discontinuity = i > 0 && r() < 0.4;
    if (discontinuity) {
      disc++;
      if (r() < 0.5) init = String.fromCharCode(init.charCodeAt(0) + 1);
    }
    if (i > 0 && r() < 0.3) t += Math.floor(r() * 5000); // a gap
    out.push({ first: { seq, startMs: t, durationMs, mediaTime: 0, mediaDuration: durationMs * 90, discontinuity, discSeq: disc, initId: init }, count });
    seq += count;
    t += count * durationMs;
  }
  return out;
}



/** The cache's segment lines of `runs` as text. */
const lines = (c: PlaylistLinesCache, key: string, runs: readonly OutputRun[], o: SegmentLinesOptions) => Buffer.from(c.bytes(key, runs, o)).toString('utf8');

/** Segments from..to-1 of runs, as a window lists them (its first run cut as runSegment gives it). */
function window(runs: readonly OutputRun[], from: number, to: number): OutputRun[] {
  const out: OutputRun[] = [];
  let k = 0;
  for (const r of runs) {
    const a = Math.max(from, k);
    const b = Math.min(to, k + r.count);
    if (a < b) out.push({ first: runSegment(r, a - k), count: b - a });
    k += r.count;
  }
  return out;
}

describe('playlist segment lines, extended and cut', () => {
  test('an open window polled as it grows: each answer is the fresh text, and only the first is written whole', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const o = options(seed % 3 === 0 ? undefined : 1 + (seed % 7));
      const all = timeline(r, 2 + Math.floor(r() * 10));
      const cache = new PlaylistLinesCache(1 << 24);
      let k = 1 + Math.floor(r() * 50);
      let polls = 0;
      while (k < runsCount(all)) {
        const runs = upTo(all, k);
        assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `seed ${seed}, ${k} segments`);
        polls++;
        k += 1 + Math.floor(r() * 30);
      }
      assert.equal(cache.counts.written, 1, `seed ${seed}`);
      assert.equal(cache.counts.extended + cache.counts.shared, polls - 1);
    }
  });

  test('closed windows of the same start and any end are cut from one entry', () => {
    for (let seed = 100; seed < 120; seed++) {
      const r = rng(seed);
      const o = options(3);
      const all = timeline(r, 6);
      const cache = new PlaylistLinesCache(1 << 24);
      lines(cache, 'key', all, o);
      for (let i = 0; i < 20; i++) {
        const runs = upTo(all, 1 + Math.floor(r() * runsCount(all)));
        assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `seed ${seed}`);
      }
      assert.equal(cache.counts.written, 1);
      assert.equal(cache.counts.shared, 20);
    }
  });

  test('a timeline changed under an entry (a run rewritten, a segment inserted) is written afresh, never cut from the old text', () => {
    const r = rng(7);
    const o = options(2);
    const all = timeline(r, 5);
    const cache = new PlaylistLinesCache(1 << 24);
    lines(cache, 'key', all, o);
    // The second run now starts later (a gap filled differently): same first segment, other text.
    const changed = all.map((x, i) => (i === 1 ? { first: { ...x.first, startMs: x.first.startMs + 1000 }, count: x.count } : x));
    assert.equal(lines(cache, 'key', changed, o), fresh(changed, o));
    // The first run is shorter but something else follows it: not a prefix, not an extension.
    const shorter = [{ first: all[0]!.first, count: Math.max(1, all[0]!.count - 1) }, ...all.slice(1)];
    assert.equal(lines(cache, 'key', shorter, o), fresh(shorter, o));
    assert.equal(cache.counts.written, 3);
    // Another key (another manifest's options) never shares lines.
    const other = options(undefined);
    assert.equal(lines(cache, 'other', all, other), fresh(all, other));
    assert.equal(cache.counts.written, 4);
  });

  test('windows of random starts and ends are each the fresh text, and share one written text', () => {
    for (let seed = 200; seed < 260; seed++) {
      const r = rng(seed);
      // Interval unset, shorter than a segment, a few segments, longer than the runs.
      const o = options([undefined, 1, 5, 7, 60, 3600][seed % 6]);
      const all = timeline(r, 3 + Math.floor(r() * 12));
      const n = runsCount(all);
      // Windows in any order: each is right, whether shared, extended or (not meeting what is held) written.
      const cache = new PlaylistLinesCache(1 << 24);
      for (let i = 0; i < 40; i++) {
        const from = Math.floor(r() * n);
        const to = from + 1 + Math.floor(r() * (n - from));
        const runs = window(all, from, to);
        assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `seed ${seed}, segments ${from}..${to}`);
      }
      assert.ok(cache.counts.shared + cache.counts.extended > 0, JSON.stringify(cache.counts));
      // Once the whole timeline is held, every window is a slice of it.
      const shared = new PlaylistLinesCache(1 << 24);
      lines(shared, 'key', all, o);
      for (let i = 0; i < 40; i++) {
        const from = Math.floor(r() * n);
        const to = from + 1 + Math.floor(r() * (n - from));
        const runs = window(all, from, to);
        assert.equal(lines(shared, 'key', runs, o), fresh(runs, o), `seed ${seed}, segments ${from}..${to}`);
      }
      assert.deepEqual(shared.counts, { shared: 40, extended: 0, written: 1 }, `seed ${seed}`);
    }
  });

  test('a window starting before the text held writes only the segments before it, then shares it', () => {
    for (let seed = 300; seed < 320; seed++) {
      const r = rng(seed);
      const o = options(seed % 2 ? 6 : undefined);
      const all = timeline(r, 8);
      const n = runsCount(all);
      const cache = new PlaylistLinesCache(1 << 24);
      const late = Math.floor(n / 2);
      lines(cache, 'key', window(all, late, n), o);
      for (const from of [late - 1, Math.floor(late / 2), 0]) {
        const runs = window(all, from, n);
        assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `seed ${seed}, from ${from}`);
      }
      assert.deepEqual(cache.counts, { shared: 0, extended: 3, written: 1 });
      const runs = window(all, 1, n - 1);
      assert.equal(lines(cache, 'key', runs, o), fresh(runs, o));
      assert.equal(cache.counts.shared, 1);
    }
  });

  test('a timeline changed under the text held (a gap filled late, a reset) is never answered from it, whatever the start', () => {
    for (let seed = 400; seed < 430; seed++) {
      const r = rng(seed);
      const o = options(seed % 3 ? 4 : undefined);
      const all = timeline(r, 6);
      const n = runsCount(all);
      const cache = new PlaylistLinesCache(1 << 24);
      lines(cache, 'key', all, o);
      // A later run moves (a gap filled otherwise), or everything after one segment is new (a reset with the same seq).
      const k = 1 + Math.floor(r() * (all.length - 1));
      const moved = all.map((x, i) => (i >= k ? { first: { ...x.first, startMs: x.first.startMs + 500 }, count: x.count } : x));
      const from = Math.floor(r() * runsCount(all.slice(0, k)));
      const runs = window(moved, from, n);
      assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `seed ${seed}`);
      const reinit = all.map((x, i) => (i >= k ? { first: { ...x.first, initId: 'z' }, count: x.count } : x));
      const again = window(reinit, Math.floor(r() * n), n);
      assert.equal(lines(cache, 'key', again, o), fresh(again, o), `seed ${seed}`);
      const disc = all.map((x, i) => (i === k ? { first: { ...x.first, discontinuity: !x.first.discontinuity }, count: x.count } : x));
      const third = window(disc, 0, n);
      assert.equal(lines(cache, 'key', third, o), fresh(third, o), `seed ${seed}`);
    }
  });

  test('an entry grown past its share by an open window lets go of the segments before it', () => {
    const o = options(2);
    const all = timeline(rng(9), 30);
    const n = runsCount(all);
    const cache = new PlaylistLinesCache(200_000);
    let from = 0;
    for (let k = 200; k <= n; k += 37) {
      from = Math.max(from, k - 300);
      const runs = window(all, from, k);
      assert.equal(lines(cache, 'key', runs, o), fresh(runs, o), `${from}..${k}`);
    }
    assert.equal(cache.counts.written, 1);
    assert.equal(cache.size, 1);
  });

  test('memory stays within its bound: old entries leave, and an entry too large is not kept', () => {
    const o = options(undefined);
    const cache = new PlaylistLinesCache(40_000);
    for (let seed = 0; seed < 30; seed++) {
      const runs = timeline(rng(seed), 3);
      assert.equal(lines(cache, `k${seed}`, runs, o), fresh(runs, o));
    }
    assert.ok(cache.size < 30 && cache.size >= 1, `${cache.size} entries`);
    const huge: OutputRun[] = [{ first: { seq: 1, startMs: 0, durationMs: 2000, mediaTime: 0, mediaDuration: 1, discontinuity: false, discSeq: 0, initId: 'a' }, count: 5000 }];
    const before = cache.size;
    assert.equal(lines(cache, 'huge', huge, o), fresh(huge, o));
    assert.equal(lines(cache, 'huge', huge, o), fresh(huge, o));
    assert.equal(cache.counts.shared, 0, 'an entry over a quarter of the bound is not kept');
    assert.ok(cache.size <= before);
  });
});

describe('program date-time tags, placed whatever the window\'s start', () => {
  const seg = (seq: number, startMs: number, durationMs = 2000, discontinuity = false): OutputRun => ({ first: { seq, startMs, durationMs, mediaTime: 0, mediaDuration: 1, discontinuity, discSeq: 0, initId: 'a' }, count: 1 });
  const dated = (runs: readonly OutputRun[], interval: number) =>
    fresh(runs, options(interval))
      .split('\n')
      .map((line, i, all) => (line.startsWith('#EXT-X-PROGRAM-DATE-TIME') ? /seg_(\d+)/.exec(all.slice(i).find((l) => l.startsWith('seg_'))!)![1] : undefined))
      .filter((x) => x !== undefined)
      .map(Number);

  test('on the first segment listed, then on the first segment starting in each new multiple of the interval', () => {
    const T = 1_800_000_000_000; // a multiple of 10 s
    const runs = [{ first: seg(0, T).first, count: 20 }];
    assert.deepEqual(dated(runs, 10), [0, 5, 10, 15]);
    assert.deepEqual(dated(window(runs, 3, 20), 10), [3, 5, 10, 15], 'a window from segment 3: its own first, then the same segments');
    assert.deepEqual(dated(window(runs, 7, 20), 6), [7, 9, 12, 15, 18]);
    // An interval shorter than a segment: every segment.
    assert.deepEqual(dated(window(runs, 2, 6), 1), [2, 3, 4, 5]);
  });

  test('and on every segment after a discontinuity or not starting where the one before ended', () => {
    const T = 1_800_000_000_000;
    const runs = [{ first: seg(0, T).first, count: 4 }, seg(4, T + 8000 + 700), seg(5, T + 10_700), seg(6, T + 12_700, 2000, true), seg(7, T + 14_700)];
    assert.deepEqual(dated(runs, 60), [0, 4, 6]);
  });
});
