/**
 * The composition root: the only place that picks concrete adapters (SQLite or PostgreSQL, the
 * key store, the clock) and wires them into the services, the pipeline and the HTTP server.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer, type RequestListener, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { KeyStore, parseCredentialsFile } from './api/auth/credentials.js';
import { SigV4Verifier, type KeyPair } from './api/auth/sigv4.js';
import { createRequestListener } from './api/http-server.js';
import { ApiPipeline } from './api/pipeline.js';
import { ConfigError, DEFAULT_KEY_PAIR, type Config } from './config/config.js';
import type { BlobStore, Clock, Ids, MetadataStore, ObjectSink, TimelineStore } from './domain/ports.js';
import { createServices } from './domain/services/index.js';
import { Dataplane } from './dataplane/dataplane-http.js';
import { DEFAULT_INGEST_LIMITS, IngestService } from './dataplane/ingest/ingest-service.js';
import { OriginService } from './dataplane/origin/origin-service.js';
import { EgressGuard } from './dataplane/origin/egress-access.js';
import { RequestFactsReader } from './dataplane/request-facts.js';
import { parseCdnSecretsFile, type CdnSecrets } from './dataplane/origin/cdn-secrets.js';
import { RetentionKeeper } from './dataplane/retention.js';
import { ExclusiveStoreCache } from './storage/blobs/exclusive-cache.js';
import { DiskBlobStore } from './storage/blobs/disk-blob-store.js';
import { S3BlobStore } from './storage/blobs/s3-blob-store.js';
import { withLazyCmaf } from './storage/blobs/lazy-cmaf-blobs.js';
import { ChannelCleanup } from './dataplane/channel-cleanup.js';
import type { S3Connection } from './storage/s3-client.js';
import { S3Sink } from './storage/sinks/s3-sink.js';
import { startBuiltinS3, type BuiltinS3 } from './storage/sinks/builtin-s3.js';
import { HarvestRunner } from './domain/harvest/harvest-runner.js';
import { WebhookDispatcher } from './events/webhook-dispatcher.js';
import type { SqlDriver } from './storage/sql/driver.js';
import { PostgresDriver } from './storage/sql/postgres-driver.js';
import { SqlMetadataStore } from './storage/sql/sql-metadata-store.js';
import { metrics } from './metrics/metrics.js';
import { ContentKeys } from './encryption/content-keys.js';
import { Egress } from './encryption/egress.js';
import { TimedDriver } from './metrics/timed-driver.js';
import { SqlTimelineStore } from './storage/sql/sql-timeline-store.js';
import { SqliteDriver } from './storage/sql/sqlite-driver.js';
import { StartupError, dataDirError, databaseError, listenError } from './startup-errors.js';

const DAY_MS = 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 60_000;

export const systemClock: Clock = { now: () => new Date() };
/** Random bytes for ETags, filled 128 ETags at a time (as randomUUID keeps its own pool): one call each costs a few µs. */
const etagPool = Buffer.alloc(32 * 128);
let etagOffset = etagPool.length;

export const randomIds: Ids = {
  uuid: () => randomUUID(),
  etag: () => {
    if (etagOffset === etagPool.length) {
      randomFillSync(etagPool);
      etagOffset = 0;
    }
    const tag = etagPool.toString('base64', etagOffset, etagOffset + 32);
    etagOffset += 32;
    return tag;
  },
};

export interface RunningApp {
  readonly url: string;
  /** URL of the built-in local S3 endpoint, when it runs. */
  readonly s3Url: string | undefined;
  readonly server: Server;
  readonly store: MetadataStore;
  readonly logger: Logger;
  close(): Promise<void>;
}

function keyPairs(config: Config): { pairs: KeyPair[]; usingDefault: boolean } {
  const pairs: KeyPair[] = [];
  if (config.credentialsFile) {
    let text: string;
    try {
      text = readFileSync(config.credentialsFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`--credentials-file (PACKHOUSE_CREDENTIALS_FILE): cannot read ${config.credentialsFile}: ${(err as Error).message}`);
    }
    try {
      pairs.push(...parseCredentialsFile(text, config.credentialsFile));
    } catch (err) {
      throw new ConfigError(`--credentials-file (PACKHOUSE_CREDENTIALS_FILE): ${(err as Error).message}`);
    }
  }
  if (config.keyPair) pairs.push(config.keyPair);
  if (pairs.length) return { pairs, usingDefault: false };
  return { pairs: [DEFAULT_KEY_PAIR], usingDefault: true };
}

