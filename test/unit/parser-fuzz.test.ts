/**
 * The container and playlist readers bound their work by the bytes they are given: hostile inputs
 * that once froze the server (a trun declaring 2^30 samples, many tiny PES packets, a long
 * attribute list, a file of tiny boxes) are refused or read in time linear in their size, and
 * random and mutated real segments (made by ffmpeg here) only ever raise the reader's own error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MediaParseError, readFragmentSamples, readInitSegment, readMediaSegment, type InitSegmentInfo } from '../../src/media/container/isobmff.js';
import { readTsSegment } from '../../src/media/container/mpegts.js';
import { PlaylistParseError, isMultivariant, parseMediaPlaylist, parseMultivariantPlaylist } from '../../src/media/hls/playlist.js';
import { NO_FFMPEG, concat, run } from '../support/media-fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function box(type: string, ...body: Uint8Array[]): Uint8Array {
  const payload = concat(...body);
  const out = new Uint8Array(8 + payload.length);
  new DataView(out.buffer).setUint32(0, out.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(payload, 8);
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0));
  return out;
}

/** ms taken by fn, and what it threw (undefined when it returned). */
function timed(fn: () => unknown): { ms: number; error: unknown } {
  const t0 = performance.now();
  try {
    fn();
    return { ms: performance.now() - t0, error: undefined };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}


const HOSTILE_U32 = [0, 1, 7, 8, 0xff, 0xffff, 0x4000_0000, 0x7fff_ffff, 0xffff_ffff];

/** A copy of `src` with a few random changes: byte flips, 32-bit fields set to edge values, a cut, a repeated slice. */
function mutate(src: Uint8Array, next: () => number): Uint8Array {
  let out: Uint8Array = Uint8Array.from(src);
  const edits = 1 + Math.floor(next() * 6);
  for (let e = 0; e < edits && out.length > 8; e++) {
    const at = Math.floor(next() * (out.length - 4));
    const kind = Math.floor(next() * 5);
    if (kind === 0) out[at] = Math.floor(next() * 256);
    else if (kind === 1) new DataView(out.buffer, out.byteOffset).setUint32(at, HOSTILE_U32[Math.floor(next() * HOSTILE_U32.length)]!);
    else if (kind === 2) out = out.slice(0, Math.max(1, at));
    else if (kind === 3) out = concat(out.subarray(0, at), out.subarray(at, Math.min(out.length, at + 1 + Math.floor(next() * 4096))), out.subarray(at));
    else out[at] = (out[at] ?? 0) ^ (1 << Math.floor(next() * 8));
  }
  return out;
}

/** Asserts that a parse ends within a time bound and throws nothing but `errorType`. */
function assertBounded(what: string, parse: () => unknown, errorType: new (...args: never[]) => Error, maxMs: number): number {
  const { ms, error } = timed(parse);
  if (error !== undefined) assert.ok(error instanceof errorType, `${what}: threw ${error instanceof Error ? error.message : typeof error} instead of ${errorType.name}`);
  assert.ok(ms < maxMs, `${what}: took ${ms.toFixed(0)} ms (bound ${maxMs} ms)`);
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Hand-built hostile inputs (each took seconds or more before the readers bounded their work)

describe('hostile inputs are refused or read in linear time', () => {
  const init: InitSegmentInfo = {
    tracks: [{ trackId: 1, kind: 'video', timescale: 90000, codec: 'avc1.64001f' }],
    defaults: [{ trackId: 1, sampleDescriptionIndex: 1, sampleDuration: 1024, sampleSize: 100, sampleFlags: 0 }],
    movieTimescale: 1000,
  };

  test('a 132-byte fragment whose trun declares 2^30 samples is a MediaParseError at once', () => {
    const trun = box('trun', u32s(0x0000_0000, 2 ** 30)); // no per-sample fields: durations from trex
    const moof = box('moof', box('mfhd', u32s(0, 1)), box('traf', box('tfhd', u32s(0x0002_0000, 1)), box('tfdt', u32s(0, 0)), trun));
    const segment = concat(box('styp', Buffer.from('msdh\0\0\0\0msdhmsix', 'latin1')), moof, box('mdat', new Uint8Array(8)));
    assert.ok(segment.length <= 132, `${segment.length} bytes`);
    const { ms, error } = timed(() => readMediaSegment(segment, init));
    assert.ok(error instanceof MediaParseError, String(error));
    assert.match(error.message, /declares 1073741824 samples, more than the 8-byte mdat/);
    assert.ok(ms < 200, `${ms} ms`);
  });

  test('the repackager\'s sample reader refuses the same 2^30-sample trun at once, whatever the default sample size', () => {
    for (const defaultSize of [100, 0]) {
      // data_offset points at the mdat's body, so zero-byte samples would all lie inside it.
      const moofWith = (dataOffset: number) =>
        box('moof', box('mfhd', u32s(0, 1)), box('traf', box('tfhd', u32s(0x0002_0010, 1, defaultSize)), box('tfdt', u32s(0, 0)), box('trun', u32s(0x0000_0001, 2 ** 30, dataOffset))));
      const moof = moofWith(moofWith(0).length + 8);
      const segment = concat(moof, box('mdat', new Uint8Array(8)));
      const { ms, error } = timed(() => readFragmentSamples(segment, init));
      assert.ok(error instanceof MediaParseError, `default size ${defaultSize}: ${String(error)}`);
      assert.ok(ms < 200, `${ms} ms`);
    }
  });

  test('many truns cannot add up to more samples than their mdat holds', () => {
    const truns = Array.from({ length: 400 }, () => box('trun', u32s(0, 1000)));
    const moof = box('moof', box('mfhd', u32s(0, 1)), box('traf', box('tfhd', u32s(0x0002_0000, 1)), box('tfdt', u32s(0, 0)), ...truns));
    const segment = concat(moof, box('mdat', new Uint8Array(200_000)));
    const { ms, error } = timed(() => readMediaSegment(segment, init));
    assert.ok(error instanceof MediaParseError, String(error));
    assert.ok(ms < 500, `${ms} ms`);
  });

  test('samples without per-sample fields are summed, not walked: a legal count of a million is instant', () => {
    const moof = box('moof', box('mfhd', u32s(0, 1)), box('traf', box('tfhd', u32s(0x0002_0008 | 0x10, 1, 1, 1)), box('tfdt', u32s(0, 0)), box('trun', u32s(0, 1_000_000))));
    const segment = concat(moof, box('mdat', new Uint8Array(1_000_000)));
    const { ms, error } = timed(() => readMediaSegment(segment, init));
    assert.equal(error, undefined, String(error));
    assert.equal(readMediaSegment(segment, init).fragments[0]!.duration, 1_000_000);
    assert.ok(ms < 200, `${ms} ms`);
  });

  test("a file of tiny boxes stops at a bounded number of boxes instead of filling memory", () => {
    const free = box('free');
    const file = new Uint8Array(free.length * 4_000_000);
    for (let i = 0; i < file.length; i += free.length) file.set(free, i);
    const rss0 = process.memoryUsage().rss;
    const { ms, error } = timed(() => readMediaSegment(file, init));
    const grown = process.memoryUsage().rss - rss0;
    assert.ok(error instanceof MediaParseError, String(error));
    assert.match(error.message, /more than 250000 boxes/);
    assert.ok(ms < 2000, `${ms} ms`);
    assert.ok(grown < 150 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(0)} MB`);
  });

  test('an MPEG-TS video stream of many tiny PES packets without an SPS is read in linear time', () => {
    const packets: Uint8Array[] = [];
    const pkt = (pid: number, pusi: boolean, payload: Uint8Array) => {
      const p = new Uint8Array(188).fill(0xff);
      p.set([0x47, (pusi ? 0x40 : 0) | (pid >> 8), pid & 0xff, 0x10]);
      p.set(payload.subarray(0, 184), 4);
      return p;
    };
    // PAT (program 1 -> PMT PID 0x1000) and PMT (H.264 on PID 0x100); CRCs are not checked.
    packets.push(pkt(0, true, Uint8Array.from([0, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0, 0, 0])));
    packets.push(pkt(0x1000, true, Uint8Array.from([0, 0x02, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0, 0x1b, 0xe1, 0x00, 0xf0, 0, 0, 0, 0, 0])));
    const pes = new Uint8Array(184).fill(0xaa);
    pes.set([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1]);
    for (let i = 0; i < 11_000; i++) packets.push(pkt(0x100, true, pes));
    const ts = concat(...packets);
    const { ms, error } = timed(() => readTsSegment(ts));
    assert.equal(error, undefined, String(error));
    assert.ok(ms < 1000, `${ms} ms for ${(ts.length / 1048576).toFixed(1)} MB`);
  });

  test('a long attribute list is read in linear time', () => {
    const attrs = Array.from({ length: 40_000 }, (_, i) => `X${i}="v"`).join(',');
    const text = `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,${attrs}\nv.m3u8\n`;
    const { ms, error } = timed(() => parseMultivariantPlaylist(text));
    assert.equal(error, undefined, String(error));
    assert.ok(ms < 1000, `${ms} ms for ${(text.length / 1024).toFixed(0)} kB`);
  });

  test('a parse error quotes at most a short piece of the input', () => {
    const text = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:${'9'.repeat(100_000)}x,\ns.ts\n`;
    const { error } = timed(() => parseMediaPlaylist(text));
    assert.ok(error instanceof PlaylistParseError);
    assert.ok(error.message.length < 400);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: random and mutated real segments

describe('fuzz: random and mutated segments and playlists', { skip: NO_FFMPEG }, () => {
  let dir: string;
  let ts: Uint8Array;
  let fmp4Init: Uint8Array;
  let fmp4Media: Uint8Array[];
  let mediaPlaylist: string;
  let multivariant: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-fuzz-'));
    const src = ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-b:a', '64k'];
    run(dir, [...src, '-f', 'mpegts', 'a.ts']);
    run(dir, [...src, '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', 'seg_%d.m4s', '-hls_flags', 'program_date_time', 'index.m3u8']);
    ts = readFileSync(path.join(dir, 'a.ts'));
    fmp4Init = readFileSync(path.join(dir, 'init.mp4'));
    fmp4Media = readdirSync(dir)
      .filter((f) => f.endsWith('.m4s'))
      .map((f) => readFileSync(path.join(dir, f)));
    mediaPlaylist = readFileSync(path.join(dir, 'index.m3u8'), 'utf8');
    multivariant = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",LANGUAGE="en",DEFAULT=YES,URI="a.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=160x90,FRAME-RATE=25.000,AUDIO="aud"\nv.m3u8\n';
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const ROUNDS = 1000;
  const BOUND_MS = 1000;

  test('the real inputs parse (the fuzz starts from valid files)', () => {
    assert.ok(readTsSegment(ts).streams.length >= 2);
    const info = readInitSegment(fmp4Init);
    for (const m of fmp4Media) assert.ok(readMediaSegment(m, info).fragments.length > 0);
    assert.ok(parseMediaPlaylist(mediaPlaylist).segments.length > 0);
    assert.equal(parseMultivariantPlaylist(multivariant).variants.length, 1);
  });

  test(`MPEG-TS: ${ROUNDS} mutated and random segments raise only MediaParseError, each within ${BOUND_MS} ms`, () => {
    const next = seededRandom(1);
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < ROUNDS; i++) {
      const input = i % 10 === 9 ? Uint8Array.from({ length: 188 * (1 + Math.floor(next() * 200)) }, (_, j) => (j % 188 === 0 ? 0x47 : Math.floor(next() * 256))) : mutate(ts, next);
      assertBounded(`TS round ${i} (seed 1)`, () => readTsSegment(input), MediaParseError, BOUND_MS);
    }
    assert.ok(process.memoryUsage().rss - rss0 < 256 * 1024 * 1024, 'memory stays bounded');
  });

  test(`fMP4: ${ROUNDS} mutated init and media segments raise only MediaParseError, each within ${BOUND_MS} ms`, () => {
    const next = seededRandom(2);
    const info = readInitSegment(fmp4Init);
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < ROUNDS; i++) {
      const initInput = mutate(fmp4Init, next);
      assertBounded(`init round ${i} (seed 2)`, () => readInitSegment(initInput), MediaParseError, BOUND_MS);
      const media = mutate(fmp4Media[i % fmp4Media.length]!, next);
      assertBounded(`media round ${i} (seed 2)`, () => readMediaSegment(media, info), MediaParseError, BOUND_MS);
      assertBounded(`media without init, round ${i} (seed 2)`, () => readMediaSegment(media), MediaParseError, BOUND_MS);
      const random = Uint8Array.from({ length: Math.floor(next() * 4096) }, () => Math.floor(next() * 256));
      assertBounded(`random round ${i} (seed 2)`, () => readMediaSegment(random, info), MediaParseError, BOUND_MS);
    }
    assert.ok(process.memoryUsage().rss - rss0 < 256 * 1024 * 1024, 'memory stays bounded');
  });

  test(`playlists: ${ROUNDS} mutated media and multivariant playlists raise only PlaylistParseError, each within ${BOUND_MS} ms`, () => {
    const next = seededRandom(3);
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, source] of [
        ['media', mediaPlaylist],
        ['multivariant', multivariant],
      ] as const) {
        const text = Buffer.from(mutate(Buffer.from(source), next)).toString('utf8');
        assertBounded(`${name} playlist round ${i} (seed 3)`, () => (isMultivariant(text) ? parseMultivariantPlaylist(text) : parseMediaPlaylist(text)), PlaylistParseError, BOUND_MS);
      }
    }
  });
});
