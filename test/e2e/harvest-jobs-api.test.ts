/**
 * Harvest jobs through the AWS SDK for JavaScript (@aws-sdk/client-mediapackagev2) against a real
 * Packhouse process: Create/Get/List/Cancel, every create-time rule of HARVEST.md §4 with its exact
 * error type, ClientToken idempotency, paging, the HarvestJobFinished waiter, endpoint deletion
 * while a job is queued, and tagging a job by its ARN.
 *
 * The server runs with `--quota-active-harvest-jobs 3`; every group but `gq` keeps at most two jobs
 * active at a time so that only the quota test ever meets the quota.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelHarvestJobCommand,
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  DeleteOriginEndpointCommand,
  GetHarvestJobCommand,
  ListHarvestJobsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  paginateListHarvestJobs,
  waitUntilHarvestJobFinished,
  type CreateHarvestJobCommandInput,
  type CreateHarvestJobCommandOutput,
  type HarvestJob,
  type ListHarvestJobsCommandInput,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_ACCOUNT, LOCAL_KEYS, startServer, type TestServer } from '../support/server.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

// Main group: one CMAF-input channel with the endpoints every create rule needs.
const G = 'hj-main';
const C = 'live';
const E = 'e'; // CMAF, startover 3600 s, HLS index / LL-HLS ll / DASH dash
const TS = 'ts'; // TS, startover 3600 s, HLS index / LL-HLS ll
const NOSTART = 'nostart'; // CMAF without a startover window
const LONG = 'long'; // CMAF, startover 2 days (isolates the 24 h rule)
const FILTERED = 'filtered'; // CMAF, manifests with time filters
// Listing group and quota group.
const GL = 'hj-list';
const GQ = 'hj-quota';

const arnPrefix = `arn:aws:mediapackagev2:us-east-1:${LOCAL_ACCOUNT}:`;
const jobArn = (g: string, c: string, e: string, n: string) => `${arnPrefix}channelGroup/${g}/channel/${c}/originEndpoint/${e}/harvestJob/${n}`;

let server: TestServer;
let client: MediaPackageV2Client;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A window relative to now, in milliseconds. */
function win(startOffsetMs: number, endOffsetMs: number): { StartTime: Date; EndTime: Date } {
  const now = Date.now();
  return { StartTime: new Date(now + startOffsetMs), EndTime: new Date(now + endOffsetMs) };
}

const DEST = { S3Destination: { BucketName: 'harvest-bucket', DestinationPath: 'clips/run1' } };

/** A request that passes every rule on endpoint E; tests override one thing at a time. */
function jobInput(overrides: Partial<CreateHarvestJobCommandInput> = {}): CreateHarvestJobCommandInput {
  return {
    ChannelGroupName: G,
    ChannelName: C,
    OriginEndpointName: E,
    HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
    ScheduleConfiguration: win(-30 * MIN, 5 * MIN),
    Destination: DEST,
    ...overrides,
  };
}

interface SdkError {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
  [k: string]: unknown;
}

