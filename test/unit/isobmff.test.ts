// ISO-BMFF / CMAF reader (ISO/IEC 14496-12, 14496-15, RFC 6381). Real segments come from ffmpeg at
// test time and are checked against ffprobe; hand-built boxes cover the trun/tfhd/tfdt flag
// combinations and the malformed inputs an encoder does not produce on purpose.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { MediaParseError, readInitSegment, readMediaSegment, type InitSegmentInfo, type TrackInfo } from '../../src/media/container/isobmff.js';
import { AVC_PROFILES, HAS_X265, HEVC_PROFILES, NO_FFMPEG, concat, expectParseError, probePackets, probeStreams, run, type ProbePacket, type ProbeStream } from '../support/media-fixtures.js';
import { parseMultivariantPlaylist } from '../../src/media/hls/playlist.js';

// ---------------------------------------------------------------------------------------------
// ffmpeg / ffprobe helpers

const SOURCES = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];


/** avc1.PPCCLL from ffprobe's profile name and level (the constraint byte is not reported). */
function expectAvcCodec(codec: string, s: ProbeStream): void {
  const m = /^avc1\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(codec);
  assert.ok(m, codec);
  assert.equal(parseInt(m[1]!, 16), AVC_PROFILES[s.profile ?? ''], `profile ${s.profile}`);
  assert.equal(parseInt(m[3]!, 16), s.level, `level ${s.level}`);
  if (s.profile === 'Constrained Baseline') assert.ok((parseInt(m[2]!, 16) & 0x40) !== 0, 'constraint_set1_flag');
}

function expectHevcCodec(codec: string, s: ProbeStream, entry: string): void {
  const m = new RegExp(`^${entry}\\.(\\d+)\\.([0-9A-F]+)\\.([LH])(\\d+)((\\.[0-9A-F]{2})*)$`).exec(codec);
  assert.ok(m, codec);
  assert.equal(Number(m[1]), HEVC_PROFILES[s.profile ?? ''], `profile ${s.profile}`);
  assert.equal(Number(m[4]), s.level, `level ${s.level}`);
  // Compatibility flags, bit-reversed: the profile's own flag is set.
  assert.ok((parseInt(m[2]!, 16) >> Number(m[1])) & 1, 'general_profile_compatibility_flag of the profile');
}

/**
 * Presentation span of ffprobe packets: from the smallest pts to the largest pts + duration. ffprobe
 * reports no duration for some packets (the first AAC packet after an edit list), so the span is
 * more robust than a sum of durations.
 */
function presentationSpan(packets: ProbePacket[]): { span: number; frame: number } {
  const durations = packets.map((p) => p.duration).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
  const frame = durations[Math.floor(durations.length / 2)] ?? 0;
  const first = Math.min(...packets.map((p) => p.pts ?? Infinity));
  const end = Math.max(...packets.map((p) => (p.pts ?? -Infinity) + (p.duration ?? frame)));
  return { span: end - first, frame };
}

function trackOf(init: InitSegmentInfo, kind: TrackInfo['kind']): TrackInfo {
  const t = init.tracks.find((x) => x.kind === kind);
  assert.ok(t, `a ${kind} track`);
  return t;
}

/**
 * Checks one media segment against ffprobe of init+segment: per track, the start (earliest
 * presentation time + edit list offset) within 1 ms of start_time, the duration within one frame
 * of the sum of packet durations, and the codec fields.
 */
