/**
 * Origin cost of repackaged segments: one channel fed MPEG-TS by HTTP PUT (a real 2 s segment made
 * once by ffmpeg), read through a TS endpoint (the input's bytes as they came) and a CMAF endpoint
 * (the fragments the packager wrote at ingest, docs/design/010-packager.md). Clients fetch every
 * segment the two media playlists list, back to back at the given concurrency, in alternating
 * rounds (pass-through, repackaged, pass-through, ...) so that the machine's noise falls on both.
 * Prints requests per second, MB/s and p99 of each, and the repackaged/pass-through ratios.
 *
 *   npm run build && node dist/bench/repackaged-origin.js [--seconds 2] [--rounds 3] [--concurrency 8] [--segments 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import pino from 'pino';
import { CreateChannelCommand, CreateChannelGroupCommand, CreateOriginEndpointCommand, MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('--seconds', 2);
const ROUNDS = opt('--rounds', 3);
const CONCURRENCY = opt('--concurrency', 8);
const SEGMENTS = opt('--segments', 10);
const SEG_S = 2;

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function http(method: string, url: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

interface Tally {
  requests: number;
  bytes: number;
  ms: number;
  latencies: number[];
}

/** CONCURRENCY clients fetching `urls` round-robin for SECONDS; adds to `t`. */
async function load(urls: readonly string[], t: Tally): Promise<void> {
  const until = performance.now() + SECONDS * 1000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const url = urls[next++ % urls.length]!;
        const s = performance.now();
        const r = await http('GET', url);
        if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.toString('utf8')}`);
        t.latencies.push(performance.now() - s);
        t.requests++;
        t.bytes += r.body.length;
      }
    }),
  );
  t.ms += performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-repackaged-'));
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', String(SEG_S), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '1500k', '-c:a', 'aac', '-f', 'mpegts', join(dir, 'seg.ts')]);
  const segment = readFileSync(join(dir, 'seg.ts'));
  const config = loadConfig(['--port', '0', '--s3-port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'silent'], {});
  const app = await startApp(config, { logger: pino({ level: 'silent' }) });
  try {
    const mp = new MediaPackageV2Client({ endpoint: app.url, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' } });
    await mp.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
    await mp.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' }));
    for (const [name, type] of [['ts', 'TS'], ['cmaf', 'CMAF']] as const) {
      await mp.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'bench', ChannelName: 'ch', OriginEndpointName: name, ContainerType: type, StartoverWindowSeconds: 600, Segment: { SegmentDurationSeconds: SEG_S }, HlsManifests: [{ ManifestName: 'index' }] }));
    }
    // SEGMENTS segments of the one 2 s TS file, the last ending now, announced by one playlist.
    const now = Date.now();
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEG_S}`, '#EXT-X-MEDIA-SEQUENCE:0'];
    for (let n = 0; n < SEGMENTS; n++) {
      const put = await http('PUT', `${app.url}/in/v1/bench/1/ch/seg_${n}.ts`, segment);
      if (put.status >= 300) throw new Error(`segment PUT ${put.status}: ${put.body.toString('utf8')}`);
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(now - (SEGMENTS - n) * SEG_S * 1000).toISOString()}`, `#EXTINF:${SEG_S}.000,`, `seg_${n}.ts`);
    }
    const pl = await http('PUT', `${app.url}/in/v1/bench/1/ch/video.m3u8`, Buffer.from(`${lines.join('\n')}\n`));
    if (pl.status >= 300) throw new Error(`playlist PUT ${pl.status}: ${pl.body.toString('utf8')}`);
    // The segment URLs each endpoint's media playlist lists (for CMAF, with its init segment).
    const urlsOf = async (ep: string): Promise<string[]> => {
      const base = `${app.url}/out/v1/bench/ch/${ep}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await http('GET', `${base}/index_video.m3u8`);
        const text = r.body.toString('utf8');
        const uris = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        if (r.status === 200 && uris.length >= SEGMENTS - 2) return uris.map((u) => `${base}/${u}`);
        if (Date.now() > deadline) throw new Error(`${ep}: the playlist did not list the segments: ${r.status} ${text}`);
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    const passThrough = await urlsOf('ts');
    const repackaged = await urlsOf('cmaf');
    const a: Tally = { requests: 0, bytes: 0, ms: 0, latencies: [] };
    const b: Tally = { requests: 0, bytes: 0, ms: 0, latencies: [] };
    await load(passThrough, { requests: 0, bytes: 0, ms: 0, latencies: [] }); // warm-up
    for (let i = 0; i < ROUNDS; i++) {
      await load(passThrough, a);
      await load(repackaged, b);
    }
    const row = (label: string, t: Tally) =>
      `| ${label} | ${(t.bytes / t.requests / 1024).toFixed(0)} | ${((t.requests * 1000) / t.ms).toFixed(0)} | ${((t.bytes / 1e6) * 1000 / t.ms).toFixed(0)} | ${pct(t.latencies, 0.5).toFixed(2)} | ${pct(t.latencies, 0.99).toFixed(2)} |`;
    console.log(`Segment requests, ${SEGMENTS} segments of ${(segment.length / 1024).toFixed(0)} KiB TS, concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds of ${SECONDS} s, node ${process.version}\n`);
    console.log('| endpoint | KiB per request | req/s | MB/s | p50 ms | p99 ms |');
    console.log('|---|---|---|---|---|---|');
    console.log(row('TS over TS input (pass-through)', a));
    console.log(row('CMAF over TS input (repackaged)', b));
    const rate = (t: Tally) => (t.requests * 1000) / t.ms;
    console.log(`\nratio repackaged / pass-through: req/s ${(rate(b) / rate(a)).toFixed(2)}, MB/s ${((b.bytes / b.ms) / (a.bytes / a.ms)).toFixed(2)}, p99 ${(pct(b.latencies, 0.99) / pct(a.latencies, 0.99)).toFixed(2)}`);
  } finally {
    agent.destroy();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