/** Awaits `p`, which must fail with the modelled error `name`, HTTP `status` and the given members. */
async function expectError(p: Promise<unknown>, name: string, status: number, fields: Record<string, string> = {}): Promise<SdkError> {
  let caught: unknown;
  try {
    const out = await p;
    assert.fail(`expected ${name} ${JSON.stringify(fields)}, but the call succeeded: ${JSON.stringify(out)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    caught = err;
  }
  const e = caught as SdkError;
  assert.equal(e.name, name, `error name (message: ${e.message})`);
  assert.equal(e.$metadata?.httpStatusCode, status, `HTTP status of ${name} (message: ${e.message})`);
  for (const [k, v] of Object.entries(fields)) assert.equal(e[k], v, `${k} (message: ${e.message})`);
  return e;
}

const validation = (p: Promise<unknown>, type: string) => expectError(p, 'ValidationException', 400, { ValidationExceptionType: type });

async function create(input: CreateHarvestJobCommandInput): Promise<CreateHarvestJobCommandOutput> {
  return client.send(new CreateHarvestJobCommand(input));
}

async function cancel(g: string, c: string, e: string, n: string, etag?: string): Promise<void> {
  await client.send(new CancelHarvestJobCommand({ ChannelGroupName: g, ChannelName: c, OriginEndpointName: e, HarvestJobName: n, ...(etag ? { ETag: etag } : {}) }));
}

async function get(g: string, c: string, e: string, n: string) {
  return client.send(new GetHarvestJobCommand({ ChannelGroupName: g, ChannelName: c, OriginEndpointName: e, HarvestJobName: n }));
}

/**
 * A signed GET as raw HTTP, for what the SDK cannot show: it drops JSON members its shapes lack
 * (e.g. a `Tags` key on a list item would never reach `Items[n]`).
 */
async function rawGet(path: string, query: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const u = new URL(server.url);
  const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });
  const signed = await signer.sign({ method: 'GET', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query, headers: { host: u.host } });
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${server.url}${path}${qs ? `?${qs}` : ''}`, { method: 'GET', headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function strip<T extends { $metadata?: unknown }>(o: T): Omit<T, '$metadata'> {
  const { $metadata: _m, ...rest } = o;
  return rest;
}

before(async () => {
  server = await startServer({ args: ['--quota-active-harvest-jobs', '3', '--quota-channel-groups', '10'] });
  client = server.client();
  const send = client.send.bind(client);
  for (const g of [G, GL, GQ]) await send(new CreateChannelGroupCommand({ ChannelGroupName: g }));
  await send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: C, InputType: 'CMAF' }));
  await send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: G,
      ChannelName: C,
      OriginEndpointName: E,
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 3600,
      HlsManifests: [{ ManifestName: 'index' }],
      LowLatencyHlsManifests: [{ ManifestName: 'll' }],
      DashManifests: [{ ManifestName: 'dash' }],
    }),
  );
  await send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: G,
      ChannelName: C,
      OriginEndpointName: TS,
      ContainerType: 'TS',
      StartoverWindowSeconds: 3600,
      HlsManifests: [{ ManifestName: 'index' }],
      LowLatencyHlsManifests: [{ ManifestName: 'll' }],
    }),
  );
  await send(
    new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: NOSTART, ContainerType: 'CMAF', HlsManifests: [{ ManifestName: 'index' }] }),
  );
  await send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: G,
      ChannelName: C,
      OriginEndpointName: LONG,
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 172_800,
      HlsManifests: [{ ManifestName: 'index' }],
    }),
  );
  const now = Date.now();
  await send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: G,
      ChannelName: C,
      OriginEndpointName: FILTERED,
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 3600,
      HlsManifests: [
        { ManifestName: 'startend', FilterConfiguration: { Start: new Date(now - 2 * HOUR), End: new Date(now - HOUR) } },
        { ManifestName: 'clip', FilterConfiguration: { ClipStartTime: new Date(now - HOUR) } },
        { ManifestName: 'hd', FilterConfiguration: { ManifestFilter: 'video_height:720-1080' } },
      ],
    }),
  );
});

after(async () => {
  await server?.stop();
});

describe('CreateHarvestJob and GetHarvestJob', () => {
  let created: CreateHarvestJobCommandOutput;
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 30 * MIN + 123);
  const end = new Date(Math.floor(Date.now() / 1000) * 1000 + 5 * MIN + 456);

  test('returns the full job: QUEUED, CreatedAt == ModifiedAt, ETag, ARN, tags, schedule at ms precision, destination, no ErrorMessage', async () => {
    const t0 = Date.now();
    created = await create(
      jobInput({
        HarvestJobName: 'job1',
        Description: 'the first clip',
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], LowLatencyHlsManifests: [{ ManifestName: 'll' }], DashManifests: [{ ManifestName: 'dash' }] },
        ScheduleConfiguration: { StartTime: start, EndTime: end },
        Destination: { S3Destination: { BucketName: 'my-harvest-bucket', DestinationPath: 'clips/job1' } },
        Tags: { team: 'video', env: 'test' },
      }),
    );
    const t1 = Date.now();
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.ChannelGroupName, G);
    assert.equal(created.ChannelName, C);
    assert.equal(created.OriginEndpointName, E);
    assert.equal(created.HarvestJobName, 'job1');
    assert.equal(created.Description, 'the first clip');
    assert.equal(created.Arn, jobArn(G, C, E, 'job1'));
    assert.equal(created.Status, 'QUEUED');
    assert.ok(created.CreatedAt instanceof Date, 'CreatedAt is a timestamp');
    assert.ok(created.ModifiedAt instanceof Date, 'ModifiedAt is a timestamp');
    assert.equal(created.CreatedAt.getTime(), created.ModifiedAt.getTime(), 'CreatedAt == ModifiedAt');
    assert.ok(created.CreatedAt.getTime() >= t0 - 50 && created.CreatedAt.getTime() <= t1 + 50, `CreatedAt ${created.CreatedAt.toISOString()} is the time of the call`);
    assert.equal(typeof created.ETag, 'string');
    assert.match(created.ETag ?? '', /^\S{8,}$/);
    assert.deepEqual(created.Tags, { team: 'video', env: 'test' });
    assert.equal(created.ScheduleConfiguration?.StartTime?.getTime(), start.getTime(), 'StartTime round-trips to the millisecond');
    assert.equal(created.ScheduleConfiguration?.EndTime?.getTime(), end.getTime(), 'EndTime round-trips to the millisecond');
    assert.deepEqual(created.Destination, { S3Destination: { BucketName: 'my-harvest-bucket', DestinationPath: 'clips/job1' } });
    assert.deepEqual(created.HarvestedManifests, {
      HlsManifests: [{ ManifestName: 'index' }],
      LowLatencyHlsManifests: [{ ManifestName: 'll' }],
      DashManifests: [{ ManifestName: 'dash' }],
    });
    assert.equal(created.ErrorMessage, undefined);
  });

  test('GetHarvestJob answers exactly what CreateHarvestJob answered', async () => {
    const got = await get(G, C, E, 'job1');
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(got), strip(created));
  });

  test('HarvestJobName omitted: a name matching ^[a-zA-Z0-9_-]+$ is generated, and the job is readable by it', async () => {
    const a = await create(jobInput({ Description: 'unnamed a' }));
    const b = await create(jobInput({ Description: 'unnamed b' }));
    try {
      for (const job of [a, b]) {
        assert.match(job.HarvestJobName ?? '', /^[a-zA-Z0-9_-]+$/);
        assert.ok((job.HarvestJobName ?? '').length <= 256);
        assert.equal(job.Arn, jobArn(G, C, E, job.HarvestJobName ?? ''));
        assert.equal(job.Status, 'QUEUED');
        const got = await get(G, C, E, job.HarvestJobName ?? '');
        assert.equal(got.Description, job.Description);
      }
      assert.notEqual(a.HarvestJobName, b.HarvestJobName, 'two generated names differ');
    } finally {
      for (const job of [a, b]) await cancel(G, C, E, job.HarvestJobName ?? '');
    }
  });
});

