// Two real Packhouse processes sharing ONE fresh PostgreSQL database: what one node writes the
// other reads, ETags and quotas hold across nodes (SERIALIZABLE transactions), and a ClientToken
// replayed on the other node gets the first answer. Each test works in its own Region, because
// the channel-group quota counts per account and Region.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetChannelGroupCommand,
  ListChannelGroupsCommand,
  ListHarvestJobsCommand,
  UpdateChannelGroupCommand,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';

import { startServer, tempDir, type TestServer } from '../support/server.js';
import { PG_BASE, pgAdmin } from '../support/postgres.js';

/** Runs one statement on the server's admin database. */
const admin = (sql: string) => pgAdmin((c) => c.query(sql));

/** Output without the per-request $metadata (request id, attempts). */
function body<T extends { $metadata?: unknown }>(out: T): Omit<T, '$metadata'> {
  const { $metadata: _m, ...rest } = out;
  return rest;
}

interface Failure {
  name: string;
  status: number | undefined;
  fields: Record<string, unknown>;
}

/** Runs a call and returns its error's name, HTTP status and modelled fields; fails when it succeeds. */
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } } & Record<string, unknown>;
    return { name: e.name, status: e.$metadata?.httpStatusCode, fields: e };
  }
  assert.fail('the call was expected to fail');
}

