// MPEG-TS reader (ISO/IEC 13818-1; H.264 SPS §7.3.2.1.1; HEVC profile_tier_level; ADTS; AC-3).
// Real segments come from ffmpeg at test time and are checked against ffprobe and against the
// fMP4 reader on the same bitstream; hand-built packets cover PTS wrap, split headers and errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { readInitSegment } from '../../src/media/container/isobmff.js';
import { nalUnitRanges, readTsSegment, type TsStream } from '../../src/media/container/mpegts.js';
import { AVC_PROFILES, HAS_X265, HEVC_PROFILES, NO_FFMPEG, concat, expectParseError, probePackets, probeStreams, run } from '../support/media-fixtures.js';

const WRAP = 2 ** 33;

// ---------------------------------------------------------------------------------------------
// ffmpeg / ffprobe helpers

function streamOf(streams: TsStream[], kind: TsStream['kind']): TsStream {
  const s = streams.find((x) => x.kind === kind);
  assert.ok(s, `a ${kind} stream`);
  return s;
}

/**
 * Compares every stream of a TS file with ffprobe: codec and its fields, firstPts with start_time
 * (within 1 ms), duration with the presentation span of ffprobe's packets (within one frame).
 */
function checkAgainstFfprobe(file: string): TsStream[] {
  const { streams } = readTsSegment(readFileSync(file));
  const probed = probeStreams(file);
  const packets = probePackets(file);
  for (const p of probed) {
    const s = streams.find((x) => x.pid === Number(p.id));
    assert.ok(s, `stream on PID ${p.id}`);
    const label = `${path.basename(file)} ${p.codec_type}`;
    assert.equal(s.kind, p.codec_type === 'video' ? 'video' : p.codec_type === 'audio' ? 'audio' : 'other');
    if (p.codec_name === 'h264') {
      const m = /^avc1\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(s.codec ?? '');
      assert.ok(m, s.codec);
      assert.equal(parseInt(m[1]!, 16), AVC_PROFILES[p.profile ?? ''], `${label} profile ${p.profile}`);
      assert.equal(parseInt(m[3]!, 16), p.level, `${label} level`);
      if (p.profile === 'Constrained Baseline') assert.ok((parseInt(m[2]!, 16) & 0x40) !== 0, 'constraint_set1_flag');
    } else if (p.codec_name === 'hevc') {
      const m = /^hvc1\.(\d+)\.([0-9A-F]+)\.L(\d+)((\.[0-9A-F]{2})*)$/.exec(s.codec ?? '');
      assert.ok(m, s.codec);
      assert.equal(Number(m[1]), HEVC_PROFILES[p.profile ?? ''], `${label} profile ${p.profile}`);
      assert.equal(Number(m[3]), p.level, `${label} level`);
    } else if (p.codec_name === 'aac') {
      assert.equal(s.codec, p.profile === 'LC' ? 'mp4a.40.2' : p.profile === 'Main' ? 'mp4a.40.1' : s.codec);
    } else if (p.codec_name === 'ac3' || p.codec_name === 'eac3') {
      assert.equal(s.codec, p.codec_name === 'ac3' ? 'ac-3' : 'ec-3');
    }
    if (p.codec_type === 'video') {
      assert.equal(s.width, p.width, `${label} width`);
      assert.equal(s.height, p.height, `${label} height`);
    } else {
      assert.equal(s.sampleRate, Number(p.sample_rate), `${label} sample rate`);
      assert.equal(s.channels, p.channels, `${label} channels`);
    }
    const start = ((p.start_pts ?? 0) % WRAP + WRAP) % WRAP;
    assert.ok(Math.abs((s.firstPts ?? NaN) - start) <= 90, `${label} firstPts ${s.firstPts} vs ffprobe ${p.start_pts} (${p.start_time} s)`);
    const own = packets.filter((x) => x.stream_index === p.index);
    const durations = own.map((x) => x.duration).filter((d): d is number => d !== undefined).sort((a, b) => a - b);
    const frame = durations[Math.floor(durations.length / 2)] ?? 0;
    const span = Math.max(...own.map((x) => (x.pts ?? -Infinity) + (x.duration ?? frame))) - Math.min(...own.map((x) => x.pts ?? Infinity));
    assert.ok(Math.abs((s.duration ?? NaN) * 90000 - span) <= frame, `${label} duration ${s.duration} s vs ffprobe ${span / 90000} s`);
  }
  return streams;
}