function checkAgainstFfprobe(dir: string, initBytes: Uint8Array, segmentBytes: Uint8Array, name: string): void {
  const init = readInitSegment(initBytes);
  const segment = readMediaSegment(segmentBytes, init);
  const joined = path.join(dir, `${name}.joined.mp4`);
  writeFileSync(joined, concat(initBytes, segmentBytes));
  const streams = probeStreams(joined);
  const packets = probePackets(joined);
  for (const s of streams) {
    const track = trackOf(init, s.codec_type === 'video' ? 'video' : 'audio');
    assert.equal(s.time_base, `1/${track.timescale}`, 'timescale');
    const start = ((segment.earliestTime[track.trackId] ?? NaN) + (track.editOffset ?? 0)) / track.timescale;
    assert.ok(Math.abs(start - Number(s.start_time)) <= 0.001, `${name} ${s.codec_type} start ${start} vs ffprobe ${s.start_time}`);
    const duration = segment.fragments.filter((f) => f.trackId === track.trackId).reduce((n, f) => n + f.duration, 0);
    const own = packets.filter((p) => p.stream_index === s.index);
    const probed = presentationSpan(own);
    assert.ok(Math.abs(duration - probed.span) <= probed.frame, `${name} ${s.codec_type} duration ${duration} vs ffprobe ${probed.span}`);
    assert.equal(segment.fragments.filter((f) => f.trackId === track.trackId).reduce((n, f) => n + f.sampleCount, 0), own.length, 'sample count');
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-built boxes

const enc = new TextEncoder();
function u8(...v: number[]): Uint8Array {
  return Uint8Array.from(v);
}
function u16(...v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 2);
  v.forEach((x, i) => new DataView(out.buffer).setUint16(i * 2, x));
  return out;
}
function u32(...v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(out.buffer).setUint32(i * 4, x >>> 0));
  return out;
}
function u64(v: number): Uint8Array {
  return u32(Math.floor(v / 2 ** 32), v % 2 ** 32);
}
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(...parts);
  return concat(u32(8 + body.length), enc.encode(type), body);
}
function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, u8(version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff), ...parts);
}
const mfhd = (seq: number): Uint8Array => fullBox('mfhd', 0, 0, u32(seq));
const tfdt0 = (t: number): Uint8Array => fullBox('tfdt', 0, 0, u32(t));
const tfdt1 = (t: number): Uint8Array => fullBox('tfdt', 1, 0, u64(t));
const mdat = (n: number): Uint8Array => box('mdat', new Uint8Array(n));

const SYNC = 0x02000000; // sample_depends_on = 2 (an I-frame), sync
const NON_SYNC = 0x01010000; // depends on others, sample_is_non_sync_sample

// ---------------------------------------------------------------------------------------------