/** The CDN identifier secrets of --cdn-secrets-file (none without it); values are never logged. */
function cdnSecretsOf(config: Config): CdnSecrets {
  if (!config.cdnSecretsFile) return new Map();
  let text: string;
  try {
    text = readFileSync(config.cdnSecretsFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`--cdn-secrets-file (PACKHOUSE_CDN_SECRETS_FILE): cannot read ${config.cdnSecretsFile}: ${(err as Error).message}`);
  }
  try {
    return parseCdnSecretsFile(text, config.cdnSecretsFile);
  } catch (err) {
    throw new ConfigError(`--cdn-secrets-file (PACKHOUSE_CDN_SECRETS_FILE): ${(err as Error).message}`);
  }
}

/**
 * Opens the metadata and timeline stores. `existing`: only a database that is already there (the
 * `jobs` command reads the server's database; it must not create an empty one elsewhere).
 */
export async function openStores(config: Config, options: { existing?: boolean } = {}): Promise<{ store: MetadataStore; timeline: TimelineStore }> {
  let driver: SqlDriver;
  if (config.databaseUrl) {
    driver = new PostgresDriver(config.databaseUrl, { timeoutMs: config.timeouts.databaseMs });
  } else {
    const file = join(config.dataDir, 'packhouse.db');
    if (options.existing && !existsSync(config.dataDir)) {
      throw new StartupError(`--data-dir ${config.dataDir} does not exist. Point --data-dir (PACKHOUSE_DATA_DIR) at the server's data directory, or pass the server's --database-url.`);
    }
    if (options.existing && !existsSync(file)) {
      throw new StartupError(`--data-dir ${config.dataDir} holds no Packhouse database (packhouse.db). Point --data-dir (PACKHOUSE_DATA_DIR) at the server's data directory, or pass the server's --database-url.`);
    }
    try {
      mkdirSync(config.dataDir, { recursive: true });
      driver = new SqliteDriver(file);
    } catch (err) {
      throw dataDirError(err, config.dataDir);
    }
  }
  try {
    driver = new TimedDriver(driver, metrics);
    const store = await SqlMetadataStore.open(driver);
    return { store, timeline: new SqlTimelineStore(driver) };
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw config.databaseUrl ? databaseError(err, config.databaseUrl) : dataDirError(err, config.dataDir);
  }
}

