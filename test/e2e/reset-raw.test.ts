/**
 * Raw HTTP against a real Packhouse process, signed with @smithy/signature-v4 and sent with fetch.
 *
 * - ResetChannelState / ResetOriginEndpointState, which @aws-sdk/client-mediapackagev2@3.699.0 lacks.
 * - The wire itself: request ids, 204 bodies, SigV4 failures, malformed JSON, the channel URI's
 *   trailing slash, epoch-number timestamps, unknown paths.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateOriginEndpointCommand,
  GetChannelCommand,
  GetOriginEndpointCommand,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import { Readable } from 'node:stream';
import { LOCAL_ACCOUNT, LOCAL_KEYS, startServer, type TestServer } from '../support/server.js';

const G = 'raw-g';
const C = 'raw-c';
const E = 'raw-e';
const ARN = `arn:aws:mediapackagev2:us-east-1:${LOCAL_ACCOUNT}:`;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Every timestamp member of the model's outputs (API.md §1.4). */
const TIMESTAMP_KEYS = new Set(['CreatedAt', 'ModifiedAt', 'ResetAt', 'StartTime', 'EndTime', 'Start', 'End', 'ClipStartTime']);

let server: TestServer;
let client: MediaPackageV2Client;
/** JSON bodies the SDK client received, newest last (see captureBodies). */
const sdkBodies: Record<string, unknown>[] = [];

/**
 * @aws-sdk/client-mediapackagev2@3.699.0 has no ResetAt member on GetChannel/GetOriginEndpoint and
 * drops unknown JSON keys, so the body the SDK received is captured before it is deserialized.
 */
function captureBodies(c: MediaPackageV2Client): void {
  c.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { body?: unknown };
      if (response.body instanceof Readable) {
        const chunks: Buffer[] = [];
        for await (const chunk of response.body) chunks.push(Buffer.from(chunk as Uint8Array));
        const buf = Buffer.concat(chunks);
        try {
          sdkBodies.push(JSON.parse(buf.toString('utf8')) as Record<string, unknown>);
        } catch {
          sdkBodies.push({});
        }
        response.body = Readable.from([buf]);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'packhouseTestCaptureBody' },
  );
}

interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

interface SignOptions {
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly service?: string;
  readonly region?: string;
  readonly signingDate?: Date;
}

interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string | string[]>;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** false: send unsigned. */
  readonly sign?: false | SignOptions;
}

/** Every raw response of this file, for the request-id check. */
const seen: { what: string; status: number; requestId: string | null }[] = [];

async function raw(req: RawRequest): Promise<RawResponse> {
  const u = new URL(server.url);
  let headers: Record<string, string> = { host: u.host, ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(req.headers ?? {}) };
  if (req.sign !== false) {
    const o = req.sign ?? {};
    const signer = new SignatureV4({
      service: o.service ?? 'mediapackagev2',
      region: o.region ?? 'us-east-1',
      credentials: { accessKeyId: o.accessKeyId ?? LOCAL_KEYS.accessKeyId, secretAccessKey: o.secretAccessKey ?? LOCAL_KEYS.secretAccessKey },
      sha256: Sha256,
      uriEscapePath: true,
    });
    const signed = await signer.sign(
      { method: req.method, protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: req.path, query: req.query ?? {}, headers, ...(req.body !== undefined ? { body: req.body } : {}) },
      o.signingDate ? { signingDate: o.signingDate } : {},
    );
    headers = signed.headers;
  }
  // fetch sends Host itself (the same host:port that was signed).
  const sendHeaders = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'host'));
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query ?? {})) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  const query = qs.toString();
  const res = await fetch(`${server.url}${req.path}${query ? `?${query}` : ''}`, { method: req.method, headers: sendHeaders, ...(req.body !== undefined ? { body: req.body } : {}) });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  seen.push({ what: `${req.method} ${req.path} → ${res.status}`, status: res.status, requestId: res.headers.get('x-amzn-requestid') });
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts a modelled error response: status, bare shape name in x-amzn-ErrorType, type members in the body. */
function assertError(res: RawResponse, status: number, shape: string, fields: Record<string, string> = {}): void {
  assert.equal(res.status, status, `status (body: ${res.text})`);
  assert.equal(res.headers.get('x-amzn-errortype'), shape, `x-amzn-ErrorType (body: ${res.text})`);
  assert.ok(res.json, `a JSON error body (got: ${res.text})`);
  const message = res.json['Message'] ?? res.json['message'];
  assert.equal(typeof message, 'string', 'the body carries a Message');
  for (const [k, v] of Object.entries(fields)) assert.equal(res.json[k], v, `${k} (body: ${res.text})`);
}

