/**
 * Egress follows the origin endpoint policy: without one the endpoint is open; with one, manifests
 * and segments are served only to requests the policy allows (anonymous "*" with aws:SourceIp
 * conditions, SigV4-signed accounts, the CDN identifier header checked against the secrets of
 * --cdn-secrets-file), else 403. Policies using what Packhouse does not evaluate are refused at Put.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateOriginEndpointCommand,
  DeleteOriginEndpointPolicyCommand,
  PutOriginEndpointPolicyCommand,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { expectError, validation } from '../support/errors.js';

const OWNER = { accessKeyId: 'AKIDOWNER', secretAccessKey: 'owner-secret', accountId: '111111111111' };
const STRANGER = { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'stranger-secret', accountId: '333333333333' };
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${OWNER.accountId}:secret:cdn-identifier-AbCdEf`;
const SECRET_VALUE = '9ceebbe7-9607-4552-8764-876e47032660';
const ROLE_ARN = `arn:aws:iam::${OWNER.accountId}:role/cdn-secrets-reader`;
const EP_ARN = `arn:aws:mediapackagev2:us-east-1:${OWNER.accountId}:channelGroup/eg/channel/ch/originEndpoint/ts`;
const IDS = { ChannelGroupName: 'eg', ChannelName: 'ch', OriginEndpointName: 'ts' };

let server: TestServer;
let client: MediaPackageV2Client;
let segmentFile: string;

/** A channel eg/ch with TS endpoint ts and one 2 s segment of content on `s`. */
async function setUp(s: TestServer): Promise<MediaPackageV2Client> {
  const c = s.client({ accessKeyId: OWNER.accessKeyId, secretAccessKey: OWNER.secretAccessKey });
  await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'eg' }));
  await c.send(new CreateChannelCommand({ ChannelGroupName: 'eg', ChannelName: 'ch' }));
  await c.send(new CreateOriginEndpointCommand({ ...IDS, ContainerType: 'TS', StartoverWindowSeconds: 300, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index' }] }));
  const put = (file: string, body: Buffer) => fetch(`${s.url}/in/v1/eg/1/ch/${file}`, { method: 'PUT', body });
  assert.equal((await put('seg_0.ts', readFileSync(segmentFile))).status, 201);
  const playlist = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PROGRAM-DATE-TIME:${new Date(Date.now() - 2000).toISOString()}\n#EXTINF:2.000,\nseg_0.ts\n`;
  assert.equal((await put('video.m3u8', Buffer.from(playlist))).status, 201);
  return c;
}

before(async () => {
  const dir = tempDir();
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, JSON.stringify({ credentials: [OWNER, STRANGER] }));
  const secrets = join(dir, 'cdn-secrets.json');
  writeFileSync(secrets, JSON.stringify({ [SECRET_ARN]: { MediaPackageV2CDNIdentifier: SECRET_VALUE } }));
  segmentFile = join(dir, 's.ts');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-f', 'mpegts', segmentFile]);
  server = await startServer({ env: { PACKHOUSE_CREDENTIALS_FILE: keys, PACKHOUSE_CDN_SECRETS_FILE: secrets } });
  client = await setUp(server);
});

after(async () => {
  await server.stop();
});

const FILES = ['index.m3u8', 'index_video.m3u8', 'segment_video_1.ts'];

async function get(file: string, init: { method?: string; headers?: Record<string, string>; key?: typeof OWNER } = {}): Promise<{ status: number; text: string }> {
  const method = init.method ?? 'GET';
  const u = new URL(server.url);
  const path = `/out/v1/eg/ch/ts/${file}`;
  let headers = init.headers ?? {};
  if (init.key) {
    const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: init.key, sha256: Sha256, uriEscapePath: true });
    const signed = await signer.sign({ method, protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query: {}, headers: { host: u.host, ...headers } });
    headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  }
  const res = await fetch(`${server.url}${path}`, { method, headers });
  return { status: res.status, text: await res.text() };
}

async function statuses(init: Parameters<typeof get>[1] = {}): Promise<number[]> {
  return Promise.all(FILES.map(async (f) => (await get(f, init)).status));
}

const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const putPolicy = (p: string) => client.send(new PutOriginEndpointPolicyCommand({ ...IDS, Policy: p }));

