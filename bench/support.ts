/**
 * What the benchmarks share. Packhouse nodes in throwaway data directories, in this process: one on
 * SQLite by default, or (`--postgres [--nodes N]`) N identical nodes over one fresh PostgreSQL
 * database with live segments in an S3 segment store they share (the built-in S3 endpoint, started
 * apart from the nodes, as the multi-node tests do), requests sent to the nodes in turn as a load
 * balancer in front of them would. And for the origin and harvest benchmarks, one CMAF endpoint
 * (bench/ch/ep, HLS `index` and DASH `dash`, 2 s output segments) with a second connection to the
 * nodes' database that writes timeline rows straight in, far faster than ingesting them.
 *
 * With `--s3 external` the S3 store (harvest output, the plain copies, and the segment store of nodes
 * over PostgreSQL) is the same built-in S3 endpoint started in a `node` process of its own
 * (s3-server.ts) instead of in this one, and the nodes reach it with --s3-endpoint: the S3 server's
 * work no longer shares the origin's event loop.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateOriginEndpointCommand,
  MediaPackageV2Client,
  type CreateOriginEndpointCommandInput,
} from '@aws-sdk/client-mediapackagev2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { arns } from '../src/domain/arn.js';
import type { BlobStore, RenditionRecord } from '../src/domain/ports.js';
import { channelKey } from '../src/dataplane/ingest/ingest-service.js';
import { DiskBlobStore } from '../src/storage/blobs/disk-blob-store.js';
import { S3BlobStore } from '../src/storage/blobs/s3-blob-store.js';
import { startBuiltinS3 } from '../src/storage/sinks/builtin-s3.js';
import type { SqlDriver } from '../src/storage/sql/driver.js';
import { PostgresDriver } from '../src/storage/sql/postgres-driver.js';
import { SqliteDriver } from '../src/storage/sql/sqlite-driver.js';
import { SqlTimelineStore } from '../src/storage/sql/sql-timeline-store.js';
import { createPgDatabase, dropPgDatabase } from '../test/support/postgres.js';

/** How many nodes, and whether over PostgreSQL (`--postgres`, `--nodes N`; several nodes need PostgreSQL). */
export interface Cluster {
  readonly postgres: boolean;
  readonly nodes: number;
}

export function clusterFlags(args: readonly string[]): Cluster {
  const i = args.indexOf('--nodes');
  const postgres = args.includes('--postgres');
  /** Identical nodes over one PostgreSQL database, the requests spread over them in turn (needs --postgres). */
  const nodes = Math.max(1, Number(i >= 0 && args[i + 1] !== undefined ? args[i + 1] : '1') || 1);
  if (nodes > 1 && !postgres) throw new Error('--nodes needs --postgres: several nodes share one PostgreSQL database');
  return { postgres, nodes };
}

/** ", PostgreSQL and the S3 segment store, 2 nodes" for a benchmark's first line; "" on one node over SQLite. */
export function clusterLabel(c: Cluster): string {
  return c.postgres ? `, PostgreSQL and the S3 segment store${c.nodes > 1 ? `, ${c.nodes} nodes` : ''}` : '';
}

/**
 * Where the S3 store runs (`--s3 builtin|external`): in this process (the node's own built-in
 * endpoint, or one started beside the nodes over PostgreSQL), or the same endpoint in a child process.
 */
export type S3Placement = 'builtin' | 'external';

export function s3Flag(args: readonly string[]): S3Placement {
  const i = args.indexOf('--s3');
  const v = i >= 0 ? args[i + 1] : 'builtin';
  if (v !== 'builtin' && v !== 'external') throw new Error(`--s3 must be builtin or external; got ${String(v)}`);
  return v;
}