/** Walks a JSON value; timestamp members must be numbers and no string may look like an ISO date. */
function assertEpochNumbers(value: unknown, where: string): number {
  let count = 0;
  if (Array.isArray(value)) {
    value.forEach((v, i) => (count += assertEpochNumbers(v, `${where}[${i}]`)));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (TIMESTAMP_KEYS.has(k)) {
        assert.equal(typeof v, 'number', `${where}.${k} is an epoch-seconds number, got ${JSON.stringify(v)}`);
        assert.ok(Number.isFinite(v) && (v as number) > 1e9 && (v as number) < 1e10, `${where}.${k} = ${String(v)} is in seconds`);
        count++;
      } else {
        count += assertEpochNumbers(v, `${where}.${k}`);
      }
    }
  } else if (typeof value === 'string') {
    assert.doesNotMatch(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, `${where} is an ISO timestamp string: ${value}`);
  }
  return count;
}

before(async () => {
  server = await startServer();
  client = server.client();
  captureBodies(client);
  await client.send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
  await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: C, InputType: 'CMAF' }));
  await client.send(
    new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: E, ContainerType: 'CMAF', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }),
  );
});

after(async () => {
  await server?.stop();
});

describe('ResetChannelState (POST /channelGroup/{g}/channel/{c}/reset)', () => {
  test('200 JSON with ChannelGroupName, ChannelName, Arn and ResetAt (epoch seconds, now); GetChannel then shows the same ResetAt', async () => {
    const t0 = Date.now() / 1000;
    const res = await raw({ method: 'POST', path: `/channelGroup/${G}/channel/${C}/reset` });
    const t1 = Date.now() / 1000;
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(res.json);
    assert.deepEqual(Object.keys(res.json).sort(), ['Arn', 'ChannelGroupName', 'ChannelName', 'ResetAt']);
    assert.equal(res.json['ChannelGroupName'], G);
    assert.equal(res.json['ChannelName'], C);
    assert.equal(res.json['Arn'], `${ARN}channelGroup/${G}/channel/${C}`);
    const resetAt = res.json['ResetAt'];
    assert.equal(typeof resetAt, 'number');
    assert.ok((resetAt as number) >= t0 - 0.05 && (resetAt as number) <= t1 + 0.05, `ResetAt ${String(resetAt)} is between ${t0} and ${t1}`);

    const got = await client.send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(got.ChannelName, C);
    // The SDK (3.699.0) has no ResetAt member: read it from the body the SDK received.
    assert.equal(sdkBodies.at(-1)?.['ResetAt'], resetAt, 'GetChannel (SDK request) answers the same ResetAt');
    const rawGet = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}/` });
    assert.equal(rawGet.json?.['ResetAt'], resetAt, 'GetChannel sends the very same number');
  });

  test('a second reset moves ResetAt forward', async () => {
    const first = (await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}` })).json?.['ResetAt'] as number;
    await new Promise((r) => setTimeout(r, 20));
    const res = await raw({ method: 'POST', path: `/channelGroup/${G}/channel/${C}/reset` });
    assert.equal(res.status, 200);
    assert.ok((res.json?.['ResetAt'] as number) > first);
  });

  test('missing channel → 404 ResourceNotFoundException with ResourceTypeNotFound CHANNEL (and CHANNEL_GROUP for a missing group)', async () => {
    assertError(await raw({ method: 'POST', path: `/channelGroup/${G}/channel/no-such-channel/reset` }), 404, 'ResourceNotFoundException', { ResourceTypeNotFound: 'CHANNEL' });
    assertError(await raw({ method: 'POST', path: `/channelGroup/no-such-group/channel/${C}/reset` }), 404, 'ResourceNotFoundException', { ResourceTypeNotFound: 'CHANNEL_GROUP' });
  });
});

