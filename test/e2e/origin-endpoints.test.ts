// Origin endpoints, channel and endpoint policies, and tagging end to end against a real server
// process: every configuration member stored and echoed (the model's own CreateOriginEndpoint
// examples), service defaults, update semantics and ETags, cross-field rules, quotas, list shapes,
// pagination, policies (PUT vs POST), and TagResource/UntagResource/ListTagsForResource by ARN.
//
// @aws-sdk/client-mediapackagev2@3.699.0 predates parts of the model (MssManifests, DASH DvbSettings/
// BaseUrls/ProgramInformation/Compactness/Profiles, CdnAuthConfiguration): it neither sends nor
// reads them. Those members are exercised with SigV4-signed requests built here (`raw`), the
// rest through the SDK.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
  DeleteChannelPolicyCommand,
  DeleteOriginEndpointCommand,
  DeleteOriginEndpointPolicyCommand,
  GetChannelCommand,
  GetChannelGroupCommand,
  GetChannelPolicyCommand,
  GetOriginEndpointCommand,
  GetOriginEndpointPolicyCommand,
  ListOriginEndpointsCommand,
  ListTagsForResourceCommand,
  PutChannelPolicyCommand,
  PutOriginEndpointPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateChannelCommand,
  UpdateOriginEndpointCommand,
  paginateListOriginEndpoints,
  type CreateOriginEndpointCommandInput,
  type MediaPackageV2Client,
  type SpekeKeyProvider,
} from '@aws-sdk/client-mediapackagev2';
import { LOCAL_KEYS, ROOT, startServer, tempDir, type TestServer } from '../support/server.js';
import { conflict, expectError, notFound, validation } from '../support/errors.js';
import { resolveSpecDir } from '../../scripts/codegen.js';

const ETAG_RE = /^[A-Za-z0-9+/]{43}=$/;
const G = 'eg';
const ACCOUNT_PREFIX = 'arn:aws:mediapackagev2:us-east-1:000000000000:';
const MANIFEST_LISTS = ['HlsManifests', 'LowLatencyHlsManifests', 'DashManifests', 'MssManifests'] as const;

// ---------------------------------------------------------------------------------------------
// Helpers

const invalidArn = validation('INVALID_ARN');
const invalidPolicy = validation('INVALID_POLICY');

type Json = Record<string, unknown>;

interface RawResponse {
  readonly status: number;
  readonly json: Json;
}

/** A SigV4-signed JSON request outside the SDK (for members the SDK does not know, and to see the wire). */
async function raw(server: TestServer, method: string, path: string, body?: unknown, query: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(server.url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { host: url.host };
  if (text !== undefined) headers['content-type'] = 'application/json';
  const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query, headers, ...(text !== undefined ? { body: text } : {}) });
  const sendHeaders: Record<string, string> = { ...signed.headers };
  if (text !== undefined) sendHeaders['content-length'] = String(Buffer.byteLength(text));
  const qs = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method, path: qs === '' ? path : `${path}?${qs}`, headers: sendHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const t = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: t === '' ? {} : (JSON.parse(t) as Json) });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Deep copy with ISO-8601 timestamp strings (model example notation) turned into what `convert` gives. */
function mapTimestamps(v: unknown, convert: (iso: string) => unknown): unknown {
  if (typeof v === 'string' && ISO_RE.test(v)) return convert(v);
  if (Array.isArray(v)) return v.map((x) => mapTimestamps(x, convert));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapTimestamps(x, convert)]));
  return v;
}
const isoToDate = (v: unknown): unknown => mapTimestamps(v, (s) => new Date(s));
const isoToEpochSeconds = (v: unknown): unknown => mapTimestamps(v, (s) => Date.parse(s) / 1000);

/** The response with `Url` removed from every manifest entry (checked separately). */
function withoutUrls<T extends object>(res: T): T {
  const out: Record<string, unknown> = { ...(res as Record<string, unknown>) };
  for (const list of MANIFEST_LISTS) {
    const items = out[list];
    if (Array.isArray(items)) {
      out[list] = items.map((m: Record<string, unknown>) => {
        const { Url: _url, ...rest } = m;
        return rest;
      });
    }
  }
  return out as T;
}

function pick(obj: object, keys: readonly string[]): Json {
  const src = obj as Json;
  return Object.fromEntries(keys.map((k) => [k, src[k]]));
}

function assertRecent(d: Date | undefined, t0: number, t1: number, what: string): void {
  assert.ok(d instanceof Date, `${what} is a Date`);
  assert.ok(d.getTime() >= t0 - 1000 && d.getTime() <= t1 + 1000, `${what} ${d.toISOString()} lies within the call`);
}

// ---------------------------------------------------------------------------------------------
// The model's CreateOriginEndpoint examples

interface ModelExample {
  readonly title: string;
  readonly input: Json;
  readonly output: Json;
}

const EXAMPLES: readonly ModelExample[] = (() => {
  const model = JSON.parse(readFileSync(join(resolveSpecDir(ROOT), 'mediapackagev2.smithy.json'), 'utf8')) as {
    shapes: Record<string, { traits?: Record<string, unknown> }>;
  };
  const examples = model.shapes['com.amazonaws.mediapackagev2#CreateOriginEndpoint']?.traits?.['smithy.api#examples'] as ModelExample[] | undefined;
  if (!examples || examples.length === 0) throw new Error('the model has no CreateOriginEndpoint examples');
  return examples;
})();

/** The example's request body: path-bound members removed (they go into the URI). */
function exampleBody(ex: ModelExample): Json {
  const { ChannelGroupName: _g, ChannelName: _c, ...body } = ex.input;
  return body;
}

const SPEKE: SpekeKeyProvider = {
  EncryptionContractConfiguration: { PresetSpeke20Audio: 'SHARED', PresetSpeke20Video: 'SHARED' },
  ResourceId: 'ResourceId',
  DrmSystems: ['CLEAR_KEY_AES_128'],
  RoleArn: 'arn:aws:iam::123456789012:role/empRole',
  Url: 'https://foo.com',
};