/** PutOriginEndpointPolicy with a CdnAuthConfiguration, signed by hand (this SDK version predates the member). */
async function putPolicyWithCdn(p: string, cdn: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const u = new URL(server.url);
  const path = '/channelGroup/eg/channel/ch/originEndpoint/ts/policy';
  const body = JSON.stringify({ Policy: p, CdnAuthConfiguration: cdn });
  const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: OWNER, sha256: Sha256, uriEscapePath: true });
  const signed = await signer.sign({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query: {}, headers: { host: u.host, 'content-type': 'application/json' }, body });
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'));
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

test('without an endpoint policy egress is open', async () => {
  await client.send(new DeleteOriginEndpointPolicyCommand(IDS));
  assert.deepEqual(await statuses(), [200, 200, 200]);
});

test('Deny * refuses manifests and segments with 403 (GET and HEAD)', async () => {
  await putPolicy(policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:*', Resource: '*' }, { Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }));
  assert.deepEqual(await statuses(), [403, 403, 403]);
  assert.deepEqual(await statuses({ method: 'HEAD' }), [403, 403, 403]);
  const r = await get('index.m3u8');
  assert.match(r.text, /does not allow anonymous requests mediapackagev2:GetObject .*an explicit Deny applies/);
  assert.deepEqual(await statuses({ key: OWNER }), [403, 403, 403], 'a Deny * also refuses the owner');
});

test('Allow * GetObject with aws:SourceIp: 127.0.0.1 is served, another range is refused; HEAD needs GetHeadObject', async () => {
  await putPolicy(policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN, Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } } }));
  assert.deepEqual(await statuses(), [200, 200, 200]);
  assert.deepEqual(await statuses({ method: 'HEAD' }), [403, 403, 403], 'HEAD is mediapackagev2:GetHeadObject, which the policy does not grant');
  await putPolicy(policy({ Effect: 'Allow', Principal: '*', Action: ['mediapackagev2:GetObject', 'mediapackagev2:GetHeadObject'], Resource: EP_ARN, Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }));
  assert.deepEqual(await statuses(), [403, 403, 403]);
  assert.deepEqual(await statuses({ method: 'HEAD' }), [403, 403, 403]);
  assert.deepEqual(await statuses({ headers: { 'X-Forwarded-For': '192.0.2.7' } }), [403, 403, 403], 'X-Forwarded-For from a peer that is not a trusted proxy is ignored');
});