// ---------------------------------------------------------------------------------------------
// A small TS writer for hand-built cases

/** One packet; payload shorter than the room left is padded with adaptation-field stuffing. */
function packet(pid: number, unitStart: boolean, payload: Uint8Array, adaptation = 0): Uint8Array {
  const out = new Uint8Array(188).fill(0xff);
  out[0] = 0x47;
  out[1] = (unitStart ? 0x40 : 0) | (pid >> 8);
  out[2] = pid & 0xff;
  const room = 184 - payload.length;
  assert.ok(room >= 0, 'payload fits');
  const field = Math.max(room, adaptation);
  if (field > 0) {
    out[3] = 0x30;
    out[4] = field - 1;
    if (field > 1) out[5] = 0;
  } else {
    out[3] = 0x10;
  }
  out.set(payload, 4 + field);
  return out;
}

/** Splits a PES (or section) over packets; the first may carry a larger adaptation field. */
function packets(pid: number, data: Uint8Array, firstAdaptation = 0): Uint8Array {
  const out: Uint8Array[] = [];
  let at = 0;
  let first = true;
  while (at < data.length) {
    const room = 184 - (first ? firstAdaptation : 0);
    const n = Math.min(room, data.length - at);
    out.push(packet(pid, first, data.subarray(at, at + n), first ? firstAdaptation : 0));
    at += n;
    first = false;
  }
  return concat(...out);
}

function section(tableId: number, body: Uint8Array): Uint8Array {
  const length = 5 + body.length + 4;
  return concat(Uint8Array.of(0, tableId, 0xb0 | (length >> 8), length & 0xff, 0, 1, 0xc1, 0, 0), body, new Uint8Array(4));
}

function pat(pmtPid: number): Uint8Array {
  return packets(0, section(0x00, Uint8Array.of(0, 1, 0xe0 | (pmtPid >> 8), pmtPid & 0xff)));
}

interface EsEntry {
  type: number;
  pid: number;
  descriptors?: Uint8Array;
}

function pmt(pmtPid: number, streams: EsEntry[]): Uint8Array {
  const loop = streams.map((s) => {
    const d = s.descriptors ?? new Uint8Array(0);
    return concat(Uint8Array.of(s.type, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0 | (d.length >> 8), d.length & 0xff), d);
  });
  return packets(pmtPid, section(0x02, concat(Uint8Array.of(0xe1, 0x00, 0xf0, 0x00), ...loop)));
}

function timestamp(prefix: number, t: number): Uint8Array {
  const hi = Math.floor(t / 2 ** 30) & 7;
  const mid = Math.floor(t / 2 ** 15) & 0x7fff;
  const lo = t & 0x7fff;
  return Uint8Array.of((prefix << 4) | (hi << 1) | 1, mid >> 7, ((mid & 0x7f) << 1) | 1, lo >> 7, ((lo & 0x7f) << 1) | 1);
}

function pes(pid: number, streamId: number, pts: number | undefined, data: Uint8Array, firstAdaptation = 0): Uint8Array {
  const optional = pts === undefined ? new Uint8Array(0) : timestamp(2, pts);
  const header = Uint8Array.of(0, 0, 1, streamId, 0, 0, 0x80, pts === undefined ? 0 : 0x80, optional.length);
  return packets(pid, concat(header, optional, data), firstAdaptation);
}

