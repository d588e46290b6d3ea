// The DASH MPD writer (src/media/dash/mpd-writer.ts) on hand-made timelines: periods at
// discontinuities, per-track templates, stable period starts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { writeMpd, type MpdOptions } from '../../src/media/dash/mpd-writer.js';
import type { OutputSegment, OutputTrack } from '../../src/media/timeline/model.js';

const video: OutputTrack = { id: 'v', kind: 'video', container: 'fmp4', codecs: 'avc1.64001f', bandwidth: 1_000_000, width: 640, height: 360, timescale: 90000 };
const audio: OutputTrack = { id: 'a', kind: 'audio', container: 'fmp4', codecs: 'mp4a.40.2', bandwidth: 64_000, timescale: 48000 };
const T0 = 1_800_000_000_000;

/** Segments of 2 s from `fromSeq`, media time continuing from `media0` (seconds) at wall clock `wall0`. */
function run(track: OutputTrack, fromSeq: number, count: number, wall0: number, media0: number, o: { discSeq: number; initId: string; discontinuity?: boolean }): OutputSegment[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: fromSeq + i,
    startMs: wall0 + i * 2000,
    durationMs: 2000,
    mediaTime: Math.round((media0 + i * 2) * track.timescale),
    mediaDuration: 2 * track.timescale,
    discontinuity: i === 0 && (o.discontinuity ?? false),
    discSeq: o.discSeq,
    initId: o.initId,
  }));
}

const base = (segments: Map<string, OutputSegment[]>, closed: boolean): MpdOptions => ({
  tracks: [video, audio],
  segments,
  closed,
  nowMs: T0 + 60_000,
  mediaTemplate: (t) => (t.kind === 'audio' ? 'seg_$RepresentationID$_$Number$.mp4' : 'seg_$RepresentationID$_$Number$.g2.mp4'),
  initialization: (t, id) => `seg_${t.id}_init-${id}.mp4`,
  minUpdatePeriodSeconds: 2,
  minBufferTimeSeconds: 5,
  suggestedPresentationDelaySeconds: 10,
});

const periods = (xml: string) => [...xml.matchAll(/<Period id="(\d+)" start="([^"]+)"(?: duration="([^"]+)")?>([\s\S]*?)<\/Period>/g)];

