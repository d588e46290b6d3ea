/**
 * Harvest jobs that fail, and the events harvest jobs send, against real Packhouse processes.
 *
 * One 12 s ffmpeg encode feeds, through a fan-out proxy, four servers (and a second channel of the
 * first), so that every job below has content in its window unless the test says otherwise:
 *
 *  - A: built-in S3, `--harvest-settle-seconds 1`, `--event-webhooks` to a receiver here that
 *       answers 500 to its first two POSTs: no content, endpoint deleted, channel reset, a
 *       COMPLETED job and a CANCELLED job, and the events of all of them;
 *  - B: `--s3-endpoint` an s3rver started here, without the destination bucket;
 *  - C: `--s3-endpoint http://127.0.0.1:1` (nothing listens);
 *  - D: `--s3-endpoint` a port that accepts and drops every connection (counts the attempts).
 *
 * Each failure ends FAILED with an ErrorMessage naming its cause; the HarvestJobFinished waiter
 * reports FAILURE for it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CancelHarvestJobCommand,
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  DeleteOriginEndpointCommand,
  GetHarvestJobCommand,
  waitUntilHarvestJobFinished,
  type CreateHarvestJobCommandOutput,
  type GetHarvestJobCommandOutput,
} from '@aws-sdk/client-mediapackagev2';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { LOCAL_ACCOUNT, startServer, type TestServer } from '../support/server.js';
import { get, readMedia, resetChannel, startEncoder, waitFor, type RunningProcess } from '../support/live.js';
import {
  S3RVER_KEYS,
  pollJob,
  startConnectionSink,
  startFanout,
  startS3rver,
  startWebhookReceiver,
  timedSegments,
  type ConnectionSink,
  type Fanout,
  type JobRef,
  type OwnS3,
  type WebhookReceiver,
} from '../support/harvest.js';

const G = 'hfail';
const LIVE = 'live';
const RESETME = 'resetme';
const EMPTY = 'empty';
const E = 'e';
const DOOMED = 'doomed';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_SECONDS_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let receiver: WebhookReceiver;
let ownS3: OwnS3;
let sink: ConnectionSink;
let fanout: Fanout;
let encoder: RunningProcess;
let A: TestServer;
let B: TestServer;
let C: TestServer;
let D: TestServer;
/** PDT of the first video segment (the same on every server: one encode). */
let T0: number;
/** Jobs that ended FAILED / COMPLETED / CANCELLED on server A, for the event checks. */
const failedOnA = new Map<string, GetHarvestJobCommandOutput>();
let completedOnA: GetHarvestJobCommandOutput | undefined;
let cancelledOnA: GetHarvestJobCommandOutput | undefined;

const wholeSecond = (ms: number) => Math.ceil(ms / 1000) * 1000;
const isoS = (d: Date | undefined) => d!.toISOString().replace(/\.\d{3}Z$/, 'Z');

function cmaf(name: string) {
  return {
    OriginEndpointName: name,
    ContainerType: 'CMAF' as const,
    StartoverWindowSeconds: 600,
    Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
    HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
  };
}

async function setUp(server: TestServer, channels: Record<string, string[]>): Promise<void> {
  const client = server.client();
  await client.send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
  for (const [channel, endpoints] of Object.entries(channels)) {
    await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: channel }));
    for (const e of endpoints) await client.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: channel, ...cmaf(e) }));
  }
}

async function createJob(server: TestServer, channel: string, endpoint: string, name: string, startMs: number, endMs: number, bucket: string): Promise<{ ref: JobRef; created: CreateHarvestJobCommandOutput }> {
  const ref: JobRef = { ChannelGroupName: G, ChannelName: channel, OriginEndpointName: endpoint, HarvestJobName: name };
  const created = await server.client().send(
    new CreateHarvestJobCommand({
      ...ref,
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
      Destination: { S3Destination: { BucketName: bucket, DestinationPath: `jobs/${name}/` } },
    }),
  );
  assert.equal(created.Status, 'QUEUED');
  return { ref, created };
}