const POLICY = (resource: string, action = 'mediapackagev2:GetObject'): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'AllowAccount', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: action, Resource: resource }],
  });

// ---------------------------------------------------------------------------------------------

describe('origin endpoints, policies and tags (quota: 2 origin endpoints per channel)', () => {
  let server: TestServer;
  let c: MediaPackageV2Client;

  const channel = async (name: string, inputType: 'HLS' | 'CMAF' = 'CMAF'): Promise<void> => {
    await c.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: name, InputType: inputType }));
  };
  const url = (ch: string, ep: string, manifest: string, ext: string): string => `${server.url}/out/v1/${G}/${ch}/${ep}/${manifest}${ext}`;

  before(async () => {
    // The CDN identifier secret the CdnAuthConfiguration test names (there is no Secrets Manager).
    const secrets = join(tempDir(), 'cdn-secrets.json');
    writeFileSync(secrets, JSON.stringify({ 'arn:aws:secretsmanager:us-east-1:000000000000:secret:cdn-secret-AbCdEf': '0e4b3a9c-5d1f-4c57-9a55-3f0d6b2f2b10' }));
    server = await startServer({
      args: ['--quota-endpoints-per-channel', '2', '--quota-channel-groups', '10', '--quota-channels-per-group', '60', '--cdn-secrets-file', secrets],
    });
    c = server.client();
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
  });
  after(async () => {
    await server?.stop();
  });

  // --- model examples -------------------------------------------------------------------------

  EXAMPLES.forEach((ex, i) => {
    test(`model example "${ex.title}": Create and Get echo every input member (wire JSON)`, async () => {
      const ch = `example-raw-${i}`;
      await channel(ch, 'CMAF');
      const body = isoToEpochSeconds(exampleBody(ex)) as Json;
      const name = body['OriginEndpointName'] as string;
      const created = await raw(server, 'POST', `/channelGroup/${G}/channel/${ch}/originEndpoint`, body);
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const got = await raw(server, 'GET', `/channelGroup/${G}/channel/${ch}/originEndpoint/${name}`);
      assert.equal(got.status, 200, JSON.stringify(got.json));
      for (const [label, res] of [
        ['CreateOriginEndpoint', created],
        ['GetOriginEndpoint', got],
      ] as const) {
        assert.deepEqual(pick(withoutUrls(res.json), Object.keys(body)), body, `${label} echoes every input member`);
        assert.equal(res.json['ChannelGroupName'], G);
        assert.equal(res.json['ChannelName'], ch);
        assert.equal(res.json['Arn'], `${ACCOUNT_PREFIX}channelGroup/${G}/channel/${ch}/originEndpoint/${name}`);
        assert.match(String(res.json['ETag']), ETAG_RE);
        assert.equal(typeof res.json['CreatedAt'], 'number', 'timestamps are epoch seconds on the wire');
        assert.equal(typeof res.json['ModifiedAt'], 'number');
      }
      assert.equal(got.json['ETag'], created.json['ETag']);
    });
  });

  EXAMPLES.forEach((ex, i) => {
    test(`model example "${ex.title}": every manifest gets its Url on the server's base URL`, async () => {
      const ch = `example-url-${i}`;
      await channel(ch, 'CMAF');
      const body = isoToEpochSeconds(exampleBody(ex)) as Json;
      const name = body['OriginEndpointName'] as string;
      const created = await raw(server, 'POST', `/channelGroup/${G}/channel/${ch}/originEndpoint`, body);
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const got = await raw(server, 'GET', `/channelGroup/${G}/channel/${ch}/originEndpoint/${name}`);
      const ext = { HlsManifests: '.m3u8', LowLatencyHlsManifests: '.m3u8', DashManifests: '.mpd', MssManifests: '.ism/Manifest' } as const;
      const expected: Record<string, string[]> = {};
      const actualCreate: Record<string, unknown[]> = {};
      const actualGet: Record<string, unknown[]> = {};
      for (const list of MANIFEST_LISTS) {
        const items = body[list] as { ManifestName: string }[] | undefined;
        if (!items) continue;
        expected[list] = items.map((m) => url(ch, name, m.ManifestName, ext[list]));
        actualCreate[list] = ((created.json[list] as Json[] | undefined) ?? []).map((m) => m['Url']);
        actualGet[list] = ((got.json[list] as Json[] | undefined) ?? []).map((m) => m['Url']);
      }
      assert.ok(Object.keys(expected).length > 0);
      assert.deepEqual(actualCreate, expected, 'CreateOriginEndpoint manifest Urls');
      assert.deepEqual(actualGet, expected, 'GetOriginEndpoint manifest Urls');
    });
  });

  test('model example (TS) through the SDK: Create and Get echo every input member, ISO timestamps as Date', async () => {
    const ex = EXAMPLES.find((e) => e.input['ContainerType'] === 'TS');
    assert.ok(ex, 'the model has a TS example');
    await channel('example-sdk', 'CMAF');
    const input = { ...(isoToDate(ex.input) as Json), ChannelGroupName: G, ChannelName: 'example-sdk' } as unknown as CreateOriginEndpointCommandInput;
    const created = await c.send(new CreateOriginEndpointCommand(input));
    const got = await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'example-sdk', OriginEndpointName: input.OriginEndpointName }));
    const keys = Object.keys(input).filter((k) => k !== 'ClientToken');
    for (const [label, res] of [
      ['CreateOriginEndpoint', created],
      ['GetOriginEndpoint', got],
    ] as const) {
      assert.deepEqual(pick(withoutUrls(res), keys), pick(input, keys), `${label} echoes every input member`);
    }
    assert.equal(got.ETag, created.ETag);
    assert.deepEqual(got.CreatedAt, created.CreatedAt);
  });

  // --- CRUD, defaults, update -----------------------------------------------------------------

  test('CreateOriginEndpoint returns the identity members; Get agrees; Delete removes it', async () => {
    await channel('crud');
    const t0 = Date.now();
    const created = await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'crud',
        OriginEndpointName: 'ts1',
        ContainerType: 'TS',
        Description: 'ts endpoint',
        StartoverWindowSeconds: 3600,
        Segment: { SegmentDurationSeconds: 4, SegmentName: 'seg', TsUseAudioRenditionGroup: false, IncludeIframeOnlyStreams: true, TsIncludeDvbSubtitles: true },
        HlsManifests: [{ ManifestName: 'index', ChildManifestName: 'child', ManifestWindowSeconds: 120, ProgramDateTimeIntervalSeconds: 10 }],
        Tags: { owner: 'qa' },
      }),
    );
    const t1 = Date.now();
    assert.equal(created.$metadata.httpStatusCode, 200);
    assert.equal(created.Arn, `${ACCOUNT_PREFIX}channelGroup/${G}/channel/crud/originEndpoint/ts1`);
    assert.equal(created.ChannelGroupName, G);
    assert.equal(created.ChannelName, 'crud');
    assert.equal(created.OriginEndpointName, 'ts1');
    assert.equal(created.ContainerType, 'TS');
    assert.equal(created.Description, 'ts endpoint');
    assert.equal(created.StartoverWindowSeconds, 3600);
    assert.deepEqual(created.Segment, { SegmentDurationSeconds: 4, SegmentName: 'seg', TsUseAudioRenditionGroup: false, IncludeIframeOnlyStreams: true, TsIncludeDvbSubtitles: true });
    assert.deepEqual(withoutUrls(created).HlsManifests, [{ ManifestName: 'index', ChildManifestName: 'child', ManifestWindowSeconds: 120, ProgramDateTimeIntervalSeconds: 10 }]);
    assertRecent(created.CreatedAt, t0, t1, 'CreatedAt');
    assert.deepEqual(created.ModifiedAt, created.CreatedAt);
    assert.match(created.ETag ?? '', ETAG_RE);
    assert.deepEqual(created.Tags, { owner: 'qa' });

    const got = await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'crud', OriginEndpointName: 'ts1' }));
    const { $metadata: _m1, ...createdBody } = created;
    const { $metadata: _m2, ...gotBody } = got;
    assert.deepEqual(gotBody, createdBody, 'Get returns what Create returned');

    const del = await c.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'crud', OriginEndpointName: 'ts1' }));
    assert.equal(del.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'crud', OriginEndpointName: 'ts1' })), notFound('ORIGIN_ENDPOINT'));
    // Deleting what is not there succeeds.
    const again = await c.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'crud', OriginEndpointName: 'ts1' }));
    assert.equal(again.$metadata.httpStatusCode, 200);
  });

  test('missing parents and duplicates: 404 names the first missing level; an existing name is 409 RESOURCE_ALREADY_EXISTS', async () => {
    await channel('parents');
    const get = (g: string, ch: string, e: string) => c.send(new GetOriginEndpointCommand({ ChannelGroupName: g, ChannelName: ch, OriginEndpointName: e }));
    await expectError(get('no-group', 'parents', 'e'), notFound('CHANNEL_GROUP'));
    await expectError(get(G, 'no-channel', 'e'), notFound('CHANNEL'));
    await expectError(get(G, 'parents', 'no-endpoint'), notFound('ORIGIN_ENDPOINT'));
    await expectError(
      c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'no-channel', OriginEndpointName: 'e', ContainerType: 'TS' })),
      notFound('CHANNEL'),
    );
    await expectError(c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'no-channel' })), notFound('CHANNEL'));
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'parents', OriginEndpointName: 'dup', ContainerType: 'TS' }));
    await expectError(
      c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'parents', OriginEndpointName: 'dup', ContainerType: 'CMAF' })),
      conflict('RESOURCE_ALREADY_EXISTS'),
    );
    assert.equal((await get(G, 'parents', 'dup')).ContainerType, 'TS');
  });

  test('defaults: Segment gets SegmentDurationSeconds 6 and SegmentName "segment"; manifests get ManifestWindowSeconds 60', async () => {
    await channel('defaults');
    const created = await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'defaults',
        OriginEndpointName: 'bare',
        ContainerType: 'CMAF',
        HlsManifests: [{ ManifestName: 'hls' }],
        LowLatencyHlsManifests: [{ ManifestName: 'llhls' }],
        DashManifests: [{ ManifestName: 'dash' }],
      }),
    );
    for (const res of [created, await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'defaults', OriginEndpointName: 'bare' }))]) {
      assert.equal(res.Segment?.SegmentDurationSeconds, 6);
      assert.equal(res.Segment?.SegmentName, 'segment');
      assert.equal(res.HlsManifests?.[0]?.ManifestWindowSeconds, 60);
      assert.equal(res.LowLatencyHlsManifests?.[0]?.ManifestWindowSeconds, 60);
      assert.equal(res.DashManifests?.[0]?.ManifestWindowSeconds, 60);
      assert.deepEqual(res.Tags, {});
    }
    // A partial Segment keeps what was given and fills in the rest.
    const partial = await c.send(
      new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'defaults', OriginEndpointName: 'partial', ContainerType: 'TS', Segment: { SegmentDurationSeconds: 2 } }),
    );
    assert.equal(partial.Segment?.SegmentDurationSeconds, 2);
    assert.equal(partial.Segment?.SegmentName, 'segment');
  });

  test('Update replaces the configuration, keeps tags and CreatedAt, changes the ETag; a stale ETag is 409 CONFLICTING_OPERATION', async () => {
    await channel('update');
    const created = await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'update',
        OriginEndpointName: 'u',
        ContainerType: 'CMAF',
        Description: 'before',
        StartoverWindowSeconds: 600,
        Segment: { SegmentDurationSeconds: 4, SegmentName: 'first' },
        HlsManifests: [{ ManifestName: 'old', ManifestWindowSeconds: 120 }],
        Tags: { keep: 'me' },
      }),
    );
    await sleep(10);
    const updated = await c.send(
      new UpdateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'update',
        OriginEndpointName: 'u',
        ContainerType: 'CMAF',
        Description: 'after',
        Segment: { SegmentDurationSeconds: 2, SegmentName: 'second' },
        HlsManifests: [{ ManifestName: 'new' }],
        DashManifests: [{ ManifestName: 'dash', MinUpdatePeriodSeconds: 4 }],
        ETag: created.ETag,
      }),
    );
    assert.equal(updated.$metadata.httpStatusCode, 200);
    assert.equal(updated.Arn, created.Arn);
    assert.equal(updated.Description, 'after');
    assert.equal(updated.Segment?.SegmentDurationSeconds, 2);
    assert.equal(updated.Segment?.SegmentName, 'second');
    assert.deepEqual(withoutUrls(updated).HlsManifests, [{ ManifestName: 'new', ManifestWindowSeconds: 60 }], 'the old manifest is gone, the new one has defaults');
    assert.deepEqual(updated.DashManifests?.map((m) => [m.ManifestName, m.MinUpdatePeriodSeconds]), [['dash', 4]]);
    assert.equal(updated.StartoverWindowSeconds, undefined, 'an omitted member is not carried over');
    assert.deepEqual(updated.Tags, { keep: 'me' }, 'tags survive an update');
    assert.deepEqual(updated.CreatedAt, created.CreatedAt);
    assert.ok(updated.ModifiedAt!.getTime() > created.ModifiedAt!.getTime(), 'ModifiedAt moves forward');
    assert.match(updated.ETag ?? '', ETAG_RE);
    assert.notEqual(updated.ETag, created.ETag);

    const got = await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'update', OriginEndpointName: 'u' }));
    assert.equal(got.ETag, updated.ETag);
    assert.equal(got.Description, 'after');
    assert.deepEqual(got.HlsManifests?.map((m) => m.ManifestName), ['new']);
    assert.deepEqual(got.Tags, { keep: 'me' });

    await expectError(
      c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'update', OriginEndpointName: 'u', ContainerType: 'CMAF', Description: 'stale', ETag: created.ETag })),
      conflict('CONFLICTING_OPERATION'),
    );
    assert.equal((await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'update', OriginEndpointName: 'u' }))).Description, 'after');
    const current = await c.send(
      new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'update', OriginEndpointName: 'u', ContainerType: 'CMAF', Description: 'current', ETag: updated.ETag }),
    );
    assert.equal(current.Description, 'current');
    assert.notEqual(current.ETag, updated.ETag);
    await expectError(
      c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'update', OriginEndpointName: 'missing', ContainerType: 'CMAF' })),
      notFound('ORIGIN_ENDPOINT'),
    );
  });

  test('changing ContainerType on update is ValidationException CONTAINER_TYPE_IMMUTABLE', async () => {
    await channel('immutable');
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'immutable', OriginEndpointName: 'cm', ContainerType: 'CMAF', Description: 'keep' }));
    await expectError(
      c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'immutable', OriginEndpointName: 'cm', ContainerType: 'TS', Description: 'changed' })),
      validation('CONTAINER_TYPE_IMMUTABLE'),
    );
    const got = await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'immutable', OriginEndpointName: 'cm' }));
    assert.equal(got.ContainerType, 'CMAF');
    assert.equal(got.Description, 'keep');
  });

  // --- cross-field rules ----------------------------------------------------------------------

  type EndpointInput = Omit<CreateOriginEndpointCommandInput, 'ChannelGroupName' | 'ChannelName' | 'OriginEndpointName'>;
  const T10 = new Date('2024-05-28T10:00:00Z');
  const T09 = new Date('2024-05-28T09:00:00Z');
  const RULES: { name: string; input: EndpointInput; type: string; hlsChannel?: boolean }[] = [
    { name: 'DASH on a TS endpoint', input: { ContainerType: 'TS', DashManifests: [{ ManifestName: 'd' }] }, type: 'TS_CONTAINER_TYPE_WITH_DASH_MANIFEST' },
    {
      name: 'the same manifest name in HLS and DASH',
      input: { ContainerType: 'CMAF', HlsManifests: [{ ManifestName: 'same' }], DashManifests: [{ ManifestName: 'same' }] },
      type: 'MANIFEST_NAME_COLLISION',
    },
    {
      name: 'ClipStartTime together with Start',
      input: { ContainerType: 'CMAF', HlsManifests: [{ ManifestName: 'h', FilterConfiguration: { ClipStartTime: T10, Start: T09 } }] },
      type: 'CLIP_START_TIME_WITH_START_OR_END',
    },
    {
      name: 'End earlier than Start',
      input: { ContainerType: 'CMAF', DashManifests: [{ ManifestName: 'd', FilterConfiguration: { Start: T10, End: T09 } }] },
      type: 'END_TIME_EARLIER_THAN_START_TIME',
    },
    {
      name: 'ManifestFilter "video_height:abc"',
      input: { ContainerType: 'CMAF', HlsManifests: [{ ManifestName: 'h', FilterConfiguration: { ManifestFilter: 'video_height:abc' } }] },
      type: 'INVALID_MANIFEST_FILTER',
    },
    {
      name: 'TsEncryptionMethod on a CMAF endpoint',
      input: { ContainerType: 'CMAF', Segment: { Encryption: { EncryptionMethod: { TsEncryptionMethod: 'AES_128' }, SpekeKeyProvider: SPEKE } } },
      type: 'ENCRYPTION_METHOD_CONTAINER_TYPE_MISMATCH',
    },
    {
      name: 'UtcTiming HTTP_HEAD without TimingSource',
      input: { ContainerType: 'CMAF', DashManifests: [{ ManifestName: 'd', UtcTiming: { TimingMode: 'HTTP_HEAD' } }] },
      type: 'TIMING_SOURCE_MISSING',
    },
    {
      name: "PeriodTriggers ['NONE', 'AVAILS']",
      input: { ContainerType: 'CMAF', DashManifests: [{ ManifestName: 'd', PeriodTriggers: ['NONE', 'AVAILS'] }] },
      type: 'PERIOD_TRIGGERS_NONE_SPECIFIED_WITH_ADDITIONAL_VALUES',
    },
    {
      name: 'ForceEndpointErrorConfiguration on an HLS-input channel',
      input: { ContainerType: 'TS', ForceEndpointErrorConfiguration: { EndpointErrorConditions: ['STALE_MANIFEST'] } },
      type: 'ONLY_CMAF_INPUT_TYPE_ALLOW_FORCE_ENDPOINT_ERROR_CONFIGURATION',
      hlsChannel: true,
    },
    { name: 'SegmentDurationSeconds 31', input: { ContainerType: 'TS', Segment: { SegmentDurationSeconds: 31 } }, type: 'MEMBER_MAX_VALUE' },
    { name: 'StartoverWindowSeconds 1209601', input: { ContainerType: 'TS', StartoverWindowSeconds: 1209601 }, type: 'MEMBER_MAX_VALUE' },
  ];

  RULES.forEach((rule, i) => {
    test(`rule: ${rule.name} → ValidationException ${rule.type} (on create and on update)`, async () => {
      const ch = `rule-${i}`;
      await channel(ch, rule.hlsChannel ? 'HLS' : 'CMAF');
      await expectError(c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: ch, OriginEndpointName: 'bad', ...rule.input })), validation(rule.type));
      await expectError(c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: ch, OriginEndpointName: 'bad' })), notFound('ORIGIN_ENDPOINT'));
      // The same configuration is refused as an update of a valid endpoint, which stays as it was.
      await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: ch, OriginEndpointName: 'ok', ContainerType: rule.input.ContainerType, Description: 'valid' }));
      await expectError(
        c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: ch, OriginEndpointName: 'ok', ...rule.input, ContainerType: rule.input.ContainerType })),
        validation(rule.type),
      );
      assert.equal((await c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: ch, OriginEndpointName: 'ok' }))).Description, 'valid');
    });
  });

  test('range boundaries are accepted: SegmentDurationSeconds 30, StartoverWindowSeconds 1209600', async () => {
    await channel('bounds');
    const res = await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'bounds',
        OriginEndpointName: 'max',
        ContainerType: 'TS',
        Segment: { SegmentDurationSeconds: 30 },
        StartoverWindowSeconds: 1209600,
      }),
    );
    assert.equal(res.Segment?.SegmentDurationSeconds, 30);
    assert.equal(res.StartoverWindowSeconds, 1209600);
  });

  // --- delete rules, quota, list ----------------------------------------------------------------

  test('deleting a channel that has origin endpoints is 409 RESOURCE_IN_USE; once empty it deletes', async () => {
    await channel('in-use');
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'in-use', OriginEndpointName: 'e', ContainerType: 'TS' }));
    await expectError(c.send(new DeleteChannelCommand({ ChannelGroupName: G, ChannelName: 'in-use' })), conflict('RESOURCE_IN_USE'));
    assert.equal((await c.send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: 'in-use' }))).ChannelName, 'in-use');
    await c.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'in-use', OriginEndpointName: 'e' }));
    assert.equal((await c.send(new DeleteChannelCommand({ ChannelGroupName: G, ChannelName: 'in-use' }))).$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: 'in-use' })), notFound('CHANNEL'));
  });

  test('origin endpoint quota (2 per channel): the 3rd is 402 ServiceQuotaExceededException; deleting one frees a slot', async () => {
    await channel('quota');
    for (const n of ['e1', 'e2']) await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'quota', OriginEndpointName: n, ContainerType: 'TS' }));
    await expectError(
      c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'quota', OriginEndpointName: 'e3', ContainerType: 'TS' })),
      { status: 402, name: 'ServiceQuotaExceededException' },
    );
    await expectError(c.send(new GetOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'quota', OriginEndpointName: 'e3' })), notFound('ORIGIN_ENDPOINT'));
    await c.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'quota', OriginEndpointName: 'e1' }));
    const e3 = await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'quota', OriginEndpointName: 'e3', ContainerType: 'TS' }));
    assert.equal(e3.OriginEndpointName, 'e3');
  });

  test('ListOriginEndpoints items carry only the list shape members', async () => {
    await channel('listing');
    await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'listing',
        OriginEndpointName: 'l-cmaf',
        ContainerType: 'CMAF',
        Description: 'listed',
        StartoverWindowSeconds: 600,
        Segment: { SegmentDurationSeconds: 2, SegmentName: 'seg' },
        HlsManifests: [{ ManifestName: 'h', ChildManifestName: 'hc', ManifestWindowSeconds: 30, ProgramDateTimeIntervalSeconds: 5 }],
        LowLatencyHlsManifests: [{ ManifestName: 'll', ChildManifestName: 'llc', ManifestWindowSeconds: 30 }],
        DashManifests: [{ ManifestName: 'd', ManifestWindowSeconds: 30, MinUpdatePeriodSeconds: 4 }],
        ForceEndpointErrorConfiguration: { EndpointErrorConditions: ['STALE_MANIFEST'] },
        Tags: { hidden: 'in-list' },
      }),
    );
    const ism = await raw(server, 'POST', `/channelGroup/${G}/channel/listing/originEndpoint`, {
      OriginEndpointName: 'l-ism',
      ContainerType: 'ISM',
      MssManifests: [{ ManifestName: 'm', ManifestWindowSeconds: 30, ManifestLayout: 'COMPACT' }],
    });
    assert.equal(ism.status, 200, JSON.stringify(ism.json));

    // Through the SDK (it passes manifest list items through as they came).
    const list = await c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'listing' }));
    assert.deepEqual(list.Items?.map((i) => i.OriginEndpointName), ['l-cmaf', 'l-ism']);
    const item = list.Items?.[0];
    assert.ok(item);
    assert.equal(item.Arn, `${ACCOUNT_PREFIX}channelGroup/${G}/channel/listing/originEndpoint/l-cmaf`);
    assert.equal(item.ChannelGroupName, G);
    assert.equal(item.ChannelName, 'listing');
    assert.equal(item.ContainerType, 'CMAF');
    assert.equal(item.Description, 'listed');
    assert.ok(item.CreatedAt instanceof Date && item.ModifiedAt instanceof Date);
    assert.deepEqual(item.ForceEndpointErrorConfiguration, { EndpointErrorConditions: ['STALE_MANIFEST'] });
    assert.deepEqual(item.HlsManifests?.map((m) => Object.keys(m).sort()), [['ChildManifestName', 'ManifestName', 'Url']]);
    assert.deepEqual(item.HlsManifests?.map((m) => [m.ManifestName, m.ChildManifestName]), [['h', 'hc']]);
    assert.deepEqual(item.LowLatencyHlsManifests?.map((m) => Object.keys(m).sort()), [['ChildManifestName', 'ManifestName', 'Url']]);
    assert.deepEqual(item.DashManifests?.map((m) => Object.keys(m).sort()), [['ManifestName', 'Url']]);
    assert.equal(item.DashManifests?.[0]?.ManifestName, 'd');

    // On the wire: top-level members are only those of OriginEndpointListConfiguration.
    const wire = await raw(server, 'GET', `/channelGroup/${G}/channel/listing/originEndpoint`);
    assert.equal(wire.status, 200);
    const items = wire.json['Items'] as Json[];
    assert.equal(items.length, 2);
    const allowed = new Set([
      'Arn', 'ChannelGroupName', 'ChannelName', 'OriginEndpointName', 'ContainerType', 'Description', 'CreatedAt', 'ModifiedAt',
      'HlsManifests', 'LowLatencyHlsManifests', 'DashManifests', 'MssManifests', 'ForceEndpointErrorConfiguration',
    ]);
    for (const it of items) {
      const extra = Object.keys(it).filter((k) => !allowed.has(k));
      assert.deepEqual(extra, [], `list item ${String(it['OriginEndpointName'])} has no members outside the list shape`);
    }
    const wireIsm = items.find((it) => it['OriginEndpointName'] === 'l-ism')!;
    assert.deepEqual((wireIsm['MssManifests'] as Json[]).map((m) => Object.keys(m).sort()), [['ManifestName', 'Url']]);
    assert.equal((wireIsm['MssManifests'] as Json[])[0]!['ManifestName'], 'm');
    assert.equal(wire.json['NextToken'], undefined);
  });

  test('list manifest Urls are {server.url}/out/v1/{group}/{channel}/{endpoint}/{manifest}.m3u8|.mpd|.ism/Manifest', async () => {
    await channel('list-urls');
    await c.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: 'list-urls',
        OriginEndpointName: 'cm',
        ContainerType: 'CMAF',
        HlsManifests: [{ ManifestName: 'h' }],
        LowLatencyHlsManifests: [{ ManifestName: 'll' }],
        DashManifests: [{ ManifestName: 'd' }],
      }),
    );
    const ism = await raw(server, 'POST', `/channelGroup/${G}/channel/list-urls/originEndpoint`, { OriginEndpointName: 'sm', ContainerType: 'ISM', MssManifests: [{ ManifestName: 'm' }] });
    assert.equal(ism.status, 200, JSON.stringify(ism.json));
    const wire = await raw(server, 'GET', `/channelGroup/${G}/channel/list-urls/originEndpoint`);
    const items = wire.json['Items'] as Json[];
    const urls = (name: string, list: string) => ((items.find((i) => i['OriginEndpointName'] === name)?.[list] as Json[] | undefined) ?? []).map((m) => m['Url']);
    assert.deepEqual(
      { hls: urls('cm', 'HlsManifests'), ll: urls('cm', 'LowLatencyHlsManifests'), dash: urls('cm', 'DashManifests'), mss: urls('sm', 'MssManifests') },
      {
        hls: [url('list-urls', 'cm', 'h', '.m3u8')],
        ll: [url('list-urls', 'cm', 'll', '.m3u8')],
        dash: [url('list-urls', 'cm', 'd', '.mpd')],
        mss: [url('list-urls', 'sm', 'm', '.ism/Manifest')],
      },
    );
  });

  test('paginateListOriginEndpoints with pageSize 1 returns every endpoint once, in name order; bad tokens and sizes are refused', async () => {
    await channel('pages');
    await channel('pages-other');
    for (const n of ['p-b', 'p-a']) await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'pages', OriginEndpointName: n, ContainerType: 'TS' }));
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'pages-other', OriginEndpointName: 'p-x', ContainerType: 'TS' }));
    const seen: string[] = [];
    const sizes: number[] = [];
    for await (const page of paginateListOriginEndpoints({ client: c, pageSize: 1 }, { ChannelGroupName: G, ChannelName: 'pages' })) {
      sizes.push(page.Items?.length ?? 0);
      for (const item of page.Items ?? []) seen.push(item.OriginEndpointName!);
    }
    assert.deepEqual(seen, ['p-a', 'p-b']);
    assert.deepEqual(sizes, [1, 1]);

    const first = await c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'pages', MaxResults: 1 }));
    assert.equal(typeof first.NextToken, 'string');
    await expectError(
      c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'pages-other', MaxResults: 1, NextToken: first.NextToken })),
      validation('INVALID_PAGINATION_TOKEN'),
    );
    await expectError(c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'pages', NextToken: 'garbage' })), validation('INVALID_PAGINATION_TOKEN'));
    for (const MaxResults of [0, 101]) {
      await expectError(c.send(new ListOriginEndpointsCommand({ ChannelGroupName: G, ChannelName: 'pages', MaxResults })), validation('INVALID_PAGINATION_MAX_RESULTS'));
    }
  });

  // --- policies -------------------------------------------------------------------------------

  test('channel policy: Get before Put is 404; Put (PUT), Get, replace, Delete; invalid policies are INVALID_POLICY', async () => {
    await channel('pol-ch');
    const arn = `${ACCOUNT_PREFIX}channelGroup/${G}/channel/pol-ch`;
    await expectError(c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' })), { status: 404, name: 'ResourceNotFoundException' });
    const policy = POLICY(arn, 'mediapackagev2:PutObject');
    const put = await c.send(new PutChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch', Policy: policy }));
    assert.equal(put.$metadata.httpStatusCode, 200);
    const got = await c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }));
    assert.equal(got.ChannelGroupName, G);
    assert.equal(got.ChannelName, 'pol-ch');
    assert.deepEqual(JSON.parse(got.Policy ?? 'null'), JSON.parse(policy));
    const replacement = POLICY(arn, 'mediapackagev2:*');
    await c.send(new PutChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch', Policy: replacement }));
    assert.deepEqual(JSON.parse((await c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }))).Policy ?? 'null'), JSON.parse(replacement));

    await expectError(c.send(new PutChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch', Policy: '{not json' })), invalidPolicy);
    await expectError(c.send(new PutChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch', Policy: '{"Version":"2012-10-17"}' })), invalidPolicy);
    assert.deepEqual(
      JSON.parse((await c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }))).Policy ?? 'null'),
      JSON.parse(replacement),
      'a refused policy leaves the stored one',
    );
    await expectError(c.send(new PutChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'no-such-channel', Policy: policy })), notFound('CHANNEL'));
    // Updating the channel keeps its policy.
    await c.send(new UpdateChannelCommand({ ChannelGroupName: G, ChannelName: 'pol-ch', Description: 'updated' }));
    assert.deepEqual(JSON.parse((await c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }))).Policy ?? 'null'), JSON.parse(replacement));

    const del = await c.send(new DeleteChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }));
    assert.equal(del.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' })), { status: 404, name: 'ResourceNotFoundException' });
    assert.equal((await c.send(new DeleteChannelPolicyCommand({ ChannelGroupName: G, ChannelName: 'pol-ch' }))).$metadata.httpStatusCode, 200);
  });

  test('origin endpoint policy: Get before Put is 404; Put (POST), Get, Delete; invalid policies are INVALID_POLICY', async () => {
    await channel('pol-ep-ch');
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'pol-ep-ch', OriginEndpointName: 'pe', ContainerType: 'TS' }));
    const ids = { ChannelGroupName: G, ChannelName: 'pol-ep-ch', OriginEndpointName: 'pe' };
    const arn = `${ACCOUNT_PREFIX}channelGroup/${G}/channel/pol-ep-ch/originEndpoint/pe`;
    await expectError(c.send(new GetOriginEndpointPolicyCommand(ids)), { status: 404, name: 'ResourceNotFoundException' });
    const policy = POLICY(arn);
    const put = await c.send(new PutOriginEndpointPolicyCommand({ ...ids, Policy: policy }));
    assert.equal(put.$metadata.httpStatusCode, 200);
    const got = await c.send(new GetOriginEndpointPolicyCommand(ids));
    assert.equal(got.ChannelGroupName, G);
    assert.equal(got.ChannelName, 'pol-ep-ch');
    assert.equal(got.OriginEndpointName, 'pe');
    assert.deepEqual(JSON.parse(got.Policy ?? 'null'), JSON.parse(policy));
    await expectError(c.send(new PutOriginEndpointPolicyCommand({ ...ids, Policy: 'not json at all' })), invalidPolicy);
    await expectError(c.send(new PutOriginEndpointPolicyCommand({ ...ids, Policy: '{"Id":"no statement"}' })), invalidPolicy);
    await expectError(c.send(new PutOriginEndpointPolicyCommand({ ...ids, OriginEndpointName: 'nope', Policy: policy })), notFound('ORIGIN_ENDPOINT'));
    const del = await c.send(new DeleteOriginEndpointPolicyCommand(ids));
    assert.equal(del.$metadata.httpStatusCode, 200);
    await expectError(c.send(new GetOriginEndpointPolicyCommand(ids)), { status: 404, name: 'ResourceNotFoundException' });
  });

  test('origin endpoint policy: CdnAuthConfiguration is stored and echoed (wire JSON)', async () => {
    await channel('cdn-auth');
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'cdn-auth', OriginEndpointName: 'ca', ContainerType: 'TS' }));
    const path = `/channelGroup/${G}/channel/cdn-auth/originEndpoint/ca/policy`;
    const policy = POLICY(`${ACCOUNT_PREFIX}channelGroup/${G}/channel/cdn-auth/originEndpoint/ca`);
    const cdn = {
      CdnIdentifierSecretArns: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:cdn-secret-AbCdEf'],
      SecretsRoleArn: 'arn:aws:iam::000000000000:role/cdn-secrets-reader',
    };
    const put = await raw(server, 'POST', path, { Policy: policy, CdnAuthConfiguration: cdn });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const got = await raw(server, 'GET', path);
    assert.equal(got.status, 200, JSON.stringify(got.json));
    assert.deepEqual(got.json['CdnAuthConfiguration'], cdn);
    assert.deepEqual(JSON.parse(String(got.json['Policy'])), JSON.parse(policy));
    assert.equal(got.json['OriginEndpointName'], 'ca');
    // Updating the endpoint's configuration keeps its policy and CDN authorization.
    await c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'cdn-auth', OriginEndpointName: 'ca', ContainerType: 'TS', Description: 'updated' }));
    const afterUpdate = await raw(server, 'GET', path);
    assert.equal(afterUpdate.status, 200, JSON.stringify(afterUpdate.json));
    assert.deepEqual(afterUpdate.json['CdnAuthConfiguration'], cdn);
    assert.deepEqual(JSON.parse(String(afterUpdate.json['Policy'])), JSON.parse(policy));
    // The SDK still reads the policy.
    assert.deepEqual(JSON.parse((await c.send(new GetOriginEndpointPolicyCommand({ ChannelGroupName: G, ChannelName: 'cdn-auth', OriginEndpointName: 'ca' }))).Policy ?? 'null'), JSON.parse(policy));
  });

  // --- tags -----------------------------------------------------------------------------------

  test('tags on a channel group, a channel and an origin endpoint: given on create, listed, tagged, untagged', async () => {
    const tg = 'tag-g';
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: tg, Tags: { level: 'group' } }));
    await c.send(new CreateChannelCommand({ ChannelGroupName: tg, ChannelName: 'tc', Tags: { level: 'channel' } }));
    await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: tg, ChannelName: 'tc', OriginEndpointName: 'te', ContainerType: 'TS', Tags: { level: 'endpoint' } }));
    const arns = {
      group: `${ACCOUNT_PREFIX}channelGroup/${tg}`,
      channel: `${ACCOUNT_PREFIX}channelGroup/${tg}/channel/tc`,
      endpoint: `${ACCOUNT_PREFIX}channelGroup/${tg}/channel/tc/originEndpoint/te`,
    };
    for (const [level, arn] of Object.entries(arns)) {
      const listed = await c.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
      assert.equal(listed.$metadata.httpStatusCode, 200);
      assert.deepEqual(listed.Tags, { level }, `${level}: tags given on create are listed`);
      const tagged = await c.send(new TagResourceCommand({ ResourceArn: arn, Tags: { a: '1', b: '2' } }));
      assert.equal(tagged.$metadata.httpStatusCode, 204);
      assert.deepEqual((await c.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { level, a: '1', b: '2' });
      await c.send(new TagResourceCommand({ ResourceArn: arn, Tags: { a: 'changed' } }));
      assert.deepEqual((await c.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { level, a: 'changed', b: '2' }, `${level}: TagResource overwrites a value`);
      const untagged = await c.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a', 'level', 'not-there'] }));
      assert.equal(untagged.$metadata.httpStatusCode, 204);
      assert.deepEqual((await c.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { b: '2' }, `${level}: UntagResource removes the named keys`);
    }
    // The resources' own reads see the same tags.
    assert.deepEqual((await c.send(new GetChannelGroupCommand({ ChannelGroupName: tg }))).Tags, { b: '2' });
    assert.deepEqual((await c.send(new GetChannelCommand({ ChannelGroupName: tg, ChannelName: 'tc' }))).Tags, { b: '2' });
    assert.deepEqual((await c.send(new GetOriginEndpointCommand({ ChannelGroupName: tg, ChannelName: 'tc', OriginEndpointName: 'te' }))).Tags, { b: '2' });
  });

  test('tag operations on an unknown ARN, an ARN of another Region or account, or a malformed ARN are ValidationException INVALID_ARN', async () => {
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'arn-g', Tags: { k: 'v' } }));
    // A group that really exists in eu-west-1 (group names are unique per Packhouse, so another name).
    await server.client({ region: 'eu-west-1' }).send(new CreateChannelGroupCommand({ ChannelGroupName: 'arn-west' }));
    const bad = [
      `${ACCOUNT_PREFIX}channelGroup/does-not-exist`,
      `${ACCOUNT_PREFIX}channelGroup/arn-g/channel/does-not-exist`,
      'arn:aws:mediapackagev2:eu-west-1:000000000000:channelGroup/arn-g',
      'arn:aws:mediapackagev2:eu-west-1:000000000000:channelGroup/arn-west',
      'arn:aws:mediapackagev2:us-east-1:111111111111:channelGroup/arn-g',
      'not-an-arn',
      'arn:aws:s3:::my-bucket',
      `${ACCOUNT_PREFIX}channel/arn-g`,
      `${ACCOUNT_PREFIX}channelGroup/arn-g/extra`,
    ];
    for (const arn of bad) {
      await expectError(c.send(new ListTagsForResourceCommand({ ResourceArn: arn })), invalidArn);
      await expectError(c.send(new TagResourceCommand({ ResourceArn: arn, Tags: { x: 'y' } })), invalidArn);
      await expectError(c.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['k'] })), invalidArn);
    }
    assert.deepEqual((await c.send(new ListTagsForResourceCommand({ ResourceArn: `${ACCOUNT_PREFIX}channelGroup/arn-g` }))).Tags, { k: 'v' }, 'nothing changed');
    assert.deepEqual((await server.client({ region: 'eu-west-1' }).send(new GetChannelGroupCommand({ ChannelGroupName: 'arn-west' }))).Tags, {});
  });

  test('a tag key starting with "aws:" is refused on TagResource and on create', async () => {
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'aws-prefix', Tags: { ok: 'yes' } }));
    const arn = `${ACCOUNT_PREFIX}channelGroup/aws-prefix`;
    await expectError(c.send(new TagResourceCommand({ ResourceArn: arn, Tags: { 'aws:createdBy': 'me' } })), { status: 400, name: 'ValidationException' });
    assert.deepEqual((await c.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, { ok: 'yes' });
    await expectError(c.send(new CreateChannelCommand({ ChannelGroupName: 'aws-prefix', ChannelName: 'ch', Tags: { 'aws:x': 'y' } })), { status: 400, name: 'ValidationException' });
    await expectError(c.send(new GetChannelCommand({ ChannelGroupName: 'aws-prefix', ChannelName: 'ch' })), notFound('CHANNEL'));
    await c.send(new CreateChannelCommand({ ChannelGroupName: 'aws-prefix', ChannelName: 'ch' }));
    await expectError(
      c.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'aws-prefix', ChannelName: 'ch', OriginEndpointName: 'e', ContainerType: 'TS', Tags: { 'AWS:upper': 'y' } })),
      { status: 400, name: 'ValidationException' },
    );
    await expectError(c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'aws-prefix-2', Tags: { 'aws:y': 'z' } })), { status: 400, name: 'ValidationException' });
    await expectError(c.send(new GetChannelGroupCommand({ ChannelGroupName: 'aws-prefix-2' })), notFound('CHANNEL_GROUP'));
  });
});