/** An ADTS frame (13818-7 §6.2) of the given total length: AAC profile index, rate index, channels. */
function adts(length: number, profile = 1, rateIndex = 3, channels = 2): Uint8Array {
  const f = new Uint8Array(length);
  f.set([0xff, 0xf1, (profile << 6) | (rateIndex << 2) | (channels >> 2), ((channels & 3) << 6) | (length >> 11), (length >> 3) & 0xff, ((length & 7) << 5) | 0x1f, 0xfc]);
  return f;
}

/** An AC-3 frame, 48 kHz, 2/0 with LFE (acmod 2, lfeon 1), frmsizecod 16 (128 kbit/s, 512 bytes). */
function ac3Frame(): Uint8Array {
  const f = new Uint8Array(512);
  // fscod(00) frmsizecod(010000) | bsid(01000) bsmod(000) | acmod(010) dsurmod(00) lfeon(1) …
  f.set([0x0b, 0x77, 0, 0, 0x10, 0x40, 0b01000100, 0]);
  return f;
}

/** An SPS as x264 writes it (Constrained Baseline, level 3.1, 1280x720, VUI timing) and an IDR stub, Annex B. */
const AVC_SPS = Uint8Array.of(0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x24, 0x80, 0, 0, 0, 1, 0x65, 0x88, 0x80);

// ---------------------------------------------------------------------------------------------

