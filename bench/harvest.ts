/**
 * Harvest benchmark: a one-hour window of a five-rendition ladder (2-second segments) harvested
 * into the built-in S3 server, against a plain copy of the same segment files into the same S3
 * server in the same run (PutObject, same parallelism). Prints segments and MB per second of both,
 * their ratio, and the seconds from CreateHarvestJob (EndTime already passed) to COMPLETED.
 *
 *   npm run build && node dist/bench/harvest.js [--minutes 60] [--segment-kb 40]
 */
import { PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateHarvestJobCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { SEG_MS, startBenchChannel } from './support.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MINUTES = opt('--minutes', 60);
const SEGMENT_BYTES = opt('--segment-kb', 40) * 1024;
const PARALLEL = 4;

/** Polls a URL back to back until stopped; returns the latencies in ms. */
/**
 * Polls a manifest back to back. An extra query parameter the origin ignores differs on every
 * request, so each one is rendered from the database rather than answered from the closed-window
 * cache: what is measured is the origin's own work while the harvest runs.
 */
function probeLatency(base: string): { stop: () => Promise<number[]> } {
  const lat: number[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const url = `${base}&probe=${n++}`;
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
      lat.push(performance.now() - t0);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return lat;
    },
  };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;

async function main(): Promise<void> {
  const bench = await startBenchChannel({ name: 'harvest', startoverSeconds: 3 * 3600, args: ['--harvest-settle-seconds', '0'] });
  const { app, blobs, cid } = bench;
  const mp = bench.client;
  const count = Math.round((MINUTES * 60_000) / SEG_MS) + 10;
  const now = Date.now();
  const ladder = [1080, 720, 540, 360].map((h, i) => ({ id: `video_${h}`, kind: 'video' as const, codecs: 'avc1.64001f', bandwidth: 5_000_000 >> i, height: h, width: Math.round((h * 16) / 9), timescale: 90_000 }));
  const renditions = [...ladder, { id: 'audio', kind: 'audio' as const, codecs: 'mp4a.40.2', bandwidth: 128_000, timescale: 48_000 }];
  const payload = Buffer.alloc(SEGMENT_BYTES, 0x42);
  const initKey = (id: string) => `media/${cid}/${id}/init-0123456789abcdef.mp4`;
  for (const r of renditions) await blobs.put(initKey(r.id), Buffer.alloc(800, 1));
  const keys = await bench.fill(renditions, { count, endMs: now, bytes: SEGMENT_BYTES, initKey });
  for (const k of keys) await blobs.put(k, payload);
  const windowStart = now - MINUTES * 60_000 - 5000;
  const windowEnd = now - 5000;
  console.log(`harvest benchmark: ${MINUTES} min window, ${renditions.length} renditions, ${SEGMENT_BYTES / 1024} KiB segments, node ${process.version}`);

  // Baseline: the same segment files, copied with PutObject into the same S3 server, PARALLEL at once.
  const s3 = new S3Client({ endpoint: app.s3Url!, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'baseline' }));
  const inWindow = Math.ceil((windowEnd - windowStart) / SEG_MS) + 1;
  const baselineKeys = renditions.flatMap((r) => Array.from({ length: inWindow }, (_, i) => `${r.id}/${i}.mp4`));
  let t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < baselineKeys.length) {
        const key = baselineKeys[next++]!;
        const [rendition, file] = key.split('/');
        const body = await blobs.get(`media/${cid}/${rendition}/${file}`);
        if (!body) throw new Error(`missing blob for ${key}`);
        await s3.send(new PutObjectCommand({ Bucket: 'baseline', Key: key, Body: body }));
      }
    }),
  );
  const baseS = (performance.now() - t0) / 1000;

  // The origin's playlist latency, idle, then while the harvest runs.
  // (A one-minute time-shifted window: filling the timeline takes longer than the live window lasts.)
  const liveUrl = `${bench.base}/index_video_1080.m3u8?start=${Math.round(windowStart / 1000) + 600}&end=${Math.round(windowStart / 1000) + 660}`;
  const idleProbe = probeLatency(liveUrl);
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await idleProbe.stop();
  const busyProbe = probeLatency(liveUrl);

  t0 = performance.now();
  await mp.send(
    new CreateHarvestJobCommand({
      ChannelGroupName: 'bench',
      ChannelName: 'ch',
      OriginEndpointName: 'ep',
      HarvestJobName: 'bench',
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }] },
      ScheduleConfiguration: { StartTime: new Date(windowStart), EndTime: new Date(windowEnd) },
      Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'bench/' } },
    }),
  );
  let status = 'QUEUED';
  let error: string | undefined;
  while (status === 'QUEUED' || status === 'IN_PROGRESS') {
    await new Promise((r) => setTimeout(r, 100));
    const job = await mp.send(new GetHarvestJobCommand({ ChannelGroupName: 'bench', ChannelName: 'ch', OriginEndpointName: 'ep', HarvestJobName: 'bench' }));
    status = job.Status ?? 'UNKNOWN';
    error = job.ErrorMessage;
  }
  const harvestS = (performance.now() - t0) / 1000;
  const busy = await busyProbe.stop();
  if (status !== 'COMPLETED') throw new Error(`harvest ended ${status}: ${error}`);
  const segs = baselineKeys.length;
  const mb = (segs * SEGMENT_BYTES) / 1e6;
  console.log('                      segments   MB      seconds   segments/s   MB/s');
  console.log(`plain copy (baseline) ${String(segs).padStart(8)} ${mb.toFixed(0).padStart(5)} ${baseS.toFixed(2).padStart(10)} ${(segs / baseS).toFixed(0).padStart(12)} ${(mb / baseS).toFixed(1).padStart(6)}`);
  console.log(`harvest job           ${String(segs).padStart(8)} ${mb.toFixed(0).padStart(5)} ${harvestS.toFixed(2).padStart(10)} ${(segs / harvestS).toFixed(0).padStart(12)} ${(mb / harvestS).toFixed(1).padStart(6)}`);
  console.log(`ratio harvest / plain copy throughput: ${(baseS / harvestS).toFixed(2)}; CreateHarvestJob (EndTime passed) to COMPLETED: ${harvestS.toFixed(2)} s`);
  console.log(
    `origin playlist p99: idle ${p99(idle).toFixed(2)} ms (${idle.length} requests), during the harvest ${p99(busy).toFixed(2)} ms (${busy.length} requests); ratio ${(p99(busy) / p99(idle)).toFixed(2)}`,
  );
  await bench.close();
}

await main();
