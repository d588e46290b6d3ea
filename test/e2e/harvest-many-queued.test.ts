/**
 * Many jobs scheduled ahead do not hold back one that is due: a scheduling pass reads the jobs
 * whose window has ended (or whose lease ran out), earliest first, not the oldest active jobs, so
 * a job whose window has passed runs at once even when more than a page of jobs created before it
 * wait for windows that end later. The server runs with a quota that lets one group hold them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
  let status: string | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    status = (await c.send(new GetHarvestJobCommand(ref('due')))).Status;
    if (status !== 'QUEUED' && status !== 'IN_PROGRESS') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(status === 'COMPLETED' || status === 'FAILED', `the due job is still ${status} after 60 s`);
  // The jobs ahead are untouched.
  for (const name of ['ahead-0', `ahead-${AHEAD - 1}`]) assert.equal((await c.send(new GetHarvestJobCommand(ref(name)))).Status, 'QUEUED');
});
