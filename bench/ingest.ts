/**
 * Ingest capacity benchmark: how many live channels one Packhouse process ingests while keeping
 * ingest-to-playlist latency under one second at p99, and the memory each channel costs.
 *
 * Each synthetic channel behaves like an HLS encoder with 2-second MPEG-TS segments (a real
 * segment made once by ffmpeg): every 2 s it PUTs the next segment, then its media playlist with
 * PROGRAM-DATE-TIME, then a player GETs the origin's live playlist. Latency is measured from the
 * start of the segment upload to the moment the origin's playlist lists it. The channel count
 * doubles until p99 passes one second (or the ceiling is reached). Baseline: the same cycle for a
 * single channel in the same run.
 *
 * With `--cmaf`, every channel also has a CMAF endpoint (its fragments repackaged from the TS at
 * ingest) and a cycle ends when both endpoints' playlists list the segment. With `--renditions N`
 * each channel is N renditions (N media playlists, each with its own segments, uploaded side by
 * side as an encoder's ladder is) and a cycle ends when every rendition's playlist lists its segment.
 *
 *   npm run build && node dist/bench/ingest.js [--seconds 12] [--max-channels 256] [--from-channels 2] [--cmaf] [--renditions 1]
 *
 * Each step also prints the process's CPU time (all threads: user + system) as a share of one
 * core over the step's wall time, and the machine's 1-minute load average at its end.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
const SECONDS = opt('--seconds', 12);
const MAX = opt('--max-channels', 256);
/** First channel count after the one-channel baseline (the doubling starts here). */
const FROM = opt('--from-channels', 2);
const SEG_S = 2;
const CMAF = args.includes('--cmaf');
/** Renditions per channel (the unit is a three-rendition channel). */
const RENDITIONS = Math.max(1, opt('--renditions', 1));
/** Rendition r's playlist (and the origin's child manifest name); one rendition keeps the old names. */
const renditionName = (r: number) => (RENDITIONS === 1 ? 'video' : `video${r}`);
const ENDPOINTS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'ts', pattern: /_(\d+)\.ts\s*$/ },
  ...(CMAF ? [{ name: 'cmaf', pattern: /_(\d+)\.mp4\s*$/ }] : []),
];

const agent = new Agent({ keepAlive: true, maxSockets: 512 });

