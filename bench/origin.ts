/**
 * Origin benchmark: manifest rendering for an endpoint whose channel holds a 24-hour startover
 * window of 2-second segments (3 renditions, 43,200 segments each), against serving a segment file
 * of the same size from the same server in the same run. Prints requests per second and p99 latency
 * of each, and their ratio. Then one live channel's ingest-to-playlist latency, idle and while eight
 * clients on another thread fetch 24-hour playlists of another start each time, back to back.
 *
 *   npm run build && node dist/bench/origin.js [--seconds 3] [--concurrency 8] [--ingest-seconds 12] [--render-threads 1] [--render-thread-nice 10] [--only-ingest]
 *                                              [--rows-while-ingesting]
 *                                              [--postgres [--nodes 2]]
 *
 * With --postgres the node keeps its timeline in PostgreSQL and its segments in the S3 segment
 * store; with --nodes N as well, N such nodes share both, and every request (manifests, baseline
 * files, the ingest's uploads and polls, the load's fetches) goes to the next node in turn.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CreateChannelCommand, CreateOriginEndpointCommand } from '@aws-sdk/client-mediapackagev2';
import { SEG_MS, clusterFlags, clusterLabel, startBenchChannel } from './support.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('--seconds', 3);
const CONCURRENCY = opt('--concurrency', 8);
const SEGMENTS = 43_200;
const INGEST_SECONDS = opt('--ingest-seconds', 12);
/** Threads writing long playlists' lines (the server's --render-threads). */
const RENDER_THREADS = opt('--render-threads', 1);
/** Nice steps below the process for those threads (the server's --render-thread-nice). */
const RENDER_NICE = opt('--render-thread-nice', 10);
/** Only the ingest part (no table of requests). */
const ONLY_INGEST = args.includes('--only-ingest');
/**
 * The table's requests measured while the live channel's encoder uploads a segment every 2 s, as
 * on a node that takes in a stream (long playlists then keep to their share: playlist-renderer.ts).
 */
const ROWS_WHILE_INGESTING = args.includes('--rows-while-ingesting');
const CLUSTER = clusterFlags(args);
/** Where a request on the first node goes: the next node in turn (set once the nodes run). */
let spread = (url: string) => url;

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

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

/**
 * An encoder's cycle on one live channel (as bench/ingest.ts): every 2 s PUT the next TS segment and
 * the playlist naming it, then poll the origin's live playlist until it lists the segment. Returns
 * each cycle's latency from the start of the upload to the playlist listing it.
 */
async function ingestLatencies(base: string, segment: Buffer, first: number, seconds: number, epochMs: number, stop?: () => boolean): Promise<number[]> {
  const lat: number[] = [];
  const listed: { n: number; pdt: number }[] = [];
  let n = first;
  const deadline = Date.now() + seconds * 1000;
  while (stop ? !stop() : Date.now() < deadline) {
    // Segment n covers [epoch + 2n s, epoch + 2(n + 1) s) and is uploaded when it ends, as a live
    // encoder does: one timeline across both phases, whatever the requests cost.
    const pdt = epochMs + n * 2000;
    await new Promise((r) => setTimeout(r, Math.max(0, pdt + 2000 - Date.now())));
    const t0 = performance.now();
    const put = await http('PUT', spread(`${base}/in/v1/bench/1/live/seg_${n}.ts`), segment);
    if (put.status >= 300) throw new Error(`segment PUT ${put.status}: ${put.text}`);
    listed.push({ n, pdt });
    const window = listed.slice(-6);
    const playlist = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${window[0]!.n}`, ...window.flatMap((s) => [`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.pdt).toISOString()}`, '#EXTINF:2.000,', `seg_${s.n}.ts`])];
    const tSeg = performance.now() - t0;
    const pl = await http('PUT', spread(`${base}/in/v1/bench/1/live/video.m3u8`), Buffer.from(`${playlist.join('\n')}\n`));
    if (process.env.BENCH_DEBUG) console.error(`segment ${n}: PUT ${tSeg.toFixed(0)} ms, playlist PUT ${(performance.now() - t0 - tSeg).toFixed(0)} ms`);
    if (pl.status >= 300) throw new Error(`playlist PUT ${pl.status}: ${pl.text}`);
    for (;;) {
      const out = await http('GET', spread(`${base}/out/v1/bench/live/ts/index_video.m3u8`));
      const last = /_(\d+)\.ts\s*$/.exec(out.text.trim());
      if (out.status === 200 && last && Number(last[1]) >= n + 1) break;
      if (performance.now() - t0 > 10_000) {
        if (process.env.BENCH_DEBUG) console.error(`segment ${n} not listed after 10 s: HTTP ${out.status} ${out.text}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    lat.push(performance.now() - t0);
    n++;
  }
  return lat;
}

