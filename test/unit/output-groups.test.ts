// Output segment grouping (src/domain/output-groups.ts) and the LL-HLS lines of the media
// playlist writer, on hand-made timelines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { SegmentRecord } from '../../src/domain/ports.js';
import { firstSeqOf, groupEndMs, groupIndexOf, groupOf, groupSegment, groupSegments, groupSize, typicalDurationMs } from '../../src/domain/output-groups.js';
import { outputNames, parseSegmentName } from '../../src/media/output-naming.js';
import { writeMediaPlaylist } from '../../src/media/hls/writer.js';

function seg(seq: number, o: Partial<SegmentRecord> = {}): SegmentRecord {
  return {
    channelArn: 'arn',
    rendition: 'r',
    seq,
    startMs: 1_000_000 + seq * 1000,
    durationMs: 1000,
    mediaTime: seq * 90000,
    mediaDuration: 90000,
    key: `k${seq}`,
    bytes: 10,
    discontinuity: false,
    discSeq: 0,
    source: '1',
    initKey: 'x/init-aa.mp4',
    ...o,
  };
}

const range = (from: number, to: number, o: Partial<SegmentRecord> = {}) => Array.from({ length: to - from + 1 }, (_, i) => seg(from + i, o));
const seqs = (groups: ReturnType<typeof groupSegments>) => groups.map((g) => [g.k, g.pieces.map((p) => p.seq), g.complete]);

describe('group size and numbering', () => {
  test('N is the endpoint duration over the median input duration, rounded, at least 1', () => {
    assert.equal(typicalDurationMs([seg(1, { durationMs: 1000 }), seg(2, { durationMs: 1040 }), seg(3, { durationMs: 21 })]), 1000);
    assert.equal(typicalDurationMs([seg(1, { durationMs: 1000 }), seg(2, { durationMs: 1003 })]), 1002);
    assert.equal(typicalDurationMs([]), undefined);
    assert.equal(groupSize(2, 1000), 2);
    assert.equal(groupSize(6, 2002), 3);
    assert.equal(groupSize(5, 2000), 3, 'a duration that is not a multiple rounds to the nearest (DATAPLANE 4.1)');
    assert.equal(groupSize(2, 2000), 1);
    assert.equal(groupSize(1, 2000), 1);
    assert.equal(groupSize(2, undefined), 1);
  });

  test('output segment k holds input seqs (k−1)·N+1 … k·N', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((s) => groupIndexOf(s, 2)), [1, 1, 2, 2, 3]);
    assert.equal(firstSeqOf(3, 2), 5);
    assert.equal(firstSeqOf(1, 3), 1);
  });
});

describe('groupSegments', () => {
  test('complete groups, then an incomplete last group; the numbers do not move when the window slides', () => {
    assert.deepEqual(seqs(groupSegments(range(1, 7), 2)), [[1, [1, 2], true], [2, [3, 4], true], [3, [5, 6], true], [4, [7], false]]);
    // The window now starts inside group 2: that group is left out, the others keep their numbers.
    assert.deepEqual(seqs(groupSegments(range(4, 8), 2)), [[3, [5, 6], true], [4, [7, 8], true]]);
  });

  test('a discontinuity inside a group starts the group there (the pieces before it are left out)', () => {
    const segs = [...range(1, 4), seg(5), seg(6, { discontinuity: true }), ...range(7, 8)];
    assert.deepEqual(seqs(groupSegments(segs, 3)), [[1, [1, 2, 3], true], [2, [6], true], [3, [7, 8], false]]);
    // A discontinuity on a group's first piece changes nothing.
    const at = [...range(1, 2), seg(3, { discontinuity: true }), ...range(4, 4)];
    assert.deepEqual(seqs(groupSegments(at, 2)), [[1, [1, 2], true], [2, [3, 4], true]]);
  });

  test('a change of init segment inside a group cuts it the same way', () => {
    const segs = [seg(1), seg(2, { initKey: 'x/init-bb.mp4' })];
    assert.deepEqual(seqs(groupSegments(segs, 2)), [[1, [2], true]]);
  });

  test('an incomplete group before the last is not listed', () => {
    assert.deepEqual(seqs(groupSegments([seg(1), seg(3), seg(4)], 2)), [[2, [3, 4], true]]);
  });

  test('groupOf: the group of one output segment from whatever pieces exist', () => {
    assert.deepEqual(groupOf(2, 2, [seg(4), seg(3)])?.pieces.map((p) => p.seq), [3, 4]);
    assert.equal(groupOf(2, 2, [seg(4)]), undefined, 'its first piece is gone');
    assert.equal(groupOf(2, 2, [seg(3)])?.complete, false);
  });
});