describe('13818-1 hand-built streams', () => {
  test('§2.4.3.7 33-bit PTS wrap: firstPts before the wrap, lastPts past 2^33, span intact', () => {
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), ...[WRAP - 7200, WRAP - 3600, 0, 3600].map((t) => pes(0x100, 0xe0, t, AVC_SPS)));
    const [v] = readTsSegment(ts).streams;
    assert.equal(v?.firstPts, WRAP - 7200);
    assert.equal(v?.lastPts, WRAP + 3600);
    assert.equal(v?.duration, (4 * 3600) / 90000);
    assert.equal(v?.codec, 'avc1.42c01f');
    assert.equal(v?.width, 1280);
    assert.equal(v?.height, 720);
  });

  test('a B-frame from before the wrap arriving after it keeps firstPts in [0, 2^33)', () => {
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), ...[1800, WRAP - 1800].map((t) => pes(0x100, 0xe0, t, AVC_SPS)));
    const [v] = readTsSegment(ts).streams;
    assert.equal(v?.firstPts, WRAP - 1800);
    assert.equal(v?.lastPts, WRAP + 1800);
  });

  test('presentation order: firstPts is the smallest PTS, lastPts the largest', () => {
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), ...[10800, 3600, 0, 7200].map((t) => pes(0x100, 0xe0, 900000 + t, AVC_SPS)));
    const [v] = readTsSegment(ts).streams;
    assert.deepEqual([v?.firstPts, v?.lastPts, v?.duration], [900000, 910800, 14400 / 90000]);
  });

  test('ADTS: codec, rate and channels from the first header; several frames per PES count toward duration', () => {
    const frames = (n: number): Uint8Array => concat(...Array.from({ length: n }, () => adts(300)));
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x0f, pid: 0x101, descriptors: Uint8Array.of(0x0a, 4, 0x65, 0x6e, 0x67, 0) }]), pes(0x101, 0xc0, 1000, frames(3)), pes(0x101, 0xc0, 1000 + 5760, frames(4)));
    const [a] = readTsSegment(ts).streams;
    assert.equal(a?.kind, 'audio');
    assert.equal(a?.codec, 'mp4a.40.2');
    assert.equal(a?.sampleRate, 48000);
    assert.equal(a?.channels, 2);
    assert.equal(a?.language, 'eng');
    assert.equal(a?.firstPts, 1000);
    assert.equal(a?.lastPts, 6760);
    assert.equal(a?.duration, (7 * 1024) / 48000);
  });

  test('ADTS frames straddling packet and PES boundaries are still counted once', () => {
    const body = concat(adts(100, 0, 4, 1), adts(1000, 0, 4, 1), adts(7, 0, 4, 1));
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x0f, pid: 0x101 }]), pes(0x101, 0xc0, 0, body));
    const [a] = readTsSegment(ts).streams;
    assert.equal(a?.codec, 'mp4a.40.1');
    assert.equal(a?.sampleRate, 44100);
    assert.equal(a?.channels, 1);
    assert.equal(a?.duration, (3 * 1024) / 44100);
  });

  test('a PES header split over two packets is reassembled', () => {
    // The first packet's adaptation field leaves room for only 5 bytes of the PES header.
    const ts = concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), pes(0x100, 0xe0, 123456, AVC_SPS, 179), pes(0x100, 0xe0, 127056, AVC_SPS));
    const [v] = readTsSegment(ts).streams;
    assert.equal(v?.firstPts, 123456);
    assert.equal(v?.codec, 'avc1.42c01f');
  });

  test('a PMT section spanning two packets; AC-3 by DVB descriptor; SCTE-35 and ID3 streams', () => {
    const padding = concat(Uint8Array.of(0x80, 200), new Uint8Array(200)); // a user-private descriptor of 200 bytes
    const ts = concat(
      pat(0x1000),
      pmt(0x1000, [
        { type: 0x06, pid: 0x102, descriptors: concat(Uint8Array.of(0x6a, 1, 0), padding) },
        { type: 0x86, pid: 0x1f4 },
        { type: 0x15, pid: 0x103 },
        { type: 0x24, pid: 0x104 },
      ]),
      pes(0x102, 0xbd, 90000, concat(ac3Frame(), ac3Frame())),
      packets(0x1f4, Uint8Array.of(0, 0xfc, 0x30, 0x11)),
      pes(0x103, 0xbd, 95000, new Uint8Array(20)),
    );
    const r = readTsSegment(ts);
    assert.deepEqual(
      r.streams.map((s) => [s.pid, s.kind, s.codec]),
      [
        [0x102, 'audio', 'ac-3'],
        [0x1f4, 'other', undefined],
        [0x103, 'other', undefined],
        [0x104, 'video', undefined],
      ],
    );
    const ac3 = r.streams[0]!;
    assert.deepEqual([ac3.sampleRate, ac3.channels, ac3.firstPts, ac3.duration], [48000, 3, 90000, 3072 / 48000]);
    assert.equal(r.streams[1]?.firstPts, undefined, 'SCTE-35 sections are not read as PES');
    assert.equal(r.streams[2]?.firstPts, 95000);
    assert.equal(r.packetCount, ts.length / 188);
  });
});

describe('malformed input throws MediaParseError with a reason', () => {
  const good = concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), pes(0x100, 0xe0, 0, AVC_SPS));
  const badSync = good.slice();
  badSync[188 * 2] = 0x48;
  const badAdaptation = concat(good, packet(0x100, false, new Uint8Array(0)));
  badAdaptation[badAdaptation.length - 188 + 4] = 190;
  const cases: [string, Uint8Array, RegExp][] = [
    ['an empty buffer', new Uint8Array(0), /empty/],
    ['a length that is not a multiple of 188', good.subarray(0, good.length - 1), /multiple of the 188-byte/],
    ['192-byte packets (M2TS)', new Uint8Array(192 * 10).fill(0x47), /multiple of the 188-byte/],
    ['a missing sync byte', badSync, /packet 2 \(offset 376\) does not start with the sync byte 0x47/],
    ['an fMP4 segment', concat(Uint8Array.of(0, 0, 0, 24), new TextEncoder().encode('styp'), new Uint8Array(180)), /sync byte/],
    ['no PAT', concat(pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), pes(0x100, 0xe0, 0, AVC_SPS)), /no PAT/],
    ['a PAT without its PMT', concat(pat(0x1000), pes(0x100, 0xe0, 0, AVC_SPS)), /no PMT on PID 4096/],
    ['an adaptation field longer than the packet', concat(pat(0x1000), pmt(0x1000, [{ type: 0x1b, pid: 0x100 }]), badAdaptation.subarray(good.length)), /adaptation field longer/],
  ];
  for (const [name, bytes, reason] of cases) {
    test(name, () => {
      expectParseError(() => readTsSegment(bytes), reason);
    });
  }
});

