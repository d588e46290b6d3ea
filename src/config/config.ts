/**
 * The one typed, validated configuration of a Packhouse process, from command-line flags and
 * PACKHOUSE_* environment variables (a flag wins over its variable). The only reader of process.env
 * is the caller that passes `env` in; nothing else in Packhouse reads the environment.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Quotas } from '../domain/services/context.js';
import { parseS3Url } from '../storage/blobs/s3-blob-store.js';
import { parseCidr } from '../domain/policy-evaluation.js';

export interface KeyPairConfig {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
}

export interface Config {
  /** Who may read /metrics (src/metrics/metrics-endpoint.ts). */
  readonly metrics: { readonly mode: 'local' | 'public' | 'off'; readonly token: string | undefined };
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Base of every URL the API hands out; undefined: http://{host}:{bound port}, known once listening. */
  readonly publicUrl: string | undefined;
  /** Bases of ingest endpoints 1 and 2 in the URLs the API hands out; undefined: the public URL. */
  readonly ingestUrls: readonly [string | undefined, string | undefined];
  /** postgres://... to share state between nodes; empty for SQLite in the data directory. */
  readonly databaseUrl: string;
  readonly credentialsFile: string | undefined;
  /** JSON file of CDN identifier secrets (secret ARN to value) for CdnAuthConfiguration. */
  readonly cdnSecretsFile: string | undefined;
  /** Addresses / CIDR ranges of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  readonly trustedProxies: readonly string[];
  /** The single key pair of the simple case (PACKHOUSE_ACCESS_KEY_ID/...), if set. */
  readonly keyPair: KeyPairConfig | undefined;
  readonly logLevel: string;
  readonly quotas: Quotas;
  readonly harvestJobRetentionDays: number;
  /** Where live segments live: the data directory, or a bucket and prefix on the S3 store. */
  readonly segmentStore: { readonly mode: 'disk' } | { readonly mode: 's3'; readonly bucket: string; readonly prefix: string };
  /** Bytes of memory for rendered closed-window manifests; 0: no cache. */
  readonly manifestCacheBytes: number;
  /** Threads that write long playlists' segment lines; 0: the main thread. */
  readonly renderThreads: number;
  /** How much lower than the process's own the render threads' scheduling priority is (Linux nice steps). */
  readonly renderThreadNice: number;
  /** Bound on one call to the database and to an S3 store (ms): past it, the request that waits gets a 5xx. */
  readonly timeouts: { readonly databaseMs: number; readonly s3Ms: number };
  readonly s3: S3Config;
  readonly harvest: HarvestConfig;
  readonly ingest: IngestConfig;
  /** Requests to SPEKE key providers: SigV4 credentials (none: unsigned), Region, time bound. */
  readonly speke: { readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined } | undefined; readonly region: string | undefined; readonly timeoutMs: number };
}

/** What one ingest input may hold and send (docs/SECURITY.md, "Ingest and parsers: limits"). */
export interface IngestConfig {
  /** Program date-times further than this from the server's clock are refused, in seconds. */
  readonly maxClockSkewSeconds: number;
  /** Playlists and segments waiting under an ingest input expire after this many seconds unchanged. */
  readonly pendingSeconds: number;
  /** Playlists one ingest input may hold. */
  readonly maxPlaylists: number;
  /** Segments one ingest input may hold that no playlist has placed yet. */
  readonly maxPendingSegments: number;
}

/**
 * Where harvested assets go: a given S3-compatible endpoint, AWS S3 itself, or the built-in local
 * store; `reason` says which setting chose it (logged at start-up).
 */
export type S3Config = { readonly reason: string } & (
  | { readonly mode: 'endpoint'; readonly endpoint: string; readonly region: string; readonly credentials: Credentials | undefined }
  | { readonly mode: 'aws'; readonly region: string; readonly credentials: Credentials | undefined }
  | { readonly mode: 'builtin'; readonly host: string; readonly port: number; readonly credentials: Credentials; readonly defaultKeys: boolean }
);

/** The key pair the built-in S3 endpoint accepts when none is configured (loopback only; README). */
export const DEFAULT_BUILTIN_S3_KEYS: Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface HarvestConfig {
  readonly concurrency: number;
  readonly leaseSeconds: number;
  readonly settleSeconds: number;
  /** How often a running harvest logs its progress. */
  readonly progressSeconds: number;
  readonly webhooks: readonly string[];
}

