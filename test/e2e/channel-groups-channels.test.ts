// Channel groups and channels end to end through @aws-sdk/client-mediapackagev2 against a real
// server process: CRUD output members, ETags and conditional updates, delete rules, not-found and
// conflict errors, quotas, region/account scoping, CMAF-only input options, pagination, validation
// and ClientToken idempotency (API.md §1-§8, §12).
//
// The first server runs with --quota-channel-groups 4 --quota-channels-per-group 3. The group quota
// counts per account and Region, so each test works in its own Region to stay independent of the
// others. The second server (own describe) loads a credentials file with two accounts and default
// quotas; it also hosts the pagination tests that need more than 3 channels in a group.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateOriginEndpointCommand,
  DeleteChannelCommand,
  DeleteChannelGroupCommand,
  DeleteOriginEndpointCommand,
  GetChannelCommand,
  GetChannelGroupCommand,
  ListChannelGroupsCommand,
  ListChannelsCommand,
  UpdateChannelCommand,
  UpdateChannelGroupCommand,
  paginateListChannelGroups,
  paginateListChannels,
  type InputType,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { LOCAL_KEYS, startServer, tempDir, type TestServer } from '../support/server.js';
import { conflict, expectError, notFound, quotaExceeded, validation } from '../support/errors.js';

const GROUP_NOT_FOUND =
  "MediaPackage can't process your request because we can't find your channel group. Verify your channel group name or add a channel group and then try again";
const CHANNEL_NOT_FOUND =
  "MediaPackage can't process your request because we can't find your channel. Verify your channel name or add a channel and then try again";
const GROUP_IN_USE =
  'The channel group you tried to delete has channels attached to it. If you want to delete this channel group, you must first delete the channels attached to it';
const ETAG_RE = /^[A-Za-z0-9+/]{43}=$/;


/** A timestamp the server set during [t0, t1] (both read from this machine's clock). */
function assertRecent(d: Date | undefined, t0: number, t1: number, what: string): void {
  assert.ok(d instanceof Date, `${what} is a Date`);
  assert.ok(d.getTime() >= t0 - 1000 && d.getTime() <= t1 + 1000, `${what} ${d.toISOString()} lies within the call (${new Date(t0).toISOString()}..${new Date(t1).toISOString()})`);
}

function assertEtag(etag: string | undefined, what = 'ETag'): void {
  assert.equal(typeof etag, 'string', `${what} is present`);
  assert.match(etag!, ETAG_RE, `${what} is 44-char base64`);
}

/** A SigV4-signed request outside the SDK, to look at the JSON keys on the wire. */
async function raw(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
  region = 'us-east-1',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(server.url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { host: url.host };
  if (text !== undefined) headers['content-type'] = 'application/json';
  const signer = new SignatureV4({ service: 'mediapackagev2', region, credentials: LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers, ...(text !== undefined ? { body: text } : {}) });
  const sendHeaders: Record<string, string> = { ...signed.headers };
  if (text !== undefined) sendHeaders['content-length'] = String(Buffer.byteLength(text));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method, path, headers: sendHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const t = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: t === '' ? {} : (JSON.parse(t) as Record<string, unknown>) });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function groupNames(client: MediaPackageV2Client): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListChannelGroups({ client, pageSize: 100 }, {})) {
    for (const item of page.Items ?? []) names.push(item.ChannelGroupName!);
  }
  return names;
}

async function channelNames(client: MediaPackageV2Client, group: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListChannels({ client, pageSize: 100 }, { ChannelGroupName: group })) {
    for (const item of page.Items ?? []) names.push(item.ChannelName!);
  }
  return names;
}