function http(method: string, url: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function makeSegment(dir: string): Buffer {
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', String(SEG_S), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '1500k', '-c:a', 'aac', '-f', 'mpegts', join(dir, 'seg.ts')]);
  return readFileSync(join(dir, 'seg.ts'));
}

/** One synthetic channel: upload, announce, then poll the origin until the segment is listed (in every rendition). */
async function runChannel(base: string, group: string, name: string, segment: Buffer, deadline: number, latencies: number[]): Promise<void> {
  const listed: { n: number; pdt: number }[] = [];
  let n = 0;
  let next = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    // The segment covers the SEG_S seconds before its scheduled upload: consecutive segments are
    // contiguous however late an upload finishes (a time taken after the upload made an overloaded
    // cycle's segment overlap the previous one, which was then dropped as its redundant copy).
    const pdt = next - SEG_S * 1000;
    next += SEG_S * 1000;
    const t0 = performance.now();
    listed.push({ n, pdt });
    const window = listed.slice(-6);
    const prefix = '@RENDITION@_';
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${SEG_S}`,
      `#EXT-X-MEDIA-SEQUENCE:${window[0]!.n}`,
      ...window.flatMap((s) => [`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.pdt).toISOString()}`, `#EXTINF:${SEG_S}.000,`, `${prefix}seg_${s.n}.ts`]),
    ].join('\n');
    // Each rendition's segment, then its playlist; the renditions side by side.
    await Promise.all(
      Array.from({ length: RENDITIONS }, async (_, r) => {
        const put = await http('PUT', `${base}/in/v1/${group}/1/${name}/${renditionName(r)}_seg_${n}.ts`, segment);
        if (put.status >= 300) throw new Error(`segment PUT ${put.status}: ${put.text}`);
        const text = playlist.replaceAll(prefix, `${renditionName(r)}_`);
        const pl = await http('PUT', `${base}/in/v1/${group}/1/${name}/${renditionName(r)}.m3u8`, Buffer.from(`${text}\n`));
        if (pl.status >= 300) throw new Error(`playlist PUT ${pl.status}: ${pl.text}`);
      }),
    );
    // The player's view: poll each endpoint's live playlist of each rendition until this segment is in it.
    for (const ep of ENDPOINTS.flatMap((e) => Array.from({ length: RENDITIONS }, (_, r) => ({ ...e, rendition: renditionName(r) })))) {
      for (;;) {
        const out = await http('GET', `${base}/out/v1/${group}/${name}/${ep.name}/index_${ep.rendition}.m3u8`);
        const last = ep.pattern.exec(out.text.trim());
        if (out.status === 200 && last && Number(last[1]) >= n + 1) break;
        // Overloaded: count it at its 10 s and go on, so the step still reports.
        if (performance.now() - t0 > 10_000) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    latencies.push(performance.now() - t0);
    n++;
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-ingest-'));
  const segment = makeSegment(dir);
  const config = loadConfig(
    ['--port', '0', '--s3-port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'silent', '--quota-channel-groups', '100', '--quota-channels-per-group', '1000'],
    {},
  );
  const app = await startApp(config, { logger: pino({ level: 'silent' }) });
  const mp = new MediaPackageV2Client({ endpoint: app.url, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' } });
  console.log(`ingest benchmark${CMAF ? ' (a TS and a CMAF endpoint per channel)' : ''}, ${RENDITIONS} rendition(s) per channel: ${SECONDS} s per step, ${SEG_S} s TS segments of ${(segment.length / 1024).toFixed(0)} KiB, node ${process.version}`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('channels  cycles  p50 ms  p99 ms | 1-channel p99 ms | ratio p99 | RSS MB  RSS per channel MB | process CPU % | load 1 min');
  let created = 0;
  const ensure = async (group: string, count: number) => {
    for (; created < count; created++) {
      const name = `ch${created}`;
      await mp.send(new CreateChannelCommand({ ChannelGroupName: group, ChannelName: name }));
      for (const ep of ENDPOINTS) {
        await mp.send(new CreateOriginEndpointCommand({ ChannelGroupName: group, ChannelName: name, OriginEndpointName: ep.name, ContainerType: ep.name === 'ts' ? 'TS' : 'CMAF', StartoverWindowSeconds: 60, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index' }] }));
      }
    }
  };
  await mp.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
  const step = async (count: number) => {
    await ensure('bench', count);
    const latencies: number[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: count }, (_, i) => runChannel(app.url, 'bench', `ch${i}`, segment, deadline, latencies)));
    return latencies;
  };
  const rss0 = process.memoryUsage().rss;
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  const single = await step(1);
  const base99 = pct(single, 0.99);
  for (let count = 1; count <= MAX; count = count === 1 ? Math.max(2, FROM) : count * 2) {
    if (count !== 1) {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    }
    const lat = count === 1 ? single : await step(count);
    const used = process.cpuUsage(cpu0);
    const cpuPct = ((used.user + used.system) / 1000 / (performance.now() - wall0)) * 100;
    const rss = process.memoryUsage().rss;
    const p99 = pct(lat, 0.99);
    console.log(
      `${String(count).padStart(8)} ${String(lat.length).padStart(7)} ${pct(lat, 0.5).toFixed(1).padStart(7)} ${p99.toFixed(1).padStart(7)} | ${base99.toFixed(1).padStart(16)} | ${(p99 / base99).toFixed(2).padStart(9)} | ${(rss / 1e6).toFixed(0).padStart(6)} ${((rss - rss0) / 1e6 / count).toFixed(2).padStart(19)} | ${cpuPct.toFixed(0).padStart(13)} | ${loadavg()[0]!.toFixed(2)}`,
    );
    if (p99 > 1000) break;
  }
  agent.destroy();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
