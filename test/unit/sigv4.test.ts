/**
 * Tests of SigV4 verification against real signers: @smithy/signature-v4 (as the JS SDK uses it),
 * the MediaPackageV2 JS client itself, and botocore via a python3 child process (python3 with
 * botocore is a test requirement, see README). No network: the JS client's request is captured.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  GetChannelCommand,
  MediaPackageV2Client,
  UntagResourceCommand,
} from '@aws-sdk/client-mediapackagev2';
import {
  AuthError,
  canonicalQuery,
  canonicalUri,
  SigV4Verifier,
  verifySigV4,
  type KeyPair,
  type SignedRequest,
} from '../../src/api/auth/sigv4.js';

const KEY: KeyPair = {
  accessKeyId: 'AKIDPACKHOUSETEST',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYPACKHOUSEKEY',
  accountId: '123456789012',
};
const lookup = (id: string): KeyPair | undefined => (id === KEY.accessKeyId ? KEY : undefined);
const HOST = 'packhouse.example.com';
const NOW = new Date('2026-11-28T10:20:00Z');
const ARN = 'arn:aws:mediapackagev2:us-east-1:123456789012:channelGroup/g1';
const ENCODED_ARN_PATH = `/tags/${encodeURIComponent(ARN)}`;

type SmithyRequest = Parameters<SignatureV4['presign']>[0];

function signer(opts: { service?: string; secretAccessKey?: string; accessKeyId?: string } = {}): SignatureV4 {
  return new SignatureV4({
    credentials: {
      accessKeyId: opts.accessKeyId ?? KEY.accessKeyId,
      secretAccessKey: opts.secretAccessKey ?? KEY.secretAccessKey,
    },
    region: 'us-east-1',
    service: opts.service ?? 'mediapackagev2',
    sha256: Sha256,
    uriEscapePath: true,
  });
}

function request(
  method: string,
  path: string,
  query: Record<string, string | string[]> = {},
  body?: string,
): SmithyRequest {
  const headers: Record<string, string> = { host: HOST };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return { method, protocol: 'https:', hostname: HOST, path, query, headers, ...(body !== undefined ? { body } : {}) };
}

/** RFC 3986 encoding as the SDK's query builder does it. */
function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function buildQuery(query: SmithyRequest['query']): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${escape(key)}=${escape(v)}`);
  }
  return parts.join('&');
}

/** What the server would see for a request sent by the SDK's node http handler. */
function received(r: SmithyRequest): SignedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) headers[name.toLowerCase()] = value;
  const body: unknown = r.body;
  return {
    method: r.method,
    rawPath: r.path,
    rawQuery: buildQuery(r.query),
    headers,
    body: typeof body === 'string' ? Buffer.from(body) : Buffer.alloc(0),
  };
}

async function signed(
  r: SmithyRequest,
  opts: { at?: Date; service?: string; secretAccessKey?: string; accessKeyId?: string } = {},
): Promise<SignedRequest> {
  return received(await signer(opts).sign(r, { signingDate: opts.at ?? NOW }));
}

function minutes(n: number): Date {
  return new Date(NOW.getTime() + n * 60_000);
}

function assertAuthError(fn: () => unknown, code: string, message?: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, 403);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

const MISMATCH = /^The request signature we calculated does not match the signature you provided\./;

// ---------------------------------------------------------------------------------------------
// Accepted requests

test('GET with a trailing slash verifies and returns the caller', async () => {
  const req = await signed(request('GET', '/channelGroup/g1/channel/c1/'));
  assert.deepEqual(verifySigV4(req, lookup, NOW), {
    accessKeyId: KEY.accessKeyId,
    accountId: KEY.accountId,
    region: 'us-east-1',
  });
});

test('the trailing slash is part of the signature', async () => {
  const req = await signed(request('GET', '/channelGroup/g1/channel/c1/'));
  assertAuthError(() => verifySigV4({ ...req, rawPath: '/channelGroup/g1/channel/c1' }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
  const bare = await signed(request('GET', '/channelGroup/g1/channel/c1'));
  assert.equal(verifySigV4(bare, lookup, NOW).accountId, KEY.accountId);
});

test('POST with a JSON body verifies', async () => {
  const body = JSON.stringify({ ChannelName: 'c1', Description: 'ünïcode and spaces', Tags: { k: 'v' } });
  const req = await signed(request('POST', '/channelGroup/g1/channel', {}, body));
  assert.ok(req.headers['x-amz-content-sha256'], 'smithy sends x-amz-content-sha256');
  assert.equal(verifySigV4(req, lookup, NOW).accessKeyId, KEY.accessKeyId);
});

test('POST without x-amz-content-sha256 hashes the body itself', async () => {
  const body = '{"ChannelGroupName":"g1"}';
  const r = request('POST', '/channelGroup', {}, body);
  const s = await new SignatureV4({
    credentials: KEY,
    region: 'us-east-1',
    service: 'mediapackagev2',
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  }).sign(r, { signingDate: NOW });
  const req = received(s);
  assert.equal(req.headers['x-amz-content-sha256'], undefined);
  assert.equal(verifySigV4(req, lookup, NOW).accountId, KEY.accountId);
  assertAuthError(() => verifySigV4({ ...req, body: Buffer.from('{"ChannelGroupName":"g2"}') }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
});

test('a /tags/{encoded ARN} path is double-encoded in the canonical URI', async () => {
  assert.equal(
    canonicalUri(ENCODED_ARN_PATH),
    '/tags/arn%253Aaws%253Amediapackagev2%253Aus-east-1%253A123456789012%253AchannelGroup%252Fg1',
  );
  const req = await signed(request('GET', ENCODED_ARN_PATH));
  assert.equal(req.rawPath, '/tags/arn%3Aaws%3Amediapackagev2%3Aus-east-1%3A123456789012%3AchannelGroup%2Fg1');
  assert.equal(verifySigV4(req, lookup, NOW).region, 'us-east-1');
});

test('canonical URI keeps trailing slashes and resolves dot and empty segments', () => {
  assert.equal(canonicalUri(''), '/');
  assert.equal(canonicalUri('/'), '/');
  assert.equal(canonicalUri('/a//b/./c/../d/'), '/a/b/d/');
  assert.equal(canonicalUri('/a b/ü'), '/a%20b/%C3%BC');
});

test('query with repeated keys verifies, whatever order the values arrive in', async () => {
  const req = await signed(request('DELETE', ENCODED_ARN_PATH, { tagKeys: ['b', 'a'] }));
  assert.equal(req.rawQuery, 'tagKeys=b&tagKeys=a');
  assert.equal(verifySigV4(req, lookup, NOW).accountId, KEY.accountId);
  assert.equal(verifySigV4({ ...req, rawQuery: 'tagKeys=a&tagKeys=b' }, lookup, NOW).accountId, KEY.accountId);
  assertAuthError(() => verifySigV4({ ...req, rawQuery: 'tagKeys=a&tagKeys=c' }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
});

test('canonical query sorts by encoded key then value and normalises escapes', () => {
  assert.equal(canonicalQuery('b=2&a=z&a=y&c'), 'a=y&a=z&b=2&c=');
  // '+' is a space, as URLSearchParams (which the request is acted on with) reads it.
  assert.equal(canonicalQuery('k=%7e%2f+x&X-Amz-Signature=abc', true), 'k=~%2F%20x');
  assert.equal(canonicalQuery('k=a%2Bb'), 'k=a%2Bb');
  // Only a presigned request leaves its own X-Amz-Signature out; the header form signs every parameter.
  assert.equal(canonicalQuery('k=1&X-Amz-Signature=abc'), 'X-Amz-Signature=abc&k=1');
  assert.equal(canonicalQuery('bad=%zz%4'), 'bad=%25zz%254');
});

test('query values with reserved characters verify', async () => {
  const req = await signed(request('GET', '/channelGroup', { maxResults: '5', nextToken: 'a+b/c=d e*' }));
  assert.equal(verifySigV4(req, lookup, NOW).accountId, KEY.accountId);
});

test("a query value is signed as the value it is acted on: 'a+b' on the wire is \"a b\", not the signed \"a+b\"", async () => {
  const plus = await signed(request('GET', '/channelGroup', { nextToken: 'a+b' }));
  assert.equal(plus.rawQuery, 'nextToken=a%2Bb');
  assert.equal(new URLSearchParams(plus.rawQuery).get('nextToken'), 'a+b');
  assert.equal(verifySigV4(plus, lookup, NOW).accountId, KEY.accountId);
  // Sent as 'a+b', the server reads "a b": the signature over "a+b" must not cover it.
  assert.equal(new URLSearchParams('nextToken=a+b').get('nextToken'), 'a b');
  assertAuthError(() => verifySigV4({ ...plus, rawQuery: 'nextToken=a+b' }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
  // A space signed by the SDK (%20) may arrive as '+': the same value either way.
  const space = await signed(request('GET', '/channelGroup', { nextToken: 'a b' }));
  assert.equal(space.rawQuery, 'nextToken=a%20b');
  assert.equal(verifySigV4({ ...space, rawQuery: 'nextToken=a+b' }, lookup, NOW).accountId, KEY.accountId);
  // Presigned URLs follow the same rule.
  const presigned = received(await signer().presign(request('GET', '/channelGroup', { nextToken: 'a+b' }), { signingDate: NOW, expiresIn: 300 }));
  assert.equal(verifySigV4(presigned, lookup, NOW).accountId, KEY.accountId);
  assertAuthError(() => verifySigV4({ ...presigned, rawQuery: presigned.rawQuery.replace('a%2Bb', 'a+b') }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
});

test('exactly one signature: a header-signed request carrying a signature parameter in its query, in any spelling, is refused', async () => {
  const req = await signed(request('GET', '/channelGroup', { maxResults: '5' }));
  assert.equal(verifySigV4(req, lookup, NOW).accountId, KEY.accountId);
  for (const extra of ['x-amz-signature=deadbeef', 'X-Amz-Signature=deadbeef', 'X-AMZ-SIGNATURE=x', 'x-amz-credential=AKID%2F20261128', 'x-amz-algorithm=AWS4-HMAC-SHA256']) {
    assertAuthError(() => verifySigV4({ ...req, rawQuery: `${req.rawQuery}&${extra}` }, lookup, NOW), 'IncompleteSignatureException', /Only one authentication mechanism/);
  }
  // A presigned request spells its parameters exactly, once each.
  const presigned = received(await signer().presign(request('GET', '/channelGroup/g1/'), { signingDate: NOW, expiresIn: 300 }));
  assert.equal(verifySigV4(presigned, lookup, NOW).accountId, KEY.accountId);
  const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(presigned.rawQuery)![1]!;
  assertAuthError(() => verifySigV4({ ...presigned, rawQuery: `${presigned.rawQuery}&x-amz-signature=${sig}` }, lookup, NOW), 'IncompleteSignatureException', /x-amz-signature/);
  assertAuthError(() => verifySigV4({ ...presigned, rawQuery: `${presigned.rawQuery}&X-Amz-Signature=${sig}` }, lookup, NOW), 'IncompleteSignatureException', /more than once/);
});

test('an X-Amz-Date in years 0000-0099 is read as that year, not 1900-1999', async () => {
  const req = await signed(request('GET', '/channelGroup'));
  const headers = { ...req.headers, 'x-amz-date': '00500101T000000Z' };
  assertAuthError(() => verifySigV4({ ...req, headers }, lookup, NOW), 'InvalidSignatureException', /^Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261128' != '00500101'/);
  const v = new SigV4Verifier(lookup);
  const old = await signed(request('GET', '/channelGroup'), { at: new Date('0050-06-01T00:00:00Z') });
  assertAuthError(() => v.verify(old, NOW), 'InvalidSignatureException', /^Signature expired: 00500601T000000Z is now earlier/);
  assert.equal(v.verify(old, new Date('0050-06-01T00:05:00Z')).accountId, KEY.accountId);
});

test('presigned URL verifies until it expires', async () => {
  const presigned = received(await signer().presign(request('GET', '/channelGroup/g1/'), { signingDate: NOW, expiresIn: 300 }));
  assert.equal(presigned.headers['authorization'], undefined);
  assert.match(presigned.rawQuery, /X-Amz-Signature=/);
  assert.equal(verifySigV4(presigned, lookup, NOW).accessKeyId, KEY.accessKeyId);
  assert.equal(verifySigV4(presigned, lookup, minutes(5)).accessKeyId, KEY.accessKeyId);
  assertAuthError(
    () => verifySigV4(presigned, lookup, minutes(6)),
    'InvalidSignatureException',
    'Signature expired: 20261128T102000Z is now earlier than 20261128T102100Z (20261128T102600Z - 300 sec.)',
  );
  assertAuthError(() => verifySigV4(presigned, lookup, minutes(-16)), 'InvalidSignatureException', /^Signature not yet current/);
  const tampered = { ...presigned, rawPath: '/channelGroup/g2/' };
  assertAuthError(() => verifySigV4(tampered, lookup, NOW), 'InvalidSignatureException', MISMATCH);
});

test('presigned URL missing parameters is incomplete', async () => {
  const presigned = received(await signer().presign(request('GET', '/channelGroup/g1/'), { signingDate: NOW }));
  const withoutExpires = presigned.rawQuery.replace(/&?X-Amz-Expires=\d+/, '');
  assertAuthError(() => verifySigV4({ ...presigned, rawQuery: withoutExpires }, lookup, NOW), 'IncompleteSignatureException', /X-Amz-Expires/);
});

test('a long-lived verifier reuses signing keys but follows a rotated secret', async () => {
  let current = KEY;
  const verifier = new SigV4Verifier((id) => (id === KEY.accessKeyId ? current : undefined));
  const req = await signed(request('GET', '/channelGroup/g1/'));
  assert.equal(verifier.verify(req, NOW).accountId, KEY.accountId);
  assert.equal(verifier.verify(req, NOW).accountId, KEY.accountId);
  current = { ...KEY, secretAccessKey: 'rotated-secret' };
  assertAuthError(() => verifier.verify(req, NOW), 'InvalidSignatureException', MISMATCH);
});

// ---------------------------------------------------------------------------------------------
// Rejected requests

test('tampered body is rejected', async () => {
  const req = await signed(request('PUT', '/channelGroup/g1/', {}, '{"Description":"a"}'));
  assertAuthError(() => verifySigV4({ ...req, body: Buffer.from('{"Description":"b"}') }, lookup, NOW), 'InvalidSignatureException', /x-amz-content-sha256/);
  const withoutHash = { ...req.headers, 'x-amz-content-sha256': undefined };
  assertAuthError(
    () => verifySigV4({ ...req, headers: withoutHash, body: Buffer.from('{"Description":"b"}') }, lookup, NOW),
    'InvalidSignatureException',
    MISMATCH,
  );
});

test('UNSIGNED-PAYLOAD skips the body check but is itself signed', async () => {
  const r = request('POST', '/channelGroup', {}, '{"ChannelGroupName":"g1"}');
  r.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  const req = await signed(r);
  assert.equal(verifySigV4({ ...req, body: Buffer.from('anything') }, lookup, NOW).accountId, KEY.accountId);
});

test('tampered path is rejected', async () => {
  const req = await signed(request('DELETE', '/channelGroup/g1/channel/c1/'));
  assertAuthError(() => verifySigV4({ ...req, rawPath: '/channelGroup/g1/channel/c2/' }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
  assertAuthError(() => verifySigV4({ ...req, method: 'GET' }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
});

test('wrong secret is rejected', async () => {
  const req = await signed(request('GET', '/channelGroup'), { secretAccessKey: 'not-the-secret' });
  assertAuthError(
    () => verifySigV4(req, lookup, NOW),
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );
});

test('unknown access key is rejected', async () => {
  const req = await signed(request('GET', '/channelGroup'), { accessKeyId: 'AKIDUNKNOWN' });
  assertAuthError(() => verifySigV4(req, lookup, NOW), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
});

test('wrong service in the credential scope is rejected', async () => {
  const req = await signed(request('GET', '/channelGroup'), { service: 'mediapackage' });
  assertAuthError(() => verifySigV4(req, lookup, NOW), 'InvalidSignatureException', "Credential should be scoped to correct service: 'mediapackagev2'.");
  assert.equal(verifySigV4(req, lookup, NOW, 'mediapackage').accountId, KEY.accountId);
});

test('clock skew: 14 minutes is accepted, 16 minutes either way is not', async () => {
  for (const skew of [-14, 14]) {
    const req = await signed(request('GET', '/channelGroup'), { at: minutes(skew) });
    assert.equal(verifySigV4(req, lookup, NOW).accountId, KEY.accountId, `skew ${skew}`);
  }
  const old = await signed(request('GET', '/channelGroup'), { at: minutes(-16) });
  assertAuthError(
    () => verifySigV4(old, lookup, NOW),
    'InvalidSignatureException',
    'Signature expired: 20261128T100400Z is now earlier than 20261128T100500Z (20261128T102000Z - 15 min.)',
  );
  const future = await signed(request('GET', '/channelGroup'), { at: minutes(16) });
  assertAuthError(
    () => verifySigV4(future, lookup, NOW),
    'InvalidSignatureException',
    'Signature not yet current: 20261128T103600Z is still later than 20261128T103500Z (20261128T102000Z + 15 min.)',
  );
});

test('expired message matches the AWS wording', async () => {
  const req = await signed(request('GET', '/channelGroup'), { at: new Date('2026-11-28T10:15:00Z') });
  assertAuthError(
    () => verifySigV4(req, lookup, new Date('2026-11-28T10:35:00.700Z')),
    'InvalidSignatureException',
    'Signature expired: 20261128T101500Z is now earlier than 20261128T102000Z (20261128T103500Z - 15 min.)',
  );
});

test('missing authentication is reported as such', () => {
  const req: SignedRequest = { method: 'GET', rawPath: '/channelGroup', rawQuery: '', headers: { host: HOST }, body: Buffer.alloc(0) };
  assertAuthError(() => verifySigV4(req, lookup, NOW), 'MissingAuthenticationTokenException', /^Missing Authentication Token.*Signature Version 4/);
});

test('malformed Authorization headers are incomplete or invalid', async () => {
  const req = await signed(request('GET', '/channelGroup'));
  const auth = String(req.headers['authorization']);
  const withAuth = (authorization: string): SignedRequest => ({ ...req, headers: { ...req.headers, authorization } });

  assertAuthError(() => verifySigV4(withAuth('Bearer abc'), lookup, NOW), 'IncompleteSignatureException', /Bearer/);
  assertAuthError(
    () => verifySigV4(withAuth(auth.replace(/, Signature=[0-9a-f]+/, '')), lookup, NOW),
    'IncompleteSignatureException',
    /requires 'Signature'/,
  );
  assertAuthError(
    () => verifySigV4(withAuth(auth.replace('/aws4_request', '/aws5_request')), lookup, NOW),
    'InvalidSignatureException',
    /terminator: 'aws4_request', not 'aws5_request'/,
  );
  assertAuthError(
    () => verifySigV4(withAuth(auth.replace('/us-east-1/mediapackagev2', '/mediapackagev2')), lookup, NOW),
    'IncompleteSignatureException',
    /Credential should be of the form/,
  );
  assertAuthError(
    () => verifySigV4(withAuth(auth.replace('/20261128/', '/20261127/')), lookup, NOW),
    'InvalidSignatureException',
    /'20261127' != '20261128'/,
  );
  assertAuthError(() => verifySigV4(withAuth(auth.replace('SignedHeaders=host;', 'SignedHeaders=')), lookup, NOW), 'InvalidSignatureException', /'Host'/);
  assertAuthError(() => verifySigV4(withAuth(auth.replace(/Signature=([0-9a-f]+)/, 'Signature=$1$1')), lookup, NOW), 'InvalidSignatureException', MISMATCH);
  assertAuthError(
    () => verifySigV4(withAuth(auth.replace('SignedHeaders=', 'SignedHeaders=constructor;__proto__;')), lookup, NOW),
    'InvalidSignatureException',
    MISMATCH,
  );
  assertAuthError(
    () => verifySigV4({ ...req, headers: { ...req.headers, 'x-amz-date': '2026-11-28T10:20:00Z' } }, lookup, NOW),
    'IncompleteSignatureException',
    /X-Amz-Date/,
  );
});

test('a signed header changed in transit is rejected; unsigned ones are ignored', async () => {
  const req = await signed(request('POST', '/channelGroup', {}, '{}'));
  assertAuthError(() => verifySigV4({ ...req, headers: { ...req.headers, host: 'evil.example.com' } }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
  assert.equal(verifySigV4({ ...req, headers: { ...req.headers, 'user-agent': 'changed' } }, lookup, NOW).accountId, KEY.accountId);
  // Whitespace is canonicalised: padding and inner runs of spaces do not matter.
  const spaced = { ...req.headers, 'content-type': '  application/json  ' };
  assert.equal(verifySigV4({ ...req, headers: spaced }, lookup, NOW).accountId, KEY.accountId);
});

// ---------------------------------------------------------------------------------------------
// The real MediaPackageV2 client

class Captured extends Error {
  constructor(readonly request: SmithyRequest) {
    super('captured');
  }
}

async function captureClientRequest(send: (client: MediaPackageV2Client) => Promise<unknown>): Promise<SignedRequest> {
  const client = new MediaPackageV2Client({
    region: 'us-east-1',
    endpoint: `https://${HOST}`,
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    maxAttempts: 1,
    requestHandler: {
      handle: (req: SmithyRequest): Promise<never> => Promise.reject(new Captured(req)),
    },
  });
  try {
    await send(client);
  } catch (err) {
    if (err instanceof Captured) return received(err.request);
    throw err;
  } finally {
    client.destroy();
  }
  throw new Error('request was not captured');
}

