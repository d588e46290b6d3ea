/**
 * What the benchmarks share. Packhouse nodes in throwaway data directories, in this process: one on
 * SQLite by default, or (`--postgres [--nodes N]`) N identical nodes over one fresh PostgreSQL
 * database with live segments in an S3 segment store they share (the built-in S3 endpoint, started
 * apart from the nodes, as the multi-node tests do), requests sent to the nodes in turn as a load
 * balancer in front of them would. And for the origin and harvest benchmarks, one CMAF endpoint
 * (bench/ch/ep, HLS `index` and DASH `dash`, 2 s output segments) with a second connection to the
 * nodes' database that writes timeline rows straight in, far faster than ingesting them.
 */
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
  close(): Promise<void>;
}

/** Starts the nodes (`start` and `load`: another build's, to compare builds in one process). */
export async function startBenchNodes(o: { name: string; cluster: Cluster; args?: readonly string[]; start?: typeof startApp; load?: typeof loadConfig }): Promise<BenchNodes> {
  const start = o.start ?? startApp;
  const load = o.load ?? loadConfig;
  const pgDatabase = o.cluster.postgres ? await createPgDatabase() : undefined;
  const dirs: string[] = [];
  let shared: { s3: SharedS3; close(): Promise<void> } | undefined;
  if (pgDatabase) {
    const dir = mkdtempSync(join(tmpdir(), `packhouse-bench-${o.name}-s3-`));
    dirs.push(dir);
    const server = await startBuiltinS3({ directory: dir, host: '127.0.0.1', port: 0, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const admin = new S3Client({ endpoint: server.url, forcePathStyle: true, region: 'us-east-1', credentials: server.credentials });
    for (const Bucket of ['live', 'vod']) await admin.send(new CreateBucketCommand({ Bucket }));
    admin.destroy();
    shared = { s3: { url: server.url, credentials: server.credentials, bucket: 'live', prefix: 'segments/' }, close: () => server.close() };
  }
  const clusterArgs = pgDatabase && shared
    ? [
        '--database-url', pgDatabase.url,
        '--s3-endpoint', shared.s3.url,
        '--s3-access-key-id', shared.s3.credentials.accessKeyId,
        '--s3-secret-access-key', shared.s3.credentials.secretAccessKey,
        '--segment-store', `s3://${shared.s3.bucket}/${shared.s3.prefix}`,
      ]
    : [];
  const apps: RunningApp[] = [];
  const dataDirs: string[] = [];
  for (let i = 0; i < o.cluster.nodes; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), `packhouse-bench-${o.name}-`));
    dataDirs.push(dataDir);
    const config = load(['--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...clusterArgs, ...(o.args ?? [])], {});
    apps.push(await start(config, { logger: pino({ level: process.env['BENCH_LOG'] ?? 'silent' }) }));
  }
  return {
    apps,
    dataDirs,
    databaseUrl: pgDatabase?.url,
    s3: shared?.s3,
    async close() {
      for (const app of apps) await app.close();
      await shared?.close();
      if (pgDatabase) await dropPgDatabase(pgDatabase.name);
      for (const d of [...dataDirs, ...dirs]) rmSync(d, { recursive: true, force: true });
    },
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
  /** The S3 endpoint harvest output goes to (the built-in one of the node, or the shared store). */
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

export async function startBenchChannel(o: { name: string; startoverSeconds: number; args?: readonly string[]; cluster?: Cluster }): Promise<BenchChannel> {
  const nodes = await startBenchNodes({ name: o.name, cluster: o.cluster ?? { postgres: false, nodes: 1 }, args: o.args ?? [] });
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
    s3Url: s3?.url ?? app.s3Url!,
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
