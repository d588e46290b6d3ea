// Output and error serialization: wire names and Tags casing (API.md §1.5), epoch timestamps (§1.4),
// 204 and empty bodies (§1.3), error headers and body (§4.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { resolveSpecDir } from '../../scripts/codegen.js';
import { OPERATIONS, OPERATION_NAMES, SHAPES, type OperationName } from '../../src/api/generated/model.js';
import { serializeError, serializeOutput } from '../../src/api/protocol/serialize.js';
import type { ElementSpec } from '../../src/api/protocol/spec-types.js';
import { ConflictError, NotFoundError, ServiceError, ValidationError } from '../../src/domain/errors.js';

const CREATED = new Date(1716880000123);
const MODIFIED = new Date(1716880000000);

function bodyOf(op: OperationName, output: object): Record<string, unknown> {
  const res = serializeOutput(op, output);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  return JSON.parse(res.body) as Record<string, unknown>;
}

test('Tags go out under the key each output shape models (API.md §1.5)', () => {
  const lower: OperationName[] = ['GetChannelGroup', 'UpdateChannelGroup', 'UpdateChannel', 'UpdateOriginEndpoint', 'ListTagsForResource'];
  const upper: OperationName[] = [
    'CreateChannelGroup',
    'CreateChannel',
    'GetChannel',
    'CreateOriginEndpoint',
    'GetOriginEndpoint',
    'CreateHarvestJob',
    'GetHarvestJob',
  ];
  const tags = { k: 'v' };
  for (const op of lower) {
    const body = bodyOf(op, { Tags: tags });
    assert.deepEqual(body['tags'], tags, op);
    assert.equal(body['Tags'], undefined, op);
  }
  for (const op of upper) {
    const body = bodyOf(op, { Tags: tags });
    assert.deepEqual(body['Tags'], tags, op);
    assert.equal(body['tags'], undefined, op);
  }
});

test('timestamps are epoch seconds as JSON numbers with millisecond precision', () => {
  const res = serializeOutput('GetChannelGroup', {
    ChannelGroupName: 'g1',
    Arn: 'arn:aws:mediapackagev2:us-west-2:123456789012:channelGroup/g1',
    EgressDomain: 'example',
    CreatedAt: CREATED,
    ModifiedAt: MODIFIED,
    ETag: 'e',
  });
  assert.match(res.body, /"CreatedAt":1716880000\.123[,}]/);
  assert.match(res.body, /"ModifiedAt":1716880000[,}]/);
});

test('nested structures, lists and timestamps follow the shapes; list items carry no Tags', () => {
  const job = {
    ChannelGroupName: 'g1',
    ChannelName: 'c1',
    OriginEndpointName: 'e1',
    HarvestJobName: 'clip1',
    Arn: 'arn',
    HarvestedManifests: { HlsManifests: [{ ManifestName: 'index', internal: true }] },
    ScheduleConfiguration: { StartTime: new Date(1716876000000), EndTime: new Date(1716879600500) },
    Destination: { S3Destination: { BucketName: 'b', DestinationPath: 'p' } },
    CreatedAt: CREATED,
    ModifiedAt: CREATED,
    Status: 'QUEUED',
    ETag: 'etag',
    Tags: { k: 'v' },
  };
  const body = bodyOf('ListHarvestJobs', { Items: [job], NextToken: 'next' });
  assert.deepEqual(body, {
    Items: [
      {
        ChannelGroupName: 'g1',
        ChannelName: 'c1',
        OriginEndpointName: 'e1',
        HarvestJobName: 'clip1',
        Arn: 'arn',
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: 1716876000, EndTime: 1716879600.5 },
        Destination: { S3Destination: { BucketName: 'b', DestinationPath: 'p' } },
        CreatedAt: 1716880000.123,
        ModifiedAt: 1716880000.123,
        Status: 'QUEUED',
        ETag: 'etag',
      },
    ],
    NextToken: 'next',
  });
});

test('members outside the shape are dropped; undefined and null members are omitted', () => {
  const body = bodyOf('GetChannelPolicy', {
    ChannelGroupName: 'g1',
    ChannelName: 'c1',
    Policy: '{}',
    Description: undefined,
    secret: 'do not leak',
    internalId: 7,
    Extra: null,
  });
  assert.deepEqual(body, { ChannelGroupName: 'g1', ChannelName: 'c1', Policy: '{}' });
  assert.deepEqual(bodyOf('ListChannels', { Items: [], NextToken: null }), { Items: [] });
});

test('the botocore-only DASH availability start time is an ISO-8601 date-time string', () => {
  const body = bodyOf('GetOriginEndpoint', {
    DashManifests: [
      {
        ManifestName: 'd',
        Url: 'u',
        AvailabilityStartTimeConfiguration: { FixedAvailabilityStartTime: new Date('2024-06-01T00:00:00Z') },
      },
    ],
    UriSeparator: 'HYPHEN',
    CreatedAt: CREATED,
  });
  assert.deepEqual(body['DashManifests'], [
    { ManifestName: 'd', Url: 'u', AvailabilityStartTimeConfiguration: { FixedAvailabilityStartTime: '2024-06-01T00:00:00.000Z' } },
  ]);
  assert.equal(body['UriSeparator'], 'HYPHEN');
  assert.equal(body['CreatedAt'], 1716880000.123);
});