test('requests signed by the MediaPackageV2 JS client verify', async () => {
  const get = await captureClientRequest((c) => c.send(new GetChannelCommand({ ChannelGroupName: 'g1', ChannelName: 'c1' })));
  assert.equal(verifySigV4(get, lookup, new Date()).accountId, KEY.accountId);

  const untag = await captureClientRequest((c) => c.send(new UntagResourceCommand({ ResourceArn: ARN, TagKeys: ['a', 'b'] })));
  assert.match(untag.rawPath, /^\/tags\/arn%3Aaws%3A/);
  assert.equal(untag.rawQuery, 'tagKeys=a&tagKeys=b');
  assert.equal(verifySigV4(untag, lookup, new Date()).accountId, KEY.accountId);
});

// ---------------------------------------------------------------------------------------------
// botocore

const BOTOCORE_SIGNER = `
import datetime, json, sys
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
fixed = datetime.datetime.strptime(spec['timestamp'], '%Y%m%dT%H%M%SZ')
botocore.auth.get_current_datetime = lambda *args, **kwargs: fixed
creds = Credentials(spec['accessKeyId'], spec['secretAccessKey'])
out = []
for r in spec['requests']:
    body = r['body'].encode('utf-8') if r['body'] is not None else None
    req = AWSRequest(method=r['method'], url=r['url'], data=body, headers=r['headers'])
    SigV4Auth(creds, 'mediapackagev2', 'us-east-1').add_auth(req)
    out.append(dict(req.headers.items()))
json.dump(out, sys.stdout)
`;