describe('channel groups and channels (quotas: 4 groups per account and Region, 3 channels per group)', () => {
  let server: TestServer;
  const client = (region = 'us-east-1'): MediaPackageV2Client => server.client({ region });

  before(async () => {
    server = await startServer({ args: ['--quota-channel-groups', '4', '--quota-channels-per-group', '3'] });
  });
  after(async () => {
    await server?.stop();
  });

  test('channel group: Create returns every output member; Get, Update, List and Delete agree', async () => {
    const c = client('us-east-1');
    const t0 = Date.now();
    const created = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'g', Description: 'first group', Tags: { env: 'test', team: 'video' } }));
    const t1 = Date.now();
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.ChannelGroupName, 'g');
    assert.equal(created.Arn, 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/g');
    assert.equal(created.Description, 'first group');
    assert.equal(typeof created.EgressDomain, 'string');
    assert.ok(created.EgressDomain!.length > 0);
    assertRecent(created.CreatedAt, t0, t1, 'CreatedAt');
    assert.deepEqual(created.ModifiedAt, created.CreatedAt, 'ModifiedAt equals CreatedAt on create');
    assertEtag(created.ETag);
    assert.deepEqual(created.Tags, { env: 'test', team: 'video' });

    const got = await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'g' }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(got.ChannelGroupName, 'g');
    assert.equal(got.Arn, created.Arn);
    assert.equal(got.EgressDomain, created.EgressDomain);
    assert.equal(got.Description, 'first group');
    assert.deepEqual(got.CreatedAt, created.CreatedAt);
    assert.deepEqual(got.ModifiedAt, created.ModifiedAt);
    assert.equal(got.ETag, created.ETag, 'Get returns the ETag of the unchanged group');
    assert.deepEqual(got.Tags, { env: 'test', team: 'video' });

    await sleep(10);
    const u0 = Date.now();
    const updated = await c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'g', Description: 'second description' }));
    const u1 = Date.now();
    assert.equal(updated.$metadata.httpStatusCode, 200);
    assert.equal(updated.ChannelGroupName, 'g');
    assert.equal(updated.Arn, created.Arn);
    assert.equal(updated.EgressDomain, created.EgressDomain);
    assert.equal(updated.Description, 'second description');
    assert.deepEqual(updated.CreatedAt, created.CreatedAt, 'CreatedAt survives an update');
    assertRecent(updated.ModifiedAt, u0, u1, 'ModifiedAt after update');
    assert.ok(updated.ModifiedAt!.getTime() > created.ModifiedAt!.getTime(), 'ModifiedAt moves forward');
    assertEtag(updated.ETag);
    assert.notEqual(updated.ETag, created.ETag, 'the ETag changes on update');
    assert.deepEqual(updated.Tags, { env: 'test', team: 'video' }, 'tags survive an update');

    const again = await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'g' }));
    assert.equal(again.ETag, updated.ETag);
    assert.equal(again.Description, 'second description');
    assert.deepEqual(again.ModifiedAt, updated.ModifiedAt);

    const list = await c.send(new ListChannelGroupsCommand({}));
    assert.equal(list.$metadata.httpStatusCode, 200);
    const item = list.Items?.find((i) => i.ChannelGroupName === 'g');
    assert.ok(item, 'the group is listed');
    assert.equal(item.Arn, created.Arn);
    assert.equal(item.Description, 'second description');
    assert.deepEqual(item.CreatedAt, created.CreatedAt);
    assert.deepEqual(item.ModifiedAt, updated.ModifiedAt);
    assert.equal(list.NextToken, undefined, 'no NextToken on the only page');

    const deleted = await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'g' }));
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'g' })), notFound('CHANNEL_GROUP', GROUP_NOT_FOUND));
    assert.ok(!(await groupNames(c)).includes('g'), 'a deleted group is no longer listed');
  });

  test('channel group: EgressDomain is the host of the server base URL', async () => {
    const c = client('us-west-1');
    const created = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'egress' }));
    assert.equal(created.EgressDomain, new URL(server.url).host);
    const got = await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'egress' }));
    assert.equal(got.EgressDomain, new URL(server.url).host);
  });

  test('channel: Create returns every output member (InputType only when set, as AWS); Get, Update, List and Delete agree', async () => {
    const c = client('us-east-2');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'cg' }));
    const t0 = Date.now();
    const created = await c.send(new CreateChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch', Description: 'a channel', Tags: { k1: 'v1' } }));
    const t1 = Date.now();
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.ChannelGroupName, 'cg');
    assert.equal(created.ChannelName, 'ch');
    assert.equal(created.Arn, 'arn:aws:mediapackagev2:us-east-2:000000000000:channelGroup/cg/channel/ch');
    assert.equal(created.Description, 'a channel');
    assert.equal(created.InputType, undefined, 'CreateChannel names InputType only when the request set it (AWS returns it on Get)');
    assertRecent(created.CreatedAt, t0, t1, 'CreatedAt');
    assert.deepEqual(created.ModifiedAt, created.CreatedAt);
    assertEtag(created.ETag);
    assert.deepEqual(created.Tags, { k1: 'v1' });
    assert.deepEqual(created.IngestEndpoints?.map((e) => e.Id), ['1', '2']);
    for (const e of created.IngestEndpoints ?? []) assert.equal(typeof e.Url, 'string');
    // AWS answers a channel created without them with both switched off (Terraform and moto expect it).
    assert.deepEqual(created.InputSwitchConfiguration, { MQCSInputSwitching: false });
    assert.deepEqual(created.OutputHeaderConfiguration, { PublishMQCS: false });

    const got = await c.send(new GetChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch' }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(got.Arn, created.Arn);
    assert.equal(got.ChannelGroupName, 'cg');
    assert.equal(got.ChannelName, 'ch');
    assert.equal(got.Description, 'a channel');
    assert.equal(got.InputType, 'HLS', 'InputType defaults to HLS');
    assert.deepEqual(got.InputSwitchConfiguration, { MQCSInputSwitching: false });
    assert.deepEqual(got.OutputHeaderConfiguration, { PublishMQCS: false });
    assert.deepEqual(got.CreatedAt, created.CreatedAt);
    assert.deepEqual(got.ModifiedAt, created.ModifiedAt);
    assert.equal(got.ETag, created.ETag);
    assert.deepEqual(got.Tags, { k1: 'v1' });
    assert.deepEqual(got.IngestEndpoints, created.IngestEndpoints);

    await sleep(10);
    const updated = await c.send(new UpdateChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch', Description: 'changed' }));
    assert.equal(updated.$metadata.httpStatusCode, 200);
    assert.equal(updated.Arn, created.Arn);
    assert.equal(updated.Description, 'changed');
    assert.equal(updated.InputType, 'HLS', 'InputType is kept by an update');
    assert.deepEqual(updated.InputSwitchConfiguration, { MQCSInputSwitching: false });
    assert.deepEqual(updated.OutputHeaderConfiguration, { PublishMQCS: false });
    assert.deepEqual(updated.CreatedAt, created.CreatedAt);
    assert.ok(updated.ModifiedAt!.getTime() > created.ModifiedAt!.getTime(), 'ModifiedAt moves forward');
    assertEtag(updated.ETag);
    assert.notEqual(updated.ETag, created.ETag, 'the ETag changes on update');
    assert.deepEqual(updated.Tags, { k1: 'v1' }, 'tags survive an update');
    assert.deepEqual(updated.IngestEndpoints, created.IngestEndpoints);
    const again = await c.send(new GetChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch' }));
    assert.equal(again.ETag, updated.ETag);
    assert.equal(again.Description, 'changed');

    const list = await c.send(new ListChannelsCommand({ ChannelGroupName: 'cg' }));
    assert.equal(list.Items?.length, 1);
    const item = list.Items?.[0];
    assert.ok(item);
    assert.equal(item.ChannelName, 'ch');
    assert.equal(item.ChannelGroupName, 'cg');
    assert.equal(item.Arn, created.Arn);
    assert.equal(item.Description, 'changed');
    assert.equal(item.InputType, 'HLS');
    assert.deepEqual(item.CreatedAt, created.CreatedAt);
    assert.deepEqual(item.ModifiedAt, updated.ModifiedAt);

    const deleted = await c.send(new DeleteChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch' }));
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: 'cg', ChannelName: 'ch' })), notFound('CHANNEL', CHANNEL_NOT_FOUND));
    assert.deepEqual(await channelNames(c, 'cg'), []);
  });

  test('channel: IngestEndpoints are {server.url}/in/v1/{group}/{1|2}/{channel}/index', async () => {
    const c = client('us-west-2');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'ingest-g' }));
    const created = await c.send(new CreateChannelCommand({ ChannelGroupName: 'ingest-g', ChannelName: 'ingest-c' }));
    const expected = [
      { Id: '1', Url: `${server.url}/in/v1/ingest-g/1/ingest-c/index` },
      { Id: '2', Url: `${server.url}/in/v1/ingest-g/2/ingest-c/index` },
    ];
    assert.deepEqual(created.IngestEndpoints, expected);
    const got = await c.send(new GetChannelCommand({ ChannelGroupName: 'ingest-g', ChannelName: 'ingest-c' }));
    assert.deepEqual(got.IngestEndpoints, expected);
  });

  test('tags: the SDK sees Tags on every read, and the server reads and writes both JSON casings (tags / Tags)', async () => {
    const region = 'eu-west-2';
    const c = client(region);
    // SDK: Create* responses carry "Tags", Get/UpdateChannelGroup responses "tags"; the SDK maps both to Tags.
    const g = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'tag-g', Tags: { a: '1' } }));
    assert.deepEqual(g.Tags, { a: '1' });
    assert.deepEqual((await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'tag-g' }))).Tags, { a: '1' });
    assert.deepEqual((await c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'tag-g', Description: 'x' }))).Tags, { a: '1' });
    const ch = await c.send(new CreateChannelCommand({ ChannelGroupName: 'tag-g', ChannelName: 'tag-c', Tags: { b: '2' } }));
    assert.deepEqual(ch.Tags, { b: '2' });
    assert.deepEqual((await c.send(new GetChannelCommand({ ChannelGroupName: 'tag-g', ChannelName: 'tag-c' }))).Tags, { b: '2' });
    assert.deepEqual((await c.send(new UpdateChannelCommand({ ChannelGroupName: 'tag-g', ChannelName: 'tag-c', Description: 'y' }))).Tags, { b: '2' });

    // Wire, modelled casing on input: CreateChannelGroupRequest reads "tags"; the response writes "Tags" (API.md §1.5).
    const modelled = await raw(server, 'POST', '/channelGroup', { ChannelGroupName: 'raw-g1', tags: { m: 'lower' } }, region);
    assert.equal(modelled.status, 200, JSON.stringify(modelled.json));
    assert.deepEqual(modelled.json['Tags'], { m: 'lower' });
    assert.equal(modelled.json['tags'], undefined);
    // The other casing on input is accepted too.
    const other = await raw(server, 'POST', '/channelGroup/raw-g1/channel', { ChannelName: 'raw-c1', Tags: { n: 'upper' } }, region);
    assert.equal(other.status, 200, JSON.stringify(other.json));
    assert.deepEqual(other.json['Tags'], { n: 'upper' }, 'CreateChannelResponse writes "Tags"');
    // GetChannelGroupResponse and UpdateChannelResponse write "tags"; GetChannelResponse writes "Tags".
    const getGroup = await raw(server, 'GET', '/channelGroup/raw-g1', undefined, region);
    assert.deepEqual(getGroup.json['tags'], { m: 'lower' });
    assert.equal(getGroup.json['Tags'], undefined);
    const getChannel = await raw(server, 'GET', '/channelGroup/raw-g1/channel/raw-c1/', undefined, region);
    assert.deepEqual(getChannel.json['Tags'], { n: 'upper' });
    assert.equal(getChannel.json['tags'], undefined);
    const updChannel = await raw(server, 'PUT', '/channelGroup/raw-g1/channel/raw-c1/', { Description: 'z' }, region);
    assert.equal(updChannel.status, 200, JSON.stringify(updChannel.json));
    assert.deepEqual(updChannel.json['tags'], { n: 'upper' });
    assert.equal(updChannel.json['Tags'], undefined);
    // And the SDK reads what the raw calls stored.
    assert.deepEqual((await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'raw-g1' }))).Tags, { m: 'lower' });
  });

  test('ETag: a stale x-amzn-update-if-match is refused with 409 CONFLICTING_OPERATION, the current one succeeds', async () => {
    const c = client('eu-west-3');
    const g0 = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'etag-g', Description: 'v0' }));
    const g1 = await c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etag-g', Description: 'v1', ETag: g0.ETag }));
    assert.notEqual(g1.ETag, g0.ETag);
    await expectError(c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etag-g', Description: 'stale', ETag: g0.ETag })), conflict('CONFLICTING_OPERATION'));
    const afterStale = await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'etag-g' }));
    assert.equal(afterStale.Description, 'v1', 'a refused update changes nothing');
    assert.equal(afterStale.ETag, g1.ETag);
    const g2 = await c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etag-g', Description: 'v2', ETag: g1.ETag }));
    assert.equal(g2.Description, 'v2');
    assert.notEqual(g2.ETag, g1.ETag);

    const c0 = await c.send(new CreateChannelCommand({ ChannelGroupName: 'etag-g', ChannelName: 'etag-c', Description: 'v0' }));
    const c1 = await c.send(new UpdateChannelCommand({ ChannelGroupName: 'etag-g', ChannelName: 'etag-c', Description: 'v1', ETag: c0.ETag }));
    assert.notEqual(c1.ETag, c0.ETag);
    await expectError(
      c.send(new UpdateChannelCommand({ ChannelGroupName: 'etag-g', ChannelName: 'etag-c', Description: 'stale', ETag: c0.ETag })),
      conflict('CONFLICTING_OPERATION'),
    );
    const chAfterStale = await c.send(new GetChannelCommand({ ChannelGroupName: 'etag-g', ChannelName: 'etag-c' }));
    assert.equal(chAfterStale.Description, 'v1');
    assert.equal(chAfterStale.ETag, c1.ETag);
    const c2 = await c.send(new UpdateChannelCommand({ ChannelGroupName: 'etag-g', ChannelName: 'etag-c', Description: 'v2', ETag: c1.ETag }));
    assert.equal(c2.Description, 'v2');
    // A garbage ETag is as stale as an old one.
    await expectError(
      c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'etag-g', Description: 'x', ETag: 'not-the-etag' })),
      conflict('CONFLICTING_OPERATION'),
    );
  });

  test('deleting a channel group that has channels is 409 RESOURCE_IN_USE; once empty it deletes', async () => {
    const c = client('eu-central-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'busy' }));
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'busy', ChannelName: 'only' }));
    await expectError(c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'busy' })), { ...conflict('RESOURCE_IN_USE'), message: GROUP_IN_USE });
    assert.equal((await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'busy' }))).ChannelGroupName, 'busy', 'the group is still there');
    await c.send(new DeleteChannelCommand({ ChannelGroupName: 'busy', ChannelName: 'only' }));
    const res = await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'busy' }));
    assert.equal(res.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'busy' })), notFound('CHANNEL_GROUP'));
  });

  test('deleting a channel group or channel that does not exist succeeds (200)', async () => {
    const c = client('eu-north-1');
    const g = await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'never-existed' }));
    assert.equal(g.$metadata.httpStatusCode, 200);
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'del-g' }));
    const ch = await c.send(new DeleteChannelCommand({ ChannelGroupName: 'del-g', ChannelName: 'never-existed' }));
    assert.equal(ch.$metadata.httpStatusCode, 200);
    // Deleting twice is fine as well.
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'del-g', ChannelName: 'twice' }));
    await c.send(new DeleteChannelCommand({ ChannelGroupName: 'del-g', ChannelName: 'twice' }));
    assert.equal((await c.send(new DeleteChannelCommand({ ChannelGroupName: 'del-g', ChannelName: 'twice' }))).$metadata.httpStatusCode, 200);
    await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'del-g' }));
    assert.equal((await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'del-g' }))).$metadata.httpStatusCode, 200);
  });

  test('a missing channel group is 404 CHANNEL_GROUP with the AWS message; a missing channel is 404 CHANNEL', async () => {
    const c = client('eu-south-1');
    const missingGroup = notFound('CHANNEL_GROUP', GROUP_NOT_FOUND);
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'nope' })), missingGroup);
    await expectError(c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'nope', Description: 'd' })), missingGroup);
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'nope', ChannelName: 'c' })), missingGroup);
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: 'nope', ChannelName: 'c' })), missingGroup);
    await expectError(c.send(new UpdateChannelCommand({ ChannelGroupName: 'nope', ChannelName: 'c', Description: 'd' })), missingGroup);
    await expectError(c.send(new ListChannelsCommand({ ChannelGroupName: 'nope' })), missingGroup);

    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'present' }));
    const missingChannel = notFound('CHANNEL', CHANNEL_NOT_FOUND);
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: 'present', ChannelName: 'nope' })), missingChannel);
    await expectError(c.send(new UpdateChannelCommand({ ChannelGroupName: 'present', ChannelName: 'nope', Description: 'd' })), missingChannel);
  });

  test('creating a channel group or channel whose name exists is 409 RESOURCE_ALREADY_EXISTS', async () => {
    const c = client('ca-central-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'dup', Description: 'original' }));
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'dup' })), conflict('RESOURCE_ALREADY_EXISTS'));
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'dup', Description: 'other' })), conflict('RESOURCE_ALREADY_EXISTS'));
    assert.equal((await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'dup' }))).Description, 'original');
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'dup', ChannelName: 'dup-c', InputType: 'HLS' }));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'dup', ChannelName: 'dup-c', InputType: 'CMAF' })), conflict('RESOURCE_ALREADY_EXISTS'));
    assert.equal((await c.send(new GetChannelCommand({ ChannelGroupName: 'dup', ChannelName: 'dup-c' }))).InputType, 'HLS');
    // The same channel name in another group is a different channel.
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'dup2' }));
    const other = await c.send(new CreateChannelCommand({ ChannelGroupName: 'dup2', ChannelName: 'dup-c' }));
    assert.equal(other.Arn, 'arn:aws:mediapackagev2:ca-central-1:000000000000:channelGroup/dup2/channel/dup-c');
  });

  test('channel group quota (4): the 5th group is 402 ServiceQuotaExceededException; deleting one frees a slot', async () => {
    const c = client('ap-south-1');
    for (const n of ['q1', 'q2', 'q3', 'q4']) await c.send(new CreateChannelGroupCommand({ ChannelGroupName: n }));
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'q5' })), quotaExceeded);
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'q5' })), notFound('CHANNEL_GROUP'));
    assert.deepEqual(await groupNames(c), ['q1', 'q2', 'q3', 'q4']);
    // The quota is per account and Region: another Region is not affected.
    await client('ap-south-2').send(new CreateChannelGroupCommand({ ChannelGroupName: 'q5-south-2' }));
    await c.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'q2' }));
    const res = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'q5' }));
    assert.equal(res.ChannelGroupName, 'q5');
  });

  test('channel quota (3 per group): the 4th channel is 402 ServiceQuotaExceededException; other groups are unaffected', async () => {
    const c = client('ap-southeast-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'full' }));
    for (const n of ['c1', 'c2', 'c3']) await c.send(new CreateChannelCommand({ ChannelGroupName: 'full', ChannelName: n }));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'full', ChannelName: 'c4' })), quotaExceeded);
    assert.deepEqual(await channelNames(c, 'full'), ['c1', 'c2', 'c3']);
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'roomy' }));
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'roomy', ChannelName: 'c4' }));
    await c.send(new DeleteChannelCommand({ ChannelGroupName: 'full', ChannelName: 'c1' }));
    assert.equal((await c.send(new CreateChannelCommand({ ChannelGroupName: 'full', ChannelName: 'c4' }))).ChannelName, 'c4');
  });

  test('a channel group created in us-east-1 is invisible through an eu-west-1 client', async () => {
    const east = client('us-east-1');
    const west = client('eu-west-1');
    await east.send(new CreateChannelGroupCommand({ ChannelGroupName: 'scoped', Description: 'east' }));
    await east.send(new CreateChannelCommand({ ChannelGroupName: 'scoped', ChannelName: 'sc' }));
    await expectError(west.send(new GetChannelGroupCommand({ ChannelGroupName: 'scoped' })), notFound('CHANNEL_GROUP', GROUP_NOT_FOUND));
    await expectError(west.send(new GetChannelCommand({ ChannelGroupName: 'scoped', ChannelName: 'sc' })), notFound('CHANNEL_GROUP'));
    await expectError(west.send(new ListChannelsCommand({ ChannelGroupName: 'scoped' })), notFound('CHANNEL_GROUP'));
    assert.ok(!(await groupNames(west)).includes('scoped'), 'not listed in eu-west-1');
    // Deleting through eu-west-1 does not touch the us-east-1 group.
    await west.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'scoped' }));
    assert.equal((await east.send(new GetChannelGroupCommand({ ChannelGroupName: 'scoped' }))).Description, 'east');
    // The name is not free in eu-west-1: data-plane URLs carry no Region, so a group name is unique per Packhouse.
    await expectError(west.send(new CreateChannelGroupCommand({ ChannelGroupName: 'scoped', Description: 'west' })), conflict('RESOURCE_ALREADY_EXISTS'));
    assert.equal((await east.send(new GetChannelGroupCommand({ ChannelGroupName: 'scoped' }))).Description, 'east');
    // Once the us-east-1 group is gone, eu-west-1 may take the name and gets an eu-west-1 ARN.
    await east.send(new DeleteChannelCommand({ ChannelGroupName: 'scoped', ChannelName: 'sc' }));
    await east.send(new DeleteChannelGroupCommand({ ChannelGroupName: 'scoped' }));
    const w = await west.send(new CreateChannelGroupCommand({ ChannelGroupName: 'scoped', Description: 'west' }));
    assert.equal(w.Arn, 'arn:aws:mediapackagev2:eu-west-1:000000000000:channelGroup/scoped');
  });

  test('InputSwitchConfiguration.MQCSInputSwitching: refused on an HLS channel, accepted and echoed on a CMAF channel', async () => {
    const c = client('ap-southeast-2');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'mqcs' }));
    const mqcs = { MQCSInputSwitching: true };
    await expectError(
      c.send(new CreateChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'hls-in', InputType: 'HLS', InputSwitchConfiguration: mqcs })),
      validation('ONLY_CMAF_INPUT_TYPE_ALLOW_MQCS_INPUT_SWITCHING'),
    );
    // Default InputType (HLS) as well.
    await expectError(
      c.send(new CreateChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'default-in', InputSwitchConfiguration: mqcs })),
      validation('ONLY_CMAF_INPUT_TYPE_ALLOW_MQCS_INPUT_SWITCHING'),
    );
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'hls-in' })), notFound('CHANNEL'));
    const cmaf = await c.send(new CreateChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'cmaf-in', InputType: 'CMAF', InputSwitchConfiguration: mqcs }));
    assert.equal(cmaf.InputType, 'CMAF');
    assert.deepEqual(cmaf.InputSwitchConfiguration, mqcs);
    const got = await c.send(new GetChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'cmaf-in' }));
    assert.equal(got.InputType, 'CMAF');
    assert.deepEqual(got.InputSwitchConfiguration, mqcs);
    // Update applies the same rule to an existing HLS channel.
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'hls-later' }));
    await expectError(
      c.send(new UpdateChannelCommand({ ChannelGroupName: 'mqcs', ChannelName: 'hls-later', InputSwitchConfiguration: mqcs })),
      validation('ONLY_CMAF_INPUT_TYPE_ALLOW_MQCS_INPUT_SWITCHING'),
    );
  });

  test('paginateListChannelGroups with pageSize 2 returns every group once, in name order', async () => {
    const c = client('ap-northeast-1');
    const names = ['pg-d', 'pg-a', 'pg-c', 'pg-b'];
    for (const n of names) await c.send(new CreateChannelGroupCommand({ ChannelGroupName: n }));
    const seen: string[] = [];
    const pageSizes: number[] = [];
    for await (const page of paginateListChannelGroups({ client: c, pageSize: 2 }, {})) {
      pageSizes.push(page.Items?.length ?? 0);
      for (const item of page.Items ?? []) seen.push(item.ChannelGroupName!);
    }
    assert.deepEqual(seen, ['pg-a', 'pg-b', 'pg-c', 'pg-d']);
    assert.deepEqual(pageSizes, [2, 2]);
    const first = await c.send(new ListChannelGroupsCommand({ MaxResults: 3 }));
    assert.deepEqual(first.Items?.map((i) => i.ChannelGroupName), ['pg-a', 'pg-b', 'pg-c']);
    assert.equal(typeof first.NextToken, 'string');
    const last = await c.send(new ListChannelGroupsCommand({ MaxResults: 3, NextToken: first.NextToken }));
    assert.deepEqual(last.Items?.map((i) => i.ChannelGroupName), ['pg-d']);
    assert.equal(last.NextToken, undefined, 'no NextToken on the last page');
  });

  test('paginateListChannels with pageSize 2 returns every channel once, in name order', async () => {
    const c = client('ap-northeast-2');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'pc' }));
    for (const n of ['ch-c', 'ch-a', 'ch-b']) await c.send(new CreateChannelCommand({ ChannelGroupName: 'pc', ChannelName: n }));
    const seen: string[] = [];
    const pageSizes: number[] = [];
    for await (const page of paginateListChannels({ client: c, pageSize: 2 }, { ChannelGroupName: 'pc' })) {
      pageSizes.push(page.Items?.length ?? 0);
      for (const item of page.Items ?? []) seen.push(item.ChannelName!);
    }
    assert.deepEqual(seen, ['ch-a', 'ch-b', 'ch-c']);
    assert.deepEqual(pageSizes, [2, 1]);
  });

  test('MaxResults 0 or 101 is ValidationException INVALID_PAGINATION_MAX_RESULTS; 1 and 100 are accepted', async () => {
    const c = client('sa-east-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'mr' }));
    for (const MaxResults of [0, 101]) {
      await expectError(c.send(new ListChannelGroupsCommand({ MaxResults })), validation('INVALID_PAGINATION_MAX_RESULTS'));
      await expectError(c.send(new ListChannelsCommand({ ChannelGroupName: 'mr', MaxResults })), validation('INVALID_PAGINATION_MAX_RESULTS'));
    }
    for (const MaxResults of [1, 100]) {
      assert.equal((await c.send(new ListChannelGroupsCommand({ MaxResults }))).$metadata.httpStatusCode, 200);
      assert.equal((await c.send(new ListChannelsCommand({ ChannelGroupName: 'mr', MaxResults }))).$metadata.httpStatusCode, 200);
    }
  });

  test('a garbage NextToken is ValidationException INVALID_PAGINATION_TOKEN', async () => {
    const c = client('il-central-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'junk' }));
    const junk = ['garbage', 'bm90LWEtdG9rZW4', Buffer.from('{}').toString('base64url'), '%%%'];
    for (const NextToken of junk) {
      await expectError(c.send(new ListChannelGroupsCommand({ NextToken })), validation('INVALID_PAGINATION_TOKEN'));
      await expectError(c.send(new ListChannelsCommand({ ChannelGroupName: 'junk', NextToken })), validation('INVALID_PAGINATION_TOKEN'));
    }
  });

  test('a NextToken reused with a different channel group or list operation is INVALID_PAGINATION_TOKEN', async () => {
    const c = client('me-south-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'tok-a' }));
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'tok-b' }));
    for (const g of ['tok-a', 'tok-b']) {
      for (const n of ['x1', 'x2']) await c.send(new CreateChannelCommand({ ChannelGroupName: g, ChannelName: n }));
    }
    const page = await c.send(new ListChannelsCommand({ ChannelGroupName: 'tok-a', MaxResults: 1 }));
    assert.equal(typeof page.NextToken, 'string');
    const same = await c.send(new ListChannelsCommand({ ChannelGroupName: 'tok-a', MaxResults: 1, NextToken: page.NextToken }));
    assert.deepEqual(same.Items?.map((i) => i.ChannelName), ['x2'], 'the token works where it was issued');
    await expectError(c.send(new ListChannelsCommand({ ChannelGroupName: 'tok-b', MaxResults: 1, NextToken: page.NextToken })), validation('INVALID_PAGINATION_TOKEN'));
    await expectError(c.send(new ListChannelGroupsCommand({ MaxResults: 1, NextToken: page.NextToken })), validation('INVALID_PAGINATION_TOKEN'));
    const groups = await c.send(new ListChannelGroupsCommand({ MaxResults: 1 }));
    assert.equal(typeof groups.NextToken, 'string');
    await expectError(c.send(new ListChannelsCommand({ ChannelGroupName: 'tok-a', NextToken: groups.NextToken })), validation('INVALID_PAGINATION_TOKEN'));
  });

  test('validation: name pattern, name and Description length, InputType enum', async () => {
    const c = client('af-south-1');
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bad name' })), validation('MEMBER_DOES_NOT_MATCH_PATTERN'));
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'bad name' })), validation('MEMBER_DOES_NOT_MATCH_PATTERN'));
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'x'.repeat(257) })), validation('MEMBER_MAX_LENGTH'));
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'v', Description: 'd'.repeat(1025) })), validation('MEMBER_MAX_LENGTH'));
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'v' })), notFound('CHANNEL_GROUP'));
    // The boundaries themselves are accepted.
    const long = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'n'.repeat(256), Description: 'd'.repeat(1024) }));
    assert.equal(long.ChannelGroupName, 'n'.repeat(256));
    assert.equal(long.Description, 'd'.repeat(1024));

    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'v' }));
    await expectError(c.send(new UpdateChannelGroupCommand({ ChannelGroupName: 'v', Description: 'd'.repeat(1025) })), validation('MEMBER_MAX_LENGTH'));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'v', ChannelName: 'bad name' })), validation('MEMBER_DOES_NOT_MATCH_PATTERN'));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'v', ChannelName: 'c'.repeat(257) })), validation('MEMBER_MAX_LENGTH'));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'v', ChannelName: 'c', Description: 'd'.repeat(1025) })), validation('MEMBER_MAX_LENGTH'));
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'v', ChannelName: 'c', InputType: 'RTMP' as InputType })), validation('MEMBER_INVALID_ENUM_VALUE'));
    assert.deepEqual(await channelNames(c, 'v'), [], 'no refused request created a channel');
  });

  test('idempotency: same ClientToken and request replays the answer and creates one resource; a different request is IDEMPOTENT_PARAMETER_MISMATCH', async () => {
    const c = client('ap-east-1');
    const first = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'idem', Description: 'd1', ClientToken: 'token-group-1' }));
    await sleep(10);
    const second = await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'idem', Description: 'd1', ClientToken: 'token-group-1' }));
    assert.equal(second.$metadata.httpStatusCode, 200);
    assert.equal(second.Arn, first.Arn);
    assert.equal(second.ETag, first.ETag);
    assert.deepEqual(second.CreatedAt, first.CreatedAt);
    assert.deepEqual(second.ModifiedAt, first.ModifiedAt);
    assert.equal(second.Description, 'd1');
    assert.deepEqual(await groupNames(c), ['idem'], 'one group was created');
    await expectError(
      c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'idem', Description: 'd2', ClientToken: 'token-group-1' })),
      conflict('IDEMPOTENT_PARAMETER_MISMATCH'),
    );
    assert.equal((await c.send(new GetChannelGroupCommand({ ChannelGroupName: 'idem' }))).Description, 'd1');

    const ch1 = await c.send(new CreateChannelCommand({ ChannelGroupName: 'idem', ChannelName: 'ic', Description: 'd1', ClientToken: 'token-channel-1' }));
    await sleep(10);
    const ch2 = await c.send(new CreateChannelCommand({ ChannelGroupName: 'idem', ChannelName: 'ic', Description: 'd1', ClientToken: 'token-channel-1' }));
    assert.equal(ch2.Arn, ch1.Arn);
    assert.equal(ch2.ETag, ch1.ETag);
    assert.deepEqual(ch2.CreatedAt, ch1.CreatedAt);
    assert.deepEqual(ch2.IngestEndpoints, ch1.IngestEndpoints);
    assert.deepEqual(await channelNames(c, 'idem'), ['ic'], 'one channel was created');
    await expectError(
      c.send(new CreateChannelCommand({ ChannelGroupName: 'idem', ChannelName: 'ic', Description: 'd2', ClientToken: 'token-channel-1' })),
      conflict('IDEMPOTENT_PARAMETER_MISMATCH'),
    );
    // A new token for an existing name is a plain name conflict.
    await expectError(
      c.send(new CreateChannelCommand({ ChannelGroupName: 'idem', ChannelName: 'ic', Description: 'd1', ClientToken: 'token-channel-2' })),
      conflict('RESOURCE_ALREADY_EXISTS'),
    );
  });
});

