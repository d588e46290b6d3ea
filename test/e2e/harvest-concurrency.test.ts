/**
 * The harvest concurrency limit: with --harvest-concurrency 1, two due jobs never run at the same
 * time (one waits QUEUED while the other is IN_PROGRESS, and their S3 writes do not interleave),
 * and both complete. S3 writes go through a delaying proxy so each run lasts long enough to see.
 * Each run logs its progress by time (every second here) and once at its end, then a final line
 * with objects, bytes, duration and throughput.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateHarvestJobCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, type TestServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel, expectEncoderSuccess, startEncoder } from '../support/live.js';
import { S3RVER_KEYS, logEntries, startDelayProxy, startS3rver, type DelayProxy, type OwnS3 } from '../support/harvest.js';

let s3: OwnS3;
let proxy: DelayProxy;
let server: TestServer;

before(async () => {
  s3 = await startS3rver();
  await s3.createBucket('vod');
  proxy = await startDelayProxy(s3.url, 250, 300);
  server = await startServer({
    args: ['--harvest-concurrency', '1', '--harvest-settle-seconds', '1', '--harvest-progress-seconds', '1', '--s3-endpoint', proxy.url, '--s3-access-key-id', S3RVER_KEYS.accessKeyId, '--s3-secret-access-key', S3RVER_KEYS.secretAccessKey],
  });
});

after(async () => {
  await server?.stop();
  await proxy?.close();
  await s3?.close();
});

test('with --harvest-concurrency 1, two due jobs run one after the other and both complete', { timeout: 90_000 }, async () => {
  const c = server.client();
  await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 600)]);
  const start = Date.now();
  await expectEncoderSuccess(startEncoder({ baseUrl: server.url, group: 'g', channel: 'c', ingest: 1, segmentType: 'fmp4', seconds: 8 }));
  const window = { StartTime: new Date(start), EndTime: new Date(start + 6_000) };
  const ref = (name: string) => ({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: name });
  for (const name of ['first', 'second']) {
    await c.send(
      new CreateHarvestJobCommand({
        ...ref(name),
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }] },
        ScheduleConfiguration: window,
        Destination: { S3Destination: { BucketName: 'vod', DestinationPath: `${name}/` } },
      }),
    );
  }
  const seen: string[] = [];
  for (const deadline = Date.now() + 80_000; Date.now() < deadline; ) {
    const [a, b] = await Promise.all(['first', 'second'].map((n) => c.send(new GetHarvestJobCommand(ref(n)))));
    seen.push(`${a!.Status}/${b!.Status}`);
    if (a!.Status === 'COMPLETED' && b!.Status === 'COMPLETED') break;
    assert.ok(!(a!.Status === 'IN_PROGRESS' && b!.Status === 'IN_PROGRESS'), `both jobs ran at once: ${seen.join(' ')}`);
    assert.ok(!['FAILED', 'CANCELLED'].includes(a!.Status!) && !['FAILED', 'CANCELLED'].includes(b!.Status!), `${a!.ErrorMessage ?? ''} ${b!.ErrorMessage ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen.at(-1), 'COMPLETED/COMPLETED', seen.join(' '));
  assert.ok(
    seen.some((s) => s === 'IN_PROGRESS/QUEUED' || s === 'QUEUED/IN_PROGRESS'),
    `one job waited QUEUED while the other ran: ${[...new Set(seen)].join(' ')}`,
  );
  // The S3 writes of the two jobs do not interleave.
  const a = proxy.putsUnder('vod/first/');
  const b = proxy.putsUnder('vod/second/');
  assert.ok(a.length > 5 && b.length === a.length, `${a.length} and ${b.length} objects`);
  const [earlier, later] = a[0]!.arrivedMs < b[0]!.arrivedMs ? [a, b] : [b, a];
  const lastOfEarlier = Math.max(...earlier.map((p) => p.doneMs ?? p.arrivedMs));
  assert.ok(lastOfEarlier <= later[0]!.arrivedMs, 'the second job started writing only after the first had finished');

  // Progress by time: lines about a second apart while it runs, one at the end with everything written.
  for (const name of ['first', 'second']) {
    const arn = (await c.send(new GetHarvestJobCommand(ref(name)))).Arn!;
    const progress = logEntries(server, 'harvest progress', arn) as { objectsWritten: number; objectsTotal: number; bytesWritten: number; bytesTotal: number; percent: number; elapsedMs: number }[];
    const runMs = Math.max(...proxy.putsUnder(`vod/${name}/`).map((p) => p.doneMs ?? p.arrivedMs)) - Math.min(...proxy.putsUnder(`vod/${name}/`).map((p) => p.arrivedMs));
    assert.ok(progress.length >= 2, `${name}: a progress line while running (${runMs} ms) and one at the end: ${JSON.stringify(progress)}`);
    for (let i = 1; i < progress.length - 1; i++) {
      assert.ok(progress[i]!.elapsedMs - progress[i - 1]!.elapsedMs >= 900, `${name}: progress is logged by time, not per object: ${JSON.stringify(progress)}`);
    }
    const last = progress.at(-1)!;
    assert.equal(last.objectsWritten, last.objectsTotal, JSON.stringify(last));
    assert.equal(last.bytesWritten >= last.bytesTotal, true, JSON.stringify(last));
    assert.equal(last.percent, 100);
    const finished = logEntries(server, 'harvest job finished', arn) as { status: string; objects: number; bytes: number; durationMs: number; throughputMBps: number }[];
    assert.equal(finished.length, 1);
    assert.equal(finished[0]!.status, 'COMPLETED');
    assert.equal(finished[0]!.objects, last.objectsTotal);
    assert.ok(finished[0]!.bytes > 0 && finished[0]!.durationMs > 0 && finished[0]!.throughputMBps >= 0, JSON.stringify(finished[0]));
  }
});