const hasBotocore = spawnSync('python3', ['-c', 'import botocore'], { stdio: 'ignore' }).status === 0;

interface BotoRequest {
  method: string;
  path: string;
  query: string;
  body: string | null;
  headers: Record<string, string>;
}

test('requests signed by botocore verify', () => {
  assert.ok(hasBotocore, 'python3 with botocore is needed for this test: install the awscli and boto3 packages for the machine Python');
  const requests: BotoRequest[] = [
    { method: 'GET', path: '/channelGroup/g1/channel/c1/', query: '', body: null, headers: {} },
    { method: 'GET', path: ENCODED_ARN_PATH, query: '', body: null, headers: {} },
    { method: 'DELETE', path: ENCODED_ARN_PATH, query: 'tagKeys=a&tagKeys=b', body: null, headers: {} },
    {
      method: 'POST',
      path: '/channelGroup/g1/channel',
      query: '',
      body: '{"ChannelName": "c1", "Description": "caf\u00e9"}',
      headers: { 'Content-Type': 'application/json' },
    },
  ];
  const spec = {
    timestamp: '20261128T102000Z',
    accessKeyId: KEY.accessKeyId,
    secretAccessKey: KEY.secretAccessKey,
    requests: requests.map((r) => ({
      method: r.method,
      url: `https://${HOST}${r.path}${r.query ? `?${r.query}` : ''}`,
      body: r.body,
      headers: r.headers,
    })),
  };
  const run = spawnSync('python3', ['-c', BOTOCORE_SIGNER], { input: JSON.stringify(spec), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const signedHeaders = JSON.parse(run.stdout) as Record<string, string>[];
  assert.equal(signedHeaders.length, requests.length);

  requests.forEach((r, i) => {
    const headers: Record<string, string> = { host: HOST };
    for (const [name, value] of Object.entries(signedHeaders[i] ?? {})) headers[name.toLowerCase()] = value;
    assert.match(headers['authorization'] ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDPACKHOUSETEST\/20261128\/us-east-1\/mediapackagev2\/aws4_request/);
    const req: SignedRequest = {
      method: r.method,
      rawPath: r.path,
      rawQuery: r.query,
      headers,
      body: r.body === null ? Buffer.alloc(0) : Buffer.from(r.body, 'utf8'),
    };
    assert.deepEqual(verifySigV4(req, lookup, NOW), { accessKeyId: KEY.accessKeyId, accountId: KEY.accountId, region: 'us-east-1' }, `${r.method} ${r.path}`);
    assertAuthError(() => verifySigV4({ ...req, rawPath: `${r.path}x` }, lookup, NOW), 'InvalidSignatureException', MISMATCH);
  });
});