test('TagResource and UntagResource answer 204 with an empty body and no content-type', () => {
  for (const op of ['TagResource', 'UntagResource'] as const) {
    const res = serializeOutput(op, {});
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.equal(res.headers['content-type'], undefined);
  }
});

test('outputs without members answer 200 {}', () => {
  for (const op of OPERATION_NAMES) {
    const shape = SHAPES[OPERATIONS[op].output];
    if (shape?.type !== 'structure' || Object.keys(shape.members).length > 0 || OPERATIONS[op].successCode === 204) continue;
    const res = serializeOutput(op, { ignored: 1 });
    assert.deepEqual(res, { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' }, op);
  }
  assert.equal(serializeOutput('DeleteChannelGroup', {}).body, '{}');
  assert.equal(serializeOutput('CancelHarvestJob', {}).body, '{}');
});

/** The expected wire JSON of a model example output: wire keys, ISO timestamps as epoch seconds. */
function expectedWire(v: unknown, el: ElementSpec): unknown {
  const shape = SHAPES[el.target];
  if (shape === undefined || v === null) return v;
  if (shape.type === 'timestamp' && typeof v === 'string') {
    const d = new Date(v);
    return el.timestampFormat === 'date-time' ? d.toISOString() : d.getTime() / 1000;
  }
  if (shape.type === 'list' && Array.isArray(v)) return v.map((x) => expectedWire(x, shape.member));
  if (shape.type === 'map' && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expectedWire(x, shape.value)]));
  }
  if ((shape.type === 'structure' || shape.type === 'union') && typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(shape.members)
        .filter(([name]) => rec[name] !== undefined)
        .map(([name, m]) => [m.wireName, expectedWire(rec[name], m)]),
    );
  }
  return v;
}

/** A model example output as a handler would produce it: timestamps as Date. */
function withDates(v: unknown, el: ElementSpec): unknown {
  const shape = SHAPES[el.target];
  if (shape === undefined || v === null) return v;
  if (shape.type === 'timestamp' && typeof v === 'string') return new Date(v);
  if (shape.type === 'list' && Array.isArray(v)) return v.map((x) => withDates(x, shape.member));
  if (shape.type === 'map' && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withDates(x, shape.value)]));
  }
  if ((shape.type === 'structure' || shape.type === 'union') && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape.members[k] ? withDates(x, shape.members[k]) : x]));
  }
  return v;
}

test('the model example outputs serialize to their wire form', () => {
  const model = JSON.parse(readFileSync(path.join(resolveSpecDir(), 'mediapackagev2.smithy.json'), 'utf8')) as {
    shapes: Record<string, { traits?: Record<string, unknown> }>;
  };
  let count = 0;
  for (const op of OPERATION_NAMES) {
    const examples = model.shapes[`com.amazonaws.mediapackagev2#${op}`]?.traits?.['smithy.api#examples'];
    for (const ex of (examples ?? []) as Array<{ title: string; output?: Record<string, unknown> }>) {
      if (ex.output === undefined) continue;
      const target = { target: OPERATIONS[op].output };
      const res = serializeOutput(op, withDates(ex.output, target) as object);
      const body: unknown = res.status === 204 ? {} : JSON.parse(res.body);
      assert.deepEqual(body, expectedWire(ex.output, target), `${op}: ${ex.title}`);
      count++;
    }
  }
  assert.ok(count >= 25, `only ${count} example outputs found`);
});

test('errors carry x-amzn-ErrorType, Message, message, __type and the modelled fields (API.md §4.2)', () => {
  const res = serializeError(new ValidationError('MEMBER_MISSING', 'ChannelGroupName is required.'), 400);
  assert.equal(res.status, 400);
  assert.deepEqual(res.headers, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'ValidationException' });
  assert.deepEqual(JSON.parse(res.body), {
    Message: 'ChannelGroupName is required.',
    message: 'ChannelGroupName is required.',
    __type: 'ValidationException',
    ValidationExceptionType: 'MEMBER_MISSING',
  });

  const notFound = JSON.parse(serializeError(new NotFoundError('CHANNEL', 'Channel c1 not found.'), 404).body) as Record<string, unknown>;
  assert.equal(notFound['ResourceTypeNotFound'], 'CHANNEL');
  const conflict = JSON.parse(serializeError(new ConflictError('RESOURCE_IN_USE', 'in use'), 409).body) as Record<string, unknown>;
  assert.equal(conflict['ConflictExceptionType'], 'RESOURCE_IN_USE');
  const internal = serializeError(new ServiceError('InternalServerException', 'Internal error (request id r1).'), 500);
  assert.deepEqual(JSON.parse(internal.body), {
    Message: 'Internal error (request id r1).',
    message: 'Internal error (request id r1).',
    __type: 'InternalServerException',
  });
  assert.equal(internal.headers['x-amzn-ErrorType'], 'InternalServerException');
});
