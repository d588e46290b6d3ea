/**
 * CMAF encryption throughput: MB of fragment per second on one core for encryptFragment with cenc
 * and cbcs (src/media/encrypt/cmaf-encrypt.ts), the work an encrypted CMAF endpoint adds per
 * segment. Baseline in the same run: a plain copy of the same bytes (Buffer.from). The fragments
 * are made once by ffmpeg: 6 s of 1280x720 H.264 at 4 Mb/s with AAC, and 2 s of 320x180 at 600 kb/s.
 *
 *   npm run build && node dist/bench/encrypt.js [--rounds 30]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRM_SYSTEM_IDS, encryptFragment, psshBox, uuidBytes, type CmafScheme } from '../src/media/encrypt/cmaf-encrypt.js';
import { medianRate } from './timing.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 30);

const measure = (bytes: number, fn: () => unknown) => medianRate(bytes, ROUNDS, fn);

const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-encrypt-'));
try {
  const kid = Buffer.alloc(16, 0x11);
  const enc = (scheme: CmafScheme) => ({
    scheme,
    kid,
    key: Buffer.alloc(16, 0x22),
    iv: Buffer.alloc(scheme === 'cenc' ? 8 : 16, 0x33),
    pssh: [psshBox(uuidBytes(DRM_SYSTEM_IDS.W3C_COMMON), Buffer.alloc(0), [kid])],
    includePsshInFragments: true,
  });
  const rows: string[] = [];
  for (const [label, size, seconds, bitrate] of [
    ['720p, 6 s, 4 Mb/s', '1280x720', 6, '4M'],
    ['180p, 2 s, 600 kb/s', '320x180', 2, '600k'],
  ] as const) {
    const name = size.replace('x', '_');
    execFileSync('ffmpeg', [
      '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', bitrate, '-g', '60', '-c:a', 'aac',
      '-f', 'hls', '-hls_time', String(seconds), '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod',
      '-hls_fmp4_init_filename', `${name}-init.mp4`, '-hls_segment_filename', `${name}-%d.m4s`, `${name}.m3u8`,
    ], { cwd: dir });
    const init = readFileSync(join(dir, `${name}-init.mp4`));
    const frag = readFileSync(join(dir, `${name}-0.m4s`));
    const copy = await measure(frag.length, () => Buffer.from(frag));
    for (const scheme of ['cenc', 'cbcs'] as const) {
      const e = enc(scheme);
      const r = await measure(frag.length, () => encryptFragment(frag, init, e));
      rows.push(`| ${label} | ${scheme} | ${(frag.length / 1e6).toFixed(2)} | ${r.mbps.toFixed(0)} | ${r.ms.toFixed(2)} | ${copy.mbps.toFixed(0)} | ${(r.ms / copy.ms).toFixed(0)} |`);
    }
  }
  console.log(`CMAF encryption, one core, median of ${ROUNDS} runs (baseline: Buffer.from of the same fragment)\n`);
  console.log('| fragment | scheme | MB | MB/s | ms per fragment | copy MB/s | ratio ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