const pct = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

let requestNo = 0;

/**
 * Clients on a worker thread fetching 24-hour playlists of another start each time, back to back,
 * until told to stop; they answer 'ready' once started and then the number of playlists fetched.
 * On several nodes (`workerData.nodes`, the first is the URL's), each fetch goes to the next in turn.
 */
const LOAD_CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let stop = false, fetched = 0, n = 0, turn = 0;
const nodes = workerData.nodes;
const onNode = (url) => nodes.length > 1 ? nodes[turn++ % nodes.length] + url.slice(nodes[0].length) : url;
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, { agent }, (res) => { res.on('data', () => {}); res.on('end', resolve); }).on('error', reject);
});
parentPort.on('message', () => { stop = true; });
parentPort.postMessage('ready');
Promise.all(Array.from({ length: workerData.clients }, async () => {
  while (!stop) {
    const url = workerData.same ? workerData.url : workerData.url.replace(/start=(\\d+)/, (_, v) => 'start=' + (Number(v) + 2 * (n++ % 600)));
    await get(onNode(url));
    fetched++;
  }
})).then(() => { parentPort.postMessage(fetched); agent.destroy(); });
`;

/** A URL, or one per request (so that each request is a cache miss). */
async function measure(target: string | ((n: number) => string)): Promise<{ rps: number; p99: number; bytes: number; cpuMs: number }> {
  const url = typeof target === 'string' ? () => target : target;
  const lat: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      bytes = await get(spread(url(requestNo++)));
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  // CPU time of this process (server and client) per request: steadier than rates on a shared machine.
  return { rps: lat.length / elapsed, p99: lat[Math.floor(lat.length * 0.99)] ?? 0, bytes, cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, lat.length) };
}

async function main(): Promise<void> {
  const bench = await startBenchChannel({ name: 'origin', startoverSeconds: 86_400, args: ['--render-threads', String(RENDER_THREADS), '--render-thread-nice', String(RENDER_NICE)], cluster: CLUSTER });
  spread = bench.spread;
  const { blobs, cid } = bench;
  const now = Date.now();
  const first = now - SEGMENTS * SEG_MS;
  const renditions = [
    { id: 'video_hi', kind: 'video' as const, codecs: 'avc1.64001f', bandwidth: 3_000_000, width: 1280, height: 720, timescale: 90_000 },
    { id: 'video_lo', kind: 'video' as const, codecs: 'avc1.64001e', bandwidth: 800_000, width: 640, height: 360, timescale: 90_000 },
    { id: 'audio', kind: 'audio' as const, codecs: 'mp4a.40.2', bandwidth: 128_000, sampleRate: 48_000, channels: 2, timescale: 48_000 },
  ];
  const t0 = performance.now();
  await bench.fill(renditions, { count: SEGMENTS, endMs: now, bytes: 500_000, initKey: (id) => `media/${cid}/${id}/init-0000000000000000.mp4` });
  console.log(`timeline filled: ${renditions.length} x ${SEGMENTS} segments in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const base = bench.base;
  const hour = `start=${Math.round((now - 7_200_000) / 1000)}&end=${Math.round((now - 3_600_000) / 1000)}`;
  // The day held, less a minute at each end: closed, settled for the cache (30 s past its end), and
  // not about to leave the startover window (an entry lives until its first segment does).
  const day = `start=${Math.round(first / 1000) + 60}&end=${Math.round(now / 1000) - 60}`;
  // Requests that miss the closed-window cache (the key holds the parsed query, so a parameter the
  // origin ignores is not enough). "Other end": a different fraction of a second on `end` each time
  // (the same segments listed): the segment lines are cut from those written for the first request
  // of that start (playlist-lines.ts). "Other start": `start` moves by whole segments each time (a
  // different first segment), so every request writes its playlist whole.
  const otherEnd = (url: string) => (n: number) => url.replace(/end=(\d+)/, (_, e: string) => `end=${Number(e) - 1}.${String(n % 1000).padStart(3, '0')}`);
  const otherStart = (url: string) => (n: number) => url.replace(/start=(\d+)/, (_, v: string) => `start=${Number(v) + 2 * (n % 600)}`);
  // A "start over" viewer's open window (`start` only), polled again and again.
  const open = `start=${Math.round(first / 1000) + 60}`;
  const cases: readonly (readonly [string, string, string | ((n: number) => string)])[] = [
    ['multivariant (live)', `${base}/index.m3u8`, `${base}/index.m3u8`],
    ['media playlist (live, 60 s)', `${base}/index_video_hi.m3u8`, `${base}/index_video_hi.m3u8`],
    ['DASH MPD (live, 60 s)', `${base}/dash.mpd`, `${base}/dash.mpd`],
    ['media playlist, 1 h shift, other end', `${base}/index_video_hi.m3u8?${hour}`, otherEnd(`${base}/index_video_hi.m3u8?${hour}`)],
    ['media playlist, 1 h shift, other start', `${base}/index_video_hi.m3u8?${hour}`, otherStart(`${base}/index_video_hi.m3u8?${hour}`)],
    ['media playlist, 1 h shift, cached', `${base}/index_video_hi.m3u8?${hour}`, `${base}/index_video_hi.m3u8?${hour}`],
    ['media playlist, 24 h, other end', `${base}/index_video_hi.m3u8?${day}`, otherEnd(`${base}/index_video_hi.m3u8?${day}`)],
    ['media playlist, 24 h, other start', `${base}/index_video_hi.m3u8?${day}`, otherStart(`${base}/index_video_hi.m3u8?${day}`)],
    ['media playlist, 24 h, cached', `${base}/index_video_hi.m3u8?${day}`, `${base}/index_video_hi.m3u8?${day}`],
    ['media playlist, 24 h open (start only)', `${base}/index_video_hi.m3u8?${open}`, `${base}/index_video_hi.m3u8?${open}`],
    ['DASH MPD, 1 h shift, rendered', `${base}/dash.mpd?${hour}`, otherEnd(`${base}/dash.mpd?${hour}`)],
    ['DASH MPD, 1 h shift, cached', `${base}/dash.mpd?${hour}`, `${base}/dash.mpd?${hour}`],
  ];
  console.log(`server: --render-threads ${RENDER_THREADS} --render-thread-nice ${RENDER_NICE}`);
  if (!ONLY_INGEST) console.log(`origin benchmark: ${SECONDS} s per cell, concurrency ${CONCURRENCY}${clusterLabel(CLUSTER)}, node ${process.version}`);
  if (!ONLY_INGEST) console.log('request                              bytes    req/s  p99 ms | same-size file req/s  p99 ms | ratio req/s  ratio p99 | cpu ms/req  file  ratio');
  // The live channel the ingest measurements (and --rows-while-ingesting) upload to.
  let live: { segment: Buffer; app: string } | undefined;
  if (INGEST_SECONDS > 0 || ROWS_WHILE_INGESTING) {
    const dir = mkdtempSync(join(tmpdir(), 'packhouse-bench-origin-seg-'));
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '1500k', '-c:a', 'aac', '-f', 'mpegts', join(dir, 'seg.ts')]);
    const segment = readFileSync(join(dir, 'seg.ts'));
    rmSync(dir, { recursive: true, force: true });
    await bench.client.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'live' }));
    await bench.client.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'bench', ChannelName: 'live', OriginEndpointName: 'ts', ContainerType: 'TS', StartoverWindowSeconds: 60, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index' }] }));
    live = { segment, app: bench.app.url };
  }
  // Segments of the live channel are numbered on one timeline across every phase.
  const epochMs = Date.now() - 1000;
  let rowsDone = false;
  let rowsCycles: number[] = [];
  const rowsIngest = ROWS_WHILE_INGESTING && !ONLY_INGEST ? ingestLatencies(live!.app, live!.segment, 0, 0, epochMs, () => rowsDone).then((l) => (rowsCycles = l)) : undefined;
  if (rowsIngest) console.log('the rows are measured while the live channel takes in a segment every 2 s');
  let n = 0;
  for (const [name, url, target] of ONLY_INGEST ? [] : cases) {
    const size = await get(url);
    // Every other node has seen the request once too, as the one node has (its timeline loaded).
    for (const node of bench.urls.slice(1)) await get(node + url.slice(bench.app.url.length));
    // The baseline: a segment file of exactly the manifest's size, served by the same origin.
    const seq = SEGMENTS - 100 - n++;
    await blobs.put(`media/${cid}/video_lo/${seq - 1}.mp4`, Buffer.alloc(size, 0x61));
    const fileUrl = `${base}/segment_video_lo_${seq}.mp4`;
    const r = await measure(target);
    const b = await measure(fileUrl);
    console.log(
      `${name.padEnd(36)} ${String(size).padStart(7)} ${r.rps.toFixed(0).padStart(8)} ${r.p99.toFixed(2).padStart(7)} | ${b.rps.toFixed(0).padStart(20)} ${b.p99.toFixed(2).padStart(7)} | ${(r.rps / b.rps).toFixed(2).padStart(11)} ${(r.p99 / b.p99).toFixed(2).padStart(10)} | ${r.cpuMs.toFixed(2).padStart(10)} ${b.cpuMs.toFixed(2).padStart(5)} ${(b.cpuMs / r.cpuMs).toFixed(2).padStart(6)}`,
    );
  }
  rowsDone = true;
  await rowsIngest;
  if (rowsIngest) console.log(`ingest-to-playlist during the rows: p50 ${pct(rowsCycles, 0.5).toFixed(1)} ms p99 ${pct(rowsCycles, 0.99).toFixed(1)} ms (${rowsCycles.length} cycles)`);
  const firstLive = rowsCycles.length;
  if (INGEST_SECONDS > 0) {
    const { segment, app } = live!;
    // How long the server's event loop is held: its delay, idle and under the load.
    const loopIdle = monitorEventLoopDelay({ resolution: 5 });
    loopIdle.enable();
    const idle = await ingestLatencies(app, segment, firstLive, INGEST_SECONDS, epochMs);
    loopIdle.disable();
    const loopBusy = monitorEventLoopDelay({ resolution: 5 });
    // The load runs on its own thread (its own event loop), as other clients would: only the
    // server's work is then on the server's event loop.
    const load = new Worker(LOAD_CLIENTS, { eval: true, workerData: { url: `${base}/index_video_hi.m3u8?${day}`, nodes: bench.urls, clients: Number(process.env.BENCH_LOAD_CLIENTS ?? 8), same: process.env.BENCH_LOAD_SAME === '1' } });
    await new Promise((resolve) => load.once('message', resolve));
    loopBusy.enable();
    const busy = await ingestLatencies(app, segment, firstLive + idle.length, INGEST_SECONDS, epochMs);
    loopBusy.disable();
    load.postMessage('stop');
    const fetched = await new Promise<number>((resolve) => load.once('message', resolve));
    await load.terminate();
    console.log(`\ningest-to-playlist, one TS channel, ${INGEST_SECONDS} s each: idle p50 ${pct(idle, 0.5).toFixed(1)} ms p99 ${pct(idle, 0.99).toFixed(1)} ms (${idle.length} cycles)`);
    console.log(`  while 8 clients fetch 24 h playlists of another start each time (${(fetched / INGEST_SECONDS).toFixed(1)}/s): p50 ${pct(busy, 0.5).toFixed(1)} ms p99 ${pct(busy, 0.99).toFixed(1)} ms (${busy.length} cycles); ratio p99 ${(pct(busy, 0.99) / pct(idle, 0.99)).toFixed(2)}`);
    const ms = (h: ReturnType<typeof monitorEventLoopDelay>, p: number) => h.percentile(p) / 1e6;
    console.log(`  the server's event loop delay: idle p50 ${ms(loopIdle, 50).toFixed(1)} ms p99 ${ms(loopIdle, 99).toFixed(1)} ms max ${(loopIdle.max / 1e6).toFixed(1)} ms; under the load p50 ${ms(loopBusy, 50).toFixed(1)} ms p99 ${ms(loopBusy, 99).toFixed(1)} ms max ${(loopBusy.max / 1e6).toFixed(1)} ms`);
  }
  agent.destroy();
  await bench.close();
}

await main();
