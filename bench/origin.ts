/**
 * Origin benchmark: manifest rendering for an endpoint whose channel holds a 24-hour startover
 * window of 2-second segments (3 renditions, 43,200 segments each), against serving a segment file
 * of the same size from the same server in the same run. Prints requests per second and p99 latency
 * of each, and their ratio.
 *
 *   npm run build && node dist/bench/origin.js [--seconds 3] [--concurrency 8]
 */
import { Agent, request } from 'node:http';
import { SEG_MS, startBenchChannel } from './support.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('--seconds', 3);
const CONCURRENCY = opt('--concurrency', 8);
const SEGMENTS = 43_200;

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

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

/** A URL, or one per request (so that each request is a cache miss). */
async function measure(target: string | ((n: number) => string)): Promise<{ rps: number; p99: number; bytes: number }> {
  const url = typeof target === 'string' ? () => target : target;
  const lat: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      bytes = await get(url(requestNo++));
      lat.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / elapsed, p99: lat[Math.floor(lat.length * 0.99)] ?? 0, bytes };
}

async function main(): Promise<void> {
  const bench = await startBenchChannel({ name: 'origin', startoverSeconds: 86_400 });
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
  // An extra query parameter the origin ignores makes every request a different cache key: rendered each time.
  const uncached = (url: string) => (n: number) => `${url}&bench=${n}`;
  const cases: readonly (readonly [string, string, string | ((n: number) => string)])[] = [
    ['multivariant (live)', `${base}/index.m3u8`, `${base}/index.m3u8`],
    ['media playlist (live, 60 s)', `${base}/index_video_hi.m3u8`, `${base}/index_video_hi.m3u8`],
    ['DASH MPD (live, 60 s)', `${base}/dash.mpd`, `${base}/dash.mpd`],
    ['media playlist, 1 h shift, rendered', `${base}/index_video_hi.m3u8?${hour}`, uncached(`${base}/index_video_hi.m3u8?${hour}`)],
    ['media playlist, 1 h shift, cached', `${base}/index_video_hi.m3u8?${hour}`, `${base}/index_video_hi.m3u8?${hour}`],
    ['media playlist, 24 h, rendered', `${base}/index_video_hi.m3u8?${day}`, uncached(`${base}/index_video_hi.m3u8?${day}`)],
    ['media playlist, 24 h, cached', `${base}/index_video_hi.m3u8?${day}`, `${base}/index_video_hi.m3u8?${day}`],
    ['DASH MPD, 1 h shift, rendered', `${base}/dash.mpd?${hour}`, uncached(`${base}/dash.mpd?${hour}`)],
    ['DASH MPD, 1 h shift, cached', `${base}/dash.mpd?${hour}`, `${base}/dash.mpd?${hour}`],
  ];
  console.log(`origin benchmark: ${SECONDS} s per cell, concurrency ${CONCURRENCY}, node ${process.version}`);
  console.log('request                              bytes    req/s  p99 ms | same-size file req/s  p99 ms | ratio req/s  ratio p99');
  let n = 0;
  for (const [name, url, target] of cases) {
    const size = await get(url);
    // The baseline: a segment file of exactly the manifest's size, served by the same origin.
    const seq = SEGMENTS - 100 - n++;
    await blobs.put(`media/${cid}/video_lo/${seq - 1}.mp4`, Buffer.alloc(size, 0x61));
    const fileUrl = `${base}/segment_video_lo_${seq}.mp4`;
    const r = await measure(target);
    const b = await measure(fileUrl);
    console.log(
      `${name.padEnd(36)} ${String(size).padStart(7)} ${r.rps.toFixed(0).padStart(8)} ${r.p99.toFixed(2).padStart(7)} | ${b.rps.toFixed(0).padStart(20)} ${b.p99.toFixed(2).padStart(7)} | ${(r.rps / b.rps).toFixed(2).padStart(11)} ${(r.p99 / b.p99).toFixed(2).padStart(10)}`,
    );
  }
  agent.destroy();
  await bench.close();
}

await main();
