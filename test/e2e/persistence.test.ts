// Durability of the SQLite store through real server processes: a graceful restart reads back
// exactly what was written, a kill -9 in the middle of a write burst loses no acknowledged
// write, and a bad configuration stops the process before it serves anything.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetChannelCommand,
  GetChannelGroupCommand,
  GetChannelPolicyCommand,
  GetHarvestJobCommand,
  GetOriginEndpointCommand,
  GetOriginEndpointPolicyCommand,
  ListChannelGroupsCommand,
  ListChannelsCommand,
  ListHarvestJobsCommand,
  ListOriginEndpointsCommand,
  ListTagsForResourceCommand,
  PutChannelPolicyCommand,
  PutOriginEndpointPolicyCommand,
  TagResourceCommand,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';

import { LOCAL_ACCOUNT, startExpectingFailure, startServer, tempDir, type TestServer } from '../support/server.js';

/** Output without the per-request $metadata (request id, attempts), which differs per call. */
function body<T extends { $metadata?: unknown }>(out: T): Omit<T, '$metadata'> {
  const { $metadata: _m, ...rest } = out;
  return rest;
}

/** A fixed public URL, so the URLs the API derives from it do not change with the port. */
const PUBLIC_URL = 'http://packhouse.test:8080';

function policyFor(resource: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'AllowGet', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT}:root` }, Action: 'mediapackagev2:GetObject', Resource: resource }],
  });
}

async function exitCode(server: TestServer): Promise<number | null> {
  const p = server.process;
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
  return new Promise((r) => p.once('exit', (code) => r(code)));
}

describe('persistence across restarts (SQLite)', () => {
  test('a graceful restart on the same data directory reads back every resource unchanged', async (t) => {
    const dataDir = tempDir('packhouse-persist-');
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const args = ['--public-url', PUBLIC_URL];
    const servers: TestServer[] = [];
    t.after(async () => {
      for (const s of servers) await s.kill();
    });
    const first = await startServer({ dataDir, keepData: true, args });
    servers.push(first);
    const c = first.client();

    const group = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'persist-group', Description: 'kept across restarts', Tags: { team: 'video', env: 'test' } }));
    const channel = await c.send(
      new CreateChannelCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel', Description: 'a channel', InputType: 'HLS', Tags: { tier: 'gold' } }),
    );
    await c.send(new PutChannelPolicyCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel', Policy: policyFor(channel.Arn!) }));
    const endpoint = await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: 'persist-group',
        ChannelName: 'persist-channel',
        OriginEndpointName: 'persist-endpoint',
        ContainerType: 'TS',
        Description: 'an endpoint',
        StartoverWindowSeconds: 3600,
        Segment: { SegmentDurationSeconds: 4, SegmentName: 'seg' },
        HlsManifests: [{ ManifestName: 'index', ManifestWindowSeconds: 30, ChildManifestName: 'child' }],
        Tags: { owner: 'ops', 'cost-center': '42' },
      }),
    );
    const endpointPolicy = policyFor(endpoint.Arn!);
    await c.send(new PutOriginEndpointPolicyCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel', OriginEndpointName: 'persist-endpoint', Policy: endpointPolicy }));
    const now = Date.now();
    const job = await c.send(
      new CreateHarvestJobCommand({
        ChannelGroupName: 'persist-group',
        ChannelName: 'persist-channel',
        OriginEndpointName: 'persist-endpoint',
        HarvestJobName: 'persist-job',
        Description: 'a harvest',
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: new Date(now - 600_000), EndTime: new Date(now + 600_000) }, // ends later: stays QUEUED
        Destination: { S3Destination: { BucketName: 'bucket', DestinationPath: 'harvests/persist' } },
        Tags: { kind: 'harvest' },
      }),
    );
    assert.equal(job.Status, 'QUEUED');

    const ids = { ChannelGroupName: 'persist-group', ChannelName: 'persist-channel', OriginEndpointName: 'persist-endpoint' };
    const snapshot = async (client: MediaPackageV2Client) => ({
      group: body(await client.send(new GetChannelGroupCommand({ ChannelGroupName: 'persist-group' }))),
      channel: body(await client.send(new GetChannelCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel' }))),
      channelPolicy: body(await client.send(new GetChannelPolicyCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel' }))),
      endpoint: body(await client.send(new GetOriginEndpointCommand(ids))),
      endpointPolicy: body(await client.send(new GetOriginEndpointPolicyCommand(ids))),
      job: body(await client.send(new GetHarvestJobCommand({ ...ids, HarvestJobName: 'persist-job' }))),
      jobs: body(await client.send(new ListHarvestJobsCommand({ ChannelGroupName: 'persist-group' }))),
      groups: body(await client.send(new ListChannelGroupsCommand({}))),
      channels: body(await client.send(new ListChannelsCommand({ ChannelGroupName: 'persist-group' }))),
      endpoints: body(await client.send(new ListOriginEndpointsCommand({ ChannelGroupName: 'persist-group', ChannelName: 'persist-channel' }))),
      tags: await Promise.all(
        [group.Arn!, channel.Arn!, endpoint.Arn!, job.Arn!].map(async (arn) => body(await client.send(new ListTagsForResourceCommand({ ResourceArn: arn })))),
      ),
    });

    const before = await snapshot(c);
    // What was written is what reads back, before the restart.
    assert.equal(before.group.ETag, group.ETag);
    assert.deepEqual(before.group.CreatedAt, group.CreatedAt);
    assert.deepEqual(before.group.Tags, { team: 'video', env: 'test' });
    assert.equal(before.group.Description, 'kept across restarts');
    assert.equal(before.channel.ETag, channel.ETag);
    assert.deepEqual(before.channel.Tags, { tier: 'gold' });
    assert.equal(before.channelPolicy.Policy, policyFor(channel.Arn!));
    assert.equal(before.endpoint.ETag, endpoint.ETag);
    assert.deepEqual(before.endpoint.Tags, { owner: 'ops', 'cost-center': '42' });
    assert.equal(before.endpoint.StartoverWindowSeconds, 3600);
    assert.equal(before.endpointPolicy.Policy, endpointPolicy);
    assert.equal(before.job.ETag, job.ETag);
    assert.deepEqual(before.job.CreatedAt, job.CreatedAt);
    assert.deepEqual(
      before.jobs.Items?.map((j) => j.HarvestJobName),
      ['persist-job'],
    );
    assert.deepEqual(before.tags.map((x) => x.Tags), [{ team: 'video', env: 'test' }, { tier: 'gold' }, { owner: 'ops', 'cost-center': '42' }, { kind: 'harvest' }]);

    await first.stop();
    assert.equal(await exitCode(first), 0, 'SIGTERM stops the server cleanly');

    const second = await startServer({ dataDir, keepData: true, args });
    servers.push(second);
    const after = await snapshot(second.client());
    assert.deepEqual(after, before);
    // Spelled out for the fields that matter most, so a failure names them.
    assert.equal(after.group.ETag, group.ETag);
    assert.deepEqual(after.group.CreatedAt, group.CreatedAt);
    assert.equal(after.endpoint.ETag, endpoint.ETag);
    assert.equal(after.job.Status, 'QUEUED');
  });

  test('a create whose ClientToken cannot be stored leaves no resource: after kill -9, a retry with the same token creates it once', async (t) => {
    // The moment between "resource written" and "token written": a trigger makes the token's insert
    // fail, then the process is killed. Were the token a separate commit, the resource would be on
    // disk without it and the retry would be a ConflictException (RESOURCE_ALREADY_EXISTS).
    const dataDir = tempDir('packhouse-token-');
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const servers: TestServer[] = [];
    t.after(async () => {
      for (const s of servers) await s.kill();
    });
    const first = await startServer({ dataDir, keepData: true });
    servers.push(first);
    const db = new Database(join(dataDir, 'packhouse.db'));
    t.after(() => db.close());
    db.exec("CREATE TRIGGER crash_point BEFORE INSERT ON idempotency_tokens BEGIN SELECT RAISE(ABORT, 'simulated crash before the token is stored'); END");
    const request = { ChannelGroupName: 'retried', Description: 'once', ClientToken: 'token-before-crash' };
    await assert.rejects(first.client().send(new CreateChannelGroupCommand(request)), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.$metadata?.httpStatusCode, 500, `${err.name}: ${err.message}`);
      return true;
    });
    await first.kill();
    db.exec('DROP TRIGGER crash_point');

    const second = await startServer({ dataDir, keepData: true });
    servers.push(second);
    const c = second.client();
    const created = await c.send(new CreateChannelGroupCommand(request));
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.Description, 'once');
    const replayed = await c.send(new CreateChannelGroupCommand(request));
    assert.deepEqual(body(replayed), body(created), 'a second retry replays the first answer');
    const listed = await c.send(new ListChannelGroupsCommand({}));
    assert.deepEqual((listed.Items ?? []).map((g) => g.ChannelGroupName), ['retried']);
  });

  test('kill -9 during a burst of writes loses no acknowledged write', async (t) => {
    const dataDir = tempDir('packhouse-kill-');
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const args = ['--quota-channels-per-group', '1000'];
    const servers: TestServer[] = [];
    t.after(async () => {
      for (const s of servers) await s.kill();
    });
    const first = await startServer({ dataDir, keepData: true, args });
    servers.push(first);
    const c = first.client();
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'burst' }));
    // Forty channels to tag during the burst (each gets one TagResource).
    const tagTargets: string[] = [];
    for (let i = 0; i < 40; i++) {
      const ch = await c.send(new CreateChannelCommand({ ChannelGroupName: 'burst', ChannelName: `pre-${String(i).padStart(2, '0')}` }));
      tagTargets.push(ch.Arn!);
    }

    type Ack = { kind: 'create'; name: string; arn: string; etag: string; createdAt: number } | { kind: 'tag'; arn: string; key: string; value: string };
    const acked: Ack[] = [];
    let failed = 0;
    let killed: Promise<void> | undefined;
    const KILL_AFTER = 100;
    const onAck = (a: Ack) => {
      acked.push(a);
      if (acked.length === KILL_AFTER) killed = first.kill();
    };
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 5 === 4) {
        const arn = tagTargets[(i - 4) / 5]!;
        const key = `burst-${i}`;
        const value = `v${i}`;
        writes.push(
          c.send(new TagResourceCommand({ ResourceArn: arn, Tags: { [key]: value } })).then(
            (out) => {
              assert.equal(out.$metadata.httpStatusCode, 204); // TagResource's modelled success code
              onAck({ kind: 'tag', arn, key, value });
            },
            () => void (failed += 1),
          ),
        );
      } else {
        const name = `ch-${String(i).padStart(3, '0')}`;
        writes.push(
          c.send(new CreateChannelCommand({ ChannelGroupName: 'burst', ChannelName: name })).then(
            (out) => {
              assert.equal(out.$metadata.httpStatusCode, 200);
              onAck({ kind: 'create', name, arn: out.Arn!, etag: out.ETag!, createdAt: out.CreatedAt!.getTime() });
            },
            () => void (failed += 1),
          ),
        );
      }
    }
    await Promise.all(writes);
    assert.ok(killed, `the server was killed after the ${KILL_AFTER}th acknowledgement`);
    await killed;
    assert.equal(first.process.signalCode, 'SIGKILL');
    assert.equal(acked.length + failed, 200);
    assert.ok(acked.length >= KILL_AFTER);
    assert.ok(failed > 0, `the kill landed while writes were in flight (acknowledged ${acked.length} of 200)`);
    t.diagnostic(`acknowledged ${acked.length} of 200 writes before the kill; ${failed} got no answer`);

    const second = await startServer({ dataDir, keepData: true, args });
    servers.push(second);
    const c2 = second.client();
    const creates = acked.filter((a): a is Extract<Ack, { kind: 'create' }> => a.kind === 'create');
    const tags = acked.filter((a): a is Extract<Ack, { kind: 'tag' }> => a.kind === 'tag');
    assert.ok(creates.length > 0 && tags.length > 0, `both kinds of write were acknowledged (${creates.length} creates, ${tags.length} tags)`);
    const missing: string[] = [];
    for (const a of creates) {
      try {
        const got = await c2.send(new GetChannelCommand({ ChannelGroupName: 'burst', ChannelName: a.name }));
        assert.equal(got.Arn, a.arn);
        assert.equal(got.ETag, a.etag, `${a.name}: the acknowledged version`);
        assert.equal(got.CreatedAt?.getTime(), a.createdAt);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        missing.push(`channel ${a.name}: ${(err as Error).name}`);
      }
    }
    for (const a of tags) {
      const got = await c2.send(new ListTagsForResourceCommand({ ResourceArn: a.arn }));
      if (got.Tags?.[a.key] !== a.value) missing.push(`tag ${a.key} on ${a.arn}: ${JSON.stringify(got.Tags)}`);
    }
    assert.deepEqual(missing, [], 'every acknowledged write survived kill -9');

    // Every channel reads back through the list as well: 40 pre-made plus at least the acknowledged creates.
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await c2.send(new ListChannelsCommand({ ChannelGroupName: 'burst', MaxResults: 100, ...(token ? { NextToken: token } : {}) }));
      listed.push(...(page.Items ?? []).map((i) => i.ChannelName!));
      token = page.NextToken;
    } while (token);
    for (const a of creates) assert.ok(listed.includes(a.name), `${a.name} is listed`);
    assert.ok(listed.length >= 40 + creates.length && listed.length <= 40 + 160, `listed ${listed.length} channels`);

    // The restarted server still takes writes, and the database file is sound.
    await c2.send(new CreateChannelCommand({ ChannelGroupName: 'burst', ChannelName: 'after-restart' }));
    await second.stop();
    const db = new Database(join(dataDir, 'packhouse.db'), { readonly: true });
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM resources WHERE kind = 'channel' AND name = 'after-restart'").get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
  });
});

describe('configuration errors stop the process before it serves', () => {
  const PREFIX = 'packhouse: invalid configuration: ';
  const cases: { what: string; args: string[]; names: RegExp[] }[] = [
    { what: 'a port out of range', args: ['--port', '99999'], names: [/--port \(PACKHOUSE_PORT\)/, /99999/] },
    {
      what: 'a non-loopback host without credentials',
      args: ['--host', '0.0.0.0', '--port', '0'],
      names: [/0\.0\.0\.0/, /--access-key-id \(PACKHOUSE_ACCESS_KEY_ID\)/, /--secret-access-key/, /--credentials-file/],
    },
    { what: 'a database URL that is not postgres://', args: ['--database-url', 'mysql://x', '--port', '0'], names: [/--database-url \(PACKHOUSE_DATABASE_URL\)/, /mysql:\/\/x/] },
    { what: 'an account id that is not 12 digits', args: ['--account-id', '12', '--port', '0'], names: [/--account-id \(PACKHOUSE_ACCOUNT_ID\)/, /12 digits/, /"12"/] },
    { what: 'an unknown flag', args: ['--no-such-setting', 'x', '--port', '0'], names: [/--no-such-setting/, /unknown option/] },
  ];
  for (const c of cases) {
    test(`${c.what} (${c.args.join(' ')}) exits 2 naming the setting`, async (t) => {
      const dataDir = tempDir('packhouse-config-');
      t.after(() => rmSync(dataDir, { recursive: true, force: true }));
      const { code, stderr } = await startExpectingFailure([...c.args, '--data-dir', dataDir]);
      assert.equal(code, 2, `exit code; stderr: ${stderr}`);
      assert.ok(stderr.startsWith(PREFIX), `stderr starts with "${PREFIX}": ${stderr}`);
      for (const re of c.names) assert.match(stderr, re);
      assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    });
  }

  test('an environment variable is checked like its flag (PACKHOUSE_PORT=70000)', async (t) => {
    const dataDir = tempDir('packhouse-config-');
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const { code, stderr } = await startExpectingFailure(['--data-dir', dataDir], { PACKHOUSE_PORT: '70000' });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--port \(PACKHOUSE_PORT\) must be a whole number from 0 to 65535; got "70000"/);
  });
});