describe('CreateHarvestJob rules (HARVEST.md §4), each with its exact error', () => {
  test('Destination.S3Destination missing → HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE', async () => {
    await validation(create(jobInput({ HarvestJobName: 'nodest', Destination: {} as CreateHarvestJobCommandInput['Destination'] })), 'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE');
    const { Destination: _d, ...withoutDestination } = jobInput({ HarvestJobName: 'nodest' });
    await validation(create(withoutDestination as CreateHarvestJobCommandInput), 'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE');
  });

  test('S3Destination without BucketName (or without DestinationPath) → HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE', async () => {
    const noBucket = { S3Destination: { DestinationPath: 'clips/x' } } as unknown as CreateHarvestJobCommandInput['Destination'];
    await validation(create(jobInput({ HarvestJobName: 'nobucket', Destination: noBucket })), 'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE');
    const emptyBucket = { S3Destination: { BucketName: '', DestinationPath: 'clips/x' } };
    await validation(create(jobInput({ HarvestJobName: 'nobucket', Destination: emptyBucket })), 'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE');
    const noPath = { S3Destination: { BucketName: 'bucket' } } as unknown as CreateHarvestJobCommandInput['Destination'];
    await validation(create(jobInput({ HarvestJobName: 'nopath', Destination: noPath })), 'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE');
  });

  test('BucketName of 2 characters → MEMBER_MIN_LENGTH (the JS SDK does not check it)', async () => {
    await validation(create(jobInput({ HarvestJobName: 'shortbucket', Destination: { S3Destination: { BucketName: 'ab', DestinationPath: 'clips/x' } } })), 'MEMBER_MIN_LENGTH');
  });

  test('missing channel group / channel / origin endpoint → 404 with ResourceTypeNotFound of the first missing level', async () => {
    await expectError(create(jobInput({ HarvestJobName: 'x', ChannelGroupName: 'no-such-group' })), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'CHANNEL_GROUP' });
    await expectError(create(jobInput({ HarvestJobName: 'x', ChannelName: 'no-such-channel' })), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'CHANNEL' });
    await expectError(create(jobInput({ HarvestJobName: 'x', OriginEndpointName: 'no-such-endpoint' })), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'ORIGIN_ENDPOINT' });
  });

  test('a name already used in the channel → 409 RESOURCE_ALREADY_EXISTS, on the same endpoint and on another endpoint of the channel', async () => {
    await expectError(create(jobInput({ HarvestJobName: 'job1' })), 'ConflictException', 409, { ConflictExceptionType: 'RESOURCE_ALREADY_EXISTS' });
    await expectError(create(jobInput({ HarvestJobName: 'job1', OriginEndpointName: TS })), 'ConflictException', 409, { ConflictExceptionType: 'RESOURCE_ALREADY_EXISTS' });
    // The original is untouched.
    assert.equal((await get(G, C, E, 'job1')).Description, 'the first clip');
    // Names are unique per channel only: another channel of the group may reuse it.
    await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: 'live2' }));
    await client.send(
      new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'live2', OriginEndpointName: E, ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }),
    );
    const other = await create(jobInput({ ChannelName: 'live2', HarvestJobName: 'job1' }));
    assert.equal(other.Arn, jobArn(G, 'live2', E, 'job1'));
    await cancel(G, 'live2', E, 'job1');
  });

  test('the same manifest listed twice is harvested once (HARVEST.md §4.4)', async () => {
    const job = await create(
      jobInput({ HarvestJobName: 'dupes', HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }, { ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }, { ManifestName: 'dash' }] } }),
    );
    assert.deepEqual(job.HarvestedManifests, { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }] });
    await cancel(G, C, E, 'dupes');
  });

  test('HarvestedManifests naming nothing → NUM_MANIFESTS_LOW', async () => {
    await validation(create(jobInput({ HarvestJobName: 'nomanifests', HarvestedManifests: {} })), 'NUM_MANIFESTS_LOW');
    await validation(create(jobInput({ HarvestJobName: 'nomanifests', HarvestedManifests: { HlsManifests: [], DashManifests: [], LowLatencyHlsManifests: [] } })), 'NUM_MANIFESTS_LOW');
  });

  test('a manifest name the endpoint does not have, or has under another type → HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT', async () => {
    const notFound = 'HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT';
    await validation(create(jobInput({ HarvestJobName: 'm1', HarvestedManifests: { HlsManifests: [{ ManifestName: 'nope' }] } })), notFound);
    // `index` is an HLS manifest, not a DASH one.
    await validation(create(jobInput({ HarvestJobName: 'm2', HarvestedManifests: { DashManifests: [{ ManifestName: 'index' }] } })), notFound);
    // `ll` is a low-latency HLS manifest, not an HLS one; `dash` is not a low-latency HLS manifest.
    await validation(create(jobInput({ HarvestJobName: 'm3', HarvestedManifests: { HlsManifests: [{ ManifestName: 'll' }] } })), notFound);
    await validation(create(jobInput({ HarvestJobName: 'm4', HarvestedManifests: { LowLatencyHlsManifests: [{ ManifestName: 'dash' }] } })), notFound);
    // One good name does not excuse a bad one.
    await validation(create(jobInput({ HarvestJobName: 'm5', HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'nope' }] } })), notFound);
    // A TS endpoint has no DASH manifests.
    await validation(create(jobInput({ HarvestJobName: 'm6', OriginEndpointName: TS, HarvestedManifests: { DashManifests: [{ ManifestName: 'index' }] } })), notFound);
  });

  test('a manifest whose FilterConfiguration has Start/End (or ClipStartTime) → HARVESTED_MANIFEST_HAS_START_END_FILTER_CONFIGURATION; a ManifestFilter alone is fine', async () => {
    const type = 'HARVESTED_MANIFEST_HAS_START_END_FILTER_CONFIGURATION';
    await validation(create(jobInput({ HarvestJobName: 'f1', OriginEndpointName: FILTERED, HarvestedManifests: { HlsManifests: [{ ManifestName: 'startend' }] } })), type);
    await validation(create(jobInput({ HarvestJobName: 'f2', OriginEndpointName: FILTERED, HarvestedManifests: { HlsManifests: [{ ManifestName: 'clip' }] } })), type);
    const ok = await create(jobInput({ HarvestJobName: 'f3', OriginEndpointName: FILTERED, HarvestedManifests: { HlsManifests: [{ ManifestName: 'hd' }] } }));
    assert.equal(ok.Status, 'QUEUED');
    await cancel(G, C, FILTERED, 'f3');
  });

  test('EndTime ≤ StartTime → END_TIME_EARLIER_THAN_START_TIME', async () => {
    const t = new Date(Date.now() - 10 * MIN);
    await validation(create(jobInput({ HarvestJobName: 'w1', ScheduleConfiguration: { StartTime: t, EndTime: t } })), 'END_TIME_EARLIER_THAN_START_TIME');
    await validation(create(jobInput({ HarvestJobName: 'w2', ScheduleConfiguration: win(-10 * MIN, -20 * MIN) })), 'END_TIME_EARLIER_THAN_START_TIME');
  });

  test('a window longer than 24 hours → INVALID_HARVEST_JOB_DURATION (23 h is accepted on the same endpoint)', async () => {
    // Endpoint LONG has a 48 h startover window, so only the 24 h cap can reject this.
    await validation(create(jobInput({ HarvestJobName: 'w3', OriginEndpointName: LONG, ScheduleConfiguration: win(-26 * HOUR, -HOUR + MIN) })), 'INVALID_HARVEST_JOB_DURATION');
    // 23.5 h, ending later: it stays QUEUED (a window that has ended would run at once and fail for want of content).
    const ok = await create(jobInput({ HarvestJobName: 'w3ok', OriginEndpointName: LONG, ScheduleConfiguration: win(-23 * HOUR, 30 * MIN) }));
    assert.equal(ok.Status, 'QUEUED');
    await cancel(G, C, LONG, 'w3ok');
  });

  test('a window longer than the startover window → INVALID_HARVEST_JOB_DURATION', async () => {
    // E keeps 3600 s: 50 min back + 20 min ahead = 70 min.
    await validation(create(jobInput({ HarvestJobName: 'w4', ScheduleConfiguration: win(-50 * MIN, 20 * MIN) })), 'INVALID_HARVEST_JOB_DURATION');
  });

  test('a start in the future → INVALID_HARVEST_JOB_DURATION', async () => {
    await validation(create(jobInput({ HarvestJobName: 'w5', ScheduleConfiguration: win(2 * MIN, 10 * MIN) })), 'INVALID_HARVEST_JOB_DURATION');
  });

  test('a start older than the startover window → INVALID_HARVEST_JOB_DURATION', async () => {
    await validation(create(jobInput({ HarvestJobName: 'w6', ScheduleConfiguration: win(-2 * HOUR, -2 * HOUR + 10 * MIN) })), 'INVALID_HARVEST_JOB_DURATION');
  });

  test('an endpoint without a startover window → INVALID_HARVEST_JOB_DURATION', async () => {
    await validation(create(jobInput({ HarvestJobName: 'w7', OriginEndpointName: NOSTART, ScheduleConfiguration: win(-5 * MIN, 5 * MIN) })), 'INVALID_HARVEST_JOB_DURATION');
  });
});