describe('writeMpd', () => {
  // An encoder restart at T0+20 s: media time starts again at 10 s, and the init segment changes.
  const restarted = () =>
    new Map([
      ['v', [...run(video, 1, 10, T0, 100, { discSeq: 0, initId: 'aa' }), ...run(video, 11, 5, T0 + 20_000, 10, { discSeq: 1, initId: 'bb', discontinuity: true })]],
      ['a', [...run(audio, 1, 10, T0 - 20, 100, { discSeq: 0, initId: 'cc' }), ...run(audio, 11, 5, T0 + 19_980, 10, { discSeq: 1, initId: 'dd', discontinuity: true })]],
    ]);

  test('a discontinuity starts a new period, with its own numbers, offset and init segment', () => {
    const xml = writeMpd(base(restarted(), true));
    const ps = periods(xml);
    assert.equal(ps.length, 2);
    assert.deepEqual(ps.map((p) => [p[1], p[2], p[3]]), [
      [String(T0 - 20), 'PT0S', 'PT20.02S'],
      [String(T0 + 20_000), 'PT20.02S', undefined],
    ]);
    const second = ps[1]![4]!;
    assert.match(second, /<Representation id="v"[\s\S]*?presentationTimeOffset="900000" startNumber="11" media="seg_\$RepresentationID\$_\$Number\$\.g2\.mp4" initialization="seg_v_init-bb\.mp4"/);
    // The audio segment that starts 20 ms before the boundary belongs to the new period by its midpoint.
    assert.match(second, /<Representation id="a"[\s\S]*?startNumber="11" media="seg_\$RepresentationID\$_\$Number\$\.mp4" initialization="seg_a_init-dd\.mp4"/);
    assert.match(ps[0]![4]!, /initialization="seg_v_init-aa\.mp4"/);
    assert.match(xml, /type="static" mediaPresentationDuration="PT30.02S"/);
  });

  test('before a discontinuity, tracks that end apart are cut to the earliest end and the Period ends there (no track without media in it)', () => {
    // The old content's video lost its last 2 s (a group cut at the restart); its audio did not.
    // The new content starts 1 s after the old audio ends.
    const segments = new Map([
      ['v', [...run(video, 1, 4, T0, 100, { discSeq: 0, initId: 'aa' }), ...run(video, 11, 3, T0 + 11_000, 10, { discSeq: 1, initId: 'bb', discontinuity: true })]],
      ['a', [...run(audio, 1, 5, T0, 100, { discSeq: 0, initId: 'cc' }), ...run(audio, 11, 3, T0 + 11_000, 10, { discSeq: 1, initId: 'dd', discontinuity: true })]],
    ]);
    for (const closed of [true, false]) {
      const ps = periods(writeMpd(base(segments, closed)));
      assert.equal(ps.length, 2);
      assert.equal(ps[0]![3], 'PT8S', 'the first Period ends with its video, 3 s before the next starts');
      assert.match(ps[0]![4]!, /<Representation id="a"[\s\S]*?<SegmentTimeline><S t="\d+" d="96000" r="3"\/><\/SegmentTimeline>/, 'the audio segment past the video\'s end is left out');
      assert.match(ps[1]![4]!, /<Representation id="a"[\s\S]*?<S t="\d+" d="96000" r="2"\/>/, 'the next Period keeps all of its audio');
    }
    // A track ending within 500 ms of another is not cut (the first test: audio 20 ms short).
    assert.equal(periods(writeMpd(base(restarted(), true)))[0]![3], 'PT20.02S');
  });

  test('one run is one period; a dynamic MPD starts it where its run began, so its id survives the window sliding', () => {
    const segs = (from: number) => new Map([['v', run(video, from, 5, T0 + (from - 1) * 2000, 100 + (from - 1) * 2, { discSeq: 3, initId: 'aa' })]]);
    const runStartsMs = new Map([[3, T0]]);
    const a = writeMpd({ ...base(segs(1), false), tracks: [video], runStartsMs });
    const b = writeMpd({ ...base(segs(4), false), tracks: [video], runStartsMs });
    for (const xml of [a, b]) {
      const ps = periods(xml);
      assert.equal(ps.length, 1);
      assert.equal(ps[0]![1], String(T0));
      assert.match(ps[0]![4]!, /presentationTimeOffset="9000000"/, 'media time 100 s sits at the period start');
    }
    assert.match(b, /startNumber="4"/);
  });

  test('key rotation: a Period per key period from the reference track\'s first segment at or after the boundary, each track split by its own segments\' key periods', () => {
    // Key periods of 300 s; the boundary B falls 1.5 s into video segment 3 (B−5.5, B−3.5, B−1.5, B+0.5 …).
    const B = Math.ceil(T0 / 300_000) * 300_000;
    const segments = new Map([
      ['v', run(video, 1, 6, B - 5500, 0, { discSeq: 0, initId: 'aa' })],
      // Audio 1.2 s later: its segment at B−0.3 s has its midpoint after the video's switch (B+0.5 s), yet starts in the
      // first key period, so it stays in the first Period with the first key.
      ['a', run(audio, 1, 8, B - 4300, 0, { discSeq: 0, initId: 'cc' })],
    ]);
    const keyPeriodOf = (ms: number) => Math.floor(ms / 300_000);
    const kp = keyPeriodOf(B);
    const xml = writeMpd({
      ...base(segments, true),
      keyPeriodOf,
      contentProtection: (t, s) => [{ schemeIdUri: 'urn:mpeg:dash:mp4protection:2011', value: 'cenc', attributes: ` cenc:default_KID="${t.id}-${keyPeriodOf(s.startMs)}"` }],
      initialization: (t, id, s) => `seg_${t.id}_init-${id}.k${keyPeriodOf(s.startMs)}.mp4`,
    });
    const ps = periods(xml);
    assert.equal(ps.length, 2, xml);
    assert.deepEqual(ps.map((p) => [p[1], p[2]]), [[String(B - 5500), 'PT0S'], [String(B + 500), 'PT6S']]);
    const [first, second] = [ps[0]![4]!, ps[1]![4]!];
    assert.match(first, /default_KID="v-\d+"/);
    assert.ok(first.includes(`default_KID="v-${kp - 1}"`) && first.includes(`default_KID="a-${kp - 1}"`), first);
    assert.ok(second.includes(`default_KID="v-${kp}"`) && second.includes(`default_KID="a-${kp}"`), second);
    assert.ok(first.includes(`initialization="seg_a_init-cc.k${kp - 1}.mp4"`) && second.includes(`initialization="seg_v_init-aa.k${kp}.mp4"`));
    // Video: 3 + 3 segments. Audio: B−4.3, B−2.3, B−0.3 in the first Period; B+1.7 … B+9.7 in the second.
    assert.match(first, /<Representation id="v"[\s\S]*?startNumber="1"[\s\S]*?<S t="0" d="180000" r="2"\/>/);
    assert.match(second, /<Representation id="v"[\s\S]*?startNumber="4"[\s\S]*?<S t="540000" d="180000" r="2"\/>/);
    assert.match(first, /<Representation id="a"[\s\S]*?startNumber="1"[\s\S]*?<S t="\d+" d="96000" r="2"\/>/);
    assert.match(second, /<Representation id="a"[\s\S]*?startNumber="4"[\s\S]*?<S t="288000" d="96000" r="4"\/>/);
  });
});
