/**
 * Harvest benchmark: a window of a five-rendition ladder (2-second segments) harvested into the
 * built-in S3 server, against a plain copy of the same segment files into the same S3 server in the
 * same run (PutObject, the same four at a time). Several rounds, each a plain copy then a harvest.
 *
 * While each transfer runs, a client polls a time-shifted media playlist from the origin back to
 * back (rendered every time: a query parameter the origin ignores changes on every request), so both
 * transfers share the process with the same origin load; its p50 and p99 are compared with the same
 * loop on an idle origin for ten seconds just before. `--probe off` leaves the origin idle during both transfers.
 *
 * Prints, per round, segments and MB per second of both, their ratio, the process's CPU time per
 * object (by default everything runs in this one process: client, origin, harvest runner and S3
 * server), the seconds from CreateHarvestJob (EndTime already passed) to COMPLETED, and the probe's p99s.
 *
 *   npm run build && node dist/bench/harvest.js [--minutes 60] [--segment-kb 40] [--rounds 3] [--probe on|off] [--s3 builtin|external] [--postgres [--nodes 2]]
 *
 * With --s3 external the S3 server (the same built-in endpoint) runs in a `node` child process of
 * its own, which Packhouse reaches with --s3-endpoint and the plain copy's client as well: only the
 * S3 clients (signing, the body's SHA-256, HTTP) stay on the origin's event loop. The CPU time per
 * object is then printed as this process's + the S3 server's.
 *
 * With --postgres the node keeps its timeline in PostgreSQL and its segments in the S3 segment
 * store (a built-in S3 endpoint of its own, which also takes the harvest output and the plain
 * copy); with --nodes N as well, N such nodes share both, and the API calls and the probe's
 * requests go to the next node in turn (the harvest runs on whichever node takes the job).
 */
import { loadavg } from 'node:os';
import { PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateHarvestJobCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { SEG_MS, clusterFlags, clusterLabel, s3Flag, startBenchChannel } from './support.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
};
const MINUTES = Number(opt('--minutes', '60'));
const SEGMENT_BYTES = Math.round(Number(opt('--segment-kb', '40')) * 1024);
const ROUNDS = Number(opt('--rounds', '3'));
const PROBE = opt('--probe', 'on') !== 'off';
const PARALLEL = 4;
const CLUSTER = clusterFlags(args);
const S3 = s3Flag(args);

/**
 * Polls a manifest back to back until stopped; returns the latencies in ms. An extra query
 * parameter the origin ignores differs on every request, so each one is rendered from the database
 * rather than answered from the closed-window cache: what is measured is the origin's own work.
 */