describe('ResetOriginEndpointState (POST …/originEndpoint/{e}/reset)', () => {
  test('200 JSON with the five members and ResetAt now; GetOriginEndpoint then shows the same ResetAt', async () => {
    const t0 = Date.now() / 1000;
    const res = await raw({ method: 'POST', path: `/channelGroup/${G}/channel/${C}/originEndpoint/${E}/reset` });
    const t1 = Date.now() / 1000;
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json);
    assert.deepEqual(Object.keys(res.json).sort(), ['Arn', 'ChannelGroupName', 'ChannelName', 'OriginEndpointName', 'ResetAt']);
    assert.equal(res.json['ChannelGroupName'], G);
    assert.equal(res.json['ChannelName'], C);
    assert.equal(res.json['OriginEndpointName'], E);
    assert.equal(res.json['Arn'], `${ARN}channelGroup/${G}/channel/${C}/originEndpoint/${E}`);
    const resetAt = res.json['ResetAt'] as number;
    assert.equal(typeof resetAt, 'number');
    assert.ok(resetAt >= t0 - 0.05 && resetAt <= t1 + 0.05, `ResetAt ${resetAt} is between ${t0} and ${t1}`);

    const got = await client.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: E }));
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.equal(got.OriginEndpointName, E);
    assert.equal(sdkBodies.at(-1)?.['ResetAt'], resetAt, 'GetOriginEndpoint (SDK request) answers the same ResetAt');
  });

  test('missing endpoint → 404 ORIGIN_ENDPOINT; missing channel → 404 CHANNEL', async () => {
    assertError(await raw({ method: 'POST', path: `/channelGroup/${G}/channel/${C}/originEndpoint/no-such-endpoint/reset` }), 404, 'ResourceNotFoundException', { ResourceTypeNotFound: 'ORIGIN_ENDPOINT' });
    assertError(await raw({ method: 'POST', path: `/channelGroup/${G}/channel/no-such-channel/originEndpoint/${E}/reset` }), 404, 'ResourceNotFoundException', { ResourceTypeNotFound: 'CHANNEL' });
  });
});