describe('two accounts from a credentials file (default quotas)', () => {
  let server: TestServer;
  const one = (region = 'us-east-1'): MediaPackageV2Client => server.client({ region, accessKeyId: 'AKIDONE', secretAccessKey: 's1' });
  const two = (region = 'us-east-1'): MediaPackageV2Client => server.client({ region, accessKeyId: 'AKIDTWO', secretAccessKey: 's2' });

  before(async () => {
    const file = join(tempDir('packhouse-creds-'), 'credentials.json');
    writeFileSync(
      file,
      JSON.stringify({
        credentials: [
          { accessKeyId: 'AKIDONE', secretAccessKey: 's1', accountId: '111111111111' },
          { accessKeyId: 'AKIDTWO', secretAccessKey: 's2', accountId: '222222222222' },
        ],
      }),
    );
    server = await startServer({ env: { PACKHOUSE_CREDENTIALS_FILE: file } });
  });
  after(async () => {
    await server?.stop();
  });

  test('a channel group of one account is invisible to another account', async () => {
    const created = await one().send(new CreateChannelGroupCommand({ ChannelGroupName: 'acct', Description: 'one' }));
    assert.equal(created.Arn, 'arn:aws:mediapackagev2:us-east-1:111111111111:channelGroup/acct');
    await one().send(new CreateChannelCommand({ ChannelGroupName: 'acct', ChannelName: 'ac' }));
    await expectError(two().send(new GetChannelGroupCommand({ ChannelGroupName: 'acct' })), notFound('CHANNEL_GROUP', GROUP_NOT_FOUND));
    await expectError(two().send(new GetChannelCommand({ ChannelGroupName: 'acct', ChannelName: 'ac' })), notFound('CHANNEL_GROUP'));
    await expectError(two().send(new UpdateChannelGroupCommand({ ChannelGroupName: 'acct', Description: 'hijack' })), notFound('CHANNEL_GROUP'));
    assert.deepEqual(await groupNames(two()), []);
    await two().send(new DeleteChannelGroupCommand({ ChannelGroupName: 'acct' }));
    assert.equal((await one().send(new GetChannelGroupCommand({ ChannelGroupName: 'acct' }))).Description, 'one');
  });

  test("another account or Region cannot take a channel group name in use, so it can neither break nor take over the owner's ingest and origin URLs", async () => {
    await one().send(new CreateChannelGroupCommand({ ChannelGroupName: 'owned' }));
    await one().send(new CreateChannelCommand({ ChannelGroupName: 'owned', ChannelName: 'live', InputType: 'HLS' }));
    await one().send(new CreateOriginEndpointCommand({ ChannelGroupName: 'owned', ChannelName: 'live', OriginEndpointName: 'ts', ContainerType: 'TS', HlsManifests: [{ ManifestName: 'index' }] }));
    for (const [other, who] of [[two(), 'another account'], [one('eu-west-1'), 'another Region'], [two('ap-south-1'), 'another account and Region']] as const) {
      try {
        await other.send(new CreateChannelGroupCommand({ ChannelGroupName: 'owned' }));
        assert.fail(`${who} created a channel group named like one in use`);
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number }; ConflictExceptionType?: string };
        assert.equal(e.$metadata?.httpStatusCode, 409, `${who}: ${e.name}: ${e.message}`);
        assert.equal(e.name, 'ConflictException');
        assert.equal(e.ConflictExceptionType, 'RESOURCE_ALREADY_EXISTS');
        assert.match(e.message, /another account or Region of this Packhouse.*unique across the whole installation/, 'the message says why');
        assert.doesNotMatch(e.message, /111111111111/, 'the message does not reveal the owner');
      }
    }
    // The owner's URLs still name its own channel: a playlist upload is taken, the origin answers for its channel.
    const put = await fetch(`${server.url}/in/v1/owned/1/live/index.m3u8`, { method: 'PUT', body: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nindex_0.m3u8\n' });
    assert.ok(put.status < 300, `ingest answered ${put.status}: ${await put.text()}`);
    const out = await fetch(`${server.url}/out/v1/owned/live/ts/index.m3u8`);
    const text = await out.text();
    assert.equal(out.status, 404, text);
    assert.match(text, /Channel live has no content yet/);
    // Once the owner deletes the group, the name is free again.
    await one().send(new DeleteOriginEndpointCommand({ ChannelGroupName: 'owned', ChannelName: 'live', OriginEndpointName: 'ts' }));
    await one().send(new DeleteChannelCommand({ ChannelGroupName: 'owned', ChannelName: 'live' }));
    await one().send(new DeleteChannelGroupCommand({ ChannelGroupName: 'owned' }));
    const theirs = await two().send(new CreateChannelGroupCommand({ ChannelGroupName: 'owned' }));
    assert.equal(theirs.Arn, 'arn:aws:mediapackagev2:us-east-1:222222222222:channelGroup/owned');
    assert.deepEqual(await channelNames(two(), 'owned'), []);
  });

  test('the default local key pair is not accepted when a credentials file is configured', async () => {
    const local = server.client({ accessKeyId: LOCAL_KEYS.accessKeyId, secretAccessKey: LOCAL_KEYS.secretAccessKey });
    try {
      await local.send(new ListChannelGroupsCommand({}));
      assert.fail('the local key pair was accepted');
    } catch (err) {
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      assert.equal(e.$metadata?.httpStatusCode, 403, `${e.name}: ${e.message}`);
    }
  });

  test('paginateListChannels with pageSize 2 over 7 channels returns each exactly once, in name order', async () => {
    const c = one('eu-west-1');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'many' }));
    const names = ['m5', 'm2', 'm7', 'm1', 'm4', 'm6', 'm3'];
    for (const n of names) await c.send(new CreateChannelCommand({ ChannelGroupName: 'many', ChannelName: n }));
    const seen: string[] = [];
    const pageSizes: number[] = [];
    for await (const page of paginateListChannels({ client: c, pageSize: 2 }, { ChannelGroupName: 'many' })) {
      pageSizes.push(page.Items?.length ?? 0);
      for (const item of page.Items ?? []) seen.push(item.ChannelName!);
    }
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    assert.deepEqual(pageSizes, [2, 2, 2, 1]);
    // The default page size is 10.
    const all = await c.send(new ListChannelsCommand({ ChannelGroupName: 'many' }));
    assert.equal(all.Items?.length, 7);
    assert.equal(all.NextToken, undefined);
  });

  test('stable pagination: channels created between pages (before and after the cursor) do not make existing ones skip or repeat', async () => {
    const c = one('eu-west-2');
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'stable' }));
    const existing = ['s06', 's02', 's08', 's04'];
    for (const n of existing) await c.send(new CreateChannelCommand({ ChannelGroupName: 'stable', ChannelName: n }));
    const first = await c.send(new ListChannelsCommand({ ChannelGroupName: 'stable', MaxResults: 2 }));
    assert.deepEqual(first.Items?.map((i) => i.ChannelName), ['s02', 's04']);
    assert.equal(typeof first.NextToken, 'string');
    // Two before the cursor, two after it.
    for (const n of ['s01', 's03', 's05', 's09']) await c.send(new CreateChannelCommand({ ChannelGroupName: 'stable', ChannelName: n }));
    const seen = (first.Items ?? []).map((i) => i.ChannelName ?? '');
    let token = first.NextToken;
    while (token !== undefined) {
      const page = await c.send(new ListChannelsCommand({ ChannelGroupName: 'stable', MaxResults: 2, NextToken: token }));
      seen.push(...(page.Items ?? []).map((i) => i.ChannelName!));
      token = page.NextToken;
      assert.ok(seen.length < 50, 'pagination terminates');
    }
    for (const n of existing) assert.equal(seen.filter((s) => s === n).length, 1, `${n} is returned exactly once (got ${seen.join(',')})`);
    assert.equal(new Set(seen).size, seen.length, `no item repeats (got ${seen.join(',')})`);
    assert.deepEqual(seen, [...seen].sort(), 'items stay in name order');
  });
});
