/**
 * Many jobs scheduled ahead do not hold back one that is due: a scheduling pass reads the jobs
 * whose window has ended (or whose lease ran out), earliest first, not the oldest active jobs, so
 * a job whose window has passed runs at once even when more than a page of jobs created before it
 * wait for windows that end later. The server runs with a quota that lets one group hold them.
 * A job row without a due time, as a node of an earlier version writes it during a rolling
 * upgrade, runs too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CreateHarvestJobCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, type TestServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel } from '../support/live.js';

/** More than a scheduling pass read before (100), so that the due job is not among the oldest. */
const AHEAD = 130;

let server: TestServer;

before(async () => {
  server = await startServer({ args: ['--quota-active-harvest-jobs', String(AHEAD + 10), '--harvest-settle-seconds', '1'] });
});

after(async () => {
  await server?.stop();
});

async function finishedStatus(c: ReturnType<TestServer['client']>, ref: { ChannelGroupName: string; ChannelName: string; OriginEndpointName: string; HarvestJobName: string }): Promise<string | undefined> {
  let status: string | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    status = (await c.send(new GetHarvestJobCommand(ref))).Status;
    if (status !== 'QUEUED' && status !== 'IN_PROGRESS') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

test(`a job whose window has passed runs while ${AHEAD} older jobs wait for windows still ahead`, { timeout: 120_000 }, async () => {
  const c = server.client();
  await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 3600)]);
  const ref = (name: string) => ({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: name });
  const job = (name: string, startMs: number, endMs: number) =>
    new CreateHarvestJobCommand({
      ...ref(name),
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
      Destination: { S3Destination: { BucketName: 'vod', DestinationPath: `${name}/` } },
    });
  const now = Date.now();
  for (let i = 0; i < AHEAD; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => c.send(job(`ahead-${i + k}`, now - 60_000, now + 30 * 60_000))));
  }
  await c.send(job('due', now - 60_000, now - 30_000));

  // No content reached the channel, so the due job ends after the settle time; FAILED or
  // COMPLETED both show it ran. Before, it stayed QUEUED behind the first hundred.
  const status = await finishedStatus(c, ref('due'));
  assert.ok(status === 'COMPLETED' || status === 'FAILED', `the due job is still ${status} after 60 s`);
  // The jobs ahead are untouched.
  for (const name of ['ahead-0', `ahead-${AHEAD - 1}`]) assert.equal((await c.send(new GetHarvestJobCommand(ref(name)))).Status, 'QUEUED');
});

test('a queued job whose row has no due time (written by an earlier version) runs once its window ends', { timeout: 120_000 }, async () => {
  const c = server.client();
  await createLiveChannel(c, 'g2', 'c', [cmafEndpoint('e', 3600)]);
  const ref = { ChannelGroupName: 'g2', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: 'legacy' };
  const now = Date.now();
  await c.send(
    new CreateHarvestJobCommand({
      ...ref,
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(now - 60_000), EndTime: new Date(now + 3_000) },
      Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'legacy/' } },
    }),
  );
  const db = new Database(join(server.dataDir, 'packhouse.db'));
  try {
    db.pragma('busy_timeout = 10000');
    const changed = db.prepare("UPDATE resources SET due_ms = NULL WHERE kind = 'harvestJob' AND group_name = 'g2' AND name = 'legacy' AND status = 'QUEUED'").run().changes;
    assert.equal(changed, 1, 'the job was still queued when its due time was removed');
  } finally {
    db.close();
  }
  const status = await finishedStatus(c, ref);
  assert.ok(status === 'COMPLETED' || status === 'FAILED', `the undated job is still ${status} after 60 s`);
});