function probeLatency(base: string, on = true, spread = (url: string) => url): { stop: () => Promise<number[]> } {
  const lat: number[] = [];
  let running = on;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const url = spread(`${base}&probe=${n++}`);
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

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)] ?? 0;
const p99 = (xs: number[]) => pct(xs, 0.99);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const bench = await startBenchChannel({ name: 'harvest', startoverSeconds: 3 * 3600, args: ['--harvest-settle-seconds', '0'], cluster: CLUSTER, s3: S3 });
  const { blobs, cid } = bench;
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
  console.log(`harvest benchmark: ${MINUTES} min window, ${renditions.length} renditions, ${SEGMENT_BYTES / 1024} KiB segments, ${ROUNDS} rounds, origin probe ${PROBE ? 'on' : 'off'}${clusterLabel(CLUSTER)}, S3 server ${S3 === 'external' ? `in a child process (pid ${bench.nodes.externalS3?.pid}, ${bench.s3Url})` : 'in this process'}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const s3 = new S3Client({ endpoint: bench.s3Url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'baseline' }));
  const inWindow = Math.ceil((windowEnd - windowStart) / SEG_MS) + 1;
  const segs = renditions.length * inWindow;
  const mb = (segs * SEGMENT_BYTES) / 1e6;
  // (A one-minute time-shifted window: filling the timeline takes longer than the live window lasts.)
  const probeStart = Math.round(windowStart / 1000) + Math.min(600, Math.floor((MINUTES * 60) / 2) - 60);
  const probeUrl = `${bench.base}/index_video_1080.m3u8?start=${probeStart}&end=${probeStart + 60}`;

  /** The same segment files, copied with PutObject into the same S3 server, PARALLEL at once. */
  const plainCopy = async (prefix: string) => {
    const baselineKeys = renditions.flatMap((r) => Array.from({ length: inWindow }, (_, i) => `${r.id}/${i}.mp4`));
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < baselineKeys.length) {
          const key = baselineKeys[next++]!;
          const [rendition, file] = key.split('/');
          const body = await blobs.get(`media/${cid}/${rendition}/${file}`);
          if (!body) throw new Error(`missing blob for ${key}`);
          await s3.send(new PutObjectCommand({ Bucket: 'baseline', Key: `${prefix}/${key}`, Body: body }));
        }
      }),
    );
  };
  const harvest = async (name: string) => {
    await mp.send(
      new CreateHarvestJobCommand({
        ChannelGroupName: 'bench',
        ChannelName: 'ch',
        OriginEndpointName: 'ep',
        HarvestJobName: name,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }] },
        ScheduleConfiguration: { StartTime: new Date(windowStart), EndTime: new Date(windowEnd) },
        Destination: { S3Destination: { BucketName: 'vod', DestinationPath: `${name}/` } },
      }),
    );
    let status = 'QUEUED';
    let error: string | undefined;
    while (status === 'QUEUED' || status === 'IN_PROGRESS') {
      await new Promise((r) => setTimeout(r, 100));
      const job = await mp.send(new GetHarvestJobCommand({ ChannelGroupName: 'bench', ChannelName: 'ch', OriginEndpointName: 'ep', HarvestJobName: name }));
      status = job.Status ?? 'UNKNOWN';
      error = job.ErrorMessage;
    }
    if (status !== 'COMPLETED') throw new Error(`harvest ended ${status}: ${error}`);
  };
  const external = bench.nodes.externalS3;
  const timed = async (fn: () => Promise<void>) => {
    const probe = probeLatency(probeUrl, PROBE, bench.spread);
    const e0 = (await external?.cpuMs()) ?? 0;
    const c0 = cpuMs();
    const t0 = performance.now();
    await fn();
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuMs() - c0;
    const s3Cpu = ((await external?.cpuMs()) ?? 0) - e0;
    const lat = await probe.stop();
    return { s, cpuPerObject: cpu / segs, s3CpuPerObject: s3Cpu / segs, lat };
  };
  /** This process's CPU ms per object, and the S3 server's after a + when it runs apart. */
  const cpuCol = (t: { cpuPerObject: number; s3CpuPerObject: number }) => (external ? `${t.cpuPerObject.toFixed(1)}+${t.s3CpuPerObject.toFixed(1)}` : t.cpuPerObject.toFixed(2));

  console.log('round  plain copy s  MB/s  cpu ms/obj | harvest s  MB/s  cpu ms/obj | ratio | probe p50/p99 ms: idle      copy   harvest | p99 harvest/idle  load');
  const pp = (xs: number[]) => `${pct(xs, 0.5).toFixed(0)}/${p99(xs).toFixed(0)}`;
  const ratios: number[] = [];
  const harvestS: number[] = [];
  const p99Ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const idleProbe = probeLatency(probeUrl, PROBE, bench.spread);
    await new Promise((r) => setTimeout(r, 10_000));
    const idle = await idleProbe.stop();
    const copy = await timed(() => plainCopy(`r${round}`));
    const job = await timed(() => harvest(`bench-r${round}`));
    const ratio = copy.s / job.s;
    ratios.push(ratio);
    harvestS.push(job.s);
    const pr = PROBE ? p99(job.lat) / p99(idle) : 0;
    p99Ratios.push(pr);
    console.log(
      `${String(round).padStart(5)} ${copy.s.toFixed(2).padStart(13)} ${(mb / copy.s).toFixed(1).padStart(5)} ${cpuCol(copy).padStart(11)} | ${job.s.toFixed(2).padStart(9)} ${(mb / job.s).toFixed(1).padStart(5)} ${cpuCol(job).padStart(11)} | ${ratio.toFixed(2).padStart(5)} |` +
        (PROBE ? ` ${pp(idle).padStart(21)} ${pp(copy.lat).padStart(9)} ${pp(job.lat).padStart(9)} | ${pr.toFixed(2).padStart(16)}` : ' (probe off)                                    |                 ') +
        `  ${loadavg()[0]!.toFixed(2)}`,
    );
  }
  console.log(`${segs} segments, ${mb.toFixed(0)} MB per transfer (plus ${renditions.length} init segments and 7 manifests for the harvest)`);
  console.log(
    `median of ${ROUNDS}: ratio harvest / plain copy throughput ${median(ratios).toFixed(2)}; CreateHarvestJob (EndTime passed) to COMPLETED ${median(harvestS).toFixed(2)} s` +
      (PROBE ? `; origin playlist p99 during the harvest / idle ${median(p99Ratios).toFixed(2)}` : ''),
  );
  await bench.close();
}

await main();
