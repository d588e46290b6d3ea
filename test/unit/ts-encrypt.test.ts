// MPEG-TS encryption for HLS (src/media/encrypt/ts-encrypt.ts), checked by ffmpeg's HLS reader:
// segments made by ffmpeg at test time (H.264 + AAC, and one from the fMP4 → TS repackager) are
// encrypted, written next to an HLS playlist that names the key file, and ffmpeg must decode the
// playlist to the same frames (framemd5) as the clear one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { TsEncryptError, aes128Length, aes128Stream, sequenceIv } from '../../src/media/encrypt/ts-encrypt.js';
import { repackageFmp4 } from '../../src/media/package/fmp4-to-ts.js';
import { NO_FFMPEG, run } from '../support/media-fixtures.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const WRONG_KEY = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');
const EXPLICIT_IV = Buffer.from('a1a2a3a4a5a6a7a8a9aaabacadaeafb0', 'hex');

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

/** framemd5 of what ffmpeg decodes from `input` (a playlist or a file in `dir`): one line per frame. */
function frames(dir: string, input: string): { status: number | null; lines: string[]; stderr: string } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-allowed_extensions', 'ALL', '-i', input, '-f', 'framemd5', '-'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')), stderr: r.stderr };
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

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'packhouse-tsenc-'));
    writeFileSync(path.join(dir, 'key.bin'), KEY);
    writeFileSync(path.join(dir, 'wrong.bin'), WRONG_KEY);
    const av = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4'];
    const enc = ['-c:v', 'libx264', '-profile:v', 'high', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2'];
    run(dir, [...av, ...enc, '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', 'ff-%d.ts', 'ff.m3u8']);
    run(dir, [...av, ...enc, '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'mp4-init.mp4', '-hls_segment_filename', 'mp4-%d.m4s', 'mp4.m3u8']);
    sources.ff = [0, 1].map((i) => ({ name: `ff-${i}.ts`, duration: 2, bytes: readFileSync(path.join(dir, `ff-${i}.ts`)) }));
    const init = readFileSync(path.join(dir, 'mp4-init.mp4'));
    sources.repackaged = [0, 1].map((i) => {
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
      writeFileSync(path.join(dir, `${source}-clear.m3u8`), playlist(segs));
      const clear = frames(dir, `${source}-clear.m3u8`);
      assert.equal(clear.status, 0, clear.stderr);
      assert.ok(clear.lines.length > 150, `${clear.lines.length} frames`);
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
        // With the wrong key the segments do not decode to those frames.
        writeFileSync(path.join(dir, `${source}-${variant}-wrong.m3u8`), playlist(encrypted, keyLine('wrong.bin')));
        const wrong = frames(dir, `${source}-${variant}-wrong.m3u8`);
        assert.notDeepEqual(wrong.lines, clear.lines);
      }
    });
  }
});
