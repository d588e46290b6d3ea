/**
 * TS encryption throughput on one core: MB of segment per second for whole-segment AES-128
 * (aes128Stream over the segment in 64 KiB chunks) and SAMPLE-AES (sampleAesChunk re-muxing the
 * segment), against a plain copy of the same bytes in the same run. The segments are made once by
 * ffmpeg: 6 s of 1280x720 H.264 at 4 Mb/s with AAC, and 2 s of 320x180 at 600 kb/s.
 *
 *   npm run build && node dist/bench/ts-encrypt.js [--rounds 30]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aes128Stream, sampleAesChunk, sequenceIv } from '../src/media/encrypt/ts-encrypt.js';
import { medianRate } from './timing.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 30);
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

const measure = (bytes: number, fn: () => unknown) => medianRate(bytes, ROUNDS, fn);

async function* chunks(b: Buffer): AsyncIterable<Buffer> {
  for (let at = 0; at < b.length; at += 65536) yield b.subarray(at, at + 65536);
}

async function aes128(b: Buffer): Promise<number> {
  let n = 0;
  for await (const out of aes128Stream(chunks(b), KEY, sequenceIv(1))) n += out.length;
  return n;
}

async function copy(b: Buffer): Promise<number> {
  let n = 0;
  for await (const c of chunks(b)) n += Buffer.from(c).length;
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-tsenc-'));
try {
  const rows: string[] = [];
  for (const [label, size, seconds, bitrate] of [
    ['720p, 6 s, 4 Mb/s', '1280x720', 6, '4M'],
    ['180p, 2 s, 600 kb/s', '320x180', 2, '600k'],
  ] as const) {
    const name = size.replace('x', '_');
    execFileSync('ffmpeg', [
      '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', bitrate, '-g', '60', '-c:a', 'aac',
      '-f', 'hls', '-hls_time', String(seconds), '-hls_playlist_type', 'vod', '-hls_segment_filename', `${name}-%d.ts`, `${name}.m3u8`,
    ], { cwd: dir });
    const ts = readFileSync(join(dir, `${name}-0.ts`));
    const base = await measure(ts.length, () => copy(ts));
    const whole = await measure(ts.length, () => aes128(ts));
    const sample = await measure(ts.length, () => sampleAesChunk(ts, KEY, sequenceIv(1)));
    rows.push(`| ${label} | ${(ts.length / 1e6).toFixed(2)} | ${base.mbps.toFixed(0)} | ${whole.mbps.toFixed(0)} (${whole.ms.toFixed(1)} ms) | ${sample.mbps.toFixed(0)} (${sample.ms.toFixed(1)} ms) |`);
  }
  console.log(`TS encryption, one core, median of ${ROUNDS} runs (baseline: a copy of the same bytes in 64 KiB chunks)\n`);
  console.log('| segment | MB | copy MB/s | AES-128 MB/s | SAMPLE-AES MB/s |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