/** Waits for the job to end; asserts FAILED with a message matching `reason`, a new ETag and ModifiedAt, and the waiter's FAILURE. */
async function expectFailed(server: TestServer, ref: JobRef, created: CreateHarvestJobCommandOutput, reason: RegExp, timeoutMs = 30_000): Promise<GetHarvestJobCommandOutput> {
  const client = server.client();
  const { job } = await pollJob(client, ref, ['COMPLETED', 'FAILED', 'CANCELLED'], timeoutMs, 200);
  assert.equal(job.Status, 'FAILED', `job ${ref.HarvestJobName} ended ${job.Status}`);
  assert.match(job.ErrorMessage ?? '', reason);
  assert.ok(job.ModifiedAt!.getTime() > created.ModifiedAt!.getTime(), 'ModifiedAt moved');
  assert.notEqual(job.ETag, created.ETag, 'a new ETag');
  await assert.rejects(
    waitUntilHarvestJobFinished({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, ref),
    (err: Error) => {
      assert.match(err.message, /FAILURE/);
      return true;
    },
    'the HarvestJobFinished waiter reports FAILURE',
  );
  return job;
}

/** The event payloads the receiver got for one job ARN, with the status it answered. */
function postsFor(arn: string) {
  return receiver.posts.filter((p) => Array.isArray(p.json?.['resources']) && (p.json['resources'] as unknown[]).includes(arn));
}

/** The event EventBridge would carry for this job (HARVEST.md §10), without `id` and `time`. */
function expectedEvent(job: GetHarvestJobCommandOutput, message: string): Record<string, unknown> {
  const names = (list: { ManifestName?: string | undefined }[] | undefined) => (list ?? []).map((m) => ({ manifestName: m.ManifestName }));
  const manifests: Record<string, unknown> = {};
  if (job.HarvestedManifests?.HlsManifests?.length) manifests['hlsManifests'] = names(job.HarvestedManifests.HlsManifests);
  if (job.HarvestedManifests?.DashManifests?.length) manifests['dashManifests'] = names(job.HarvestedManifests.DashManifests);
  if (job.HarvestedManifests?.LowLatencyHlsManifests?.length) manifests['lowLatencyHlsManifests'] = names(job.HarvestedManifests.LowLatencyHlsManifests);
  return {
    version: '0',
    'detail-type': 'MediaPackageV2 HarvestJob Notification',
    source: 'aws.mediapackagev2',
    account: LOCAL_ACCOUNT,
    region: 'us-east-1',
    resources: [job.Arn],
    detail: {
      harvestJob: {
        harvestJobName: job.HarvestJobName,
        arn: job.Arn,
        status: job.Status,
        channelGroupName: job.ChannelGroupName,
        channelName: job.ChannelName,
        originEndpointName: job.OriginEndpointName,
        scheduleConfiguration: { startTime: isoS(job.ScheduleConfiguration?.StartTime), endTime: isoS(job.ScheduleConfiguration?.EndTime) },
        destination: { s3Destination: { bucketName: job.Destination?.S3Destination?.BucketName, destinationPath: job.Destination?.S3Destination?.DestinationPath } },
        harvestedManifests: manifests,
        message,
      },
    },
  };
}

/** Checks the one successfully delivered event of a job: shape, id, time, retries of the same event. */
function checkDelivered(job: GetHarvestJobCommandOutput, message: string): void {
  const posts = postsFor(job.Arn!);
  const ok = posts.filter((p) => p.answered === 200);
  assert.equal(ok.length, 1, `exactly one event for ${job.HarvestJobName} (${job.Status}) was delivered; got ${ok.length}`);
  const delivered = ok[0]!;
  assert.equal(delivered.path, '/events');
  assert.match(String(delivered.headers['content-type']), /^application\/json/);
  const { id, time, ...rest } = delivered.json!;
  assert.match(String(id), UUID_RE, 'id is a UUID');
  assert.match(String(time), ISO_SECONDS_RE, 'time is ISO-8601 UTC with second precision');
  assert.ok(Math.abs(Date.parse(String(time)) - job.ModifiedAt!.getTime()) <= 1500, `event time ${String(time)} is when the job ended (${job.ModifiedAt?.toISOString()})`);
  const body = rest as { detail?: { harvestJob?: { harvestedManifests?: Record<string, unknown[]> } } };
  // An empty manifest list and an absent one say the same thing.
  const hm = body.detail?.harvestJob?.harvestedManifests;
  if (hm) for (const k of Object.keys(hm)) if (Array.isArray(hm[k]) && hm[k].length === 0) delete hm[k];
  assert.deepEqual(rest, expectedEvent(job, message));
  // Every attempt for this job is the same event (retries resend it; no second event).
  assert.deepEqual([...new Set(posts.map((p) => p.json!['id']))], [id], 'all attempts carry the same event id');
  assert.ok(posts.every((p) => p.text === delivered.text), 'retries resend the same payload');
}

describe('harvest jobs that fail, and harvest-job events', () => {
  before(async () => {
    receiver = await startWebhookReceiver(2);
    ownS3 = await startS3rver();
    sink = await startConnectionSink();
    const common = ['--harvest-settle-seconds', '1'];
    const s3Keys = ['--s3-access-key-id', S3RVER_KEYS.accessKeyId, '--s3-secret-access-key', S3RVER_KEYS.secretAccessKey];
    [A, B, C, D] = await Promise.all([
      startServer({ args: [...common, '--event-webhooks', receiver.url] }),
      startServer({ args: [...common, '--s3-endpoint', ownS3.url, ...s3Keys] }),
      startServer({ args: [...common, '--s3-endpoint', 'http://127.0.0.1:1', ...s3Keys] }),
      startServer({ args: [...common, '--s3-endpoint', sink.url, ...s3Keys] }),
    ]);
    await Promise.all([
      setUp(A, { [LIVE]: [E], [RESETME]: [E], [EMPTY]: [E, DOOMED] }),
      setUp(B, { [LIVE]: [E] }),
      setUp(C, { [LIVE]: [E] }),
      setUp(D, { [LIVE]: [E] }),
    ]);
    const toResetme = (p: string) => p.replace(`/${G}/1/${LIVE}/`, `/${G}/1/${RESETME}/`);
    fanout = await startFanout([A.url, { url: A.url, path: toResetme }, B.url, C.url, D.url]);
    encoder = startEncoder({ baseUrl: fanout.url, group: G, channel: LIVE, ingest: 1, segmentType: 'fmp4', seconds: 12 });
    T0 = await waitFor(
      'the first segment',
      async () => {
        const r = await get(`${A.url}/out/v1/${G}/${LIVE}/${E}/index_index_0.m3u8`);
        return r.status === 200 ? timedSegments(readMedia(r.text))[0]?.startMs : undefined;
      },
      20_000,
      200,
    );
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await Promise.all([A, B, C, D].map((s) => s?.stop()));
    await fanout?.close();
    await ownS3?.close();
    await sink?.close();
    await receiver?.close();
  });

  test('no content in the window (a channel with an endpoint but no ingest): FAILED, "no content available"', { timeout: 30_000 }, async () => {
    const end = wholeSecond(Date.now()) - 3000;
    const { ref, created } = await createJob(A, EMPTY, E, 'no-content', end - 5000, end, 'harvest-empty');
    const job = await expectFailed(A, ref, created, /^There was no content available for the specified time window\.$/);
    failedOnA.set(job.HarvestJobName!, job);
  });

  test('the origin endpoint deleted while the job is QUEUED: FAILED, naming the deletion', { timeout: 30_000 }, async () => {
    const now = wholeSecond(Date.now());
    const { ref, created } = await createJob(A, EMPTY, DOOMED, 'doomed', now - 5000, now + 60_000, 'harvest-doomed');
    const client = A.client();
    assert.equal((await client.send(new GetHarvestJobCommand(ref))).Status, 'QUEUED');
    await client.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: EMPTY, OriginEndpointName: DOOMED }));
    const job = await expectFailed(A, ref, created, /origin endpoint doomed was deleted/i, 10_000);
    failedOnA.set(job.HarvestJobName!, job);
  });

  test('ResetChannelState after the window start: FAILED, naming the reset', { timeout: 30_000 }, async () => {
    const start = wholeSecond(T0 + 1000);
    const end = start + 6000;
    const { ref, created } = await createJob(A, RESETME, E, 'reset', start, end, 'harvest-reset');
    assert.equal((await A.client().send(new GetHarvestJobCommand(ref))).Status, 'QUEUED');
    const reset = await resetChannel(A.url, G, RESETME);
    assert.equal(reset.status, 200, reset.text);
    const job = await expectFailed(A, ref, created, /channel was reset at .*after the harvest window began/i);
    failedOnA.set(job.HarvestJobName!, job);
  });

  test('a destination bucket that does not exist in a configured S3 store: FAILED, saying it does not exist; no bucket made', { timeout: 30_000 }, async () => {
    const start = wholeSecond(T0 + 1000);
    const { ref, created } = await createJob(B, LIVE, E, 'no-bucket', start, start + 4000, 'harvest-missing');
    await expectFailed(B, ref, created, /bucket harvest-missing does not exist/i);
    const buckets = await ownS3.client.send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets ?? [], [], 'Packhouse did not create the bucket in a store it does not own');
  });

  test('S3 unreachable: FAILED, naming the S3 store, after retries', { timeout: 40_000 }, async (t) => {
    const start = wholeSecond(T0 + 1000);
    const refused = await createJob(C, LIVE, E, 'refused', start, start + 4000, 'harvest-unreachable');
    const dropped = await createJob(D, LIVE, E, 'dropped', start, start + 4000, 'harvest-unreachable');
    await expectFailed(C, refused.ref, refused.created, /S3 store could not be reached/i);
    await expectFailed(D, dropped.ref, dropped.created, /S3 store could not be reached/i);
    assert.ok(sink.connections.length >= 2, `the S3 store was tried ${sink.connections.length} time(s) before the job failed`);
    t.diagnostic(`S3 connection attempts before FAILED: ${sink.connections.length}`);
  });

  test('a COMPLETED job sends exactly one event, delivered after the receiver\'s failures were retried; CANCELLED sends none', { timeout: 40_000 }, async () => {
    const client = A.client();
    // A job cancelled while QUEUED.
    const now = wholeSecond(Date.now());
    const cancelled = await createJob(A, LIVE, E, 'cancelled', now - 4000, now + 60_000, 'harvest-cancelled');
    await client.send(new CancelHarvestJobCommand(cancelled.ref));
    cancelledOnA = await client.send(new GetHarvestJobCommand(cancelled.ref));
    assert.equal(cancelledOnA.Status, 'CANCELLED');
    // A job that completes.
    const start = wholeSecond(T0 + 1000);
    const good = await createJob(A, LIVE, E, 'good', start, start + 4000, 'harvest-good');
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, good.ref);
    assert.equal(w.state, 'SUCCESS', JSON.stringify(w.reason));
    completedOnA = await client.send(new GetHarvestJobCommand(good.ref));
    assert.equal(completedOnA.Status, 'COMPLETED');
    await waitFor('the COMPLETED event to be delivered', async () => (postsFor(completedOnA!.Arn!).some((p) => p.answered === 200) ? true : undefined), 20_000, 200);
    checkDelivered(completedOnA, 'Your harvest job is complete.');
    // The receiver's first two answers were 500; those events were delivered later.
    const failedAttempts = receiver.posts.filter((p) => p.answered === 500);
    assert.equal(failedAttempts.length, 2);
    await waitFor(
      'the events refused at first to be delivered on a retry',
      async () => (failedAttempts.every((f) => receiver.posts.some((p) => p.answered === 200 && p.json?.['id'] === f.json?.['id'] && p.atMs > f.atMs)) ? true : undefined),
      20_000,
      200,
    );
    assert.equal(postsFor(cancelledOnA.Arn!).length, 0, 'no event for the CANCELLED job');
  });

  test('a job that fails while it runs sends exactly one FAILED event (no content, channel reset)', { timeout: 40_000 }, async () => {
    const failed = ['no-content', 'reset'].map((n) => failedOnA.get(n)!);
    assert.ok(failed.every(Boolean), 'the failure tests on server A ran');
    await waitFor('a FAILED event for every failed job', async () => (failed.every((j) => postsFor(j.Arn!).some((p) => p.answered === 200)) ? true : undefined), 15_000, 250);
    // Let every other delivery (with its backoff) finish before looking for duplicates and strays.
    await encoder.done;
    await sleep(2000);
    for (const job of failed) checkDelivered(job, job.ErrorMessage!);
    assert.equal(postsFor(cancelledOnA!.Arn!).length, 0, 'still no event for the CANCELLED job');
    const known = new Set([...failedOnA.values(), completedOnA!].map((j) => j.Arn));
    const strays = receiver.posts.filter((p) => !(p.json?.['resources'] as string[] | undefined)?.some((r) => known.has(r)));
    assert.deepEqual(strays.map((p) => p.text), [], 'no other events');
  });

  test('a job FAILED by the deletion of its origin endpoint sends one FAILED event too (HARVEST.md §10.2)', { timeout: 20_000 }, async () => {
    const job = failedOnA.get('doomed')!;
    assert.ok(job, 'the deletion test ran');
    await waitFor('the FAILED event of the job whose endpoint was deleted', async () => (postsFor(job.Arn!).some((p) => p.answered === 200) ? true : undefined), 8000, 250).catch(() => undefined);
    assert.equal(postsFor(job.Arn!).filter((p) => p.answered === 200).length, 1, `no FAILED event was delivered for ${job.HarvestJobName} ("${job.ErrorMessage}")`);
    checkDelivered(job, job.ErrorMessage!);
  });
});