export async function startApp(config: Config, options: { logger?: Logger; clock?: Clock } = {}): Promise<RunningApp> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'packhouse' } });
  const clock = options.clock ?? systemClock;
  const { pairs, usingDefault } = keyPairs(config);
  const keys = new KeyStore(pairs);
  const { store, timeline } = await openStores(config);
  // Whatever started before a start-up failure is closed again, so the process can exit.
  const started: (() => Promise<void>)[] = [() => store.close()];
  try {
    return await startServices(config, logger, clock, keys, usingDefault, store, timeline, started);
  } catch (err) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function startServices(
  config: Config,
  logger: Logger,
  clock: Clock,
  keys: KeyStore,
  usingDefault: boolean,
  store: MetadataStore,
  timeline: TimelineStore,
  started: (() => Promise<void>)[],
): Promise<RunningApp> {
  const cdnSecrets = cdnSecretsOf(config);
  // The S3 store of harvest output (and of live segments with --segment-store s3://...).
  let builtinS3: BuiltinS3 | undefined;
  let s3: S3Connection & { readonly builtin: boolean };
  if (config.s3.mode === 'builtin') {
    const dir = join(config.dataDir, 's3');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw dataDirError(err, config.dataDir);
    }
    try {
      builtinS3 = await startBuiltinS3({ directory: dir, host: config.s3.host, port: config.s3.port, credentials: config.s3.credentials });
    } catch (err) {
      throw listenError(err, 'The built-in S3 endpoint', { flag: 's3-port', env: 'PACKHOUSE_S3_PORT' }, config.s3.host, config.s3.port, { flag: 's3-host', env: 'PACKHOUSE_S3_HOST' });
    }
    const running = builtinS3;
    started.push(() => running.close());
    s3 = { endpoint: builtinS3.url, region: 'us-east-1', credentials: builtinS3.credentials, builtin: true };
    logger.info(
      { s3Url: builtinS3.url, dataDir: join(config.dataDir, 's3'), accessKeyId: config.s3.credentials.accessKeyId, defaultKeys: config.s3.defaultKeys },
      `built-in local S3 endpoint for harvest output: ${builtinS3.url}, accepting only requests signed with access key ${config.s3.credentials.accessKeyId}${config.s3.defaultKeys ? ' (the default S3RVER/S3RVER pair, loopback only)' : ''}`,
    );
  } else if (config.s3.mode === 'endpoint') {
    s3 = { endpoint: config.s3.endpoint, region: config.s3.region, credentials: config.s3.credentials, builtin: false };
  } else {
    s3 = { region: config.s3.region, credentials: config.s3.credentials, builtin: false };
  }
  const harvestStore = config.s3.mode === 'builtin' ? `the built-in local S3 store (${builtinS3?.url ?? ''})` : config.s3.mode === 'endpoint' ? `the S3 store at ${config.s3.endpoint}` : `AWS S3 (region ${config.s3.region})`;
  logger.info({ harvestStore: config.s3.mode, harvestStoreReason: config.s3.reason }, `harvest output goes to ${harvestStore}, because ${config.s3.reason}`);
  const sink: ObjectSink = new S3Sink({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, timeoutMs: config.timeouts.s3Ms, createsBuckets: s3.builtin });
  let blobs: BlobStore;
  if (config.segmentStore.mode === 's3') {
    const { bucket, prefix } = config.segmentStore;
    const state = await sink.checkBucket(bucket);
    if (state === 'missing' && s3.builtin) await sink.createBucket(bucket);
    else if (state !== 'ok') {
      throw new ConfigError(`--segment-store s3://${bucket}: the bucket ${state === 'missing' ? 'does not exist' : 'is not accessible with the configured S3 credentials'}; create it, or fix --s3-endpoint and the S3 credentials`);
    }
    blobs = new S3BlobStore({ bucket, prefix, endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, timeoutMs: config.timeouts.s3Ms });
    logger.info({ bucket, prefix }, 'live segments in S3');
  } else {
    const disk = new DiskBlobStore(join(config.dataDir, 'media'));
    // With SQLite too, the data directory is one process's own: the listings of ingest folders and
    // the bytes of the uploads waiting there are answered from memory. Nodes over PostgreSQL may
    // share a folder, so they ask the disk every time (docs/design/016-ingest-file-calls.md).
    blobs = config.databaseUrl ? disk : new ExclusiveStoreCache(disk, { keepBytes: (key) => key.startsWith('ingest/'), maxBytes: 128 * 1024 * 1024, maxFolders: 100_000 });
  }
  // TS segments' CMAF fragments that ingest did not store are made on their first read.
  blobs = withLazyCmaf(blobs);
  // The server listens first so that a default public URL can name the port actually bound (--port 0).
  const ready: { listener?: RequestListener } = {};
  const server = createServer((req, res) => {
    if (ready.listener) ready.listener(req, res);
    else res.writeHead(503, { 'retry-after': '1' }).end('starting\n');
  });
  server.keepAliveTimeout = 65_000;
  // A client that sends its whole request and then half-closes the connection without waiting
  // for the answer (ffmpeg's HLS uploads do: "Connection: close", body, FIN) still has its request
  // served. Without this, Node ends the socket when it reads the FIN and destroys every request
  // not yet answered, including one whose body has fully arrived but is still held back while
  // ingest decides whether it wants it (dataplane-http.ts, EARLY_BYTES): that segment was lost.
  // After the answer the socket is closed as before.
  (server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    throw listenError(err, 'Packhouse', { flag: 'port', env: 'PACKHOUSE_PORT' }, config.host, config.port);
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  const publicUrl = config.publicUrl ?? url;
  const ingestUrls = [config.ingestUrls[0] ?? publicUrl, config.ingestUrls[1] ?? publicUrl] as const;
  const settings = { publicUrl, ingestUrls, quotas: config.quotas, harvestJobRetentionMs: config.harvestJobRetentionDays * DAY_MS, eventWebhooks: config.harvest.webhooks, cdnSecretArns: new Set(cdnSecrets.keys()) };
  const cleanup = new ChannelCleanup({ store, timeline, blobs, logger });
  const purge = (arn: string) => void cleanup.purge(arn).catch((err: unknown) => logger.error({ err, channel: arn }, 'removing a deleted channel\'s content failed; the sweep retries'));
  const reset = (arn: string) => cleanup.reset(arn).catch((err: unknown) => logger.error({ err, channel: arn }, 'removing a reset channel\'s content failed'));
  const wakeRunner: { wake?: (dueMs: number) => void } = {};
  const services = createServices({ store, clock, ids: randomIds, settings, hooks: { channelDeleted: purge, channelReset: reset, originEndpointDeleted: (arn) => egress.keys.forget(arn), harvestJobQueued: (dueMs) => wakeRunner.wake?.(dueMs) } });
  const verifier = new SigV4Verifier((id) => keys.lookup(id));
  const pipeline = new ApiPipeline({ services, store, verifier, clock, ids: randomIds, logger });
  const retention = new RetentionKeeper({ store, timeline, blobs, clock, logger });
  const limits = {
    ...DEFAULT_INGEST_LIMITS,
    maxClockSkewMs: config.ingest.maxClockSkewSeconds * 1000,
    pendingMs: config.ingest.pendingSeconds * 1000,
    maxPlaylists: config.ingest.maxPlaylists,
    maxPendingSegments: config.ingest.maxPendingSegments,
  };
  const ingest = new IngestService({ store, timeline, blobs, clock, logger, limits, onSegments: (ch) => retention.touch(ch) });
  ingest.start();
  started.push(async () => ingest.stop());
  const egress = new Egress(new ContentKeys({ store, logger, speke: { timeoutMs: config.speke.timeoutMs, maxResponseBytes: 1 << 20, credentials: config.speke.credentials, region: config.speke.region } }));
  const origin = new OriginService({ store, timeline, blobs, clock, manifestCacheBytes: config.manifestCacheBytes, renderThreads: config.renderThreads, renderThreadNice: config.renderThreadNice, egress });
  started.push(() => origin.close());
  const dataplane = new Dataplane(ingest, origin, logger, verifier, clock, new EgressGuard(cdnSecrets), new RequestFactsReader(clock, config.trustedProxies));
  ready.listener = createRequestListener(pipeline, dataplane, logger, config.metrics);

  const runner = new HarvestRunner({
    store,
    timeline,
    blobs,
    sink,
    clock,
    ids: randomIds,
    logger,
    egress,
    settings: {
      concurrency: config.harvest.concurrency,
      leaseMs: config.harvest.leaseSeconds * 1000,
      settleMs: config.harvest.settleSeconds * 1000,
      progressLogMs: config.harvest.progressSeconds * 1000,
      pollMs: 500,
      retentionMs: settings.harvestJobRetentionMs,
      webhooks: config.harvest.webhooks,
      writeAttempts: 5,
      writeParallelism: 4,
    },
  });
  runner.start();
  wakeRunner.wake = (dueMs) => runner.wake(dueMs);
  const dispatcher = new WebhookDispatcher({ store, clock, logger, pollMs: 500, baseBackoffMs: 1000, timeoutMs: 10_000 });
  dispatcher.start();
  const sweep = setInterval(() => {
    store.sweep(clock.now().getTime(), DAY_MS).catch((err: unknown) => logger.error({ err }, 'sweep failed'));
    cleanup.sweep().catch((err: unknown) => logger.error({ err }, 'sweep of deleted channels failed'));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  logger.info(
    { url, publicUrl, ingestUrls, s3Url: builtinS3?.url, harvestStore: config.s3.mode, harvestStoreReason: config.s3.reason, dataDir: config.dataDir, database: config.databaseUrl ? 'postgres' : 'sqlite', keyPairs: keys.size, cdnSecrets: cdnSecrets.size },
    'packhouse listening',
  );
  if (usingDefault) {
    logger.info(`no credentials configured: accepting the local key pair ${DEFAULT_KEY_PAIR.accessKeyId}/${DEFAULT_KEY_PAIR.secretAccessKey} (account ${DEFAULT_KEY_PAIR.accountId}) on loopback`);
  }
  return {
    url,
    s3Url: builtinS3?.url,
    server,
    store,
    logger,
    close: async () => {
      clearInterval(sweep);
      ingest.stop();
      dispatcher.stop();
      await runner.stop();
      await builtinS3?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await origin.close();
      await store.close();
    },
  };
}