/** The built-in S3 endpoint in a child process (s3-server.ts), its files in a temporary directory. */
export interface ExternalS3 {
  readonly url: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly pid: number;
  /** The child's CPU time so far, in ms. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

export async function startExternalS3(name: string): Promise<ExternalS3> {
  const dir = mkdtempSync(join(tmpdir(), `packhouse-bench-${name}-s3-`));
  const child = fork(new URL('./s3-server.js', import.meta.url), [dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const kill = () => child.kill('SIGKILL');
  // Whatever ends this process (an error included), the child and its files go with it.
  const onExit = () => {
    kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanUp = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.send('close');
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { url: string }).url));
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`the external S3 server exited before listening (code ${code}, signal ${signal})`)));
    });
  } catch (err) {
    await cleanUp();
    throw err;
  }
  return {
    url,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    pid: child.pid!,
    cpuMs: () =>
      new Promise<number>((resolve, reject) => {
        const onMessage = (m: unknown) => {
          if (typeof m === 'object' && m !== null && 'cpuMs' in m) {
            child.off('message', onMessage);
            resolve((m as { cpuMs: number }).cpuMs);
          }
        };
        child.on('message', onMessage);
        if (!child.connected) reject(new Error('the external S3 server has gone'));
        else child.send('cpu');
      }),
    close: cleanUp,
  };
}

/** The S3 store the nodes over PostgreSQL share: live segments under s3://live/segments/, harvest output. */
export interface SharedS3 {
  readonly url: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly bucket: string;
  readonly prefix: string;
}

export interface BenchNodes {
  readonly apps: readonly RunningApp[];
  readonly dataDirs: readonly string[];
  /** The PostgreSQL database the nodes share; undefined: SQLite in the one node's data directory. */
  readonly databaseUrl: string | undefined;
  readonly s3: SharedS3 | undefined;
  /** The S3 server in a child process (`s3: 'external'`); it takes the harvest output. */
  readonly externalS3: ExternalS3 | undefined;
  close(): Promise<void>;
}

/** Starts the nodes (`start` and `load`: another build's, to compare builds in one process). */
export async function startBenchNodes(o: { name: string; cluster: Cluster; s3?: S3Placement; args?: readonly string[]; start?: typeof startApp; load?: typeof loadConfig }): Promise<BenchNodes> {
  const start = o.start ?? startApp;
  const load = o.load ?? loadConfig;
  const external = o.s3 === 'external' ? await startExternalS3(o.name) : undefined;
  const apps: RunningApp[] = [];
  const dataDirs: string[] = [];
  const dirs: string[] = [];
  let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  let shared: { s3: SharedS3; close(): Promise<void> } | undefined;
  const close = async () => {
    for (const app of apps) await app.close();
    await shared?.close();
    await external?.close();
    if (pgDatabase) await dropPgDatabase(pgDatabase.name);
    for (const d of [...dataDirs, ...dirs]) rmSync(d, { recursive: true, force: true });
  };
  try {
    pgDatabase = o.cluster.postgres ? await createPgDatabase() : undefined;
    // The S3 store outside the nodes: the child process, or (nodes over PostgreSQL) one started here.
    let store: { url: string; credentials: SharedS3['credentials'] } | undefined = external;
    if (pgDatabase && !external) {
      const dir = mkdtempSync(join(tmpdir(), `packhouse-bench-${o.name}-s3-`));
      dirs.push(dir);
      const server = await startBuiltinS3({ directory: dir, host: '127.0.0.1', port: 0, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      shared = { s3: { url: server.url, credentials: server.credentials, bucket: 'live', prefix: 'segments/' }, close: () => server.close() };
      store = server;
    } else if (pgDatabase && external) {
      shared = { s3: { url: external.url, credentials: external.credentials, bucket: 'live', prefix: 'segments/' }, close: async () => {} };
    }
    if (store) {
      const admin = new S3Client({ endpoint: store.url, forcePathStyle: true, region: 'us-east-1', credentials: store.credentials });
      for (const Bucket of pgDatabase ? ['live', 'vod'] : ['vod']) await admin.send(new CreateBucketCommand({ Bucket }));
      admin.destroy();
    }
    const storeArgs = store
      ? ['--s3-endpoint', store.url, '--s3-access-key-id', store.credentials.accessKeyId, '--s3-secret-access-key', store.credentials.secretAccessKey]
      : [];
    const clusterArgs = pgDatabase && shared ? ['--database-url', pgDatabase.url, '--segment-store', `s3://${shared.s3.bucket}/${shared.s3.prefix}`] : [];
    for (let i = 0; i < o.cluster.nodes; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `packhouse-bench-${o.name}-`));
      dataDirs.push(dataDir);
      const config = load(['--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...storeArgs, ...clusterArgs, ...(o.args ?? [])], {});
      apps.push(await start(config, { logger: pino({ level: process.env['BENCH_LOG'] ?? 'silent' }) }));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    apps,
    dataDirs,
    databaseUrl: pgDatabase?.url,
    s3: shared?.s3,
    externalS3: external,
    close,
  };
}

/** The items in turn, as a load balancer in front of the nodes hands them requests. */
export function inTurn<T>(items: readonly T[]): () => T {
  let turn = 0;
  return () => items[turn++ % items.length]!;
}

/** Moves a URL on the first node to the next node in turn (on one node, the URL as it is). */
export function urlsInTurn(nodeUrls: readonly string[]): (url: string) => string {
  const first = nodeUrls[0]!;
  if (nodeUrls.length === 1) return (url) => url;
  const next = inTurn(nodeUrls);
  return (url) => (url.startsWith(first) ? next() + url.slice(first.length) : url);
}

/** One client per node, each call sent to the next node in turn; the one client on one node. */
export function spreadClient(clients: readonly MediaPackageV2Client[]): Pick<MediaPackageV2Client, 'send'> {
  if (clients.length === 1) return clients[0]!;
  const next = inTurn(clients);
  return { send: ((command: Parameters<MediaPackageV2Client['send']>[0]) => next().send(command)) as MediaPackageV2Client['send'] };
}

/** Channel group `bench`, its channel `ch` and the channel's origin endpoint `ep` with these settings. */
export async function createBenchEndpoint(client: Pick<MediaPackageV2Client, 'send'>, endpoint: Omit<CreateOriginEndpointCommandInput, 'ChannelGroupName' | 'ChannelName' | 'OriginEndpointName'>): Promise<void> {
  await client.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
  await client.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' }));
  await client.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'bench', ChannelName: 'ch', OriginEndpointName: 'ep', ...endpoint }));
}

export const SEG_MS = 2000;

export interface BenchChannel {
  /** The first node (the only one by default). */
  readonly app: RunningApp;
  /** Calls to the nodes in turn. */
  readonly client: Pick<MediaPackageV2Client, 'send'>;
  readonly channelArn: string;
  /** The channel's folder in blob keys: `media/${cid}/...`. */
  readonly cid: string;
  /** Where the nodes keep segments: the node's data directory, or the S3 segment store they share. */
  readonly blobs: BlobStore;
  /** Origin URL of the endpoint's folder on the first node. */
  readonly base: string;
  /** The same on every node, in the order requests go to them. */
  readonly bases: readonly string[];
  /** The nodes' URLs. */
  readonly urls: readonly string[];
  /** A URL on the first node moved to the next node in turn; on one node, as it is. */
  readonly spread: (url: string) => string;
  /** The S3 endpoint harvest output goes to (the built-in one of the node, the shared store, or the external one). */
  readonly s3Url: string;
  readonly nodes: BenchNodes;
  /**
   * Writes `count` 2 s segments per rendition, the last ending at `endMs`, each at the blob key
   * `media/{cid}/{rendition}/{i}.mp4` (bytes are not written); returns the keys.
   */
  fill(renditions: readonly BenchRendition[], o: { count: number; endMs: number; bytes: number; initKey: (id: string) => string }): Promise<string[]>;
  close(): Promise<void>;
}

export type BenchRendition = Omit<RenditionRecord, 'channelArn' | 'container' | 'initKey' | 'updatedMs'>;

const INSERT_SEGMENT = 'INSERT INTO segments (channel_arn, rendition, seq, start_ms, duration_ms, media_time, media_duration, blob_key, bytes, discontinuity, source, init_key) VALUES ';
/** Rows per INSERT over PostgreSQL (one round trip each; 12 parameters a row, under its 65,535). */
const PG_BATCH = 2000;

export async function startBenchChannel(o: { name: string; startoverSeconds: number; args?: readonly string[]; cluster?: Cluster; s3?: S3Placement }): Promise<BenchChannel> {
  const nodes = await startBenchNodes({ name: o.name, cluster: o.cluster ?? { postgres: false, nodes: 1 }, s3: o.s3 ?? 'builtin', args: o.args ?? [] });
  const app = nodes.apps[0]!;
  const clients = nodes.apps.map((a) => new MediaPackageV2Client({ endpoint: a.url, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' } }));
  const client = spreadClient(clients);
  await createBenchEndpoint(clients[0]!, {
    ContainerType: 'CMAF',
    StartoverWindowSeconds: o.startoverSeconds,
    // One output segment per 2 s input segment.
    Segment: { SegmentDurationSeconds: SEG_MS / 1000 },
    HlsManifests: [{ ManifestName: 'index' }],
    DashManifests: [{ ManifestName: 'dash' }],
  });
  const channelArn = arns.channel({ accountId: '000000000000', region: 'us-east-1' }, 'bench', 'ch');
  const driver: SqlDriver = nodes.databaseUrl ? new PostgresDriver(nodes.databaseUrl) : new SqliteDriver(join(nodes.dataDirs[0]!, 'packhouse.db'));
  const timeline = new SqlTimelineStore(driver);
  const cid = channelKey(channelArn);
  const s3 = nodes.s3;
  const bases = nodes.apps.map((a) => `${a.url}/out/v1/bench/ch/ep`);
  return {
    app,
    client,
    channelArn,
    cid,
    blobs: s3
      ? new S3BlobStore({ bucket: s3.bucket, prefix: s3.prefix, endpoint: s3.url, region: 'us-east-1', credentials: s3.credentials })
      : new DiskBlobStore(join(nodes.dataDirs[0]!, 'media')),
    base: bases[0]!,
    bases,
    urls: nodes.apps.map((a) => a.url),
    spread: urlsInTurn(nodes.apps.map((a) => a.url)),
    s3Url: s3?.url ?? nodes.externalS3?.url ?? app.s3Url!,
    nodes,
    async fill(renditions, f) {
      const first = f.endMs - f.count * SEG_MS;
      const keys: string[] = [];
      for (const r of renditions) {
        const initKey = f.initKey(r.id);
        await timeline.upsertRendition({ channelArn, container: 'fmp4', initKey, updatedMs: f.endMs, ...r });
        const row = (i: number) => {
          const key = `media/${cid}/${r.id}/${i}.mp4`;
          keys.push(key);
          return [channelArn, r.id, i + 1, first + i * SEG_MS, SEG_MS, (i * SEG_MS * r.timescale) / 1000, (SEG_MS * r.timescale) / 1000, key, f.bytes, 0, '1', initKey];
        };
        await driver.transaction(async (ex) => {
          if (driver.dialect === 'postgres') {
            // Over the network a row at a time would take minutes: many rows per statement.
            for (let i = 0; i < f.count; i += PG_BATCH) {
              const rows = Array.from({ length: Math.min(PG_BATCH, f.count - i) }, (_, j) => row(i + j));
              await ex.run(INSERT_SEGMENT + rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '), rows.flat());
            }
          } else {
            for (let i = 0; i < f.count; i++) await ex.run(`${INSERT_SEGMENT}(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row(i));
          }
          // The counters appendSegment keeps (the origin's in-memory timeline checks them).
          await ex.run('INSERT INTO rendition_counters (channel_arn, rendition, last_seq, last_disc_seq) VALUES (?, ?, ?, 0)', [channelArn, r.id, f.count]);
        });
      }
      // What autovacuum has done to a table filled over hours (statistics, a visibility map):
      // without it PostgreSQL plans the MIN(start_ms) of a run that every DASH MPD asks for as a
      // walk over all 43,200 index entries, 13 ms a request instead of 0.05 ms.
      if (driver.dialect === 'postgres') await driver.run('VACUUM ANALYZE segments');
      return keys;
    },
    async close() {
      await driver.close();
      await nodes.close();
    },
  };
}
