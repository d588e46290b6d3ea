/**
 * `packhouse jobs` reads harvest jobs and their state from the server's database while the server
 * runs: a job with no content ends FAILED with its reason; a job whose window ends later is QUEUED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateChannelCommand, CreateChannelGroupCommand, CreateHarvestJobCommand, CreateOriginEndpointCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { BIN, ROOT, startServer } from '../support/server.js';

test('packhouse jobs lists every harvest job with its status, window, destination and reason', async () => {
  const server = await startServer({ args: ['--harvest-settle-seconds', '1'] });
  try {
    const c = server.client();
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'g' }));
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: 'c' }));
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', ContainerType: 'CMAF', StartoverWindowSeconds: 600, HlsManifests: [{ ManifestName: 'index' }] }));
    const now = Date.now();
    const base = { ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] } };
    await c.send(new CreateHarvestJobCommand({ ...base, HarvestJobName: 'empty', ScheduleConfiguration: { StartTime: new Date(now - 60_000), EndTime: new Date(now - 30_000) }, Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'a/' } } }));
    await c.send(new CreateHarvestJobCommand({ ...base, HarvestJobName: 'later', ScheduleConfiguration: { StartTime: new Date(now - 60_000), EndTime: new Date(now + 300_000) }, Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'b/' } } }));
    for (let i = 0; i < 50; i++) {
      const j = await c.send(new GetHarvestJobCommand({ ...base, HarvestJobName: 'empty' }));
      if (j.Status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = spawnSync(process.execPath, [BIN, 'jobs', '--data-dir', server.dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 3, run.stdout);
    assert.match(lines[0]!, /^STATUS\s+JOB \(group\/channel\/endpoint\/name\)\s+WINDOW\s+DESTINATION\s+STATE$/, 'a header row');
    const empty = lines.find((l) => l.includes('g/c/e/empty'));
    const later = lines.find((l) => l.includes('g/c/e/later'));
    assert.match(empty ?? '', /^FAILED .*s3:\/\/vod\/a\/ .*There was no content available for the specified time window\./);
    assert.match(later ?? '', /^QUEUED .*s3:\/\/vod\/b\/\s+waiting for its end time \(.*, in \d+ s\)$/);
    assert.ok(later?.includes(new Date(now - 60_000).toISOString()), later);

    // A second finished job, newer: with --limit 1 only the newest finished job is listed, with
    // every queued one, and a line says that older ones were left out.
    await c.send(new CreateHarvestJobCommand({ ...base, HarvestJobName: 'empty2', ScheduleConfiguration: { StartTime: new Date(now - 60_000), EndTime: new Date(now - 30_000) }, Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'c/' } } }));
    for (let i = 0; i < 100; i++) {
      const j = await c.send(new GetHarvestJobCommand({ ...base, HarvestJobName: 'empty2' }));
      if (j.Status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const limited = spawnSync(process.execPath, [BIN, 'jobs', '--limit', '1', '--data-dir', server.dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(limited.status, 0, limited.stderr);
    const shown = limited.stdout.trim().split('\n');
    assert.equal(shown.length, 4, limited.stdout);
    assert.ok(shown.some((l) => /^FAILED .*g\/c\/e\/empty2 /.test(l)), limited.stdout);
    assert.ok(shown.some((l) => /^QUEUED .*g\/c\/e\/later /.test(l)), limited.stdout);
    assert.ok(!shown.some((l) => l.includes('g/c/e/empty ')), limited.stdout);
    assert.equal(shown[3], '(older finished jobs are not listed: these are the 1 newest; --limit N lists more)');
    const all = spawnSync(process.execPath, [BIN, 'jobs', '--limit=2', '--data-dir', server.dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(all.stdout.trim().split('\n').length, 4, all.stdout);
    assert.ok(!all.stdout.includes('not listed'), all.stdout);
    const bad = spawnSync(process.execPath, [BIN, 'jobs', '--limit', 'many', '--data-dir', server.dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--limit takes the number of finished jobs to list, from 1 to 1000000 \(got "many"\)/);
  } finally {
    await server.stop();
  }
});
