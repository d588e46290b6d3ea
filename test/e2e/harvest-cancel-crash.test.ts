/**
 * Cancelling harvest jobs and surviving a crash mid-harvest, against a real Packhouse process
 * writing to an s3rver started here through a proxy that delays every PUT by 300-400 ms (so a
 * harvest of a few dozen objects takes several seconds). `--harvest-lease-seconds 3`.
 *
 *  (a) cancelled while QUEUED: CANCELLED, never runs, writes nothing;
 *  (b) cancelled while IN_PROGRESS: the PUTs stop within 2 s; CANCELLED stays; the waiter says SUCCESS;
 *  (c) kill -9 mid-harvest and restart on the same data directory: once the lease has expired the
 *      job resumes and ends COMPLETED, with exactly the objects (names and bytes) of a clean run of
 *      the same job written to another prefix.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CancelHarvestJobCommand,
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetHarvestJobCommand,
  waitUntilHarvestJobFinished,
  type CreateHarvestJobCommandOutput,
} from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type StartOptions, type TestServer } from '../support/server.js';
import { expectEncoderSuccess, freePort, get, readMedia, startEncoder, waitFor, type RunningProcess } from '../support/live.js';
import {
  S3RVER_KEYS,
  getObject,
  listKeys,
  logEntries,
  pollJob,
  startDelayProxy,
  startS3rver,
  timedSegments,
  type DelayProxy,
  type JobRef,
  type OwnS3,
} from '../support/harvest.js';

const G = 'hcc';
const C = 'live';
const E = 'e';
const BUCKET = 'harvest-slow';
const LEASE_SECONDS = 3;

let s3: OwnS3;
let proxy: DelayProxy;
let server: TestServer;
let serverOptions: StartOptions;
let dataDir: string;
let encoder: RunningProcess;
let T0: number;

async function createJob(name: string, startMs: number, endMs: number): Promise<{ ref: JobRef; created: CreateHarvestJobCommandOutput; prefix: string }> {
  const ref: JobRef = { ChannelGroupName: G, ChannelName: C, OriginEndpointName: E, HarvestJobName: name };
  const created = await server.client().send(
    new CreateHarvestJobCommand({
      ...ref,
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], LowLatencyHlsManifests: [{ ManifestName: 'll' }], DashManifests: [{ ManifestName: 'dash' }] },
      ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
      Destination: { S3Destination: { BucketName: BUCKET, DestinationPath: `jobs/${name}/` } },
    }),
  );
  assert.equal(created.Status, 'QUEUED');
  return { ref, created, prefix: `jobs/${name}/` };
}

/** The PUTs the proxy received for a job's prefix. */
const putsOf = (prefix: string) => proxy.putsUnder(`${BUCKET}/${prefix}`);

