/**
 * Control-plane benchmark: GetChannel and CreateHarvestJob through the real SDK client at rising
 * concurrency, against a baseline of the same client calling a bare node:http server (in the same
 * process, same run) that answers `{}` at once. Prints throughput and p99 latency, and each as a
 * ratio to the baseline, because the machines are shared and absolute numbers drift.
 *
 *   npm run bench            (or: node dist/bench/control-plane.js [--seconds 3] [--levels 1,4,16,64]
 *                             [--ops GetChannel,CreateHarvestJob] [--rounds 1] [--postgres [--nodes 2]] [--compare DIR])
 *
 * With --rounds N every cell is measured N times (baseline first each time) and a last table gives
 * the median of each ratio, so a noisy machine shows as spread rather than as one lucky number.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateHarvestJobCommand, GetChannelCommand, MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { loadConfig } from '../src/config/config.js';
import { startApp } from '../src/app.js';
import { clusterFlags, createBenchEndpoint, spreadClient, startBenchNodes } from './support.js';

const args = process.argv.slice(2);
function opt(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
}
const seconds = Number(opt('--seconds', '3')) || 3;
const LEVELS = opt('--levels', '1,4,16,64').split(',').map(Number);
const OPS = opt('--ops', 'GetChannel,CreateHarvestJob').split(',');
const ROUNDS = Math.max(1, Number(opt('--rounds', '1')) || 1);
/** --postgres [--nodes N]: N identical nodes over one PostgreSQL database, the calls spread over them in turn. */
const CLUSTER = clusterFlags(args);
const { postgres: POSTGRES, nodes: NODES } = CLUSTER;
const COMPARE = opt('--compare', '');

interface Result {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  /** Calls that failed (counted apart: the rates and latencies are of successful calls). */
  errors: number;
}

async function measure(call: (i: number) => Promise<unknown>, concurrency: number): Promise<Result> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      try {
        await call(i);
        latencies.push(performance.now() - t0);
      } catch {
        errors += 1;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), n: latencies.length, errors };
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
  // As Packhouse's own server: a client reusing a socket the server just timed out would see a reset.
  bare.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

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

  const targets = [await startTarget('', startApp, loadConfig)];
  if (COMPARE) {
    // Another build of Packhouse (e.g. a checkout of main) in this same process, measured in turn.
    const other = (await import(pathToFileURL(join(COMPARE, 'dist/src/app.js')).href)) as { startApp: typeof startApp };
    const otherConfig = (await import(pathToFileURL(join(COMPARE, 'dist/src/config/config.js')).href)) as { loadConfig: typeof loadConfig };
    targets.unshift(await startTarget(' (compare)', other.startApp, otherConfig.loadConfig));
  }

  console.log(`control-plane benchmark, ${seconds} s per cell, ${ROUNDS} round(s), ${POSTGRES ? 'PostgreSQL' : 'SQLite'}${NODES > 1 ? `, ${NODES} nodes` : ''}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (COMPARE) console.log(`rows marked (compare) are the build in ${COMPARE}`);
  console.log('operation                   conc   req/s  p50 ms  p99 ms | baseline req/s  p99 ms | ratio req/s  ratio p99');
  const ratios = new Map<string, { rps: number[]; p99: number[] }>();
  let serial = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) console.log(`round ${round}, load average ${loadavg()[0]!.toFixed(2)}`);
    for (const c of LEVELS) {
      const b = await measure(() => base.send(get), c);
      for (const name of OPS) {
        for (const t of targets) {
          const calls: Record<string, (i: number) => Promise<unknown>> = {
            GetChannel: () => t.client.send(get),
            CreateHarvestJob: (i: number) => t.client.send(harvest(i)),
          };
          const call = calls[name];
          if (!call) throw new Error(`unknown operation ${name} (have: ${Object.keys(calls).join(', ')})`);
          const r = await measure((i) => call(serial + i), c);
          serial += r.n + c;
          const key = `${(name + t.label).padEnd(27)} ${String(c).padStart(4)}`;
          const cell = ratios.get(key) ?? { rps: [], p99: [] };
          cell.rps.push(r.rps / b.rps);
          cell.p99.push(r.p99 / b.p99);
          ratios.set(key, cell);
          console.log(
            `${key} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} | ` +
              `${b.rps.toFixed(0).padStart(14)} ${b.p99.toFixed(2).padStart(7)} | ${(r.rps / b.rps).toFixed(2).padStart(11)} ${(r.p99 / b.p99).toFixed(2).padStart(10)}` +
              (r.errors ? `   ${r.errors} failed` : ''),
          );
        }
      }
    }
  }
  if (ROUNDS > 1) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`median of ${ROUNDS} rounds             ratio req/s  ratio p99   (each round: req/s/p99)`);
    for (const [key, cell] of ratios) {
      const each = cell.rps.map((r, i) => `${r.toFixed(2)}/${cell.p99[i]!.toFixed(2)}`).join(' ');
      console.log(`${key} ${median(cell.rps).toFixed(2).padStart(11)} ${median(cell.p99).toFixed(2).padStart(10)}   ${each}`);
    }
  }
  for (const t of targets) await t.close();
  bare.close();
}

/**
 * A Packhouse server (of this build or another) in a throwaway data directory or database, with
 * bench/ch/ep; on several nodes, the calls go to them in turn.
 */
async function startTarget(label: string, start: typeof startApp, load: typeof loadConfig): Promise<{ label: string; client: Pick<MediaPackageV2Client, 'send'>; close(): Promise<void> }> {
  const nodes = await startBenchNodes({ name: 'control-plane', cluster: CLUSTER, args: ['--quota-active-harvest-jobs', '1000000'], start, load });
  const clients = nodes.apps.map((app) => client(app.url));
  await createBenchEndpoint(clients[0]!, { ContainerType: 'CMAF', StartoverWindowSeconds: 86400, HlsManifests: [{ ManifestName: 'index' }] });
  return { label, client: spreadClient(clients), close: () => nodes.close() };
}

await main();