describe('14496-12 §8.8 movie fragments, hand-built', () => {
  const initFor = (trackId: number, sampleDuration: number, sampleFlags = 0): { tracks: TrackInfo[]; defaults: InitSegmentInfo['defaults'] } => ({
    tracks: [{ trackId, kind: 'video', timescale: 90000, codec: 'avc1.64001f' }],
    defaults: [{ trackId, sampleDescriptionIndex: 1, sampleDuration, sampleSize: 0, sampleFlags }],
  });

  test('§8.8.7 tfhd defaults with §8.8.8 trun data_offset + first_sample_flags', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x020000 | 0x08 | 0x20, u32(1, 3000, NON_SYNC)), tfdt0(90000), fullBox('trun', 0, 0x001 | 0x004, u32(4, 0, SYNC)));
    const seg = concat(box('moof', mfhd(7), traf), mdat(100));
    const [f] = readMediaSegment(seg).fragments;
    assert.deepEqual(f, { trackId: 1, sequenceNumber: 7, baseMediaDecodeTime: 90000, duration: 12000, sampleCount: 4, firstSampleIsSync: true, earliestPresentationTime: 90000, moofOffset: 0, byteLength: seg.length });
  });

  test('§8.8.8 trun v1 with per-sample duration, size, flags and negative composition offsets', () => {
    // B-frame order: decode times 0, 10, 20, 30 with offsets +10, +20, -10, 0 -> presentation 10, 30, 10, 30.
    const samples = [
      [10, 500, SYNC, 10],
      [10, 100, NON_SYNC, 20],
      [10, 100, NON_SYNC, -10],
      [10, 100, NON_SYNC, 0],
    ].flatMap((x) => x);
    const traf = box('traf', fullBox('tfhd', 0, 0x020000, u32(2)), tfdt1(2 ** 40), fullBox('trun', 1, 0x001 | 0x100 | 0x200 | 0x400 | 0x800, u32(4, 0, ...samples)));
    const segment = readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(800)));
    const f = segment.fragments[0]!;
    assert.equal(f.baseMediaDecodeTime, 2 ** 40);
    assert.equal(f.duration, 40);
    assert.equal(f.firstSampleIsSync, true);
    assert.equal(f.earliestPresentationTime, 2 ** 40 + 10);
    assert.deepEqual(segment.earliestTime, { 2: 2 ** 40 + 10 });
  });

  test('first_sample_flags overrides the per-sample flags of sample 0 only', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), tfdt0(0), fullBox('trun', 0, 0x004 | 0x400, u32(2, NON_SYNC, SYNC, SYNC)));
    assert.equal(readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(2))).fragments[0]?.firstSampleIsSync, false);
  });

  test('§8.8.3 trex defaults apply when tfhd and trun carry no duration or flags', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x020000, u32(1)), tfdt0(0), fullBox('trun', 0, 0, u32(25)));
    const seg = concat(box('moof', mfhd(1), traf), mdat(25));
    const f = readMediaSegment(seg, initFor(1, 3600, NON_SYNC)).fragments[0]!;
    assert.equal(f.duration, 90000);
    assert.equal(f.firstSampleIsSync, false);
    assert.throws(() => readMediaSegment(seg), (e: unknown) => e instanceof MediaParseError && /pass the init segment/.test(e.message));
  });

  test('a traf for a track the init segment lacks is refused', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(3, 10)), tfdt0(0), fullBox('trun', 0, 0, u32(1)));
    assert.throws(() => readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(1)), initFor(1, 10)), (e: unknown) => e instanceof MediaParseError && /track 3/.test(e.message));
  });

  test('several truns in one traf add up; zero-sample truns are fine', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(1, 100)), tfdt0(500), fullBox('trun', 0, 0, u32(3)), fullBox('trun', 0, 0x100, u32(2, 50, 70)), fullBox('trun', 0, 0, u32(0)));
    const f = readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(5))).fragments[0]!;
    assert.equal(f.sampleCount, 5);
    assert.equal(f.duration, 420);
  });

  test('several moof/mdat pairs, two tracks each: every fragment in order, offsets and lengths', () => {
    const pair = (seq: number, t: number): Uint8Array =>
      concat(
        box('moof', mfhd(seq), box('traf', fullBox('tfhd', 0, 0x08, u32(1, 3600)), tfdt0(t * 3600), fullBox('trun', 0, 0, u32(5))), box('traf', fullBox('tfhd', 0, 0x08, u32(2, 1024)), tfdt1(t * 1920), fullBox('trun', 0, 0, u32(9)))),
        mdat(64 * seq),
      );
    const first = pair(1, 0);
    const second = pair(2, 5);
    const emsg = fullBox('emsg', 0, 0, enc.encode('urn:x\0\0'), u32(90000, 0, 0, 1));
    const styp = box('styp', enc.encode('msdh'), u32(0), enc.encode('msdhmsix'));
    const seg = concat(styp, emsg, first, second);
    const r = readMediaSegment(seg);
    assert.deepEqual(
      r.fragments.map((f) => [f.trackId, f.sequenceNumber, f.baseMediaDecodeTime, f.duration, f.moofOffset, f.byteLength]),
      [
        [1, 1, 0, 18000, styp.length + emsg.length, first.length],
        [2, 1, 0, 9216, styp.length + emsg.length, first.length],
        [1, 2, 18000, 18000, styp.length + emsg.length + first.length, second.length],
        [2, 2, 9600, 9216, styp.length + emsg.length + first.length, second.length],
      ],
    );
    assert.deepEqual(r.earliestTime, { 1: 0, 2: 0 });
  });

  test('a traf without tfdt continues the previous fragment of its track, but cannot start a segment', () => {
    const traf = (withTfdt: boolean): Uint8Array => box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), ...(withTfdt ? [tfdt0(1000)] : []), fullBox('trun', 0, 0, u32(3)));
    const seg = concat(box('moof', mfhd(1), traf(true)), mdat(3), box('moof', mfhd(2), traf(false)), mdat(3));
    assert.deepEqual(readMediaSegment(seg).fragments.map((f) => f.baseMediaDecodeTime), [1000, 1030]);
    assert.throws(() => readMediaSegment(concat(box('moof', mfhd(1), traf(false)), mdat(3))), /no tfdt/);
  });

  test('every sample has data in its mdat: a count the mdat cannot hold is refused', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x08 | 0x10, u32(1, 10, 4)), tfdt0(0), fullBox('trun', 0, 0, u32(3)));
    assert.equal(readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(12))).fragments[0]?.sampleCount, 3);
    expectParseError(() => readMediaSegment(concat(box('moof', mfhd(1), traf), mdat(11))), /declares 3 samples, more than the 11-byte mdat/);
  });

  test('§8.16.3 sidx is read; a 64-bit largesize box is walked', () => {
    const sidx = fullBox('sidx', 0, 0, u32(1, 90000, 180000, 0), u16(0, 1), u32(1234, 180000, 0x90000000));
    const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), tfdt0(180000), fullBox('trun', 0, 0, u32(1)));
    const big = concat(u32(1), enc.encode('mdat'), u64(16 + 5), new Uint8Array(5));
    const r = readMediaSegment(concat(sidx, box('moof', mfhd(1), traf), big));
    assert.deepEqual(r.segmentIndexes, [{ referenceId: 1, timescale: 90000, earliestPresentationTime: 180000, firstOffset: 0, references: [{ referenceType: 0, referencedSize: 1234, subsegmentDuration: 180000, startsWithSap: true }] }]);
    assert.equal(r.fragments[0]?.byteLength, box('moof', mfhd(1), traf).length + 21);
  });

  test('§4.2 a top-level box of size 0 runs to the end of the file', () => {
    const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), tfdt0(0), fullBox('trun', 0, 0, u32(1)));
    const moof = box('moof', mfhd(1), traf);
    const seg = concat(moof, u32(0), enc.encode('mdat'), new Uint8Array(50));
    assert.equal(readMediaSegment(seg).fragments[0]?.byteLength, seg.length);
  });
});

