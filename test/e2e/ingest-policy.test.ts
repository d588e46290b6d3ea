/**
 * Ingest authorisation follows the channel policy: a channel without a policy takes unsigned
 * input; with one, an upload must be SigV4-signed (service mediapackagev2) by a key whose account
 * the policy grants mediapackagev2:PutObject on the channel, and an explicit Deny wins.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CreateChannelCommand, CreateChannelGroupCommand, CreateOriginEndpointCommand, PutChannelPolicyCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { expectError, validation } from '../support/errors.js';

const OWNER = { accessKeyId: 'AKIDOWNER', secretAccessKey: 'owner-secret', accountId: '111111111111' };
const ENCODER = { accessKeyId: 'AKIDENCODER', secretAccessKey: 'encoder-secret', accountId: '222222222222' };
const STRANGER = { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'stranger-secret', accountId: '333333333333' };

let server: TestServer;
let segment: Buffer;
const arn = (c: string) => `arn:aws:mediapackagev2:us-east-1:${OWNER.accountId}:channelGroup/g/channel/${c}`;

before(async () => {
  const dir = tempDir();
  const file = join(dir, 'keys.json');
  writeFileSync(file, JSON.stringify({ credentials: [OWNER, ENCODER, STRANGER] }));
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-f', 'mpegts', join(dir, 's.ts')]);
  segment = readFileSync(join(dir, 's.ts'));
  server = await startServer({ env: { PACKHOUSE_CREDENTIALS_FILE: file } });
  const c = server.client({ accessKeyId: OWNER.accessKeyId, secretAccessKey: OWNER.secretAccessKey });
  await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'g' }));
  for (const name of ['open', 'guarded', 'not-resource']) {
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: name }));
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'g', ChannelName: name, OriginEndpointName: 'ts', ContainerType: 'TS', StartoverWindowSeconds: 300, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index' }] }));
  }
  await c.send(
    new PutChannelPolicyCommand({
      ChannelGroupName: 'g',
      ChannelName: 'guarded',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${ENCODER.accountId}:role/Encoder`, STRANGER.accountId] }, Action: 'mediapackagev2:PutObject', Resource: arn('guarded') },
          { Effect: 'Deny', Principal: { AWS: STRANGER.accountId }, Action: 'mediapackagev2:*', Resource: '*' },
        ],
      }),
    }),
  );
  // Allows the encoder everything except this channel: NotResource must keep its uploads out.
  await c.send(
    new PutChannelPolicyCommand({
      ChannelGroupName: 'g',
      ChannelName: 'not-resource',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: ENCODER.accountId }, Action: 'mediapackagev2:PutObject', NotResource: arn('not-resource') }],
      }),
    }),
  );
});

after(async () => {
  await server.stop();
});

async function put(channel: string, file: string, body: Buffer, key?: { accessKeyId: string; secretAccessKey: string }): Promise<{ status: number; text: string }> {
  const u = new URL(server.url);
  const path = `/in/v1/g/1/${channel}/${file}`;
  let headers: Record<string, string> = { 'content-length': String(body.length) };
  if (key) {
    const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: key, sha256: Sha256, uriEscapePath: true });
    const signed = await signer.sign({ method: 'PUT', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query: {}, headers: { host: u.host, ...headers }, body });
    headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  }
  const res = await fetch(`${server.url}${path}`, { method: 'PUT', headers, body });
  return { status: res.status, text: await res.text() };
}

const playlist = (pdt: number) => Buffer.from(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PROGRAM-DATE-TIME:${new Date(pdt).toISOString()}\n#EXTINF:2.000,\nseg_0.ts\n`);

test('a channel without a policy takes unsigned input', async () => {
  assert.equal((await put('open', 'seg_0.ts', segment)).status, 201);
  assert.equal((await put('open', 'video.m3u8', playlist(Date.now() - 2000))).status, 201);
  const res = await fetch(`${server.url}/out/v1/g/open/ts/index_video.m3u8`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /segment_video_1\.ts/);
});

test('a guarded channel refuses unsigned input with 403 and a reason, and keeps nothing of it', async () => {
  const r = await put('guarded', 'seg_0.ts', segment);
  assert.equal(r.status, 403);
  assert.match(r.text, /has a resource policy, so ingest must be signed with AWS Signature Version 4/);
  assert.equal((await fetch(`${server.url}/out/v1/g/guarded/ts/index.m3u8`)).status, 404);
});

test('a key whose account the policy does not name is refused; an explicit Deny wins over an Allow', async () => {
  const owner = await put('guarded', 'seg_0.ts', segment, OWNER);
  assert.equal(owner.status, 403);
  assert.match(owner.text, /does not allow account 111111111111 mediapackagev2:PutObject/);
  const stranger = await put('guarded', 'seg_0.ts', segment, STRANGER);
  assert.equal(stranger.status, 403);
  assert.match(stranger.text, /an explicit Deny applies/);
});

test('a bad signature is refused even from an allowed account', async () => {
  const r = await put('guarded', 'seg_0.ts', segment, { accessKeyId: ENCODER.accessKeyId, secretAccessKey: 'wrong' });
  assert.equal(r.status, 403);
  assert.match(r.text, /signature we calculated does not match/);
});

test('the allowed account signs its uploads and the channel serves them', async () => {
  assert.equal((await put('guarded', 'seg_0.ts', segment, ENCODER)).status, 201);
  assert.equal((await put('guarded', 'video.m3u8', playlist(Date.now() - 2000), ENCODER)).status, 201);
  const res = await fetch(`${server.url}/out/v1/g/guarded/ts/index_video.m3u8`);
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.match(body, /segment_video_1\.ts/);
  const seg = await fetch(`${server.url}/out/v1/g/guarded/ts/segment_video_1.ts`);
  assert.equal(seg.status, 200);
  assert.ok(Buffer.from(await seg.arrayBuffer()).equals(segment), 'the served segment is the uploaded one');
});

test('an Allow with NotResource = this channel does not let the upload through', async () => {
  const r = await put('not-resource', 'seg_0.ts', segment, ENCODER);
  assert.equal(r.status, 403);
  assert.match(r.text, /does not allow account 222222222222 mediapackagev2:PutObject/);
});

test('channel policy conditions are evaluated: aws:SourceIp decides, and what is not evaluated is refused at Put', async () => {
  const c = server.client({ accessKeyId: OWNER.accessKeyId, secretAccessKey: OWNER.secretAccessKey });
  const withCondition = (Condition: object) =>
    c.send(
      new PutChannelPolicyCommand({
        ChannelGroupName: 'g',
        ChannelName: 'not-resource',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ENCODER.accountId }, Action: 'mediapackagev2:PutObject', Resource: arn('not-resource'), Condition }] }),
      }),
    );
  await withCondition({ IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } });
  assert.equal((await put('not-resource', 'seg_0.ts', segment, ENCODER)).status, 403);
  await withCondition({ IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '127.0.0.1/32'] } });
  assert.equal((await put('not-resource', 'seg_0.ts', segment, ENCODER)).status, 201);
  await expectError(withCondition({ StringEquals: { 'aws:RequestTag/team': 'a' } }), validation('INVALID_POLICY'));
  await expectError(withCondition({ 'ForAnyValue:BinaryEquals': { 'aws:UserAgent': 'eA==' } }), validation('INVALID_POLICY'));
});