/** The key pair a loopback-only server accepts when none is configured (README: "Credentials"). */
export const DEFAULT_KEY_PAIR: KeyPairConfig = {
  accessKeyId: 'packhouse',
  secretAccessKey: 'packhouse',
  accountId: '000000000000',
};

export class ConfigError extends Error {}

interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly def?: string;
}

export const SETTINGS = {
  host: { flag: 'host', env: 'PACKHOUSE_HOST', def: '127.0.0.1', help: 'address to listen on' },
  port: { flag: 'port', env: 'PACKHOUSE_PORT', def: '8080', help: 'TCP port to listen on (0 picks a free one)' },
  dataDir: { flag: 'data-dir', env: 'PACKHOUSE_DATA_DIR', def: './data', help: 'directory for the database and media' },
  publicUrl: { flag: 'public-url', env: 'PACKHOUSE_PUBLIC_URL', help: 'base of every URL the API hands out (default http://{host}:{port})' },
  ingestUrl1: { flag: 'ingest-url-1', env: 'PACKHOUSE_INGEST_URL_1', help: 'base of ingest endpoint 1\'s URL (e.g. the node or load balancer that takes the first input; default --public-url)' },
  ingestUrl2: { flag: 'ingest-url-2', env: 'PACKHOUSE_INGEST_URL_2', help: 'base of ingest endpoint 2\'s URL (e.g. the node that takes the second input; default --public-url)' },
  databaseUrl: { flag: 'database-url', env: 'PACKHOUSE_DATABASE_URL', def: '', help: 'postgres://... to use PostgreSQL instead of SQLite in the data directory' },
  credentialsFile: { flag: 'credentials-file', env: 'PACKHOUSE_CREDENTIALS_FILE', help: 'JSON file of access key pairs, each mapped to an account id' },
  cdnSecretsFile: { flag: 'cdn-secrets-file', env: 'PACKHOUSE_CDN_SECRETS_FILE', help: 'JSON file mapping Secrets Manager secret ARNs to CDN identifier values, for origin endpoints with CdnAuthConfiguration' },
  trustedProxies: { flag: 'trusted-proxies', env: 'PACKHOUSE_TRUSTED_PROXIES', def: '', help: 'comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto give aws:SourceIp and aws:SecureTransport to data-plane policies' },
  accessKeyId: { flag: 'access-key-id', env: 'PACKHOUSE_ACCESS_KEY_ID', help: 'access key id of the single key pair' },
  secretAccessKey: { flag: 'secret-access-key', env: 'PACKHOUSE_SECRET_ACCESS_KEY', help: 'secret of the single key pair' },
  accountId: { flag: 'account-id', env: 'PACKHOUSE_ACCOUNT_ID', def: '000000000000', help: '12-digit account id of the single key pair' },
  logLevel: { flag: 'log-level', env: 'PACKHOUSE_LOG_LEVEL', def: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  quotaChannelGroups: { flag: 'quota-channel-groups', env: 'PACKHOUSE_QUOTA_CHANNEL_GROUPS', def: '3', help: 'channel groups per account and Region' },
  quotaChannels: { flag: 'quota-channels-per-group', env: 'PACKHOUSE_QUOTA_CHANNELS_PER_GROUP', def: '10', help: 'channels per channel group' },
  quotaEndpoints: { flag: 'quota-endpoints-per-channel', env: 'PACKHOUSE_QUOTA_ENDPOINTS_PER_CHANNEL', def: '10', help: 'origin endpoints per channel' },
  quotaManifests: { flag: 'quota-manifests-per-endpoint', env: 'PACKHOUSE_QUOTA_MANIFESTS_PER_ENDPOINT', def: '25', help: 'manifests per origin endpoint' },
  quotaHarvestJobs: { flag: 'quota-active-harvest-jobs', env: 'PACKHOUSE_QUOTA_ACTIVE_HARVEST_JOBS', def: '10', help: 'queued or in-progress harvest jobs per channel group' },
  s3Endpoint: { flag: 's3-endpoint', env: 'PACKHOUSE_S3_ENDPOINT', help: 'S3-compatible endpoint URL for harvest output, or "aws" for AWS S3 (default: AWS S3 when S3 credentials are set, else a built-in local S3)' },
  s3Region: { flag: 's3-region', env: 'PACKHOUSE_S3_REGION', def: 'us-east-1', help: 'region of the S3 store' },
  s3AccessKeyId: { flag: 's3-access-key-id', env: 'PACKHOUSE_S3_ACCESS_KEY_ID', help: 'access key for the S3 store (else the AWS SDK default chain)' },
  s3SecretAccessKey: { flag: 's3-secret-access-key', env: 'PACKHOUSE_S3_SECRET_ACCESS_KEY', help: 'secret key for the S3 store' },
  s3Port: { flag: 's3-port', env: 'PACKHOUSE_S3_PORT', def: '4569', help: 'port of the built-in local S3 endpoint (0 picks a free one)' },
  s3Host: { flag: 's3-host', env: 'PACKHOUSE_S3_HOST', def: '127.0.0.1', help: 'address the built-in local S3 endpoint listens on (not loopback: needs --s3-builtin-access-key-id)' },
  s3BuiltinAccessKeyId: { flag: 's3-builtin-access-key-id', env: 'PACKHOUSE_S3_BUILTIN_ACCESS_KEY_ID', help: 'access key id the built-in local S3 endpoint accepts (default S3RVER, on loopback only)' },
  s3BuiltinSecretAccessKey: { flag: 's3-builtin-secret-access-key', env: 'PACKHOUSE_S3_BUILTIN_SECRET_ACCESS_KEY', help: 'secret of that key (default S3RVER, on loopback only)' },
  harvestConcurrency: { flag: 'harvest-concurrency', env: 'PACKHOUSE_HARVEST_CONCURRENCY', def: '2', help: 'harvest jobs one node runs at once' },
  harvestLease: { flag: 'harvest-lease-seconds', env: 'PACKHOUSE_HARVEST_LEASE_SECONDS', def: '10', help: 'how long a crashed node holds a running job before another takes it over' },
  harvestSettle: { flag: 'harvest-settle-seconds', env: 'PACKHOUSE_HARVEST_SETTLE_SECONDS', def: '20', help: 'once ingest stopped or stalled short of EndTime: how long after EndTime a job waits before it runs with what there is (while input is alive, a job waits for its content however late)' },
  harvestProgress: { flag: 'harvest-progress-seconds', env: 'PACKHOUSE_HARVEST_PROGRESS_SECONDS', def: '5', help: 'how often a running harvest job logs its progress (and once at its end)' },
  eventWebhooks: { flag: 'event-webhooks', env: 'PACKHOUSE_EVENT_WEBHOOKS', def: '', help: 'comma-separated URLs that receive harvest-job events (HTTP POST)' },
  segmentStore: { flag: 'segment-store', env: 'PACKHOUSE_SEGMENT_STORE', def: 'disk', help: 'where live segments live: "disk" (under --data-dir) or s3://bucket[/prefix] on the S3 store of --s3-endpoint, shared by several nodes' },
  manifestCache: { flag: 'manifest-cache-mb', env: 'PACKHOUSE_MANIFEST_CACHE_MB', def: '64', help: 'memory for rendered manifests: half for closed time-shift windows, half for the segment lines of long playlists (0 turns both caches off)' },
  renderThreads: { flag: 'render-threads', env: 'PACKHOUSE_RENDER_THREADS', def: '1', help: 'threads that write the segment lines of long playlists (256 segments or more) away from the thread serving requests and ingest; 0 writes them on that thread' },
  renderThreadNice: { flag: 'render-thread-nice', env: 'PACKHOUSE_RENDER_THREAD_NICE', def: '10', help: 'on Linux, how many nice steps below the process the render threads run (0–19), so ingest and live requests win the cores from long time-shifted playlists' },
  databaseTimeout: { flag: 'database-timeout-seconds', env: 'PACKHOUSE_DATABASE_TIMEOUT_SECONDS', def: '10', help: 'bound on one PostgreSQL call (connecting, a statement); a request waiting longer gets a 5xx' },
  s3Timeout: { flag: 's3-timeout-seconds', env: 'PACKHOUSE_S3_TIMEOUT_SECONDS', def: '10', help: 'bound on one S3 call (segment store and harvest output); a request waiting longer gets a 5xx' },
  metrics: { flag: 'metrics', env: 'PACKHOUSE_METRICS', def: 'local', help: 'who may read Prometheus metrics at /metrics on this port: "local" (clients on this machine, or any client with --metrics-token), "public" (anyone; with --metrics-token, its holders) or "off"' },
  metricsToken: { flag: 'metrics-token', env: 'PACKHOUSE_METRICS_TOKEN', help: 'bearer token /metrics requires (Authorization: Bearer <token>), from any address' },
  ingestClockSkew: { flag: 'ingest-max-clock-skew-seconds', env: 'PACKHOUSE_INGEST_MAX_CLOCK_SKEW_SECONDS', def: '86400', help: 'ingest refuses program date-times further than this from the server clock' },
  ingestPending: { flag: 'ingest-pending-seconds', env: 'PACKHOUSE_INGEST_PENDING_SECONDS', def: '600', help: 'an ingested playlist or unplaced segment left unchanged this long expires (keep it above the longest segment duration)' },
  ingestMaxPlaylists: { flag: 'ingest-max-playlists', env: 'PACKHOUSE_INGEST_MAX_PLAYLISTS', def: '32', help: 'playlists one ingest input (1 or 2 of a channel) may hold' },
  ingestMaxPending: { flag: 'ingest-max-pending-segments', env: 'PACKHOUSE_INGEST_MAX_PENDING_SEGMENTS', def: '200', help: 'segments one ingest input may hold before a playlist places them' },
  spekeAccessKeyId: { flag: 'speke-access-key-id', env: 'PACKHOUSE_SPEKE_ACCESS_KEY_ID', help: 'access key that SigV4-signs requests to SPEKE key providers (service execute-api); unset: requests are not signed' },
  spekeSecretAccessKey: { flag: 'speke-secret-access-key', env: 'PACKHOUSE_SPEKE_SECRET_ACCESS_KEY', help: 'secret of that key' },
  spekeSessionToken: { flag: 'speke-session-token', env: 'PACKHOUSE_SPEKE_SESSION_TOKEN', help: 'session token of temporary SPEKE signing credentials' },
  spekeRegion: { flag: 'speke-region', env: 'PACKHOUSE_SPEKE_REGION', help: 'Region SPEKE requests are signed for (default: from an execute-api URL, else us-east-1)' },
  spekeTimeout: { flag: 'speke-timeout-seconds', env: 'PACKHOUSE_SPEKE_TIMEOUT_SECONDS', def: '5', help: 'bound on one request to a SPEKE key provider' },
  harvestRetention: { flag: 'harvest-job-retention-days', env: 'PACKHOUSE_HARVEST_JOB_RETENTION_DAYS', def: '15', help: 'days a harvest job record is kept after creation' },
} as const satisfies Record<string, Setting>;

type Key = keyof typeof SETTINGS;

/** Parses `--name value` and `--name=value` flags; unknown flags are an error. */
function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set<string>(Object.values(SETTINGS).map((s) => s.flag));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"; settings are given as --name value`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new ConfigError(`unknown option --${name}; run "packhouse help" for the list`);
    const value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  const flags = parseFlags(argv);
  const raw = (k: Key): string | undefined => {
    const s: Setting = SETTINGS[k];
    return flags.get(s.flag) ?? (env[s.env] !== undefined && env[s.env] !== '' ? env[s.env] : undefined) ?? s.def;
  };
  const name = (k: Key) => `--${SETTINGS[k].flag} (${SETTINGS[k].env})`;
  const int = (k: Key, min: number, max: number): number => {
    const v = raw(k) ?? '';
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new ConfigError(`${name(k)} must be a whole number from ${min} to ${max}; got "${v}"`);
    return n;
  };

  const host = raw('host')!;
  if (host !== 'localhost' && isIP(host) === 0) throw new ConfigError(`${name('host')} must be an IP address or localhost; got "${host}"`);
  const port = int('port', 0, 65535);
  const baseUrl = (k: Key): string | undefined => {
    const v = raw(k)?.replace(/\/+$/, '');
    if (v === undefined) return undefined;
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(v);
    } catch {
      throw new ConfigError(`${name(k)} must be an absolute http(s) URL; got "${v}"`);
    }
    if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new ConfigError(`${name(k)} must use http or https; got "${v}"`);
    if (parsedUrl.search || parsedUrl.hash) throw new ConfigError(`${name(k)} must not have a query or fragment; got "${v}"`);
    return v;
  };
  const publicUrl = baseUrl('publicUrl');
  const ingestUrls = [baseUrl('ingestUrl1'), baseUrl('ingestUrl2')] as const;

  const databaseUrl = raw('databaseUrl') ?? '';
  if (databaseUrl !== '' && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`${name('databaseUrl')} must be a postgres:// URL (leave it unset for SQLite); got "${databaseUrl}"`);
  }

  const accessKeyId = raw('accessKeyId');
  const secretAccessKey = raw('secretAccessKey');
  const accountId = raw('accountId')!;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(`${name('accessKeyId')} and ${name('secretAccessKey')} must be set together`);
  }
  if (!/^\d{12}$/.test(accountId)) throw new ConfigError(`${name('accountId')} must be 12 digits; got "${accountId}"`);
  const keyPair = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, accountId } : undefined;
  const credentialsFile = raw('credentialsFile');
  if (!keyPair && !credentialsFile && !isLoopback(host)) {
    throw new ConfigError(
      `listening on ${host} (not loopback) needs configured credentials: set ${name('accessKeyId')} and ${name('secretAccessKey')}, or ${name('credentialsFile')}`,
    );
  }

  const logLevel = raw('logLevel')!;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`${name('logLevel')} must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }

  const s3AccessKeyId = raw('s3AccessKeyId');
  const s3Secret = raw('s3SecretAccessKey');
  if ((s3AccessKeyId === undefined) !== (s3Secret === undefined)) {
    throw new ConfigError(`${name('s3AccessKeyId')} and ${name('s3SecretAccessKey')} must be set together`);
  }
  const s3Credentials = s3AccessKeyId && s3Secret ? { accessKeyId: s3AccessKeyId, secretAccessKey: s3Secret } : undefined;
  const s3Endpoint = raw('s3Endpoint');
  const s3Region = raw('s3Region')!;
  let s3: S3Config;
  const awsBecause =
    s3Endpoint === 'aws'
      ? `${name('s3Endpoint')} is "aws"`
      : s3Endpoint !== undefined
        ? undefined
        : s3Credentials
          ? `${name('s3AccessKeyId')} is set and ${name('s3Endpoint')} is not`
          : env['AWS_ACCESS_KEY_ID']
            ? `AWS_ACCESS_KEY_ID is set in the environment and ${name('s3Endpoint')} is not (set it to choose another store)`
            : env['AWS_PROFILE']
              ? `AWS_PROFILE is set in the environment and ${name('s3Endpoint')} is not (set it to choose another store)`
              : undefined;
  if (awsBecause !== undefined) {
    s3 = { mode: 'aws', region: s3Region, credentials: s3Credentials, reason: awsBecause };
  } else if (s3Endpoint !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(s3Endpoint)) throw new ConfigError(`${name('s3Endpoint')} must be an http(s) URL or "aws"; got "${s3Endpoint}"`);
    s3 = { mode: 'endpoint', endpoint: s3Endpoint.replace(/\/+$/, ''), region: s3Region, credentials: s3Credentials, reason: `${name('s3Endpoint')} is set` };
  } else {
    const s3Host = raw('s3Host')!;
    if (s3Host !== 'localhost' && isIP(s3Host) === 0) throw new ConfigError(`${name('s3Host')} must be an IP address or localhost; got "${s3Host}"`);
    const builtinId = raw('s3BuiltinAccessKeyId');
    const builtinSecret = raw('s3BuiltinSecretAccessKey');
    if ((builtinId === undefined) !== (builtinSecret === undefined)) {
      throw new ConfigError(`${name('s3BuiltinAccessKeyId')} and ${name('s3BuiltinSecretAccessKey')} must be set together`);
    }
    if (builtinId === undefined && !isLoopback(s3Host)) {
      throw new ConfigError(
        `${name('s3Host')} ${s3Host} (not loopback) needs configured keys: set ${name('s3BuiltinAccessKeyId')} and ${name('s3BuiltinSecretAccessKey')}; the default S3RVER/S3RVER pair is only accepted on loopback`,
      );
    }
    s3 = {
      mode: 'builtin',
      host: s3Host,
      port: int('s3Port', 0, 65535),
      credentials: builtinId && builtinSecret ? { accessKeyId: builtinId, secretAccessKey: builtinSecret } : DEFAULT_BUILTIN_S3_KEYS,
      defaultKeys: builtinId === undefined,
      reason: `no S3 store configured (no ${name('s3Endpoint')}, S3 keys, AWS_ACCESS_KEY_ID or AWS_PROFILE)`,
    };
  }
  const segmentStoreRaw = raw('segmentStore')!;
  let segmentStore: Config['segmentStore'];
  if (segmentStoreRaw === 'disk') segmentStore = { mode: 'disk' };
  else {
    const parsed = parseS3Url(segmentStoreRaw);
    if (!parsed) throw new ConfigError(`${name('segmentStore')} must be "disk" or s3://bucket[/prefix] with a valid bucket name; got "${segmentStoreRaw}"`);
    segmentStore = { mode: 's3', ...parsed };
  }
  const webhooks = (raw('eventWebhooks') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of webhooks) {
    if (!/^https?:\/\/[^/]+/.test(u)) throw new ConfigError(`${name('eventWebhooks')}: "${u}" is not an http(s) URL`);
  }

  const metricsMode = raw('metrics')!;
  if (metricsMode !== 'local' && metricsMode !== 'public' && metricsMode !== 'off') throw new ConfigError(`${name('metrics')} must be local, public or off; got "${metricsMode}"`);
  const metricsToken = raw('metricsToken');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) throw new ConfigError(`${name('metricsToken')} must be at least 16 printable characters without spaces`);

  const spekeKey = raw('spekeAccessKeyId');
  const spekeSecret = raw('spekeSecretAccessKey');
  if ((spekeKey === undefined) !== (spekeSecret === undefined)) throw new ConfigError(`${name('spekeAccessKeyId')} and ${name('spekeSecretAccessKey')} go together: set both or neither`);
  const spekeToken = raw('spekeSessionToken');
  const speke: Config['speke'] = {
    credentials: spekeKey && spekeSecret ? { accessKeyId: spekeKey, secretAccessKey: spekeSecret, ...(spekeToken ? { sessionToken: spekeToken } : {}) } : undefined,
    region: raw('spekeRegion'),
    timeoutMs: int('spekeTimeout', 1, 120) * 1000,
  };

  const trustedProxies = (raw('trustedProxies') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of trustedProxies) {
    if (!parseCidr(t)) throw new ConfigError(`${name('trustedProxies')}: "${t}" is not an IP address or CIDR range (such as 10.0.0.0/8)`);
  }

  return {
    host,
    port,
    s3,
    harvest: {
      concurrency: int('harvestConcurrency', 1, 64),
      leaseSeconds: int('harvestLease', 2, 3600),
      settleSeconds: int('harvestSettle', 0, 3600),
      progressSeconds: int('harvestProgress', 1, 3600),
      webhooks,
    },
    dataDir: resolve(raw('dataDir')!),
    publicUrl,
    ingestUrls,
    databaseUrl,
    credentialsFile: credentialsFile === undefined ? undefined : resolve(credentialsFile),
    cdnSecretsFile: raw('cdnSecretsFile') === undefined ? undefined : resolve(raw('cdnSecretsFile')!),
    trustedProxies,
    keyPair,
    logLevel,
    quotas: {
      channelGroupsPerAccount: int('quotaChannelGroups', 1, 1_000_000),
      channelsPerGroup: int('quotaChannels', 1, 1_000_000),
      endpointsPerChannel: int('quotaEndpoints', 1, 1_000_000),
      manifestsPerEndpoint: int('quotaManifests', 1, 1_000),
      activeHarvestJobsPerGroup: int('quotaHarvestJobs', 1, 1_000_000),
    },
    harvestJobRetentionDays: int('harvestRetention', 1, 3650),
    ingest: {
      maxClockSkewSeconds: int('ingestClockSkew', 60, 10 * 365 * 86400),
      // Keep it above the longest segment duration (5 min at most), so a live playlist is never idle that long.
      pendingSeconds: int('ingestPending', 10, 7 * 86400),
      maxPlaylists: int('ingestMaxPlaylists', 1, 10_000),
      maxPendingSegments: int('ingestMaxPending', 1, 100_000),
    },
    manifestCacheBytes: int('manifestCache', 0, 65_536) * 1024 * 1024,
    renderThreads: int('renderThreads', 0, 64),
    renderThreadNice: int('renderThreadNice', 0, 19),
    timeouts: { databaseMs: int('databaseTimeout', 1, 600) * 1000, s3Ms: int('s3Timeout', 1, 600) * 1000 },
    segmentStore,
    metrics: { mode: metricsMode, token: metricsToken },
    speke,
  };
}

/** The help text of every setting, for `packhouse help`. */
export function settingsHelp(): string {
  return Object.values(SETTINGS as Record<string, Setting>)
    .map((s) => `  --${s.flag.padEnd(30)} ${s.env.padEnd(40)} ${s.help}${s.def !== undefined && s.def !== '' ? ` (default ${s.def})` : ''}`)
    .join('\n');
}