test('a policy granting an account: unsigned and other accounts are refused, the account signs and is served', async () => {
  await putPolicy(policy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER.accountId}:root` }, Action: 'mediapackagev2:GetObject', Resource: EP_ARN }));
  assert.deepEqual(await statuses(), [403, 403, 403]);
  assert.deepEqual(await statuses({ key: STRANGER }), [403, 403, 403]);
  assert.deepEqual(await statuses({ key: OWNER }), [200, 200, 200]);
  // A presigned URL (X-Amz-* query parameters) works as well as a signed header.
  const u = new URL(server.url);
  const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: OWNER, sha256: Sha256, uriEscapePath: true });
  const presigned = await signer.presign({ method: 'GET', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/out/v1/eg/ch/ts/segment_video_1.ts', query: {}, headers: { host: u.host } }, { expiresIn: 300 });
  const qs = new URLSearchParams(presigned.query as Record<string, string>).toString();
  assert.equal((await fetch(`${server.url}/out/v1/eg/ch/ts/segment_video_1.ts?${qs}`)).status, 200);
  const bad = await get('index.m3u8', { key: { ...OWNER, secretAccessKey: 'wrong' } });
  assert.equal(bad.status, 403);
  assert.match(bad.text, /Signature Version 4 is not valid/);
});

test('CDN authorization: the X-MediaPackageV2-CDNIdentifier header must match the configured secret', async () => {
  const put = await putPolicyWithCdn(
    policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN, Condition: { Bool: { 'mediapackagev2:RequestHasMatchingCdnAuthHeader': 'true' } } }),
    { CdnIdentifierSecretArns: [SECRET_ARN], SecretsRoleArn: ROLE_ARN },
  );
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.deepEqual(await statuses(), [403, 403, 403], 'no header');
  const missing = await get('index.m3u8');
  assert.match(missing.text, /no X-MediaPackageV2-CDNIdentifier header/);
  assert.deepEqual(await statuses({ headers: { 'X-MediaPackageV2-CDNIdentifier': 'not-the-secret-value' } }), [403, 403, 403], 'wrong header');
  assert.deepEqual(await statuses({ headers: { 'X-MediaPackageV2-CDNIdentifier': SECRET_VALUE } }), [200, 200, 200], 'right header');
});

test('PutOriginEndpointPolicy refuses what Packhouse does not evaluate, and secrets it does not have', async () => {
  const ok = policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN });
  await putPolicy(ok);
  await expectError(putPolicy(policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN, Condition: { StringEquals: { 'aws:RequestTag/team': 'a' } } })), {
    ...validation('INVALID_POLICY'),
    message: 'Statement 0: the condition key "aws:RequestTag/team" is not evaluated by Packhouse; supported keys: aws:SourceIp, aws:Referer, aws:UserAgent, aws:SecureTransport, aws:CurrentTime, aws:EpochTime, aws:PrincipalAccount, aws:PrincipalArn, aws:PrincipalType, aws:SourceAccount, aws:SourceArn, mediapackagev2:RequestHasMatchingCdnAuthHeader.',
  });
  await expectError(putPolicy(policy({ Effect: 'Allow', Principal: { Federated: 'accounts.google.com' }, Action: 'mediapackagev2:GetObject', Resource: EP_ARN })), validation('INVALID_POLICY'));
  await expectError(putPolicy(policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN, Condition: { BinaryEquals: { 'aws:UserAgent': 'eA==' } } })), validation('INVALID_POLICY'));
  const unknownSecret = SECRET_ARN.replace('cdn-identifier', 'unknown');
  const noSecret = await putPolicyWithCdn(ok, { CdnIdentifierSecretArns: [unknownSecret], SecretsRoleArn: ROLE_ARN });
  assert.equal(noSecret.status, 400);
  assert.equal(noSecret.json['ValidationExceptionType'], 'SECRET_ARN_RESOURCE_NOT_FOUND');
  assert.match(String(noSecret.json['Message'] ?? noSecret.json['message']), /--cdn-secrets-file/);
  const badRole = await putPolicyWithCdn(ok, { CdnIdentifierSecretArns: [SECRET_ARN], SecretsRoleArn: 'not-a-role-arn-at-all' });
  assert.equal(badRole.status, 400);
  assert.equal(badRole.json['ValidationExceptionType'], 'ROLE_ARN_INVALID_FORMAT');
  // The refused Puts left the accepted policy in force.
  assert.deepEqual(await statuses(), [200, 200, 200]);
});

test('behind a trusted proxy (--trusted-proxies), aws:SourceIp and aws:SecureTransport come from X-Forwarded-For / X-Forwarded-Proto', async () => {
  const keys = join(tempDir(), 'keys.json');
  writeFileSync(keys, JSON.stringify({ credentials: [OWNER] }));
  const proxied = await startServer({ args: ['--trusted-proxies', '127.0.0.1/32, 10.0.0.0/8'], env: { PACKHOUSE_CREDENTIALS_FILE: keys } });
  try {
    const c = await setUp(proxied);
    const seg = (headers: Record<string, string>) => fetch(`${proxied.url}/out/v1/eg/ch/ts/segment_video_1.ts`, { headers }).then((r) => r.status);
    await c.send(
      new PutOriginEndpointPolicyCommand({
        ...IDS,
        Policy: policy({ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP_ARN, Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' }, Bool: { 'aws:SecureTransport': 'true' } } }),
      }),
    );
    assert.equal(await seg({}), 403, 'the proxy itself (127.0.0.1, plain HTTP) is not allowed');
    assert.equal(await seg({ 'X-Forwarded-For': '192.0.2.7', 'X-Forwarded-Proto': 'https' }), 200);
    assert.equal(await seg({ 'X-Forwarded-For': '192.0.2.7', 'X-Forwarded-Proto': 'http' }), 403, 'not over TLS');
    assert.equal(await seg({ 'X-Forwarded-For': '192.0.2.7, 10.1.2.3', 'X-Forwarded-Proto': 'https' }), 200, 'a chain of trusted proxies is walked');
    assert.equal(await seg({ 'X-Forwarded-For': '192.0.2.7, 198.51.100.1', 'X-Forwarded-Proto': 'https' }), 403, 'the right-most untrusted address is the client; addresses left of it are the client\'s own claims');
  } finally {
    await proxied.stop();
  }
});
