/**
 * The segment lines cache of long media playlists (src/dataplane/origin/playlist-lines.ts): every
 * answer, whether cut from an entry, an entry extended, or written afresh, is exactly the text a
 * fresh writer gives for the same runs. Timelines are generated at random (seeded): runs that grow,
 * new runs after gaps and discontinuities, init segments that change, windows cut short, and a
 * timeline rewritten under an entry.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MediaSegmentLines, type SegmentLinesOptions } from '../../src/media/hls/writer.js';
import type { OutputRun } from '../../src/media/timeline/model.js';
import { PlaylistLinesCache } from '../../src/dataplane/origin/playlist-lines.js';
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

/** The first k segments of runs. */
function cut(runs: readonly OutputRun[], k: number): OutputRun[] {
  const out: OutputRun[] = [];
  for (const r of runs) {
    if (k <= 0) break;
    out.push(r.count <= k ? r : { first: r.first, count: k });
    k -= Math.min(k, r.count);
  }
  return out;
}

const total = (runs: readonly OutputRun[]) => runs.reduce((n, r) => n + r.count, 0);

describe('playlist segment lines, extended and cut', () => {
  test('an open window polled as it grows: each answer is the fresh text, and only the first is written whole', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const o = options(seed % 3 === 0 ? undefined : 1 + (seed % 7));
      const all = timeline(r, 2 + Math.floor(r() * 10));
      const cache = new PlaylistLinesCache(1 << 24);
      let k = 1 + Math.floor(r() * 50);
      let polls = 0;
      while (k < total(all)) {
        const runs = cut(all, k);
        assert.equal(cache.lines('key', runs, o), fresh(runs, o), `seed ${seed}, ${k} segments`);
        polls++;
        k += 1 + Math.floor(r() * 30);
      }
      assert.equal(cache.counts.written, 1, `seed ${seed}`);
      assert.equal(cache.counts.extended + cache.counts.prefix, polls - 1);
    }
  });

  test('closed windows of the same start and any end are cut from one entry', () => {
    for (let seed = 100; seed < 120; seed++) {
      const r = rng(seed);
      const o = options(3);
      const all = timeline(r, 6);
      const cache = new PlaylistLinesCache(1 << 24);
      cache.lines('key', all, o);
      for (let i = 0; i < 20; i++) {
        const runs = cut(all, 1 + Math.floor(r() * total(all)));
        assert.equal(cache.lines('key', runs, o), fresh(runs, o), `seed ${seed}`);
      }
      assert.equal(cache.counts.written, 1);
      assert.equal(cache.counts.prefix, 20);
    }
  });

  test('a timeline changed under an entry (a run rewritten, a segment inserted) is written afresh, never cut from the old text', () => {
    const r = rng(7);
    const o = options(2);
    const all = timeline(r, 5);
    const cache = new PlaylistLinesCache(1 << 24);
    cache.lines('key', all, o);
    // The second run now starts later (a gap filled differently): same first segment, other text.
    const changed = all.map((x, i) => (i === 1 ? { first: { ...x.first, startMs: x.first.startMs + 1000 }, count: x.count } : x));
    assert.equal(cache.lines('key', changed, o), fresh(changed, o));
    // The first run is shorter but something else follows it: not a prefix, not an extension.
    const shorter = [{ first: all[0]!.first, count: Math.max(1, all[0]!.count - 1) }, ...all.slice(1)];
    assert.equal(cache.lines('key', shorter, o), fresh(shorter, o));
    assert.equal(cache.counts.written, 3);
    // Another key (another manifest's options) never shares lines.
    const other = options(undefined);
    assert.equal(cache.lines('other', all, other), fresh(all, other));
    assert.equal(cache.counts.written, 4);
  });

  test('memory stays within its bound: old entries leave, and an entry too large is not kept', () => {
    const o = options(undefined);
    const cache = new PlaylistLinesCache(40_000);
    for (let seed = 0; seed < 30; seed++) {
      const runs = timeline(rng(seed), 3);
      assert.equal(cache.lines(`k${seed}`, runs, o), fresh(runs, o));
    }
    assert.ok(cache.size < 30 && cache.size >= 1, `${cache.size} entries`);
    const huge: OutputRun[] = [{ first: { seq: 1, startMs: 0, durationMs: 2000, mediaTime: 0, mediaDuration: 1, discontinuity: false, discSeq: 0, initId: 'a' }, count: 5000 }];
    const before = cache.size;
    assert.equal(cache.lines('huge', huge, o), fresh(huge, o));
    assert.equal(cache.lines('huge', huge, o), fresh(huge, o));
    assert.equal(cache.counts.prefix, 0, 'an entry over a quarter of the bound is not kept');
    assert.ok(cache.size <= before);
  });
});
