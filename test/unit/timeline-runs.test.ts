// The run form of a timeline (src/domain/timeline-runs.ts) against the row form it stands for:
// on seeded random timelines (regular stretches, irregular durations, discontinuities, init
// changes, gaps in seq and in time, out-of-order starts) and random windows, grouping runs must
// give exactly the output segments windowGroups gives from rows, and the HLS and DASH writers
// must write the same text from runs as from the segments one by one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { SegmentRecord, TimelineStore } from '../../src/domain/ports.js';
import { groupEndMs, groupSegment, windowGroups, type SegmentTiming } from '../../src/domain/output-groups.js';
import { appendToRuns, expandRuns, runsFromSeq, windowRuns, type SegmentRun, type TimedSegment } from '../../src/domain/timeline-runs.js';
import { MAX_SEGMENT_MS } from '../../src/domain/timeline-limits.js';
import { runSegment, type OutputRun, type OutputSegment, type OutputTrack } from '../../src/media/timeline/model.js';
import { writeMediaPlaylist } from '../../src/media/hls/writer.js';
import { writeMpd } from '../../src/media/dash/mpd-writer.js';
import { seededRandom } from '../support/seeded-random.js';

const T0 = 1_700_000_000_000;

/** A random timeline of one rendition, as rows. */
function randomTimeline(rand: () => number, count: number, base: number): SegmentRecord[] {
  const out: SegmentRecord[] = [];
  let seq = 1;
  let start = T0;
  let media = 0;
  let disc = 0;
  let init = 'm/init-aa.mp4';
  let dur = 2000;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  while (out.length < count) {
    const x = rand();
    let discontinuity = false;
    if (x < 0.03) {
      discontinuity = true;
      media = Math.floor(rand() * 1e6);
    } else if (x < 0.05) {
      init = pick(['m/init-aa.mp4', 'm/init-bb.mp4', undefined as unknown as string]);
    } else if (x < 0.08) {
      seq += 1 + Math.floor(rand() * 3); // rows gone (repackaging failed, retention)
    } else if (x < 0.11) {
      start += pick([-3000, -1, 1, 500, 7000]); // a jump in wall-clock time
    } else if (x < 0.2) {
      dur = pick([1000, 2000, 1984, 2005, 6000, 4000]);
    }
    if (discontinuity) disc++;
    const d = rand() < 0.1 ? pick([1990, 2010, 1001]) : dur;
    out.push({
      channelArn: 'arn',
      rendition: 'r',
      seq,
      startMs: start,
      durationMs: d,
      mediaTime: media,
      mediaDuration: (d * base) / 1000,
      key: `k${seq}`,
      bytes: 1,
      discontinuity,
      discSeq: disc,
      source: '1',
      initKey: init,
    });
    seq++;
    start += d;
    media += (d * base) / 1000;
  }
  return out;
}

/** findSegments and segmentsBySeq over rows, with the SQL store's conditions. */
function memoryTimeline(rows: readonly SegmentRecord[]): TimelineStore {
  const bySeq = [...rows].sort((a, b) => a.seq - b.seq);
  return {
    findSegments: async (_c: string, _r: string, from: number, to: number) =>
      bySeq.filter((s) => s.startMs < to && s.startMs > from - MAX_SEGMENT_MS && s.startMs + s.durationMs > from),
    segmentsBySeq: async (_c: string, _r: string, a: number, b: number) => bySeq.filter((s) => s.seq >= a && s.seq <= b),
  } as unknown as TimelineStore;
}

const timed = (rows: readonly SegmentRecord[]): TimedSegment[] => rows.map((s) => ({ ...s, hasCmaf: false, hasTs: false }));

function runsOf(rows: readonly SegmentRecord[]): SegmentRun[] {
  const runs: SegmentRun[] = [];
  appendToRuns(runs, timed(rows));
  return runs;
}

const expand = (runs: readonly OutputRun[]): OutputSegment[] => runs.flatMap((r) => Array.from({ length: r.count }, (_, i) => runSegment(r, i)));

describe('timeline runs', () => {
  test('runs hold exactly the rows, and trimming by seq keeps the rest', () => {
    const rand = seededRandom(7);
    for (let trial = 0; trial < 50; trial++) {
      const rows = randomTimeline(rand, 1 + Math.floor(rand() * 300), 90_000);
      const runs = runsOf(rows);
      const strip = (s: SegmentTiming) => ({ seq: s.seq, startMs: s.startMs, durationMs: s.durationMs, mediaTime: s.mediaTime, mediaDuration: s.mediaDuration, discontinuity: s.discontinuity, discSeq: s.discSeq, initKey: s.initKey });
      assert.deepEqual(expandRuns(runs).map(strip), rows.map(strip));
      const cut = rows[Math.floor(rand() * rows.length)]!.seq + Math.floor(rand() * 3) - 1;
      assert.deepEqual(expandRuns(runsFromSeq(runs, cut)).map(strip), rows.filter((s) => s.seq >= cut).map(strip), `trial ${trial}`);
    }
  });

  test('a regular day is one run', () => {
    const runs: SegmentRun[] = [];
    for (let i = 0; i < 43_200; i++) {
      appendToRuns(runs, [{ seq: i + 1, startMs: T0 + i * 2000, durationMs: 2000, mediaTime: i * 180_000, mediaDuration: 180_000, discontinuity: false, discSeq: 0, initKey: 'i', hasCmaf: false, hasTs: false }]);
    }
    assert.deepEqual(runs.map((r) => [r.seq, r.count]), [[1, 43_200]]);
  });

  test('grouping runs gives what windowGroups gives from rows', async () => {
    const rand = seededRandom(12);
    for (let trial = 0; trial < 400; trial++) {
      const rows = randomTimeline(rand, 1 + Math.floor(rand() * 200), 48_000);
      const runs = runsOf(rows);
      const span = rows[rows.length - 1]!.startMs - T0 + 10_000;
      const from = T0 - 5000 + Math.floor(rand() * span);
      const to = from + 1 + Math.floor(rand() * span);
      const segDur = [1, 2, 4, 6, 10][Math.floor(rand() * 5)]!;
      const notBefore = rand() < 0.3 ? from + Math.floor(rand() * 20_000) - 10_000 : 0;
      const slow = await windowGroups(memoryTimeline(rows), 'arn', 'r', from, to, segDur, (s) => s.startMs >= notBefore);
      const fast = windowRuns(runs, from, to, segDur, notBefore);
      const ctx = `trial ${trial}: window ${from - T0}..${to - T0}, ${segDur} s, not before ${notBefore - T0}`;
      assert.equal(fast.n, slow.n, ctx);
      assert.equal(fast.typicalMs, slow.typicalMs, ctx);
      const want = slow.groups.map((g) => ({ seg: groupSegment(g), complete: g.complete, endMs: groupEndMs(g) }));
      const got = fast.items.flatMap((item) =>
        item.kind === 'group'
          ? [{ seg: item.run.first, complete: item.complete, endMs: item.endMs }]
          : expand([item.run]).map((seg) => ({ seg, complete: true, endMs: seg.startMs + seg.durationMs })),
      );
      assert.deepEqual(got, want, ctx);
    }
  });
});