describe('writeMediaPlaylist with LL-HLS', () => {
  const track = { id: 'v', kind: 'video', container: 'fmp4', codecs: 'avc1.42c01e', bandwidth: 1, timescale: 90000 } as const;
  const out = (seq: number, startMs: number, durationMs: number, discontinuity = false) => ({ seq, startMs, durationMs, mediaTime: 0, mediaDuration: 0, discontinuity, initId: 'aa' });

  test('server control, part info, parts before their segment, the tail as parts only, the preload hint', () => {
    const text = writeMediaPlaylist({
      track,
      segments: [out(1, 0, 2000), out(2, 2000, 2000)],
      segmentUri: (s) => `s_${s.seq}.mp4`,
      initUri: () => 'init.mp4',
      version: 6,
      closed: false,
      minTargetDuration: 2,
      lowLatency: {
        partTargetSeconds: 1,
        parts: (s) => (s.seq === 2 ? [{ durationMs: 1000, uri: 's_2.0.mp4', independent: true }, { durationMs: 1000, uri: 's_2.1.mp4', independent: true }] : undefined),
        tail: { segment: out(3, 4000, 1000, true), parts: [{ durationMs: 1000, uri: 's_3.0.mp4', independent: false }] },
        preloadHintUri: 's_3.1.mp4',
        renditionReports: [{ uri: 'low_a.m3u8', lastMsn: 3, lastPart: 0 }],
      },
    });
    assert.equal(
      text,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:1',
        '#EXT-X-DISCONTINUITY-SEQUENCE:0',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.000',
        '#EXT-X-PART-INF:PART-TARGET=1.000',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXTINF:2.000,',
        's_1.mp4',
        '#EXT-X-PART:DURATION=1.000,URI="s_2.0.mp4",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=1.000,URI="s_2.1.mp4",INDEPENDENT=YES',
        '#EXTINF:2.000,',
        's_2.mp4',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-PART:DURATION=1.000,URI="s_3.0.mp4"',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s_3.1.mp4"',
        '#EXT-X-RENDITION-REPORT:URI="low_a.m3u8",LAST-MSN=3,LAST-PART=0',
        '',
      ].join('\n'),
    );
  });

  test('only parts so far: the media sequence is the tail\'s', () => {
    const text = writeMediaPlaylist({
      track,
      segments: [],
      segmentUri: (s) => `s_${s.seq}.mp4`,
      version: 6,
      closed: false,
      minTargetDuration: 2,
      lowLatency: { partTargetSeconds: 1, parts: () => undefined, tail: { segment: out(7, 0, 1000), parts: [{ durationMs: 1000, uri: 's_7.0.mp4', independent: true }] } },
    });
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:7\n/);
    assert.match(text, /#EXT-X-TARGETDURATION:2\n/);
    assert.doesNotMatch(text, /#EXTINF/);
  });
});

describe('groupSegment', () => {
  test('an output segment spans its pieces: summed durations, the first piece\'s times, discontinuity and sequence', () => {
    const g = groupOf(2, 3, [seg(4, { discontinuity: true, discSeq: 2 }), seg(5, { discSeq: 2 }), seg(6, { discSeq: 2, durationMs: 900, mediaDuration: 81000 })])!;
    assert.deepEqual(groupSegment(g), {
      seq: 2,
      startMs: 1_004_000,
      durationMs: 2900,
      mediaTime: 4 * 90000,
      mediaDuration: 261000,
      discontinuity: true,
      discSeq: 2,
      initId: 'aa',
    });
    assert.equal(groupEndMs(g), 1_006_900);
  });
});

describe('output names', () => {
  test('n = 1 keeps the plain sequence name; n > 1 says so in the name; parts carry their index', () => {
    assert.equal(outputNames.segment('seg', 'index_0', 12, 1, 'fmp4'), 'seg_index_0_12.mp4');
    assert.equal(outputNames.segment('seg', 'index_0', 12, 3, 'ts'), 'seg_index_0_12.g3.ts');
    assert.equal(outputNames.part('seg', 'index_0', 12, 3, 2, 'fmp4'), 'seg_index_0_12.g3.p2.mp4');
    assert.equal(outputNames.dashMediaTemplate('seg', 1), 'seg_$RepresentationID$_$Number$.mp4');
    assert.equal(outputNames.dashMediaTemplate('seg', 2), 'seg_$RepresentationID$_$Number$.g2.mp4');
  });

  test('parseSegmentName reads back what the names say, and refuses a second name for one segment', () => {
    assert.deepEqual(parseSegmentName('index_0_12.mp4'), { track: 'index_0', k: 12, n: 1, ext: 'mp4' });
    assert.deepEqual(parseSegmentName('index_0_12.g3.ts'), { track: 'index_0', k: 12, n: 3, ext: 'ts' });
    assert.deepEqual(parseSegmentName('index_0_12.g3.p2.mp4'), { track: 'index_0', k: 12, n: 3, part: 2, ext: 'mp4' });
    assert.equal(parseSegmentName('index_0_12.g1.mp4'), undefined, 'n = 1 has only the plain name');
    assert.equal(parseSegmentName('index_0_init-aa.mp4'), undefined);
    assert.equal(parseSegmentName('index_0_x.mp4'), undefined);
  });
});

describe('EXT-X-DISCONTINUITY-SEQUENCE', () => {
  const track = { id: 'v', kind: 'video', container: 'ts', codecs: 'avc1.42c01e', bandwidth: 1, timescale: 90000 } as const;
  const out = (seq: number, discSeq: number, discontinuity = false) => ({ seq, startMs: seq * 2000, durationMs: 2000, mediaTime: 0, mediaDuration: 0, discontinuity, discSeq });
  const write = (segments: ReturnType<typeof out>[]) => writeMediaPlaylist({ track, segments, segmentUri: (s) => `s_${s.seq}.ts`, version: 3, closed: false });

  test('is the first listed segment\'s, and rises by one as a discontinuity slides out of the window', () => {
    const before = write([out(4, 1), out(5, 2, true), out(6, 2)]);
    assert.match(before, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
    assert.equal(before.match(/#EXT-X-DISCONTINUITY\n/g)?.length, 1);
    const after = write([out(5, 2, true), out(6, 2), out(7, 2)]);
    assert.match(after, /#EXT-X-DISCONTINUITY-SEQUENCE:2\n/);
    assert.doesNotMatch(after, /#EXT-X-DISCONTINUITY\n/, 'the first segment\'s own discontinuity is counted in the sequence, not tagged');
  });
});
