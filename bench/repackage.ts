/**
 * Repackaging throughput: MB of input per second on one core for TS → CMAF (repackageTs) and
 * fMP4 → TS (repackageFmp4), the work ingest does once per segment (docs/design/010-packager.md).
 * Baseline in the same run: the TS reader ingest ran before repackaging existed (readTsSegment).
 * The segments are made once by ffmpeg: 6 s of 1280x720 H.264 at 4 Mb/s with AAC, and 2 s of
 * 320x180 at 600 kb/s (the tests' ladder), in both containers.
 *
 *   npm run build && node dist/bench/repackage.js [--rounds 30]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTsSegment } from '../src/media/container/mpegts.js';
import { repackageTs } from '../src/media/package/ts-to-cmaf.js';
import { repackageFmp4 } from '../src/media/package/fmp4-to-ts.js';
import { medianRate } from './timing.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 30);

function ffmpeg(cwd: string, size: string, seconds: number, bitrate: string, type: 'mpegts' | 'fmp4', name: string): void {
  execFileSync('ffmpeg', [
    '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', bitrate, '-g', '60', '-c:a', 'aac',
    '-f', 'hls', '-hls_time', String(seconds), '-hls_segment_type', type, '-hls_playlist_type', 'vod',
    '-hls_fmp4_init_filename', `${name}-init.mp4`, '-hls_segment_filename', `${name}-%d.${type === 'fmp4' ? 'm4s' : 'ts'}`, `${name}.m3u8`,
  ], { cwd });
}

const measure = (bytes: number, fn: () => unknown) => medianRate(bytes, ROUNDS, fn);

const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-repack-'));
try {
  const rows: string[] = [];
  for (const [label, size, seconds, bitrate] of [
    ['720p, 6 s, 4 Mb/s', '1280x720', 6, '4M'],
    ['180p, 2 s, 600 kb/s', '320x180', 2, '600k'],
  ] as const) {
    const name = size.replace('x', '_');
    ffmpeg(dir, size, seconds, bitrate, 'mpegts', `${name}-ts`);
    ffmpeg(dir, size, seconds, bitrate, 'fmp4', `${name}-f`);
    const ts = readFileSync(join(dir, `${name}-ts-0.ts`));
    const init = readFileSync(join(dir, `${name}-f-init.mp4`));
    const frag = readFileSync(join(dir, `${name}-f-0.m4s`));
    const probe = await measure(ts.length, () => readTsSegment(ts));
    const toCmaf = await measure(ts.length, () => repackageTs(ts));
    const toTs = await measure(frag.length, () => repackageFmp4(init, frag));
    rows.push(`| ${label} | TS → CMAF | ${(ts.length / 1e6).toFixed(2)} | ${toCmaf.mbps.toFixed(0)} | ${toCmaf.ms.toFixed(1)} | ${probe.mbps.toFixed(0)} | ${(toCmaf.ms / probe.ms).toFixed(1)} |`);
    rows.push(`| ${label} | fMP4 → TS | ${(frag.length / 1e6).toFixed(2)} | ${toTs.mbps.toFixed(0)} | ${toTs.ms.toFixed(1)} | ${probe.mbps.toFixed(0)} | ${(toTs.ms / probe.ms).toFixed(1)} |`);
  }
  console.log(`Repackaging, one core, median of ${ROUNDS} runs (baseline: readTsSegment of the same TS segment)\n`);
  console.log('| segment | direction | MB | MB/s | ms per segment | baseline MB/s | ratio ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
