// MPEG-TS encryption for HLS (src/media/encrypt/ts-encrypt.ts), checked by ffmpeg's HLS reader:
// segments made by ffmpeg at test time (H.264 + AAC, and one from the fMP4 → TS repackager) are
// encrypted (AES-128 and SAMPLE-AES), written next to an HLS playlist that names the key file, and
// ffmpeg must decode the playlist to the same frames (framemd5) as the clear one, and not with a
// wrong key; AC-3 and E-AC-3 audio renditions likewise for SAMPLE-AES. ffprobe reads the PMT stream types of SAMPLE-AES; hostile chunks are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { PesCollector, SectionAssembler, nalUnitRanges, payloadStart, readPmtEntries, readPrograms, unescapeRbsp } from '../../src/media/container/mpegts.js';
import { TsEncryptError, aes128Length, aes128Stream, sampleAesChunk, sequenceIv } from '../../src/media/encrypt/ts-encrypt.js';
import { repackageFmp4 } from '../../src/media/package/fmp4-to-ts.js';
import { section } from '../../src/media/package/ts-writer.js';
import { HAS_X265, NO_FFMPEG, run } from '../support/media-fixtures.js';
import { seededRandom } from '../support/seeded-random.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const WRONG_KEY = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');
const EXPLICIT_IV = Buffer.from('a1a2a3a4a5a6a7a8a9aaabacadaeafb0', 'hex');

const PACKET = 188;
const pidOf = (b: Uint8Array, i: number) => ((b[i * PACKET + 1]! & 0x1f) << 8) | b[i * PACKET + 2]!;

/** Continuity counters of every PID with payload run without a gap. */
function assertContinuity(b: Uint8Array): void {
  const last = new Map<number, number>();
  for (let i = 0; i * PACKET < b.length; i++) {
    assert.equal(b[i * PACKET], 0x47, `packet ${i}: sync byte`);
    const b3 = b[i * PACKET + 3]!;
    const prev = last.get(pidOf(b, i));
    if ((b3 & 0x10) === 0) {
      if (prev !== undefined) assert.equal(b3 & 0x0f, prev, `packet ${i}: an adaptation-only packet repeats the counter`);
      continue;
    }
    if (prev !== undefined) assert.equal(b3 & 0x0f, (prev + 1) & 0x0f, `packet ${i} (PID ${pidOf(b, i)}): continuity counter`);
    last.set(pidOf(b, i), b3 & 0x0f);
  }
}

/** The PCRs of a TS, in order, with their PIDs. */
function pcrs(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i * PACKET < b.length; i++) {
    const o = i * PACKET;
    if ((b[o + 3]! & 0x20) !== 0 && b[o + 4]! > 0 && (b[o + 5]! & 0x10) !== 0) out.push(`${pidOf(b, i)}:${Buffer.from(b.subarray(o + 6, o + 12)).toString('hex')}`);
  }
  return out;
}

/** The first PMT section of a TS. */
function firstPmt(b: Uint8Array): Uint8Array {
  const { pmtPids } = readPrograms(b, b.length / PACKET);
  const a = new SectionAssembler();
  for (let i = 0; i * PACKET < b.length; i++) {
    if (pidOf(b, i) !== pmtPids[0]) continue;
    const start = payloadStart(b, i * PACKET, i);
    const [sec] = a.feed(b.subarray(start, (i + 1) * PACKET), (b[i * PACKET + 1]! & 0x40) !== 0);
    if (sec !== undefined) return sec;
  }
  throw new Error('no PMT');
}

