/**
 * Harvest benchmark: a one-hour window of a five-rendition ladder (2-second segments) harvested
 * into the built-in S3 server, against a plain copy of the same segment files into the same S3
 * server in the same run (PutObject, same parallelism). Prints segments and MB per second of both,
 * their ratio, and the seconds from CreateHarvestJob (EndTime already passed) to COMPLETED.
 *
 *   npm run build && node dist/bench/harvest.js [--minutes 60] [--segment-kb 40]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetHarvestJobCommand,
  MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { arns } from '../src/domain/arn.js';
import { channelKey } from '../src/dataplane/ingest/ingest-service.js';
import { DiskBlobStore } from '../src/storage/blobs/disk-blob-store.js';
import { SqliteDriver } from '../src/storage/sql/sqlite-driver.js';
import { SqlTimelineStore } from '../src/storage/sql/sql-timeline-store.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MINUTES = opt('--minutes', 60);
const SEGMENT_BYTES = opt('--segment-kb', 40) * 1024;
const SEG_MS = 2000;
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
  const dataDir = mkdtempSync(join(tmpdir(), 'packhouse-bench-harvest-'));
  const config = loadConfig(['--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--log-level', 'silent', '--harvest-settle-seconds', '0'], {});
  const app = await startApp(config, { logger: pino({ level: 'silent' }) });
  const mp = new MediaPackageV2Client({ endpoint: app.url, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' } });
  await mp.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
  await mp.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' }));
  await mp.send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: 'bench',
      ChannelName: 'ch',
      OriginEndpointName: 'ep',
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 3 * 3600,
      // One output segment per 2 s input segment, as in the plain copy it is compared with.
      Segment: { SegmentDurationSeconds: 2 },
      HlsManifests: [{ ManifestName: 'index' }],
      DashManifests: [{ ManifestName: 'dash' }],
    }),
  );

  const channelArn = arns.channel({ accountId: '000000000000', region: 'us-east-1' }, 'bench', 'ch');
  const driver = new SqliteDriver(join(dataDir, 'packhouse.db'));
  const timeline = new SqlTimelineStore(driver);
  const blobs = new DiskBlobStore(join(dataDir, 'media'));
  const cid = channelKey(channelArn);
  const count = Math.round((MINUTES * 60_000) / SEG_MS) + 10;
  const now = Date.now();
  const first = now - count * SEG_MS;
  const ladder = [1080, 720, 540, 360].map((h, i) => ({ id: `video_${h}`, kind: 'video' as const, codecs: 'avc1.64001f', bandwidth: 5_000_000 >> i, height: h, width: Math.round((h * 16) / 9), timescale: 90_000 }));
  const renditions = [...ladder, { id: 'audio', kind: 'audio' as const, codecs: 'mp4a.40.2', bandwidth: 128_000, timescale: 48_000 }];
  const payload = Buffer.alloc(SEGMENT_BYTES, 0x42);
  const keys: string[] = [];
  for (const r of renditions) {
    const initKey = `media/${cid}/${r.id}/init-0123456789abcdef.mp4`;
    await blobs.put(initKey, Buffer.alloc(800, 1));
    await timeline.upsertRendition({ channelArn, container: 'fmp4', initKey, updatedMs: now, ...r });
    await driver.transaction(async (ex) => {
      for (let i = 0; i < count; i++) {
        const key = `media/${cid}/${r.id}/${i}.mp4`;
        keys.push(key);
        await ex.run(
          'INSERT INTO segments (channel_arn, rendition, seq, start_ms, duration_ms, media_time, media_duration, blob_key, bytes, discontinuity, source, init_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [channelArn, r.id, i + 1, first + i * SEG_MS, SEG_MS, i * 2 * r.timescale, 2 * r.timescale, key, SEGMENT_BYTES, 0, '1', initKey],
        );
      }
    });
  }
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
  const liveUrl = `${app.url}/out/v1/bench/ch/ep/index_video_1080.m3u8?start=${Math.round(windowStart / 1000) + 600}&end=${Math.round(windowStart / 1000) + 660}`;
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
  await driver.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