describe('the wire', () => {
  test('TagResource → 204 with an empty body; UntagResource → 204 empty; ListTagsForResource → 200 {"tags":…}', async () => {
    const arn = `${ARN}channelGroup/${G}/channel/${C}`;
    const path = `/tags/${encodeURIComponent(arn)}`;
    const tag = await raw({ method: 'POST', path, body: JSON.stringify({ tags: { a: '1', b: '2' } }) });
    assert.equal(tag.status, 204, tag.text);
    assert.equal(tag.text, '');
    const untag = await raw({ method: 'DELETE', path, query: { tagKeys: ['a', 'zzz'] } });
    assert.equal(untag.status, 204, untag.text);
    assert.equal(untag.text, '');
    const list = await raw({ method: 'GET', path });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, { tags: { b: '2' } });
  });

  test('an unsigned request → 403 MissingAuthenticationTokenException', async () => {
    const res = await raw({ method: 'GET', path: '/channelGroup', sign: false });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  });

  test('a request signed with a wrong secret → 403 InvalidSignatureException', async () => {
    const res = await raw({ method: 'GET', path: '/channelGroup', sign: { secretAccessKey: 'not-the-secret' } });
    assertError(res, 403, 'InvalidSignatureException');
  });

  test('a request signed 16 minutes ago → 403 InvalidSignatureException "Signature expired"', async () => {
    const res = await raw({ method: 'GET', path: '/channelGroup', sign: { signingDate: new Date(Date.now() - 16 * 60_000) } });
    assertError(res, 403, 'InvalidSignatureException');
    assert.match(String(res.json?.['Message']), /Signature expired/);
    // 14 minutes is inside the allowed skew.
    const ok = await raw({ method: 'GET', path: '/channelGroup', sign: { signingDate: new Date(Date.now() - 14 * 60_000) } });
    assert.equal(ok.status, 200, ok.text);
  });

  test('an unknown access key → 403 UnrecognizedClientException', async () => {
    const res = await raw({ method: 'GET', path: '/channelGroup', sign: { accessKeyId: 'AKIDNOSUCHKEY', secretAccessKey: 'whatever' } });
    assertError(res, 403, 'UnrecognizedClientException');
  });

  test('a credential scope for another service (ec2) → 403', async () => {
    const res = await raw({ method: 'GET', path: '/channelGroup', sign: { service: 'ec2' } });
    assertError(res, 403, 'InvalidSignatureException');
    assert.match(String(res.json?.['Message']), /service/i);
  });

  test('a body that is not JSON on CreateChannelGroup → 400 ValidationException MEMBER_INVALID', async () => {
    const res = await raw({ method: 'POST', path: '/channelGroup', body: 'ChannelGroupName=oops' });
    assertError(res, 400, 'ValidationException', { ValidationExceptionType: 'MEMBER_INVALID' });
    const list = await raw({ method: 'GET', path: '/channelGroup' });
    assert.deepEqual(
      (list.json?.['Items'] as { ChannelGroupName: string }[]).map((g) => g.ChannelGroupName),
      [G],
      'nothing was created',
    );
  });

  test('GetChannel with and without the trailing slash: both 200, same answer', async () => {
    const withSlash = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}/` });
    const without = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}` });
    assert.equal(withSlash.status, 200, withSlash.text);
    assert.equal(without.status, 200, without.text);
    assert.equal(withSlash.json?.['ChannelName'], C);
    assert.deepEqual(withSlash.json, without.json);
  });

  test('timestamps in JSON responses are epoch-second numbers, never strings (fractional input survives to the ms)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bodies: [string, RawResponse][] = [];
    const push = (what: string, r: RawResponse) => {
      assert.ok(r.status === 200, `${what}: ${r.status} ${r.text}`);
      bodies.push([what, r]);
    };
    push('CreateChannelGroup', await raw({ method: 'POST', path: '/channelGroup', body: JSON.stringify({ ChannelGroupName: 'ts-g' }) }));
    push('GetChannelGroup', await raw({ method: 'GET', path: '/channelGroup/ts-g' }));
    push('ListChannelGroups', await raw({ method: 'GET', path: '/channelGroup' }));
    push('CreateChannel', await raw({ method: 'POST', path: '/channelGroup/ts-g/channel', body: JSON.stringify({ ChannelName: 'ts-c', InputType: 'CMAF' }) }));
    push('ListChannels', await raw({ method: 'GET', path: '/channelGroup/ts-g/channel' }));
    const endpointBody = {
      OriginEndpointName: 'ts-e',
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 3600,
      HlsManifests: [
        { ManifestName: 'index' },
        { ManifestName: 'window', FilterConfiguration: { Start: now - 7200, End: now - 3600.5 } },
        { ManifestName: 'clip', FilterConfiguration: { ClipStartTime: now - 600 } },
      ],
    };
    push('CreateOriginEndpoint', await raw({ method: 'POST', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint', body: JSON.stringify(endpointBody) }));
    push('GetOriginEndpoint', await raw({ method: 'GET', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint/ts-e' }));
    push('ListOriginEndpoints', await raw({ method: 'GET', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint' }));
    const start = now - 600 + 0.123;
    const end = now + 60 + 0.5;
    const job = {
      HarvestJobName: 'ts-job',
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: start, EndTime: end },
      Destination: { S3Destination: { BucketName: 'bucket', DestinationPath: 'p' } },
    };
    const created = await raw({ method: 'POST', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint/ts-e/harvestJob', body: JSON.stringify(job) });
    push('CreateHarvestJob', created);
    assert.deepEqual(created.json?.['ScheduleConfiguration'], { StartTime: start, EndTime: end }, 'fractional epoch seconds come back unchanged');
    push('GetHarvestJob', await raw({ method: 'GET', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint/ts-e/harvestJob/ts-job' }));
    push('ListHarvestJobs', await raw({ method: 'GET', path: '/channelGroup/ts-g/harvestJob' }));
    push('ResetChannelState', await raw({ method: 'POST', path: '/channelGroup/ts-g/channel/ts-c/reset' }));
    push('ResetOriginEndpointState', await raw({ method: 'POST', path: '/channelGroup/ts-g/channel/ts-c/originEndpoint/ts-e/reset' }));
    push('GetChannel', await raw({ method: 'GET', path: '/channelGroup/ts-g/channel/ts-c/' }));

    const counts = Object.fromEntries(bodies.map(([what, r]) => [what, assertEpochNumbers(r.json, what)]));
    // Each body had the timestamps it should have (so the walk really looked at them).
    assert.deepEqual(counts, {
      CreateChannelGroup: 2,
      GetChannelGroup: 2,
      ListChannelGroups: 4,
      CreateChannel: 2,
      ListChannels: 2,
      CreateOriginEndpoint: 5,
      GetOriginEndpoint: 5,
      ListOriginEndpoints: 2,
      CreateHarvestJob: 4,
      GetHarvestJob: 4,
      ListHarvestJobs: 4,
      ResetChannelState: 1,
      ResetOriginEndpointState: 1,
      GetChannel: 3,
    });
    const window = ((bodies.find(([w]) => w === 'GetOriginEndpoint')![1].json?.['HlsManifests'] as Record<string, unknown>[])[1]!['FilterConfiguration']) as Record<string, unknown>;
    assert.deepEqual(window, { Start: now - 7200, End: now - 3600.5 });
  });

  test('URLs the API hands out (ingest endpoints, manifest URLs) point at the server itself, not at port 0', async () => {
    // The server was started with --port 0 and no --public-url: the default public URL is http://{host}:{port}
    // of the port it actually listens on.
    const origin = new URL(server.url).origin;
    const channel = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}` });
    const ingest = channel.json?.['IngestEndpoints'] as { Id: string; Url: string }[];
    assert.equal(ingest.length, 2);
    for (const e of ingest) assert.equal(new URL(e.Url).origin, origin, `ingest URL ${e.Url}`);
    const endpoint = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}/originEndpoint/${E}` });
    const manifests = endpoint.json?.['HlsManifests'] as { ManifestName: string; Url: string }[];
    assert.equal(manifests[0]?.Url, `${origin}/out/v1/${G}/${C}/${E}/index.m3u8`);
  });

  test('an unknown path → 404', async () => {
    const res = await raw({ method: 'GET', path: '/no/such/operation' });
    assert.equal(res.status, 404, res.text);
    const res2 = await raw({ method: 'GET', path: `/channelGroup/${G}/channel/${C}/originEndpoint/${E}/nothing-here/x` });
    assert.equal(res2.status, 404, res2.text);
  });

  test('every response above carried an x-amzn-RequestId uuid, each a different one', () => {
    assert.ok(seen.length >= 30, `checked ${seen.length} responses`);
    for (const s of seen) assert.match(s.requestId ?? '(none)', UUID_RE, `x-amzn-RequestId of ${s.what}`);
    assert.ok(seen.some((s) => s.status === 403) && seen.some((s) => s.status === 404) && seen.some((s) => s.status === 400) && seen.some((s) => s.status === 204));
    assert.equal(new Set(seen.map((s) => s.requestId)).size, seen.length, 'request ids are unique');
  });
});