function tally(results: PromiseSettledResult<unknown>[]): { ok: number; errors: Record<string, number> } {
  const errors: Record<string, number> = {};
  let ok = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') ok += 1;
    else {
      const e = r.reason as Error & { $metadata?: { httpStatusCode?: number }; ValidationExceptionType?: string };
      const key = `${e.$metadata?.httpStatusCode ?? '?'} ${e.name}${e.ValidationExceptionType ? ` ${e.ValidationExceptionType}` : ''}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
  }
  return { ok, errors };
}

describe('two nodes over one PostgreSQL database', () => {
  const dbName = `packhouse_test_${randomBytes(6).toString('hex')}`;
  const dbUrl = `${PG_BASE}/${dbName}`;
  const dirs: string[] = [];
  let created = false;
  let a: TestServer | undefined;
  let b: TestServer | undefined;

  const args = () => ['--database-url', dbUrl, '--quota-channel-groups', '3', '--quota-active-harvest-jobs', '2'];
  const clients = (region: string): [MediaPackageV2Client, MediaPackageV2Client] => [a!.client({ region }), b!.client({ region })];

  let setupError: unknown;

  before(async () => {
    try {
      await admin(`CREATE DATABASE ${dbName}`);
      created = true;
      const dirA = tempDir('packhouse-node-a-');
      const dirB = tempDir('packhouse-node-b-');
      dirs.push(dirA, dirB);
      // Both nodes start at once on the empty database: their migrations take an advisory lock.
      const started = await Promise.allSettled([startServer({ dataDir: dirA, args: args() }), startServer({ dataDir: dirB, args: args() })]);
      a = started[0].status === 'fulfilled' ? started[0].value : undefined;
      b = started[1].status === 'fulfilled' ? started[1].value : undefined;
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      assert.notEqual(a!.url, b!.url);
      for (const node of [a!, b!]) {
        assert.ok(node.logs.some((l) => l.includes('"database":"postgres"')), `node ${node.url} uses PostgreSQL`);
      }
    } catch (err) {
      setupError = err; // reported by every test below, so an unreachable database fails them all
    }
  });

  const it = (name: string, fn: () => Promise<void>): void => {
    void test(name, async () => {
      if (setupError) throw setupError;
      await fn();
    });
  };

  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (created) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  });

  it('a channel group created through node A reads back identically through node B', async () => {
    const [ca, cb] = clients('us-east-1');
    const made = await ca.send(new CreateChannelGroupCommand({ ChannelGroupName: 'shared', Description: 'from A', Tags: { node: 'a' } }));
    const onA = body(await ca.send(new GetChannelGroupCommand({ ChannelGroupName: 'shared' })));
    const onB = body(await cb.send(new GetChannelGroupCommand({ ChannelGroupName: 'shared' })));
    assert.deepEqual(onB, onA);
    assert.equal(onB.ETag, made.ETag);
    assert.equal(onB.Arn, 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/shared');
    assert.deepEqual(onB.CreatedAt, made.CreatedAt);
    assert.equal(onB.Description, 'from A');
    assert.deepEqual(onB.Tags, { node: 'a' });
    const listB = await cb.send(new ListChannelGroupsCommand({}));
    assert.deepEqual(listB.Items?.map((i) => i.ChannelGroupName), ['shared']);
    // The name is taken on B too.
    const dup = await failure(cb.send(new CreateChannelGroupCommand({ ChannelGroupName: 'shared' })));
    assert.equal(dup.status, 409);
    assert.equal(dup.name, 'ConflictException');
    assert.equal(dup.fields['ConflictExceptionType'], 'RESOURCE_ALREADY_EXISTS');
  });

  it('an ETag read on node A is honoured on node B; a stale one gets 409 on either node', async () => {
    const [ca, cb] = clients('us-east-2');
    const v0 = await ca.send(new CreateChannelGroupCommand({ ChannelGroupName: 'etags', Description: 'v0' }));
    const v1 = await cb.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etags', ETag: v0.ETag, Description: 'v1' }));
    assert.equal(v1.Description, 'v1');
    assert.notEqual(v1.ETag, v0.ETag);
    const readA = await ca.send(new GetChannelGroupCommand({ ChannelGroupName: 'etags' }));
    assert.equal(readA.ETag, v1.ETag, 'A sees the version B wrote');
    assert.equal(readA.Description, 'v1');

    for (const client of [ca, cb]) {
      const stale = await failure(client.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etags', ETag: v0.ETag, Description: 'stale' })));
      assert.equal(stale.status, 409);
      assert.equal(stale.name, 'ConflictException');
      assert.equal(stale.fields['ConflictExceptionType'], 'CONFLICTING_OPERATION');
    }
    assert.equal((await cb.send(new GetChannelGroupCommand({ ChannelGroupName: 'etags' }))).Description, 'v1');

    // Both nodes race (four updates each) to update with the same current ETag: exactly one wins.
    const race = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? ca : cb).send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etags', ETag: v1.ETag, Description: `race-${i}` })),
      ),
    );
    assert.deepEqual(tally(race), { ok: 1, errors: { '409 ConflictException': 7 } });
    const winner = race.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))[0]!;
    const final = await ca.send(new GetChannelGroupCommand({ ChannelGroupName: 'etags' }));
    assert.equal(final.Description, winner.Description);
    assert.equal(final.ETag, winner.ETag);
  });

  it('the channel-group quota (3) holds across nodes: 10 concurrent creates, exactly 3 succeed', async () => {
    const [ca, cb] = clients('eu-west-1');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? ca : cb).send(new CreateChannelGroupCommand({ ChannelGroupName: `quota-${i}` }))),
    );
    assert.deepEqual(tally(results), { ok: 3, errors: { '402 ServiceQuotaExceededException': 7 } });
    const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.ChannelGroupName!] : [])).sort();
    for (const client of [ca, cb]) {
      const list = await client.send(new ListChannelGroupsCommand({}));
      assert.deepEqual(list.Items?.map((i) => i.ChannelGroupName), created);
    }
    // Still full afterwards, on both nodes.
    for (const client of [ca, cb]) {
      const more = await failure(client.send(new CreateChannelGroupCommand({ ChannelGroupName: 'one-more' })));
      assert.equal(more.status, 402);
      assert.equal(more.name, 'ServiceQuotaExceededException');
    }
  });

  it('the active harvest-job quota (2 per group) holds across nodes: 12 concurrent creates, exactly 2 succeed', async () => {
    const [ca, cb] = clients('ap-south-1');
    await ca.send(new CreateChannelGroupCommand({ ChannelGroupName: 'harvest' }));
    await cb.send(new CreateChannelCommand({ ChannelGroupName: 'harvest', ChannelName: 'live' }));
    await ca.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: 'harvest',
        ChannelName: 'live',
        OriginEndpointName: 'ts',
        ContainerType: 'TS',
        StartoverWindowSeconds: 3600,
        HlsManifests: [{ ManifestName: 'index' }],
      }),
    );
    const now = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? ca : cb).send(
          new CreateHarvestJobCommand({
            ChannelGroupName: 'harvest',
            ChannelName: 'live',
            OriginEndpointName: 'ts',
            HarvestJobName: `job-${i}`,
            HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
            ScheduleConfiguration: { StartTime: new Date(now - 600_000), EndTime: new Date(now + 600_000) }, // ends later: stays QUEUED
            Destination: { S3Destination: { BucketName: 'bucket', DestinationPath: `jobs/${i}` } },
          }),
        ),
      ),
    );
    assert.deepEqual(tally(results), { ok: 2, errors: { '400 ValidationException TOO_MANY_IN_PROGRESS_HARVEST_JOBS': 10 } });
    const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.HarvestJobName!] : [])).sort();
    for (const client of [ca, cb]) {
      const list = await client.send(new ListHarvestJobsCommand({ ChannelGroupName: 'harvest' }));
      assert.deepEqual(list.Items?.map((j) => j.HarvestJobName).sort(), created);
      assert.deepEqual(list.Items?.map((j) => j.Status), ['QUEUED', 'QUEUED']);
    }
  });

  it('a ClientToken replayed on the other node returns the same answer and creates nothing new', async () => {
    const [ca, cb] = clients('us-west-2');
    const token = `token-${randomBytes(8).toString('hex')}`;
    const request = { ChannelGroupName: 'replayed', Description: 'once', Tags: { t: '1' }, ClientToken: token };
    const first = await ca.send(new CreateChannelGroupCommand(request));
    const again = await cb.send(new CreateChannelGroupCommand(request));
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.deepEqual(body(again), body(first));
    assert.equal(again.ETag, first.ETag);
    assert.deepEqual(again.CreatedAt, first.CreatedAt);
    // And back on A once more.
    assert.deepEqual(body(await ca.send(new CreateChannelGroupCommand(request))), body(first));
    const list = await cb.send(new ListChannelGroupsCommand({}));
    assert.deepEqual(list.Items?.map((i) => i.ChannelGroupName), ['replayed']);

    // The same token with a different request is refused on the other node.
    const mismatch = await failure(cb.send(new CreateChannelGroupCommand({ ...request, Description: 'different' })));
    assert.equal(mismatch.status, 409);
    assert.equal(mismatch.name, 'ConflictException');
    assert.equal(mismatch.fields['ConflictExceptionType'], 'IDEMPOTENT_PARAMETER_MISMATCH');

    // A child resource too: CreateChannel replayed across nodes.
    const chReq = { ChannelGroupName: 'replayed', ChannelName: 'ch', ClientToken: `${token}-ch` };
    const ch1 = await cb.send(new CreateChannelCommand(chReq));
    const ch2 = await ca.send(new CreateChannelCommand(chReq));
    assert.deepEqual(body(ch2), body(ch1));
  });
});