describe('cancelling harvest jobs, and a crash mid-harvest', () => {
  before(async () => {
    s3 = await startS3rver();
    await s3.createBucket(BUCKET);
    proxy = await startDelayProxy(s3.url, 300, 400);
    const port = await freePort();
    dataDir = tempDir('packhouse-crash-');
    serverOptions = {
      dataDir,
      keepData: true,
      args: [
        '--port', String(port),
        '--public-url', `http://127.0.0.1:${port}`,
        '--s3-endpoint', proxy.url,
        '--s3-access-key-id', S3RVER_KEYS.accessKeyId,
        '--s3-secret-access-key', S3RVER_KEYS.secretAccessKey,
        '--harvest-lease-seconds', String(LEASE_SECONDS),
        '--harvest-settle-seconds', '2',
      ],
    };
    server = await startServer(serverOptions);
    const client = server.client();
    await client.send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
    await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: C }));
    await client.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: C,
        OriginEndpointName: E,
        ContainerType: 'CMAF',
        StartoverWindowSeconds: 600,
        Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
        HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
        LowLatencyHlsManifests: [{ ManifestName: 'll', ProgramDateTimeIntervalSeconds: 1 }],
        DashManifests: [{ ManifestName: 'dash' }],
      }),
    );
    encoder = startEncoder({ baseUrl: server.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 14 });
    T0 = await waitFor(
      'the first segment',
      async () => {
        const r = await get(`${server.url}/out/v1/${G}/${C}/${E}/index_index_0.m3u8`);
        return r.status === 200 ? timedSegments(readMedia(r.text))[0]?.startMs : undefined;
      },
      20_000,
      200,
    );
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await server?.stop();
    await proxy?.close();
    await s3?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('(a) cancelled while QUEUED: CANCELLED, never runs, nothing written', { timeout: 40_000 }, async () => {
    const client = server.client();
    const endMs = T0 + 5000;
    assert.ok(endMs > Date.now() + 1000, 'the window still ends in the future');
    const { ref, created, prefix } = await createJob('queued', T0 + 1000, endMs);
    await client.send(new CancelHarvestJobCommand(ref));
    const cancelled = await client.send(new GetHarvestJobCommand(ref));
    assert.equal(cancelled.Status, 'CANCELLED');
    assert.notEqual(cancelled.ETag, created.ETag);
    // Past the moment it would have run: EndTime, the content up to it, the settle time, a few worker passes.
    await waitFor(
      'the content up to EndTime',
      async () => {
        const segs = timedSegments(readMedia((await get(`${server.url}/out/v1/${G}/${C}/${E}/index_index_0.m3u8`)).text));
        const last = segs[segs.length - 1];
        return last && last.startMs + last.durationMs >= endMs ? true : undefined;
      },
      20_000,
      200,
    );
    await sleep(Math.max(0, endMs + 2000 - Date.now()) + 2000);
    const later = await client.send(new GetHarvestJobCommand(ref));
    assert.equal(later.Status, 'CANCELLED');
    assert.equal(later.ETag, cancelled.ETag, 'the record did not change after the cancel');
    assert.equal(later.ModifiedAt?.getTime(), cancelled.ModifiedAt?.getTime());
    assert.equal(later.ErrorMessage, undefined);
    assert.deepEqual(logEntries(server, 'harvest job started', later.Arn), [], 'the job never started');
    assert.deepEqual(putsOf(prefix).map((p) => p.path), [], 'no PUT for the job');
    assert.deepEqual(await listKeys(s3.client, BUCKET, prefix), [], 'nothing written');
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS');
  });

  test('(b) cancelled while IN_PROGRESS: PUTs stop within 2 s, CANCELLED, the waiter says SUCCESS', { timeout: 40_000 }, async () => {
    await expectEncoderSuccess(encoder);
    const client = server.client();
    const { ref, prefix } = await createJob('running', T0 + 1000, T0 + 11_000);
    await waitFor('three PUTs of the job', async () => (putsOf(prefix).length >= 3 ? true : undefined), 20_000, 50);
    assert.equal((await client.send(new GetHarvestJobCommand(ref))).Status, 'IN_PROGRESS');
    await client.send(new CancelHarvestJobCommand(ref));
    const cancelledAt = Date.now();
    const cancelled = await client.send(new GetHarvestJobCommand(ref));
    assert.equal(cancelled.Status, 'CANCELLED');
    await sleep(5000);
    const late = putsOf(prefix).filter((p) => p.arrivedMs > cancelledAt + 2000);
    assert.deepEqual(late.map((p) => `${p.path} at +${p.arrivedMs - cancelledAt} ms`), [], 'no PUT more than 2 s after the cancel');
    const started = logEntries(server, 'harvest job started', cancelled.Arn);
    assert.equal(started.length, 1);
    assert.ok(putsOf(prefix).length < Number(started[0]!['objects']), `the harvest stopped early (${putsOf(prefix).length} of ${String(started[0]!['objects'])} objects)`);
    const later = await client.send(new GetHarvestJobCommand(ref));
    assert.equal(later.Status, 'CANCELLED', 'the worker did not overwrite CANCELLED');
    assert.equal(later.ETag, cancelled.ETag);
    assert.equal(later.ErrorMessage, undefined);
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS');
  });

  test('(c) kill -9 mid-harvest: after a restart the job resumes once its lease expires and ends COMPLETED, identical to a clean run', { timeout: 80_000 }, async () => {
    await expectEncoderSuccess(encoder);
    const window: [number, number] = [T0 + 1000, T0 + 11_000];
    const crash = await createJob('crash', ...window);
    await waitFor('four PUTs of the job', async () => (putsOf(crash.prefix).length >= 4 ? true : undefined), 20_000, 50);
    await server.kill();
    const killedAt = Date.now();
    const putsBeforeKill = putsOf(crash.prefix).length;
    server = await startServer(serverOptions);
    const client = server.client();
    const afterRestart = await client.send(new GetHarvestJobCommand(crash.ref));
    assert.equal(afterRestart.Status, 'IN_PROGRESS', 'the job is still IN_PROGRESS (held by the dead worker\'s lease)');
    const clean = await createJob('clean', ...window);

    const { job } = await pollJob(client, crash.ref, ['COMPLETED', 'FAILED', 'CANCELLED'], 60_000, 250);
    assert.equal(job.Status, 'COMPLETED', job.ErrorMessage);
    assert.equal(job.ErrorMessage, undefined);
    assert.ok(job.ModifiedAt!.getTime() > crash.created.ModifiedAt!.getTime());
    assert.notEqual(job.ETag, crash.created.ETag);
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, clean.ref);
    assert.equal(w.state, 'SUCCESS');
    assert.equal((await client.send(new GetHarvestJobCommand(clean.ref))).Status, 'COMPLETED');

    const resumed = putsOf(crash.prefix).slice(putsBeforeKill);
    assert.ok(resumed.length > 0, 'the job wrote again after the restart');
    assert.ok(resumed[0]!.arrivedMs >= killedAt + 2000, `resumed ${resumed[0]!.arrivedMs - killedAt} ms after the kill: not before the ${LEASE_SECONDS} s lease (renewed every ${(LEASE_SECONDS * 1000) / 4} ms) expired`);

    const crashKeys = (await listKeys(s3.client, BUCKET, crash.prefix)).map((k) => k.slice(crash.prefix.length));
    const cleanKeys = (await listKeys(s3.client, BUCKET, clean.prefix)).map((k) => k.slice(clean.prefix.length));
    assert.ok(cleanKeys.length >= 20, `the clean run wrote ${cleanKeys.length} objects`);
    assert.deepEqual(crashKeys, cleanKeys, 'the same objects as a clean run');
    for (const k of cleanKeys) {
      const a = await getObject(s3.url, BUCKET, crash.prefix + k);
      const b = await getObject(s3.url, BUCKET, clean.prefix + k);
      assert.ok(a.equals(b), `${k}: the resumed job's bytes (${a.length}) equal the clean run's (${b.length})`);
    }
  });
});