describe('active-job quota (--quota-active-harvest-jobs 3)', () => {
  const QC = 'qc';
  const QC2 = 'qc2';
  const QE = 'qe';
  const q = (c: string, name: string) => jobInput({ ChannelGroupName: GQ, ChannelName: c, OriginEndpointName: QE, HarvestJobName: name });

  before(async () => {
    for (const c of [QC, QC2]) {
      await client.send(new CreateChannelCommand({ ChannelGroupName: GQ, ChannelName: c }));
      await client.send(
        new CreateOriginEndpointCommand({ ChannelGroupName: GQ, ChannelName: c, OriginEndpointName: QE, ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }),
      );
    }
  });

  test('the 4th active job in the group → ValidationException TOO_MANY_IN_PROGRESS_HARVEST_JOBS; after a cancel a new one is accepted', async () => {
    for (const n of ['q1', 'q2', 'q3']) assert.equal((await create(q(QC, n))).Status, 'QUEUED');
    // The quota is per channel group: another channel of the group does not escape it.
    await validation(create(q(QC2, 'q4')), 'TOO_MANY_IN_PROGRESS_HARVEST_JOBS');
    await validation(create(q(QC, 'q4')), 'TOO_MANY_IN_PROGRESS_HARVEST_JOBS');
    // The refused job was not stored.
    await expectError(get(GQ, QC2, QE, 'q4'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    await cancel(GQ, QC, QE, 'q2');
    const accepted = await create(q(QC2, 'q4'));
    assert.equal(accepted.Status, 'QUEUED');
    await validation(create(q(QC, 'q5')), 'TOO_MANY_IN_PROGRESS_HARVEST_JOBS');
  });
});

describe('ClientToken idempotency on CreateHarvestJob', () => {
  test('the same token and request replay the first answer and store one job; another request with the token → 409 IDEMPOTENT_PARAMETER_MISMATCH', async () => {
    const input = jobInput({ HarvestJobName: 'idem', ClientToken: 'token-idem-1', Description: 'idempotent', ScheduleConfiguration: win(-20 * MIN, 5 * MIN) });
    const first = await create(input);
    await sleep(20);
    const second = await create(input);
    assert.equal(second.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(second), strip(first));
    const listed = await client.send(new ListHarvestJobsCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: E }));
    assert.equal((listed.Items ?? []).filter((j) => j.HarvestJobName === 'idem').length, 1, 'one job stored');
    await expectError(create({ ...input, Description: 'something else' }), 'ConflictException', 409, { ConflictExceptionType: 'IDEMPOTENT_PARAMETER_MISMATCH' });
    await expectError(create({ ...input, HarvestJobName: 'idem-other' }), 'ConflictException', 409, { ConflictExceptionType: 'IDEMPOTENT_PARAMETER_MISMATCH' });
    await expectError(get(G, C, E, 'idem-other'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    assert.equal((await get(G, C, E, 'idem')).Description, 'idempotent');
    await cancel(G, C, E, 'idem');
  });
});

describe('ListHarvestJobs', () => {
  // Jobs in creation order; see `before` for channel/endpoint/status of each.
  const jobs: { name: string; c: string; e: string }[] = [
    { name: 'l1', c: 'lc1', e: 'le1' },
    { name: 'l2', c: 'lc1', e: 'le2' },
    { name: 'l3', c: 'lc2', e: 'le1' },
    { name: 'l4', c: 'lc1', e: 'le1' },
    { name: 'l5', c: 'lc1', e: 'le2' },
  ];
  const list = (extra: Partial<ListHarvestJobsCommandInput> = {}) => client.send(new ListHarvestJobsCommand({ ChannelGroupName: GL, ...extra }));

  before(async () => {
    for (const c of ['lc1', 'lc2']) {
      await client.send(new CreateChannelCommand({ ChannelGroupName: GL, ChannelName: c }));
      for (const e of ['le1', 'le2']) {
        await client.send(
          new CreateOriginEndpointCommand({ ChannelGroupName: GL, ChannelName: c, OriginEndpointName: e, ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }),
        );
      }
    }
    // The group quota is 3 active jobs: l1 and l2 are cancelled before l4 and l5 are created.
    for (const [i, j] of jobs.entries()) {
      if (i === 3) {
        await cancel(GL, 'lc1', 'le1', 'l1');
        await cancel(GL, 'lc1', 'le2', 'l2');
      }
      await create(jobInput({ ChannelGroupName: GL, ChannelName: j.c, OriginEndpointName: j.e, HarvestJobName: j.name, Tags: { job: j.name } }));
      await sleep(15);
    }
  });

  test('without filters: every job of the group, newest first', async () => {
    const out = await list();
    assert.deepEqual(names(out.Items), ['l5', 'l4', 'l3', 'l2', 'l1']);
    assert.equal(out.NextToken, undefined);
  });

  test('channelName filter', async () => {
    assert.deepEqual(names((await list({ ChannelName: 'lc1' })).Items), ['l5', 'l4', 'l2', 'l1']);
    assert.deepEqual(names((await list({ ChannelName: 'lc2' })).Items), ['l3']);
  });

  test('channelName + originEndpointName filter (endpoint names are per channel)', async () => {
    assert.deepEqual(names((await list({ ChannelName: 'lc1', OriginEndpointName: 'le1' })).Items), ['l4', 'l1']);
    assert.deepEqual(names((await list({ ChannelName: 'lc2', OriginEndpointName: 'le1' })).Items), ['l3']);
    assert.deepEqual(names((await list({ ChannelName: 'lc2', OriginEndpointName: 'le2' })).Items), []);
  });

  test('includeStatus filter (SDK member Status)', async () => {
    assert.deepEqual(names((await list({ Status: 'CANCELLED' })).Items), ['l2', 'l1']);
    assert.deepEqual(names((await list({ Status: 'QUEUED' })).Items), ['l5', 'l4', 'l3']);
    assert.deepEqual(names((await list({ Status: 'QUEUED', ChannelName: 'lc1' })).Items), ['l5', 'l4']);
    assert.deepEqual(names((await list({ Status: 'COMPLETED' })).Items), []);
  });

  test('paginateListHarvestJobs with pageSize 2: pages of 2, 2, 1 and every job exactly once, newest first', async () => {
    const pages: string[][] = [];
    for await (const page of paginateListHarvestJobs({ client, pageSize: 2 }, { ChannelGroupName: GL })) {
      pages.push(names(page.Items) as string[]);
    }
    assert.deepEqual(pages, [['l5', 'l4'], ['l3', 'l2'], ['l1']]);
  });

  test('MaxResults 2 by hand: a NextToken on the first page, none on the last', async () => {
    const p1 = await list({ MaxResults: 2, ChannelName: 'lc1' });
    assert.deepEqual(names(p1.Items), ['l5', 'l4']);
    assert.equal(typeof p1.NextToken, 'string');
    const p2 = await list({ MaxResults: 2, ChannelName: 'lc1', ...(p1.NextToken ? { NextToken: p1.NextToken } : {}) });
    assert.deepEqual(names(p2.Items), ['l2', 'l1']);
    assert.equal(p2.NextToken, undefined);
  });

  test('list items carry an ETag (the job\'s current one) and no Tags', async () => {
    const out = await list();
    for (const item of out.Items ?? []) {
      const j = jobs.find((x) => x.name === item.HarvestJobName)!;
      const full = await get(GL, j.c, j.e, j.name);
      assert.deepEqual(full.Tags, { job: j.name }, 'the job itself has tags');
      assert.ok(!('Tags' in item), `list item ${item.HarvestJobName} has no Tags`);
      assert.equal(item.ETag, full.ETag);
      assert.equal(item.Arn, jobArn(GL, j.c, j.e, j.name));
      assert.equal(item.Status, full.Status);
      const { Tags: _t, $metadata: _m, ...rest } = full;
      assert.deepEqual(item, rest, 'a list item is the job without Tags');
    }
    // On the wire, too (the SDK would silently drop a Tags key from a list item).
    const raw = await rawGet(`/channelGroup/${GL}/harvestJob`);
    assert.equal(raw.status, 200);
    const items = raw.json['Items'] as Record<string, unknown>[];
    assert.equal(items.length, 5);
    for (const item of items) {
      assert.ok(!('Tags' in item) && !('tags' in item), `raw list item ${String(item['HarvestJobName'])} has no Tags`);
      assert.equal(typeof item['ETag'], 'string');
    }
  });

  test('bad paging input: a foreign or garbled NextToken → INVALID_PAGINATION_TOKEN; MaxResults outside 1..100 → INVALID_PAGINATION_MAX_RESULTS', async () => {
    const p1 = await list({ MaxResults: 2 });
    assert.ok(p1.NextToken);
    await validation(list({ MaxResults: 2, ChannelName: 'lc1', NextToken: p1.NextToken }), 'INVALID_PAGINATION_TOKEN');
    await validation(list({ MaxResults: 2, NextToken: 'not-a-token' }), 'INVALID_PAGINATION_TOKEN');
    await validation(list({ MaxResults: 0 }), 'INVALID_PAGINATION_MAX_RESULTS');
    await validation(list({ MaxResults: 101 }), 'INVALID_PAGINATION_MAX_RESULTS');
    assert.deepEqual(names((await list({ MaxResults: 100 })).Items), ['l5', 'l4', 'l3', 'l2', 'l1']);
  });

  test('originEndpointName without channelName → 400 MEMBER_MISSING', async () => {
    await validation(list({ OriginEndpointName: 'le1' }), 'MEMBER_MISSING');
  });

  test('unknown channel group → 404 CHANNEL_GROUP', async () => {
    await expectError(client.send(new ListHarvestJobsCommand({ ChannelGroupName: 'no-such-group' })), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'CHANNEL_GROUP' });
  });
});

describe('TagResource / ListTagsForResource / UntagResource with a harvest job ARN', () => {
  test('tags added and removed by ARN show in ListTagsForResource and GetHarvestJob', async () => {
    const arn = jobArn(G, C, E, 'job1');
    assert.deepEqual((await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { team: 'video', env: 'test' });
    const tagged = await client.send(new TagResourceCommand({ ResourceArn: arn, Tags: { owner: 'ops', env: 'prod' } }));
    assert.equal(tagged.$metadata.httpStatusCode, 204);
    assert.deepEqual((await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { team: 'video', env: 'prod', owner: 'ops' });
    assert.deepEqual((await get(G, C, E, 'job1')).Tags, { team: 'video', env: 'prod', owner: 'ops' });
    const untagged = await client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['team', 'owner'] }));
    assert.equal(untagged.$metadata.httpStatusCode, 204);
    assert.deepEqual((await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { env: 'prod' });
  });
});

describe('CancelHarvestJob', () => {
  test('QUEUED → CANCELLED with a new ETag and a later ModifiedAt; cancelling again → 200 and no change', async () => {
    const before = await get(G, C, E, 'job1');
    assert.equal(before.Status, 'QUEUED');
    await sleep(10);
    const res = await client.send(new CancelHarvestJobCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: E, HarvestJobName: 'job1' }));
    assert.equal(res.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(res), {});
    const afterCancel = await get(G, C, E, 'job1');
    assert.equal(afterCancel.Status, 'CANCELLED');
    assert.notEqual(afterCancel.ETag, before.ETag);
    assert.ok(afterCancel.ModifiedAt!.getTime() > before.ModifiedAt!.getTime(), 'ModifiedAt moved forward');
    assert.equal(afterCancel.CreatedAt!.getTime(), before.CreatedAt!.getTime());
    assert.equal(afterCancel.ErrorMessage, undefined);
    const again = await client.send(new CancelHarvestJobCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: E, HarvestJobName: 'job1' }));
    assert.equal(again.$metadata.httpStatusCode, 200);
    const afterAgain = await get(G, C, E, 'job1');
    assert.equal(afterAgain.Status, 'CANCELLED');
    assert.equal(afterAgain.ETag, afterCancel.ETag);
  });

  test('a stale ETag → 409 CONFLICTING_OPERATION and the job stays QUEUED; the current ETag cancels it', async () => {
    const job = await create(jobInput({ HarvestJobName: 'etagjob' }));
    await expectError(cancel(G, C, E, 'etagjob', 'c3RhbGUtZXRhZy1zdGFsZS1ldGFnLXN0YWxlLWV0YWc='), 'ConflictException', 409, { ConflictExceptionType: 'CONFLICTING_OPERATION' });
    assert.equal((await get(G, C, E, 'etagjob')).Status, 'QUEUED');
    await cancel(G, C, E, 'etagjob', job.ETag);
    const cancelled = await get(G, C, E, 'etagjob');
    assert.equal(cancelled.Status, 'CANCELLED');
    // The pre-cancel ETag is now stale too.
    await expectError(cancel(G, C, E, 'etagjob', job.ETag), 'ConflictException', 409, { ConflictExceptionType: 'CONFLICTING_OPERATION' });
  });

  test('unknown job → 404 HARVEST_JOB', async () => {
    await expectError(cancel(G, C, E, 'no-such-job'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    await expectError(get(G, C, E, 'no-such-job'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    // A job is addressed by its full path: job1 lives on endpoint E, not on TS.
    await expectError(get(G, C, TS, 'job1'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    await expectError(cancel(G, C, TS, 'job1'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'HARVEST_JOB' });
    // Otherwise the first missing level is named.
    await expectError(get(G, C, 'no-such-endpoint', 'job1'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'ORIGIN_ENDPOINT' });
    await expectError(get(G, 'no-such-channel', E, 'job1'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'CHANNEL' });
    await expectError(cancel('no-such-group', C, E, 'job1'), 'ResourceNotFoundException', 404, { ResourceTypeNotFound: 'CHANNEL_GROUP' });
  });
});

describe('waitUntilHarvestJobFinished', () => {
  test('returns SUCCESS once the job is cancelled from a timer 1.5 s after the waiter starts', async () => {
    await create(jobInput({ HarvestJobName: 'waited' }));
    const started = Date.now();
    let cancelled: Promise<void> | undefined;
    const timer = setTimeout(() => {
      cancelled = cancel(G, C, E, 'waited');
    }, 1500);
    try {
      const result = await waitUntilHarvestJobFinished(
        { client, maxWaitTime: 20, minDelay: 1, maxDelay: 2 },
        { ChannelGroupName: G, ChannelName: C, OriginEndpointName: E, HarvestJobName: 'waited' },
      );
      const elapsed = Date.now() - started;
      assert.equal(result.state, 'SUCCESS');
      assert.ok(elapsed >= 1500, `the waiter kept polling until the cancel (${elapsed} ms)`);
      assert.ok(elapsed < 10_000, `the waiter saw the cancel promptly (${elapsed} ms)`);
      assert.equal((result.reason as { Status?: string } | undefined)?.Status, 'CANCELLED');
    } finally {
      clearTimeout(timer);
      await cancelled;
    }
  });
});

describe('deleting an origin endpoint while a job is QUEUED', () => {
  const DOOMED = 'doomed';

  test('the delete succeeds; the job reads FAILED with an ErrorMessage naming the deletion, by its full path and in the list', async () => {
    await client.send(
      new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: DOOMED, ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }),
    );
    const job = await create(jobInput({ OriginEndpointName: DOOMED, HarvestJobName: 'orphan' }));
    assert.equal(job.Status, 'QUEUED');
    await sleep(10);
    const del = await client.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: DOOMED }));
    assert.equal(del.$metadata.httpStatusCode, 200);

    const got = await get(G, C, DOOMED, 'orphan');
    assert.equal(got.Status, 'FAILED');
    assert.equal(typeof got.ErrorMessage, 'string');
    assert.match(got.ErrorMessage ?? '', /delet/i, 'the message says the endpoint was deleted');
    assert.ok((got.ErrorMessage ?? '').includes(DOOMED), 'the message names the endpoint');
    assert.equal(got.Arn, jobArn(G, C, DOOMED, 'orphan'));
    assert.notEqual(got.ETag, job.ETag);
    assert.ok(got.ModifiedAt!.getTime() > job.ModifiedAt!.getTime());

    const listed = await client.send(new ListHarvestJobsCommand({ ChannelGroupName: G, ChannelName: C }));
    const item = (listed.Items ?? []).find((j) => j.HarvestJobName === 'orphan');
    assert.ok(item, 'the job is still listed');
    assert.equal(item.Status, 'FAILED');
    assert.equal(item.ErrorMessage, got.ErrorMessage);
    assert.deepEqual(names((await client.send(new ListHarvestJobsCommand({ ChannelGroupName: G, Status: 'FAILED' }))).Items), ['orphan']);

    // A FAILED job is finished: the waiter reports FAILURE, and it cannot be cancelled.
    await assert.rejects(
      waitUntilHarvestJobFinished({ client, maxWaitTime: 5, minDelay: 1, maxDelay: 1 }, { ChannelGroupName: G, ChannelName: C, OriginEndpointName: DOOMED, HarvestJobName: 'orphan' }),
      (err: Error) => (JSON.parse(err.message) as { state?: string }).state === 'FAILURE',
    );
    await validation(cancel(G, C, DOOMED, 'orphan'), 'HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION');
  });
});

function names(items: HarvestJob[] | undefined): (string | undefined)[] {
  return (items ?? []).map((j) => j.HarvestJobName);
}