/** A copy of `ts` whose PMT gives the stream on `pid` the stream type `type` (CRC recomputed). */
function withStreamType(ts: Buffer, pid: number, type: number): Buffer {
  const out = Buffer.from(ts);
  const pmtPid = readPrograms(ts, ts.length / PACKET).pmtPids[0]!;
  for (let i = 0; i * PACKET < out.length; i++) {
    if (pidOf(out, i) !== pmtPid) continue;
    const start = payloadStart(out, i * PACKET, i) + 1 + out[payloadStart(out, i * PACKET, i)]!;
    const length = 3 + (((out[start + 1]! & 0x0f) << 8) | out[start + 2]!);
    const sec = Uint8Array.from(out.subarray(start, start + length));
    const layout = readPmtEntries(sec)!;
    let p = layout.loopStart;
    for (const e of layout.entries) {
      if (e.pid === pid) sec[p] = type;
      p += 5 + e.descriptors.length;
    }
    out.set(section(sec.subarray(0, sec.length - 4)), start);
  }
  return out;
}

async function* fromParts(parts: Buffer[]): AsyncIterable<Buffer> {
  for (const p of parts) {
    await Promise.resolve();
    yield p;
  }
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of stream) out.push(b);
  return Buffer.concat(out);
}

/** `bytes` cut at the given offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(bytes.subarray(at, Math.min(c, bytes.length)));
    at = Math.min(c, bytes.length);
  }
  return parts;
}

function oneShot(bytes: Buffer, iv: Buffer): Buffer {
  const c = createCipheriv('aes-128-cbc', KEY, iv);
  return Buffer.concat([c.update(bytes), c.final()]);
}

/** framemd5 of what ffmpeg decodes from `input` (a playlist or a file in `dir`): one line per frame, and each stream's time base. */
function frames(dir: string, input: string): { status: number | null; lines: string[]; stderr: string; timeBase: number[] } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-allowed_extensions', 'ALL', '-i', input, '-f', 'framemd5', '-'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const timeBase: number[] = [];
  for (const m of r.stdout.matchAll(/^#tb (\d+): (\d+)\/(\d+)$/gm)) timeBase[Number(m[1])] = Number(m[2]) / Number(m[3]);
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')), stderr: r.stderr, timeBase };
}

/** The framemd5 lines whose presentation time (seconds) passes `keep`. */
function framesWhere(f: { lines: string[]; timeBase: number[] }, keep: (t: number) => boolean): string[] {
  return f.lines.filter((l) => {
    const [stream, , pts] = l.split(',').map((x) => Number(x.trim()));
    return keep(pts! * f.timeBase[stream!]!);
  });
}

function playlist(segments: { name: string; duration: number }[], key?: string): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:3', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
  if (key !== undefined) lines.push(key);
  for (const s of segments) lines.push(`#EXTINF:${s.duration.toFixed(3)},`, s.name);
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

describe('MPEG-TS encryption for HLS', { skip: NO_FFMPEG }, () => {
  let dir: string;
  /** Clear TS segments: ffmpeg's HLS muxer (H.264 + AAC) and the fMP4 → TS repackager. */
  const sources: Record<string, { name: string; duration: number; bytes: Buffer }[]> = {};
  /** What ffmpeg decodes from a source's clear playlist, decoded once. */
  const clearFrames = new Map<string, ReturnType<typeof frames>>();
  const clearOf = (source: string) => {
    let f = clearFrames.get(source);
    if (f === undefined) {
      writeFileSync(path.join(dir, `${source}-clear.m3u8`), playlist(sources[source]!));
      f = frames(dir, `${source}-clear.m3u8`);
      assert.equal(f.status, 0, f.stderr);
      clearFrames.set(source, f);
    }
    return f;
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-tsenc-'));
    writeFileSync(path.join(dir, 'key.bin'), KEY);
    writeFileSync(path.join(dir, 'wrong.bin'), WRONG_KEY);
    const av = ['-f', 'lavfi', '-i', 'testsrc2=size=192x108:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6'];
    const enc = ['-c:v', 'libx264', '-profile:v', 'high', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2'];
    run(dir, [...av, ...enc, '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', 'ff-%d.ts', 'ff.m3u8']);
    run(dir, [...av, ...enc, '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'mp4-init.mp4', '-hls_segment_filename', 'mp4-%d.m4s', 'mp4.m3u8']);
    for (const codec of ['ac3', 'eac3']) {
      // Audio-only renditions, as an encoder pushes Dolby audio beside the video.
      run(dir, ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:a', codec, '-ac', '2', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', `${codec}-%d.ts`, `${codec}.m3u8`]);
      sources[codec] = [0, 1, 2].map((i) => ({ name: `${codec}-${i}.ts`, duration: 2, bytes: readFileSync(path.join(dir, `${codec}-${i}.ts`)) }));
    }
    sources.ff = [0, 1, 2].map((i) => ({ name: `ff-${i}.ts`, duration: 2, bytes: readFileSync(path.join(dir, `ff-${i}.ts`)) }));
    const init = readFileSync(path.join(dir, 'mp4-init.mp4'));
    sources.repackaged = [0, 1, 2].map((i) => {
      const bytes = repackageFmp4(init, readFileSync(path.join(dir, `mp4-${i}.m4s`))).bytes;
      writeFileSync(path.join(dir, `rp-${i}.ts`), bytes);
      return { name: `rp-${i}.ts`, duration: 2, bytes };
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('AES-128: streamed output equals one-shot AES-128-CBC over the concatenation, for splits at odd offsets; aes128Length matches', async () => {
    const clear = sources.ff![0]!.bytes;
    const iv = sequenceIv(7);
    const expected = oneShot(clear, iv);
    const splits = [[], [1], [15, 16, 17], [187, 188 * 3 + 5, 188 * 3 + 6, clear.length - 1], [0, 0, 31, 31, 1000], Array.from({ length: 40 }, (_, i) => i * 97 + 3)];
    for (const cuts of splits) {
      const got = await collect(aes128Stream(fromParts(split(clear, cuts)), KEY, iv));
      assert.ok(got.equals(expected), `split at ${cuts.join(',')}`);
    }
    for (const n of [0, 1, 15, 16, 17, 31, 32, 188, clear.length]) {
      const bytes = clear.subarray(0, n);
      const got = await collect(aes128Stream(fromParts([bytes]), KEY, iv));
      assert.equal(got.length, aes128Length(n), `length for ${n} clear bytes`);
      assert.ok(got.equals(oneShot(bytes, iv)));
    }
    assert.equal(aes128Length(0), 16);
    assert.equal(aes128Length(16), 32);
    assert.equal(aes128Length(188 * 1000), 188 * 1000 + 16);
    // An empty segment still gets its padding block.
    assert.equal((await collect(aes128Stream(fromParts([]), KEY, iv))).length, 16);
  });

  test('sequenceIv: the media sequence number as a 128-bit big-endian integer', () => {
    assert.equal(sequenceIv(0).toString('hex'), '0'.repeat(32));
    assert.equal(sequenceIv(1).toString('hex'), '0'.repeat(31) + '1');
    assert.equal(sequenceIv(0x0102030405).toString('hex'), '0'.repeat(22) + '0102030405');
    assert.equal(sequenceIv(Number.MAX_SAFE_INTEGER).toString('hex'), '0'.repeat(18) + '1fffffffffffff');
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => sequenceIv(bad), TsEncryptError);
    for (const bad of [-1, 0.5, Number.POSITIVE_INFINITY]) assert.throws(() => aes128Length(bad), TsEncryptError);
  });

  test('AES-128: a bad key or IV length is refused before any byte is produced', async () => {
    await assert.rejects(collect(aes128Stream(fromParts([Buffer.alloc(188)]), Buffer.alloc(15), sequenceIv(0))), (e: unknown) => e instanceof TsEncryptError && /16 bytes, not 15/.test(e.message));
    await assert.rejects(collect(aes128Stream(fromParts([Buffer.alloc(188)]), KEY, Buffer.alloc(8))), (e: unknown) => e instanceof TsEncryptError && /initialization vector/.test(e.message));
  });

  for (const source of ['ff', 'repackaged']) {
    test(`AES-128: ffmpeg decodes ${source === 'ff' ? "ffmpeg's" : "the fMP4 → TS repackager's"} segments, encrypted in chunks, to the clear frames (sequence-number IV and explicit IV)`, async () => {
      const segs = sources[source]!;
      const clear = clearOf(source);
      assert.ok(clear.lines.length > 400, `${clear.lines.length} frames`);
      for (const variant of ['seq', 'iv'] as const) {
        const encrypted = [];
        for (const [i, s] of segs.entries()) {
          // The chunks of an output segment: cut at packet boundaries and at odd offsets.
          const parts = split(s.bytes, [188 * 7, 188 * 7 + 13, 188 * 100 + 1]);
          const iv = variant === 'seq' ? sequenceIv(i) : EXPLICIT_IV;
          const bytes = await collect(aes128Stream(fromParts(parts), KEY, iv));
          assert.equal(bytes.length, aes128Length(s.bytes.length));
          const name = `${source}-${variant}-${i}.ts`;
          writeFileSync(path.join(dir, name), bytes);
          encrypted.push({ name, duration: s.duration });
        }
        const keyLine = (uri: string) => `#EXT-X-KEY:METHOD=AES-128,URI="${uri}"${variant === 'iv' ? `,IV=0x${EXPLICIT_IV.toString('hex')}` : ''}`;
        writeFileSync(path.join(dir, `${source}-${variant}.m3u8`), playlist(encrypted, keyLine('key.bin')));
        const got = frames(dir, `${source}-${variant}.m3u8`);
        assert.equal(got.status, 0, got.stderr);
        assert.deepEqual(got.lines, clear.lines, `${source} ${variant}: decoded frames differ from the clear input`);
        if (variant === 'seq') continue;
        // With the wrong key the segments do not decode to those frames.
        writeFileSync(path.join(dir, `${source}-${variant}-wrong.m3u8`), playlist(encrypted, keyLine('wrong.bin')));
        const wrong = frames(dir, `${source}-${variant}-wrong.m3u8`);
        assert.notDeepEqual(wrong.lines, clear.lines);
      }
    });
  }
  // ffmpeg's HLS reader decrypts SAMPLE-AES packets with the key and IV of the segment being read
  // when its TS demuxer hands them out, which runs a few frames behind: the frames it flushes after the
  // last segment are not decrypted at all, and with a different IV per segment the last frames of a
  // segment are decrypted with the next one's. So the playlists end with a third segment whose frames
  // are not compared, and with the media-sequence IV the frames within 0.3 s of a boundary are left out.
  for (const source of ['ff', 'repackaged']) {
    test(`SAMPLE-AES: ffmpeg decodes ${source === 'ff' ? "ffmpeg's" : "the fMP4 → TS repackager's"} segments to the clear frames, and not with a wrong key; PCRs stay, counters run`, () => {
      const segs = sources[source]!;
      const clear = clearOf(source);
      const start = Number(clear.lines[0]!.split(',')[2]) * clear.timeBase[0]!;
      for (const variant of ['iv', 'seq'] as const) {
        const encrypted = [];
        for (const [i, s] of segs.entries()) {
          const iv = variant === 'seq' ? sequenceIv(i) : EXPLICIT_IV;
          const bytes = sampleAesChunk(s.bytes, KEY, iv);
          assert.ok(bytes.equals(sampleAesChunk(s.bytes, KEY, iv)), 'deterministic');
          assert.ok(!bytes.equals(s.bytes));
          assertContinuity(bytes);
          assert.deepEqual(pcrs(bytes), pcrs(s.bytes), 'every PCR kept, in order');
          const name = `${source}-sa-${variant}-${i}.ts`;
          writeFileSync(path.join(dir, name), bytes);
          encrypted.push({ name, duration: s.duration });
        }
        const keyLine = (uri: string) => `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="${uri}"${variant === 'iv' ? `,IV=0x${EXPLICIT_IV.toString('hex')}` : ''}`;
        writeFileSync(path.join(dir, `${source}-sa-${variant}.m3u8`), playlist(encrypted, keyLine('key.bin')));
        const got = frames(dir, `${source}-sa-${variant}.m3u8`);
        assert.equal(got.status, 0, got.stderr);
        assert.equal(got.lines.length, clear.lines.length, `${source} ${variant}: frame count`);
        const compared = (t: number) => t < start + 4 && (variant === 'iv' || Math.abs(t - start - 2) > 0.3) && (variant === 'iv' || t < start + 3.7);
        const expected = framesWhere(clear, compared);
        assert.ok(expected.length > (variant === 'iv' ? 280 : 200), `${expected.length} frames compared`);
        assert.deepEqual(framesWhere(got, compared), expected, `${source} ${variant}: decoded frames differ from the clear input`);
        writeFileSync(path.join(dir, `${source}-sa-${variant}-wrong.m3u8`), playlist(encrypted, keyLine('wrong.bin')));
        const wrong = frames(dir, `${source}-sa-${variant}-wrong.m3u8`);
        const video = (lines: string[]) => lines.filter((l) => l.startsWith('0,'));
        const audio = (lines: string[]) => lines.filter((l) => l.startsWith('1,'));
        const wrongFrames = framesWhere(wrong, compared);
        assert.notDeepEqual(video(wrongFrames), video(expected), 'video decodes without the right key');
        assert.notDeepEqual(audio(wrongFrames), audio(expected), 'audio decodes without the right key');
      }
    });
  }

  test('SAMPLE-AES: encrypted bytes that emulate a start code are escaped (an IV chosen so that a slice encrypts to 00 00 01 …); ffmpeg decodes the clear frames', () => {
    const segs = sources.ff!;
    const seg = segs[0]!.bytes;
    const videoPid = readPrograms(seg, seg.length / PACKET).streams[0]!.pid;
    const collector = new PesCollector(videoPid);
    for (let i = 0; i * PACKET < seg.length; i++) if (pidOf(seg, i) === videoPid) collector.packet(seg, i * PACKET, i);
    collector.close();
    const es = Buffer.concat(collector.pes[0]!.data);
    const [start, end] = [...nalUnitRanges(es)].find(([s, e]) => [1, 5].includes(es[s]! & 0x1f) && e - s > 64)!;
    // The first encrypted block of that slice is bytes 32..48 of the NAL unit without emulation prevention.
    const plain = unescapeRbsp(es.subarray(start, end)).subarray(32, 48);
    const target = Buffer.from('000001000002000003000000aabbccdd', 'hex');
    const decrypted = createDecipheriv('aes-128-ecb', KEY, null).setAutoPadding(false).update(target);
    const iv = Buffer.from(decrypted.map((x, i) => x ^ plain[i]!));
    const encrypted = segs.map((s, i) => {
      const name = `epb-${i}.ts`;
      writeFileSync(path.join(dir, name), sampleAesChunk(s.bytes, KEY, iv));
      return { name, duration: s.duration };
    });
    assert.ok(readFileSync(path.join(dir, 'epb-0.ts')).includes(Buffer.from('01000003020000030300000300aabbccdd', 'hex')), 'the escaped block is in the segment');
    writeFileSync(path.join(dir, 'epb.m3u8'), playlist(encrypted, `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="key.bin",IV=0x${iv.toString('hex')}`));
    const clear = clearOf('ff');
    const got = frames(dir, 'epb.m3u8');
    assert.equal(got.status, 0, got.stderr);
    const first = Number(clear.lines[0]!.split(',')[2]) * clear.timeBase[0]!;
    const compared = (t: number) => t < first + 4;
    assert.deepEqual(framesWhere(got, compared), framesWhere(clear, compared));
  });

  for (const codec of ['ac3', 'eac3']) {
    test(`SAMPLE-AES: ${codec === 'ac3' ? 'AC-3' : 'E-AC-3'} audio decodes to the clear frames, not with a wrong key; the PMT says ${codec === 'ac3' ? '0xc1, ac3d, zac3' : '0xc2, ec3d, zec3'}`, () => {
      const segs = sources[codec]!;
      const encrypted = segs.map((s, i) => {
        const name = `${codec}-sa-${i}.ts`;
        const bytes = sampleAesChunk(s.bytes, KEY, EXPLICIT_IV);
        assertContinuity(bytes);
        writeFileSync(path.join(dir, name), bytes);
        return { name, duration: s.duration };
      });
      const pmt = readPmtEntries(firstPmt(readFileSync(path.join(dir, encrypted[0]!.name))))!;
      assert.equal(pmt.entries.length, 1);
      const d = Buffer.from(pmt.entries[0]!.descriptors);
      if (codec === 'ac3') {
        assert.equal(pmt.entries[0]!.streamType, 0xc1);
        // ac3d; apad + zac3, priming 0, version 1, the first 10 bytes of the first syncframe (it starts 0b 77).
        assert.equal(d.subarray(0, 20).toString('hex'), '0f04' + Buffer.from('ac3d').toString('hex') + '0516' + Buffer.from('apadzac3').toString('hex') + '0000010a');
        assert.equal(d.subarray(20, 22).toString('hex'), '0b77');
        assert.equal(d.length, 30);
      } else {
        assert.equal(pmt.entries[0]!.streamType, 0xc2);
        // ec3d; apad + zec3, priming 0, version 1, a 5-byte EC3SpecificBox: fscod 0 (48 kHz), bsid 16, acmod 2 (L R), no LFE.
        assert.equal(d.subarray(0, 20).toString('hex'), '0f04' + Buffer.from('ec3d').toString('hex') + '0511' + Buffer.from('apadzec3').toString('hex') + '00000105');
        assert.equal(d.subarray(22, 25).toString('hex'), '200400');
        assert.equal(d.length, 25);
      }
      const clear = clearOf(codec);
      const first = Number(clear.lines[0]!.split(',')[2]) * clear.timeBase[0]!;
      const compared = (t: number) => t < first + 4;
      const keyLine = (uri: string) => `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="${uri}",IV=0x${EXPLICIT_IV.toString('hex')}`;
      writeFileSync(path.join(dir, `${codec}-sa.m3u8`), playlist(encrypted, keyLine('key.bin')));
      const got = frames(dir, `${codec}-sa.m3u8`);
      assert.equal(got.status, 0, got.stderr);
      const expected = framesWhere(clear, compared);
      assert.ok(expected.length > 120, `${expected.length} frames compared`);
      assert.deepEqual(framesWhere(got, compared), expected);
      writeFileSync(path.join(dir, `${codec}-sa-wrong.m3u8`), playlist(encrypted, keyLine('wrong.bin')));
      assert.notDeepEqual(framesWhere(frames(dir, `${codec}-sa-wrong.m3u8`), compared), expected);
    });
  }

  test('SAMPLE-AES on CAVLC input (x264 ultrafast), whose slices hold emulation prevention bytes: decrypting each slice as the format says (unescape, decrypt, escape) gives back the clear stream byte for byte', () => {
    // ffmpeg's SAMPLE-AES reader leaves a decrypted NAL unit without its emulation prevention bytes, so it
    // cannot decode such slices to the clear frames; this checks the segments without it.
    run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-f', 'mpegts', 'cavlc.ts']);
    const clearTs = readFileSync(path.join(dir, 'cavlc.ts'));
    const encryptedTs = sampleAesChunk(clearTs, KEY, EXPLICIT_IV);
    const videoEs = (ts: Buffer) => {
      const pid = readPrograms(ts, ts.length / PACKET).streams[0]!.pid;
      const c = new PesCollector(pid);
      for (let i = 0; i * PACKET < ts.length; i++) if (pidOf(ts, i) === pid) c.packet(ts, i * PACKET, i);
      c.close();
      return c.pes.map((p) => Buffer.concat(p.data));
    };
    const escape = (raw: Uint8Array) => {
      const out: number[] = [];
      let zeros = 0;
      for (const b of raw) {
        if (zeros >= 2 && b <= 3) {
          out.push(3);
          zeros = 0;
        }
        out.push(b);
        zeros = b === 0 ? zeros + 1 : 0;
      }
      if (out[out.length - 1] === 0) out.push(3);
      return Buffer.from(out);
    };
    const decryptSlice = (nal: Uint8Array) => {
      const raw = Buffer.from(unescapeRbsp(nal));
      for (let p = 32, chain = EXPLICIT_IV; p < raw.length; ) {
        if (raw.length - p > 16) {
          const block = raw.subarray(p, p + 16);
          const next = Buffer.from(block);
          block.set(createDecipheriv('aes-128-cbc', KEY, chain).setAutoPadding(false).update(block));
          chain = next;
          p += 16;
        }
        p += Math.min(144, raw.length - p);
      }
      return escape(raw);
    };
    const clear = videoEs(clearTs);
    const encrypted = videoEs(encryptedTs);
    assert.equal(encrypted.length, clear.length);
    let withPrevention = 0;
    encrypted.forEach((es, k) => {
      const parts: Uint8Array[] = [];
      let copied = 0;
      for (const [start, end] of nalUnitRanges(es)) {
        const type = es[start]! & 0x1f;
        if ((type !== 1 && type !== 5) || end - start <= 48) continue;
        parts.push(es.subarray(copied, start), decryptSlice(es.subarray(start, end)));
        copied = end;
      }
      parts.push(es.subarray(copied));
      assert.ok(Buffer.concat(parts).equals(clear[k]!), `PES ${k} decrypts to the clear bytes`);
      for (const [start, end] of nalUnitRanges(clear[k]!)) if (unescapeRbsp(clear[k]!.subarray(start, end)).length !== end - start) withPrevention++;
    });
    assert.ok(withPrevention > 0, 'the clear stream has NAL units with emulation prevention bytes');
  });

  test('SAMPLE-AES: ffprobe reads the encrypted stream types; the PMT carries zavc, aacd and the apad audio setup', () => {
    const seg = sources.ff![0]!.bytes;
    const file = path.join(dir, 'probe-sa.ts');
    writeFileSync(file, sampleAesChunk(seg, KEY, sequenceIv(0)));
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_tag', '-of', 'json', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const streams = (JSON.parse(r.stdout) as { streams: { codec_name: string; codec_tag: string }[] }).streams;
    // The video's tag is its stream type; the audio's is the format identifier of its registration descriptor ('apad').
    assert.deepEqual(streams.map((s) => [s.codec_name, s.codec_tag]), [['h264', '0x00db'], ['aac', '0x64617061']]);
    const clearPmt = readPmtEntries(firstPmt(seg))!;
    const pmt = readPmtEntries(firstPmt(readFileSync(file)))!;
    assert.deepEqual(clearPmt.entries.map((e) => e.streamType), [0x1b, 0x0f]);
    assert.deepEqual(pmt.entries.map((e) => e.pid), clearPmt.entries.map((e) => e.pid));
    const [video, audio] = pmt.entries;
    assert.equal(video!.streamType, 0xdb);
    assert.equal(Buffer.from(video!.descriptors).toString('hex'), '0f04' + Buffer.from('zavc').toString('hex'));
    assert.equal(audio!.streamType, 0xcf);
    // private_data_indicator 'aacd'; registration 'apad' + audio_type 'zaac', priming 0, version 1, 2-byte AudioSpecificConfig (AAC LC, 48 kHz, stereo: 11 90).
    const apad = ['0f04', Buffer.from('aacd').toString('hex'), '050e', Buffer.from('apadzaac').toString('hex'), '0000', '01', '02', '1190'].join('');
    assert.equal(Buffer.from(audio!.descriptors).toString('hex'), apad);
  });

  test('SAMPLE-AES: refusals with one-line reasons (H.265, hostile chunks), never a crash or a partial result', () => {
    const seg = sources.ff![0]!.bytes;
    const refuses = (bytes: Buffer, reason: RegExp) =>
      assert.throws(
        () => sampleAesChunk(bytes, KEY, EXPLICIT_IV),
        (e: unknown) => {
          assert.ok(e instanceof TsEncryptError, `expected TsEncryptError, got ${String(e)}`);
          assert.match(e.message, reason);
          assert.ok(!e.message.includes('\n'));
          return true;
        },
      );
    // H.265, made by ffmpeg, and an H.264 stream relabelled as H.265.
    assert.ok(HAS_X265, 'libx265 is not available in this ffmpeg');
    run(dir, ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '1', '-c:v', 'libx265', '-x265-params', 'log-level=error', '-f', 'mpegts', 'hevc.ts']);
    refuses(readFileSync(path.join(dir, 'hevc.ts')), /H\.265, which HLS sample encryption of MPEG-TS does not define/);
    const videoPid = readPrograms(seg, seg.length / PACKET).streams[0]!.pid;
    refuses(withStreamType(seg, videoPid, 0x24), /PID \d+ carries H\.265/);
    refuses(withStreamType(seg, videoPid, 0xdb), /already sample-encrypted/);
    refuses(withStreamType(seg, videoPid, 0x02), /MPEG-2 video/);
    // Structure.
    refuses(seg.subarray(0, seg.length - 1), /not a whole number of 188-byte/);
    refuses(Buffer.alloc(0), /not a whole number/);
    const garbage = Buffer.alloc(PACKET * 4, 0x47);
    refuses(garbage, /PAT|PMT|PES|packet/);
    refuses(seg.subarray(2 * PACKET), /no PAT/);
    // A packet lost in the middle of a PES; the last packets cut off (a PES shorter than it declares or a
    // cut NAL stream); a chunk that begins inside a PES.
    const audioPid = readPrograms(seg, seg.length / PACKET).streams[1]!.pid;
    const packets = Array.from({ length: seg.length / PACKET }, (_, i) => seg.subarray(i * PACKET, (i + 1) * PACKET));
    const firstVideoContinuation = packets.findIndex((p, i) => i > 2 && pidOf(seg, i) === videoPid && (p[1]! & 0x40) === 0);
    refuses(Buffer.concat(packets.filter((_, i) => i !== firstVideoContinuation)), /missing before packet/);
    let cutAudio = packets.length;
    for (let i = packets.length - 1; i > 0; i--) {
      if (pidOf(seg, i) === audioPid && (packets[i]![1]! & 0x40) !== 0) {
        cutAudio = i + 1; // keep only the first packet of the last audio PES
        break;
      }
    }
    refuses(Buffer.concat([...packets.slice(0, cutAudio)]), /declares/);
    const pat = packets.find((_, i) => pidOf(seg, i) === 0)!;
    const pmt = packets.find((_, i) => pidOf(seg, i) === readPrograms(seg, packets.length).pmtPids[0])!;
    const midPes = packets.findIndex((p, i) => i > 10 && pidOf(seg, i) === videoPid && (p[1]! & 0x40) === 0);
    refuses(Buffer.concat([pat, pmt, ...packets.slice(midPes)]), /continues a PES that began before the chunk/);
    assert.throws(() => sampleAesChunk(seg, KEY, Buffer.alloc(8)), TsEncryptError);
  });

  test('SAMPLE-AES: seeded corruption of real segments gives encrypted output or TsEncryptError, nothing else', () => {
    const seg = sources.ff![1]!.bytes;
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const bad = Buffer.from(seg);
      const hits = 1 + Math.floor(random() * 20);
      for (let k = 0; k < hits; k++) {
        // Mostly the first packets (PSI, PES headers), some anywhere.
        const at = random() < 0.5 ? Math.floor(random() * 6 * PACKET) : Math.floor(random() * bad.length);
        bad[at] = Math.floor(random() * 256);
      }
      try {
        const out = sampleAesChunk(bad, KEY, EXPLICIT_IV);
        assert.equal(out.length % PACKET, 0, `seed ${seed}`);
      } catch (e) {
        assert.ok(e instanceof TsEncryptError, `seed ${seed}: ${String(e)}`);
        assert.ok(!e.message.includes('\n'));
      }
    }
  });
});
