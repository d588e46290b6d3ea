/**
 * Control-plane benchmark: GetChannel and CreateHarvestJob through the real SDK client at rising
 * concurrency, against a baseline of the same client calling a bare node:http server (in the same
 * process, same run) that answers `{}` at once. Prints throughput and p99 latency, and each as a
 * ratio to the baseline, because the machines are shared and absolute numbers drift.
 *
 *   npm run bench            (or: node dist/bench/control-plane.js [--seconds 3] [--sqlite-sync FULL])
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetChannelCommand,
  MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { loadConfig } from '../src/config/config.js';
import { startApp } from '../src/app.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 3) || 3;
const LEVELS = [1, 4, 16, 64];

interface Result {
  rps: number;
  p50: number;
  p99: number;
  n: number;
}

async function measure(call: (i: number) => Promise<unknown>, concurrency: number): Promise<Result> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), n: latencies.length };
}

function client(endpoint: string): MediaPackageV2Client {
  return new MediaPackageV2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' }, maxAttempts: 1 });
}

async function main(): Promise<void> {
  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

  const dataDir = mkdtempSync(join(tmpdir(), 'packhouse-bench-'));
  const config = loadConfig(['--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--quota-active-harvest-jobs', '1000000', '--log-level', 'silent'], {});
  const app = await startApp(config, { logger: pino({ level: 'silent' }) });
  const ph = client(app.url);
  await ph.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
  await ph.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' }));
  await ph.send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: 'bench',
      ChannelName: 'ch',
      OriginEndpointName: 'ep',
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 86400,
      HlsManifests: [{ ManifestName: 'index' }],
    }),
  );
  const base = client(bareUrl);
  const get = new GetChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' });
  const now = Date.now();
  const harvest = (i: number) =>
    new CreateHarvestJobCommand({
      ChannelGroupName: 'bench',
      ChannelName: 'ch',
      OriginEndpointName: 'ep',
      HarvestJobName: `job-${i}-${Math.random().toString(36).slice(2, 8)}`,
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(now - 60_000), EndTime: new Date(now + 60_000) },
      Destination: { S3Destination: { BucketName: 'vod', DestinationPath: `clips/${i}/` } },
    });

  console.log(`control-plane benchmark, ${seconds} s per cell, node ${process.version}`);
  console.log('operation         conc   req/s  p50 ms  p99 ms | baseline req/s  p99 ms | ratio req/s  ratio p99');
  for (const c of LEVELS) {
    const b = await measure(() => base.send(get), c);
    for (const [name, call] of [
      ['GetChannel', () => ph.send(get)],
      ['CreateHarvestJob', (i: number) => ph.send(harvest(i))],
    ] as const) {
      const r = await measure(call, c);
      console.log(
        `${name.padEnd(17)} ${String(c).padStart(4)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} | ` +
          `${b.rps.toFixed(0).padStart(14)} ${b.p99.toFixed(2).padStart(7)} | ${(r.rps / b.rps).toFixed(2).padStart(11)} ${(r.p99 / b.p99).toFixed(2).padStart(10)}`,
      );
    }
  }
  await app.close();
  bare.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