describe('real MPEG-TS from ffmpeg, against ffprobe', () => {
  test('ffmpeg and ffprobe are installed (README: apt-get install -y ffmpeg)', () => assert.ok(!NO_FFMPEG, String(NO_FFMPEG)));
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-mpegts-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sources = (seconds: number): string[] => ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(seconds)];

  test('H.264 + AAC HLS segments: codecs, size, rate, channels, start and duration per stream', () => {
    run(dir, [...sources(4), '-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-ac', '2', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'mpegts', '-hls_segment_filename', 'avc%03d.ts', 'avc.m3u8']);
    const files = readdirSync(dir).filter((f) => /^avc\d+\.ts$/.test(f)).sort();
    assert.ok(files.length >= 4);
    let videoEnd: number | undefined;
    for (const f of files) {
      const streams = checkAgainstFfprobe(path.join(dir, f));
      assert.equal(streamOf(streams, 'audio').channels, 2);
      // Segments tile the video timeline: each starts where the previous one ended.
      const video = streamOf(streams, 'video');
      if (videoEnd !== undefined) assert.equal(video.firstPts, videoEnd, `${f} starts where the previous segment ended`);
      videoEnd = (video.firstPts ?? 0) + Math.round((video.duration ?? 0) * 90000);
    }
  });

  test('the SPS in TS and the avcC/esds after a remux to fMP4 give the same codec strings', () => {
    for (const profile of ['baseline', 'main', 'high']) {
      run(dir, [...sources(1), '-c:v', 'libx264', '-profile:v', profile, '-c:a', 'aac', '-f', 'mpegts', `${profile}.ts`]);
      run(dir, ['-i', `${profile}.ts`, '-c', 'copy', '-f', 'mp4', `${profile}.mp4`]);
      const ts = readTsSegment(readFileSync(path.join(dir, `${profile}.ts`))).streams;
      const mp4 = readInitSegment(readFileSync(path.join(dir, `${profile}.mp4`))).tracks;
      checkAgainstFfprobe(path.join(dir, `${profile}.ts`));
      assert.equal(streamOf(ts, 'video').codec, mp4.find((t) => t.kind === 'video')?.codec, profile);
      assert.equal(streamOf(ts, 'audio').codec, mp4.find((t) => t.kind === 'audio')?.codec, profile);
      assert.equal(streamOf(ts, 'audio').sampleRate, mp4.find((t) => t.kind === 'audio')?.sampleRate, profile);
    }
    assert.match(streamOf(readTsSegment(readFileSync(path.join(dir, 'baseline.ts'))).streams, 'video').codec ?? '', /^avc1\.42c0/);
  });

  test('H.265 TS: hvc1 codec string from the SPS equals the hvcC after a remux', () => {
    assert.ok(HAS_X265, 'libx265 is not available in this ffmpeg (Debian\'s ffmpeg has it)');
    // Closed GOPs: with open GOPs a segment starts with a CRA whose leading (RASL) pictures have
    // earlier PTS; firstPts includes them (the timeline stays contiguous) but ffprobe's start_time
    // skips them, so the comparison would differ by those pictures.
    run(dir, [...sources(2), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=25:open-gop=0', '-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'mpegts', '-hls_segment_filename', 'hevc%03d.ts', 'hevc.m3u8']);
    const first = path.join(dir, 'hevc000.ts');
    run(dir, ['-i', first, '-c', 'copy', '-tag:v', 'hvc1', '-f', 'mp4', 'hevc.mp4']);
    for (const f of readdirSync(dir).filter((x) => /^hevc\d+\.ts$/.test(x))) checkAgainstFfprobe(path.join(dir, f));
    const video = streamOf(readTsSegment(readFileSync(first)).streams, 'video');
    assert.equal(video.codec, readInitSegment(readFileSync(path.join(dir, 'hevc.mp4'))).tracks.find((t) => t.kind === 'video')?.codec);
    assert.deepEqual([video.width, video.height], [320, 240]);
  });

  test('AC-3 (5.1) and E-AC-3 (stereo) audio in TS', () => {
    run(dir, [...sources(2), '-c:v', 'libx264', '-c:a', 'ac3', '-ac', '6', '-f', 'mpegts', 'ac3.ts']);
    run(dir, [...sources(2), '-c:v', 'libx264', '-c:a', 'eac3', '-ac', '2', '-ar', '48000', '-f', 'mpegts', 'eac3.ts']);
    const ac3 = streamOf(checkAgainstFfprobe(path.join(dir, 'ac3.ts')), 'audio');
    assert.deepEqual([ac3.codec, ac3.channels], ['ac-3', 6]);
    const eac3 = streamOf(checkAgainstFfprobe(path.join(dir, 'eac3.ts')), 'audio');
    assert.deepEqual([eac3.codec, eac3.channels, eac3.sampleRate], ['ec-3', 2, 48000]);
  });

  test('a segment crossing the 33-bit PTS wrap', () => {
    // Timestamps start about 0.6 s before 2^33 ticks (95443.72 s) and wrap inside the file.
    run(dir, [...sources(2), '-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-output_ts_offset', '95441.7', '-f', 'mpegts', 'wrap.ts']);
    const streams = checkAgainstFfprobe(path.join(dir, 'wrap.ts'));
    for (const s of streams) {
      assert.ok((s.firstPts ?? 0) < WRAP && (s.lastPts ?? 0) > WRAP, `${s.kind} ${s.firstPts}..${s.lastPts}`);
      assert.ok(Math.abs((s.duration ?? 0) - 2) < 0.1, `${s.kind} duration ${s.duration}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// NAL unit boundaries

describe('nalUnitRanges', () => {
  /** The definition, byte by byte: a NAL unit follows each 00 00 01 and ends before the next, less the zeros before it. */
  function reference(es: Uint8Array): [number, number][] {
    const out: [number, number][] = [];
    let start = -1;
    for (let j = 2; j < es.length; j++) {
      if (es[j] !== 1 || es[j - 1] !== 0 || es[j - 2] !== 0) continue;
      if (start >= 0) {
        let end = j - 2;
        while (end > start && es[end - 1] === 0) end--;
        out.push([start, end]);
      }
      start = j + 1;
    }
    if (start >= 0 && start < es.length) out.push([start, es.length]);
    return out;
  }

  test('agrees with the byte-by-byte definition on random streams rich in zeros and ones, and on views into larger buffers', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(next() * 64);
      const whole = new Uint8Array(length + 8);
      for (let i = 0; i < whole.length; i++) {
        const r = next();
        whole[i] = r < 0.45 ? 0 : r < 0.75 ? 1 : Math.floor(next() * 256);
      }
      const offset = Math.floor(next() * 8);
      const es = whole.subarray(offset, offset + length);
      assert.deepEqual([...nalUnitRanges(es)], reference(es), `stream ${Buffer.from(es).toString('hex')}`);
    }
  });

  test('finds the units of a coded stream with 3- and 4-byte start codes and trailing zeros', () => {
    const es = Uint8Array.from([0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 0, 3, 1, 0, 0]);
    assert.deepEqual([...nalUnitRanges(es)], [[4, 6], [10, 12], [15, 25]]);
  });
});