describe('14496-12 §8.2-8.7 init segment, hand-built', () => {
  const bitsToBytes = (bits: string): Uint8Array => {
    const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
    return Uint8Array.from(padded.match(/.{8}/g) ?? [], (b) => parseInt(b, 2));
  };
  const descriptor = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
    const body = concat(...parts);
    return concat(u8(tag, body.length), body);
  };
  const esds = (asc: Uint8Array): Uint8Array =>
    fullBox('esds', 0, 0, descriptor(0x03, u16(1), u8(0), descriptor(0x04, u8(0x40, 0x15, 0, 0, 0), u32(128000, 128000), descriptor(0x05, asc)), descriptor(0x06, u8(2))));
  const mp4a = (channels: number, rate: number, asc: Uint8Array): Uint8Array => box('mp4a', new Uint8Array(6), u16(1), new Uint8Array(8), u16(channels, 16, 0, 0), u32(rate * 65536), esds(asc));
  const language = (code: string): number => [...code].reduce((n, c) => n * 32 + (c.charCodeAt(0) - 0x60), 0);
  const trak = (id: number, handler: string, timescale: number, lang: string, entry: Uint8Array, elst?: Uint8Array): Uint8Array =>
    box(
      'trak',
      fullBox('tkhd', 0, 3, u32(0, 0, id, 0, 0), new Uint8Array(60)),
      ...(elst ? [box('edts', elst)] : []),
      box('mdia', fullBox('mdhd', 0, 0, u32(0, 0, timescale, 0), u16(language(lang), 0)), fullBox('hdlr', 0, 0, u32(0), enc.encode(handler), new Uint8Array(13)), box('minf', box('stbl', fullBox('stsd', 0, 0, u32(1), entry)))),
    );
  const moov = (...traks: Uint8Array[]): Uint8Array =>
    concat(box('ftyp', enc.encode('iso6'), u32(0), enc.encode('cmfc')), box('moov', fullBox('mvhd', 0, 0, u32(0, 0, 1000, 0), new Uint8Array(80)), ...traks, box('mvex', fullBox('trex', 0, 0, u32(2, 1, 1024, 0, 0)))));

  test('HE-AACv2 (explicit PS) reports mp4a.40.29 at the output rate and two channels; mdhd language; elst offset', () => {
    // AudioSpecificConfig: aot 29, 24 kHz, mono core, extension 48 kHz, then aot 2.
    const asc = bitsToBytes('11101' + '0110' + '0001' + '0011' + '00010');
    // elst: 100 ms empty edit (movie timescale 1000), then media from 2048 (priming).
    const elst = fullBox('elst', 0, 0, u32(2, 100, 0xffffffff, 0x10000, 5000, 2048, 0x10000));
    const init = readInitSegment(moov(trak(2, 'soun', 48000, 'deu', mp4a(1, 48000, asc), elst)));
    // The AudioSpecificConfig itself is kept, for repackaging (ADTS headers).
    assert.deepEqual(init.tracks, [{ trackId: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.29', sampleRate: 48000, channels: 2, language: 'deu', editOffset: 4800 - 2048, decoderConfig: { kind: 'asc', bytes: asc } }]);
    assert.deepEqual(init.defaults, [{ trackId: 2, sampleDescriptionIndex: 1, sampleDuration: 1024, sampleSize: 0, sampleFlags: 0 }]);
    assert.equal(init.movieTimescale, 1000);
  });

  test('AAC-LC: audio object type and channel configuration come from the AudioSpecificConfig', () => {
    const asc = bitsToBytes('00010' + '0011' + '0110'); // aot 2, 48 kHz, 5.1
    const [track] = readInitSegment(moov(trak(1, 'soun', 48000, 'eng', mp4a(2, 48000, asc)))).tracks;
    assert.deepEqual([track?.codec, track?.sampleRate, track?.channels, track?.language, track?.editOffset], ['mp4a.40.2', 48000, 6, 'eng', undefined]);
  });

  test('a truncated stsd entry or a track without stsd is refused', () => {
    assert.throws(() => readInitSegment(moov(trak(1, 'soun', 48000, 'eng', box('mp4a', new Uint8Array(10))))), /mp4a .* too short/);
    const noStsd = box('trak', fullBox('tkhd', 0, 3, u32(0, 0, 1, 0, 0), new Uint8Array(60)), box('mdia', fullBox('mdhd', 0, 0, u32(0, 0, 1000, 0), u16(0, 0)), fullBox('hdlr', 0, 0, u32(0), enc.encode('vide'), new Uint8Array(13)), box('minf', box('stbl'))));
    assert.throws(() => readInitSegment(moov(noStsd)), (e: unknown) => e instanceof MediaParseError && /no stsd/.test(e.message));
  });
});

describe('malformed input throws MediaParseError with a reason', () => {
  const traf = box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), tfdt0(0), fullBox('trun', 0, 0, u32(1)));
  const good = concat(box('moof', mfhd(1), traf), mdat(10));
  const cases: [string, Uint8Array, RegExp, 'init' | 'media'][] = [
    ['MPEG-TS bytes', concat(u8(0x47, 0x40, 0x00, 0x10), new Uint8Array(184)), /not ISO-BMFF/, 'media'],
    ['text', enc.encode('#EXTM3U\n#EXT-X-VERSION:7\n'), /not ISO-BMFF/, 'init'],
    ['a truncated segment', good.subarray(0, good.length - 4), /truncated/, 'media'],
    ['a truncated box header', concat(good, u8(0, 0, 0)), /truncated box header/, 'media'],
    ['a nested box of size 0', concat(box('moof', mfhd(1), u32(0), enc.encode('traf')), mdat(1)), /size 0/, 'media'],
    ['a box smaller than its header', concat(u32(4), enc.encode('free'), good), /smaller than its header/, 'media'],
    ['a trun claiming a billion samples', concat(box('moof', mfhd(1), box('traf', fullBox('tfhd', 0, 0x08, u32(1, 10)), tfdt0(0), fullBox('trun', 0, 0x100, u32(1e9, 10)))), mdat(1)), /trun .* truncated/, 'media'],
    ['an init segment as a media segment', box('ftyp', enc.encode('iso6'), u32(0)), /no moof/, 'media'],
    ['a media segment as an init segment', good, /no moov/, 'init'],
    ['a moof without mdat', box('moof', mfhd(1), traf), /not followed by an mdat/, 'media'],
    ['a traf without tfhd', concat(box('moof', mfhd(1), box('traf', tfdt0(0))), mdat(1)), /no tfhd/, 'media'],
    ['an empty buffer', new Uint8Array(0), /no moof/, 'media'],
  ];
  for (const [name, bytes, reason, as] of cases) {
    test(name, () => {
      expectParseError(() => (as === 'init' ? readInitSegment(bytes) : readMediaSegment(bytes)), reason);
    });
  }
});