const video: OutputTrack = { id: 'v', kind: 'video', container: 'fmp4', codecs: 'avc1.64001f', bandwidth: 1_000_000, width: 640, height: 360, timescale: 90_000 };
const audio: OutputTrack = { id: 'a', kind: 'audio', container: 'fmp4', codecs: 'mp4a.40.2', bandwidth: 128_000, sampleRate: 48_000, timescale: 48_000 };

/** Listed output runs of a track over a window, as the origin takes them. */
function listed(rows: readonly SegmentRecord[], from: number, to: number, segDur: number): OutputRun[] {
  return windowRuns(runsOf(rows), from, to, segDur, 0).items.flatMap((item) => (item.complete ? [item.run] : []));
}

describe('writers over runs', () => {
  test('an HLS media playlist is the same text from runs as from its segments', () => {
    const rand = seededRandom(99);
    for (let trial = 0; trial < 200; trial++) {
      const rows = randomTimeline(rand, 1 + Math.floor(rand() * 200), 90_000);
      const span = rows[rows.length - 1]!.startMs - T0;
      const runs = listed(rows, T0 + Math.floor(rand() * span), T0 + span + 5000, [1, 2, 6][trial % 3]!);
      if (runs.length === 0) continue;
      const common = {
        track: video,
        segmentUri: (s: OutputSegment) => `seg_${s.seq}.mp4`,
        initUri: (s: OutputSegment) => `init-${s.initId ?? '0'}.mp4`,
        version: 6,
        closed: rand() < 0.5,
        programDateTimeIntervalSeconds: rand() < 0.5 ? [1, 5, 60][Math.floor(rand() * 3)] : undefined,
        minTargetDuration: 2,
      };
      const one = writeMediaPlaylist({ ...common, segments: expand(runs) });
      assert.equal(writeMediaPlaylist({ ...common, segments: [], runs }), one, `trial ${trial}`);
      assert.equal(writeMediaPlaylist({ ...common, segments: [], runs, segmentUriAffixes: { prefix: 'seg_', suffix: '.mp4' } }), one, `trial ${trial}`);
      // A prefix that needs encoding goes the long way, with the same result.
      const odd = { ...common, segmentUri: (s: OutputSegment) => `s g%_${s.seq}.mp4` };
      assert.equal(writeMediaPlaylist({ ...odd, segments: [], runs, segmentUriAffixes: { prefix: 's g%_', suffix: '.mp4' } }), writeMediaPlaylist({ ...odd, segments: expand(runs) }), `trial ${trial}`);
    }
  });

  test('a DASH MPD is the same text from runs as from its segments, periods and all', () => {
    const rand = seededRandom(5);
    for (let trial = 0; trial < 200; trial++) {
      const v = randomTimeline(rand, 1 + Math.floor(rand() * 150), 90_000);
      const a = randomTimeline(rand, 1 + Math.floor(rand() * 150), 48_000);
      const span = Math.max(v[v.length - 1]!.startMs, a[a.length - 1]!.startMs) - T0 + 5000;
      const from = T0 + Math.floor(rand() * span * 0.5);
      const segDur = [2, 4][trial % 2]!;
      const runs = new Map([
        ['v', listed(v, from, T0 + span, segDur)],
        ['a', listed(a, from, T0 + span, segDur)],
      ]);
      if ((runs.get('v')!.length === 0 && runs.get('a')!.length === 0)) continue;
      const closed = rand() < 0.5;
      const common = {
        tracks: [video, audio],
        closed,
        nowMs: T0 + span,
        mediaTemplate: (t: OutputTrack) => `seg_$RepresentationID$_$Number$.mp4#${t.id}`,
        initialization: (t: OutputTrack, id: string | undefined) => `${t.id}_init-${id ?? '0'}.mp4`,
        minUpdatePeriodSeconds: 2,
        minBufferTimeSeconds: 5,
        suggestedPresentationDelaySeconds: 10,
        runStartsMs: closed ? undefined : new Map([[0, T0]]),
      };
      const one = writeMpd({ ...common, segments: new Map([...runs].map(([id, r]) => [id, expand(r)])) });
      assert.equal(writeMpd({ ...common, segments: new Map(), runs }), one, `trial ${trial}`);
    }
  });
});