describe('real fMP4 from ffmpeg, against ffprobe', () => {
  test('ffmpeg and ffprobe are installed (README: apt-get install -y ffmpeg)', () => assert.ok(!NO_FFMPEG, String(NO_FFMPEG)));
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-isobmff-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('H.264 + AAC HLS fMP4: tracks, codec strings, per-segment start and duration', () => {
    run(dir, [...SOURCES, '-t', '4', '-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-ac', '2', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-hls_flags', 'program_date_time+independent_segments', '-hls_fmp4_init_filename', 'avc-init.mp4', '-hls_segment_filename', 'avc%03d.m4s', 'avc.m3u8']);
    const initBytes = readFileSync(path.join(dir, 'avc-init.mp4'));
    const init = readInitSegment(initBytes);
    const segments = readdirSync(dir).filter((f) => /^avc\d+\.m4s$/.test(f)).sort();
    assert.ok(segments.length >= 4);
    const first = path.join(dir, 'avc-first.mp4');
    writeFileSync(first, concat(initBytes, readFileSync(path.join(dir, segments[0]!))));
    const probed = probeStreams(first); // ffprobe reports profile and level only once it has samples
    const video = trackOf(init, 'video');
    const audio = trackOf(init, 'audio');
    const pv = probed.find((s) => s.codec_type === 'video')!;
    const pa = probed.find((s) => s.codec_type === 'audio')!;
    assert.equal(pv.codec_tag_string, 'avc1');
    expectAvcCodec(video.codec, pv);
    assert.equal(video.width, pv.width);
    assert.equal(video.height, pv.height);
    assert.equal(pa.profile, 'LC');
    assert.equal(audio.codec, 'mp4a.40.2');
    assert.equal(audio.sampleRate, Number(pa.sample_rate));
    assert.equal(audio.channels, pa.channels);
    assert.equal(audio.language, 'und');
    assert.deepEqual(init.defaults.map((d) => d.trackId).sort(), init.tracks.map((t) => t.trackId).sort());

    let expectedDecode: Record<number, number> = {};
    for (const name of segments) {
      const bytes = readFileSync(path.join(dir, name));
      checkAgainstFfprobe(dir, initBytes, bytes, name);
      const r = readMediaSegment(bytes, init);
      const v = r.fragments.find((f) => f.trackId === video.trackId)!;
      assert.equal(v.firstSampleIsSync, true, `${name} starts with a key frame`);
      // Segments follow one another without gaps in decode time.
      for (const f of r.fragments) {
        const expected = expectedDecode[f.trackId];
        if (expected !== undefined) assert.equal(f.baseMediaDecodeTime, expected, `${name} track ${f.trackId} decode time`);
      }
      expectedDecode = Object.fromEntries(init.tracks.map((t) => [t.trackId, r.fragments.filter((f) => f.trackId === t.trackId).reduce((end, f) => f.baseMediaDecodeTime + f.duration, 0)]));
      assert.equal(r.fragments.reduce((n, f) => Math.max(n, f.moofOffset + f.byteLength), 0), bytes.length);
    }
  });

  test('codec strings equal the CODECS that ffmpeg writes into its multivariant playlist', () => {
    run(dir, [...SOURCES, '-t', '2', '-map', '0:v', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-g', '25', '-s:v:1', '160x120', '-profile:v:1', 'main', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-master_pl_name', 'mv.m3u8', '-var_stream_map', 'v:0,agroup:a v:1,agroup:a a:0,agroup:a', '-hls_segment_filename', 'mv%v_%03d.m4s', 'mv%v.m3u8']);
    const master = parseMultivariantPlaylist(readFileSync(path.join(dir, 'mv.m3u8'), 'utf8'));
    const audio = trackOf(readInitSegment(readFileSync(path.join(dir, 'init_2.mp4'))), 'audio').codec;
    const videoCodecs = [0, 1].map((i) => trackOf(readInitSegment(readFileSync(path.join(dir, `init_${i}.mp4`))), 'video').codec);
    assert.deepEqual(master.variants.slice(0, 2).map((v) => v.codecs), videoCodecs.map((v) => `${v},${audio}`));
    assert.match(videoCodecs[1]!, /^avc1\.4d/);
  });

  test('H.265 (hvc1) + AAC HLS fMP4', () => {
    assert.ok(HAS_X265, 'libx265 is not available in this ffmpeg (Debian\'s ffmpeg has it)');
    run(dir, [...SOURCES, '-t', '3', '-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=error:keyint=25:min-keyint=25', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'hevc-init.mp4', '-hls_segment_filename', 'hevc%03d.m4s', 'hevc.m3u8']);
    const initBytes = readFileSync(path.join(dir, 'hevc-init.mp4'));
    const init = readInitSegment(initBytes);
    const first = path.join(dir, 'hevc-first.mp4');
    writeFileSync(first, concat(initBytes, readFileSync(path.join(dir, 'hevc000.m4s'))));
    const pv = probeStreams(first).find((s) => s.codec_type === 'video')!;
    assert.equal(pv.codec_tag_string, 'hvc1');
    const video = trackOf(init, 'video');
    expectHevcCodec(video.codec, pv, 'hvc1');
    assert.equal(video.width, 320);
    assert.equal(video.height, 240);
    for (const name of readdirSync(dir).filter((f) => /^hevc\d+\.m4s$/.test(f)).sort()) checkAgainstFfprobe(dir, initBytes, readFileSync(path.join(dir, name)), name);
  });

  test('fragmented MP4 with several moof/mdat pairs (hev1 and avc3 sample entries)', () => {
    const variants: [string, string[]][] = [['avc3', ['-c:v', 'libx264', '-tag:v', 'avc3', '-g', '10']]];
    if (HAS_X265) variants.push(['hev1', ['-c:v', 'libx265', '-tag:v', 'hev1', '-x265-params', 'log-level=error:keyint=10:min-keyint=10']]);
    for (const [entry, args] of variants) {
      const file = path.join(dir, `${entry}.mp4`);
      run(dir, [...SOURCES, '-t', '2', ...args, '-c:a', 'aac', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', file]);
      const bytes = readFileSync(file);
      // Split after the moov: what an encoder would PUT as init and as one media segment.
      const init = readInitSegment(bytes);
      let end = 0;
      while (end < bytes.length && new TextDecoder().decode(bytes.subarray(end + 4, end + 8)) !== 'moof') end += new DataView(bytes.buffer, bytes.byteOffset + end).getUint32(0);
      const media = bytes.subarray(end);
      const r = readMediaSegment(media, init);
      const video = trackOf(init, 'video');
      assert.ok(video.codec.startsWith(`${entry}.`), video.codec);
      const pv = probeStreams(file).find((s) => s.codec_type === 'video')!;
      if (entry === 'avc3') expectAvcCodec(video.codec.replace('avc3', 'avc1'), pv);
      else expectHevcCodec(video.codec, pv, 'hev1');
      const vf = r.fragments.filter((f) => f.trackId === video.trackId);
      assert.ok(vf.length >= 5, `${vf.length} video fragments`);
      for (let i = 1; i < vf.length; i++) {
        assert.equal(vf[i]!.baseMediaDecodeTime, vf[i - 1]!.baseMediaDecodeTime + vf[i - 1]!.duration, 'contiguous');
        assert.ok(vf[i]!.moofOffset > vf[i - 1]!.moofOffset, 'in file order');
        assert.ok(vf[i]!.firstSampleIsSync);
      }
      // moof+mdat pairs follow one another from the start of the segment (ffmpeg appends an mfra).
      const pairs = [...new Map(r.fragments.map((f) => [f.moofOffset, f.byteLength])).entries()];
      let at = 0;
      for (const [offset, length] of pairs) {
        assert.equal(offset, at);
        at += length;
      }
      assert.equal(new TextDecoder().decode(media.subarray(at + 4, at + 8)), 'mfra');
      const packets = probePackets(file).filter((p) => p.stream_index === pv.index);
      assert.equal(vf.reduce((n, f) => n + f.sampleCount, 0), packets.length);
      assert.equal(vf.reduce((n, f) => n + f.duration, 0), packets.reduce((n, p) => n + (p.duration ?? 0), 0));
    }
  });
});
