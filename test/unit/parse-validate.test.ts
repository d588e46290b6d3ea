// Input parsing (bindings, JSON body, timestamps; API.md §1.1, §1.4, §1.5) and constraint validation (§4.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { resolveSpecDir } from '../../scripts/codegen.js';
import { OPERATIONS, OPERATION_NAMES, SHAPES, type OperationName } from '../../src/api/generated/model.js';
import { parseInput, type WireRequest } from '../../src/api/protocol/parse.js';
import type { ElementSpec } from '../../src/api/protocol/spec-types.js';
import { validateInput } from '../../src/api/protocol/validate.js';
import { ValidationError } from '../../src/domain/errors.js';

function request(parts: Partial<Omit<WireRequest, 'body'>> & { body?: unknown }): WireRequest {
  const body =
    parts.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof parts.body === 'string' ? parts.body : JSON.stringify(parts.body));
  return { labels: parts.labels ?? {}, query: parts.query ?? new URLSearchParams(), headers: parts.headers ?? {}, body };
}

function parseAndValidate(op: OperationName, req: WireRequest): Record<string, unknown> {
  const input = parseInput(op, req);
  validateInput(op, input);
  return input;
}

/** Asserts that `fn` throws a ValidationError of `type` whose message matches `message` (exact string or regex). */
function assertInvalid(fn: () => unknown, type: string, message?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(err.fields['ValidationExceptionType'], type);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

const GROUP = { ChannelGroupName: 'g1' };
const CHANNEL = { ChannelGroupName: 'g1', ChannelName: 'c1' };
const ENDPOINT = { ...CHANNEL, OriginEndpointName: 'e1' };

/** A CreateOriginEndpoint call (the endpoint name travels in the body) with extra body members. */
function createEndpoint(body: Record<string, unknown>): () => Record<string, unknown> {
  return () =>
    parseAndValidate(
      'CreateOriginEndpoint',
      request({ labels: CHANNEL, body: { OriginEndpointName: 'e1', ContainerType: 'TS', ...body } }),
    );
}

function harvestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    HarvestJobName: 'clip1',
    HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
    ScheduleConfiguration: { StartTime: 1716876000, EndTime: 1716879600 },
    Destination: { S3Destination: { BucketName: 'my-bucket', DestinationPath: 'clips/clip1' } },
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// The model's own examples as test vectors

interface Example {
  readonly title: string;
  readonly input?: Record<string, unknown>;
}

function modelExamples(): Map<OperationName, Example[]> {
  const file = path.join(resolveSpecDir(), 'mediapackagev2.smithy.json');
  const model = JSON.parse(readFileSync(file, 'utf8')) as {
    shapes: Record<string, { type: string; traits?: Record<string, unknown> }>;
  };
  const out = new Map<OperationName, Example[]>();
  for (const [id, shape] of Object.entries(model.shapes)) {
    const name = id.slice(id.indexOf('#') + 1);
    const op = OPERATION_NAMES.find((n) => n === name);
    const examples = shape.traits?.['smithy.api#examples'];
    if (op !== undefined && Array.isArray(examples)) out.set(op, examples as Example[]);
  }
  return out;
}

/** Re-keys a member-name value to wire names (what a client sends in the JSON body). */
function toWireJson(v: unknown, el: ElementSpec): unknown {
  const shape = SHAPES[el.target];
  if (v === null || typeof v !== 'object' || shape === undefined) return v;
  if (shape.type === 'list' && Array.isArray(v)) return v.map((x) => toWireJson(x, shape.member));
  if (shape.type === 'map') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWireJson(x, shape.value)]));
  }
  if (shape.type === 'structure' || shape.type === 'union') {
    const rec = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(shape.members)
        .filter(([name]) => rec[name] !== undefined)
        .map(([name, m]) => [m.wireName, toWireJson(rec[name], m)]),
    );
  }
  return v;
}

/** The parsed form of an example input: timestamps (ISO in the examples) as Date. */
function expectedInput(v: unknown, el: ElementSpec): unknown {
  const shape = SHAPES[el.target];
  if (shape === undefined || v === null) return v;
  if (shape.type === 'timestamp' && typeof v === 'string') return new Date(v);
  if (shape.type === 'list' && Array.isArray(v)) return v.map((x) => expectedInput(x, shape.member));
  if (shape.type === 'map' && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expectedInput(x, shape.value)]));
  }
  if ((shape.type === 'structure' || shape.type === 'union') && typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(shape.members)
        .filter(([name]) => rec[name] !== undefined)
        .map(([name, m]) => [name, expectedInput(rec[name], m)]),
    );
  }
  return v;
}

/** Puts an example input on the wire as an SDK would: labels, query, headers and JSON body. */
function wireFromExample(op: OperationName, input: Record<string, unknown>): WireRequest {
  const shape = SHAPES[OPERATIONS[op].input];
  assert.ok(shape?.type === 'structure');
  const labels: Record<string, string> = {};
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  let hasBody = false;
  for (const [name, m] of Object.entries(shape.members)) {
    if (m.location === 'body') hasBody = true;
    const v = input[name];
    if (v === undefined) continue;
    const text = (x: unknown): string => (typeof x === 'string' ? x : JSON.stringify(x));
    if (m.location === 'label') labels[m.wireName] = text(v);
    else if (m.location === 'query') for (const x of Array.isArray(v) ? v : [v]) query.append(m.wireName, text(x));
    else if (m.location === 'header') headers[m.wireName] = text(v);
    else body[m.wireName] = toWireJson(v, m);
  }
  return { labels, query, headers, body: hasBody ? Buffer.from(JSON.stringify(body)) : Buffer.alloc(0) };
}

test('every operation has at least one model example, and every example input passes parse + validate', () => {
  const examples = modelExamples();
  let count = 0;
  for (const op of OPERATION_NAMES) {
    const list = examples.get(op) ?? [];
    assert.ok(list.length > 0, `${op} has no example`);
    for (const ex of list) {
      if (ex.input === undefined) continue;
      const input = OPERATIONS[op].input;
      const parsed = parseAndValidate(op, wireFromExample(op, ex.input));
      assert.deepEqual(parsed, expectedInput(ex.input, { target: input }), `${op}: ${ex.title}`);
      count++;
    }
  }
  assert.ok(count >= 30, `only ${count} example inputs found`);
});

// ---------------------------------------------------------------------------------------------
// Bindings

test('labels, repeated query keys and case-insensitive headers bind to their members', () => {
  const arn = 'arn:aws:mediapackagev2:us-east-1:123456789012:channelGroup/g1';
  const untag = parseAndValidate(
    'UntagResource',
    request({ labels: { ResourceArn: arn }, query: new URLSearchParams('tagKeys=a&tagKeys=b') }),
  );
  assert.deepEqual(untag, { ResourceArn: arn, TagKeys: ['a', 'b'] });

  const created = parseAndValidate(
    'CreateChannelGroup',
    request({ headers: { 'X-Amzn-Client-Token': 'tok-1' }, body: { ChannelGroupName: 'g1' } }),
  );
  assert.deepEqual(created, { ChannelGroupName: 'g1', ClientToken: 'tok-1' });

  const cancel = parseAndValidate(
    'CancelHarvestJob',
    request({ labels: { ...ENDPOINT, HarvestJobName: 'j1' }, headers: { 'x-amzn-update-if-match': ['etag-1'] } }),
  );
  assert.equal(cancel['ETag'], 'etag-1');
});

test('query integers are parsed from decimal strings; query keys differ from member names', () => {
  const input = parseAndValidate(
    'ListHarvestJobs',
    request({
      labels: GROUP,
      query: new URLSearchParams('channelName=c1&originEndpointName=e1&includeStatus=QUEUED&maxResults=5&nextToken=t'),
    }),
  );
  assert.deepEqual(input, {
    ChannelGroupName: 'g1',
    ChannelName: 'c1',
    OriginEndpointName: 'e1',
    Status: 'QUEUED',
    MaxResults: 5,
    NextToken: 't',
  });
});

test('operations without body members accept an empty body, {} or anything else', () => {
  for (const body of [undefined, '{}', '', 'not json']) {
    assert.deepEqual(parseAndValidate('GetChannelGroup', request({ labels: GROUP, body })), GROUP);
  }
});

test('a body that is not JSON or not an object is MEMBER_INVALID on operations with body members', () => {
  assertInvalid(() => parseInput('CreateChannelGroup', request({ body: '{"ChannelGroupName": ' })), 'MEMBER_INVALID', /not valid JSON/);
  assertInvalid(() => parseInput('CreateChannelGroup', request({ body: '[1]' })), 'MEMBER_INVALID', /must be a JSON object, not an array/);
  assertInvalid(() => parseInput('CreateChannelGroup', request({ body: 'null' })), 'MEMBER_INVALID', /not null/);
  assertInvalid(() => parseInput('CreateChannelGroup', request({ body: '"x"' })), 'MEMBER_INVALID', /not a string/);
});

test('an empty body on an operation with body members parses to {} and then misses required members', () => {
  assert.deepEqual(parseInput('CreateChannelGroup', request({})), {});
  assertInvalid(() => parseAndValidate('CreateChannelGroup', request({})), 'MEMBER_MISSING', 'ChannelGroupName is required.');
});

test('Tags are read under the modelled key and under the other casing (API.md §1.5)', () => {
  const tags = { k: 'v' };
  for (const key of ['tags', 'Tags']) {
    assert.deepEqual(parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', [key]: tags } }))['Tags'], tags);
    assert.deepEqual(parseAndValidate('TagResource', request({ labels: { ResourceArn: 'arn' }, body: { [key]: tags } }))['Tags'], tags);
    const job = parseAndValidate('CreateHarvestJob', request({ labels: ENDPOINT, body: harvestBody({ [key]: tags }) }));
    assert.deepEqual(job['Tags'], tags);
  }
});

test('a map key named __proto__ is kept as data', () => {
  const input = parseInput('TagResource', request({ labels: { ResourceArn: 'arn' }, body: '{"tags":{"__proto__":"x"}}' }));
  const tags = input['Tags'] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(tags), Object.prototype);
  assert.deepEqual(Object.keys(tags), ['__proto__']);
});

test('body timestamps: integer and fractional epoch seconds and ISO-8601 strings become Dates', () => {
  for (const [start, expected] of [
    [1716876000, 1716876000000],
    [1716876000.123, 1716876000123],
    ['2024-05-28T06:00:00Z', 1716876000000],
    ['2024-05-28T06:00:00.5+00:00', 1716876000500],
  ] as const) {
    const input = parseAndValidate(
      'CreateHarvestJob',
      request({ labels: ENDPOINT, body: harvestBody({ ScheduleConfiguration: { StartTime: start, EndTime: 1716879600 } }) }),
    );
    const schedule = input['ScheduleConfiguration'] as { StartTime: Date; EndTime: Date };
    assert.ok(schedule.StartTime instanceof Date);
    assert.equal(schedule.StartTime.getTime(), expected);
  }
});

test('the date-time timestamp of the DASH availability start time union accepts ISO strings', () => {
  const input = parseAndValidate(
    'CreateOriginEndpoint',
    request({
      labels: CHANNEL,
      body: {
        OriginEndpointName: 'e1',
        ContainerType: 'CMAF',
        DashManifests: [
          { ManifestName: 'dash', AvailabilityStartTimeConfiguration: { FixedAvailabilityStartTime: '2024-06-01T00:00:00Z' } },
        ],
      },
    }),
  );
  const dash = (input['DashManifests'] as Array<Record<string, { FixedAvailabilityStartTime: Date }>>)[0];
  assert.equal(dash?.['AvailabilityStartTimeConfiguration']?.FixedAvailabilityStartTime.toISOString(), '2024-06-01T00:00:00.000Z');
});

test('unknown members are ignored', () => {
  const input = parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', Extra: 1, Nested: { a: 1 } } }));
  assert.deepEqual(input, { ChannelGroupName: 'g1' });
  validateInput('CreateChannelGroup', { ChannelGroupName: 'g1', Whatever: 42 });
});

// ---------------------------------------------------------------------------------------------
// Validation types and messages (API.md §4.3)

test('MEMBER_MISSING names the path of the missing member', () => {
  assertInvalid(() => validateInput('GetChannel', { ChannelGroupName: 'g1' }), 'MEMBER_MISSING', 'ChannelName is required.');
  assertInvalid(
    () =>
      parseAndValidate(
        'CreateHarvestJob',
        request({ labels: ENDPOINT, body: harvestBody({ Destination: { S3Destination: { BucketName: 'my-bucket' } } }) }),
      ),
    'MEMBER_MISSING',
    'Destination.S3Destination.DestinationPath is required.',
  );
  assertInvalid(() => validateInput('UntagResource', { ResourceArn: 'arn' }), 'MEMBER_MISSING', 'tagKeys is required.');
});

test('MEMBER_INVALID for wrong JSON types, non-integers and bad timestamps', () => {
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', Description: 5 } })),
    'MEMBER_INVALID',
    'Description must be a string, not a number.',
  );
  assertInvalid(
    createEndpoint({ StartoverWindowSeconds: 1.5 }),
    'MEMBER_INVALID',
    'StartoverWindowSeconds must be an integer, not 1.5.',
  );
  assertInvalid(
    createEndpoint({ StartoverWindowSeconds: '60' }),
    'MEMBER_INVALID',
    /StartoverWindowSeconds must be an integer, not a string/,
  );
  assertInvalid(
    () =>
      parseAndValidate(
        'CreateHarvestJob',
        request({ labels: ENDPOINT, body: harvestBody({ ScheduleConfiguration: { StartTime: 'yesterday', EndTime: 1716879600 } }) }),
      ),
    'MEMBER_INVALID',
    /^ScheduleConfiguration\.StartTime must be a timestamp/,
  );
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', tags: ['a'] } })),
    'MEMBER_INVALID',
    'tags must be an object, not an array.',
  );
  assertInvalid(
    () => parseAndValidate('CreateHarvestJob', request({ labels: ENDPOINT, body: harvestBody({ HarvestedManifests: { HlsManifests: {} } }) })),
    'MEMBER_INVALID',
    'HarvestedManifests.HlsManifests must be an array, not an object.',
  );
  assertInvalid(
    () => parseAndValidate('TagResource', request({ labels: { ResourceArn: 'arn' }, body: { tags: { k: 1 } } })),
    'MEMBER_INVALID',
    'tags["k"] must be a string, not a number.',
  );
});

test('MEMBER_MIN_LENGTH / MEMBER_MAX_LENGTH for strings (characters) and lists (entries)', () => {
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', Description: 'x'.repeat(1100) } })),
    'MEMBER_MAX_LENGTH',
    'Description is 1100 characters long; the maximum is 1024.',
  );
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: '' } })),
    'MEMBER_MIN_LENGTH',
    'ChannelGroupName is 0 characters long; the minimum is 1.',
  );
  // 1024 astral characters are 2048 UTF-16 units but still within the limit.
  parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'g1', Description: '🎬'.repeat(1024) } }));
  assertInvalid(
    createEndpoint({ Segment: { Scte: { CustomAdTypes: Array(26).fill('PROGRAM') } } }),
    'MEMBER_MAX_LENGTH',
    'Segment.Scte.CustomAdTypes has 26 entries; the maximum is 25.',
  );
  assertInvalid(
    () =>
      parseAndValidate(
        'CreateHarvestJob',
        request({
          labels: ENDPOINT,
          body: harvestBody({ Destination: { S3Destination: { BucketName: 'ab', DestinationPath: 'p' } } }),
        }),
      ),
    'MEMBER_MIN_LENGTH',
    'Destination.S3Destination.BucketName is 2 characters long; the minimum is 3.',
  );
});

test('MEMBER_MIN_VALUE / MEMBER_MAX_VALUE for ranges', () => {
  const endpoint = (seconds: number) => createEndpoint({ StartoverWindowSeconds: seconds });
  assertInvalid(endpoint(-1), 'MEMBER_MIN_VALUE', 'StartoverWindowSeconds is -1; the minimum is 0.');
  assertInvalid(endpoint(1209601), 'MEMBER_MAX_VALUE', 'StartoverWindowSeconds is 1209601; the maximum is 1209600.');
  endpoint(1209600)();
  assertInvalid(
    createEndpoint({ Segment: { SegmentDurationSeconds: 31 } }),
    'MEMBER_MAX_VALUE',
    'Segment.SegmentDurationSeconds is 31; the maximum is 30.',
  );
});

test('MEMBER_INVALID_ENUM_VALUE lists the allowed values, including those merged from botocore', () => {
  assertInvalid(
    createEndpoint({ ContainerType: 'MP4' }),
    'MEMBER_INVALID_ENUM_VALUE',
    'ContainerType "MP4" is not a valid value; it must be one of TS, CMAF, ISM.',
  );
  assertInvalid(
    () => parseAndValidate('ListHarvestJobs', request({ labels: GROUP, query: new URLSearchParams('includeStatus=DONE') })),
    'MEMBER_INVALID_ENUM_VALUE',
    /^includeStatus "DONE" is not a valid value/,
  );
  createEndpoint({
    UriSeparator: 'HYPHEN',
    Segment: { Scte: { ScteFilter: ['PROVIDER_PROMO'], ScteInSegments: 'MATCHES_FILTER' } },
  })();
});

test('MEMBER_DOES_NOT_MATCH_PATTERN explains the pattern and names nested paths', () => {
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { ChannelGroupName: 'my group' } })),
    'MEMBER_DOES_NOT_MATCH_PATTERN',
    'ChannelGroupName "my group" is invalid: it must match ^[a-zA-Z0-9_-]+$ (letters, digits, hyphens and underscores only).',
  );
  assertInvalid(
    () =>
      parseAndValidate(
        'CreateHarvestJob',
        request({
          labels: ENDPOINT,
          body: harvestBody({ HarvestedManifests: { HlsManifests: [{ ManifestName: 'ok' }, { ManifestName: 'bad name' }] } }),
        }),
      ),
    'MEMBER_DOES_NOT_MATCH_PATTERN',
    'HarvestedManifests.HlsManifests[1].ManifestName "bad name" is invalid: it must match ^[a-zA-Z0-9_-]+$ (letters, digits, hyphens and underscores only).',
  );
  assertInvalid(
    createEndpoint({ HlsManifests: [{ ManifestName: 'bad_name' }] }),
    'MEMBER_DOES_NOT_MATCH_PATTERN',
    'HlsManifests[0].ManifestName "bad_name" is invalid: it must match ^[a-zA-Z0-9-]+$ (letters, digits and hyphens only).',
  );
  assertInvalid(
    () => parseAndValidate('GetChannel', request({ labels: { ChannelGroupName: 'g1', ChannelName: 'c 1' } })),
    'MEMBER_DOES_NOT_MATCH_PATTERN',
    /^ChannelName "c 1" is invalid/,
  );
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ headers: { 'x-amzn-client-token': 'has space' }, body: { ChannelGroupName: 'g1' } })),
    'MEMBER_DOES_NOT_MATCH_PATTERN',
    'x-amzn-client-token "has space" is invalid: it must match ^[\\S]+$ (no whitespace).',
  );
});

test('maxResults out of range or not an integer is INVALID_PAGINATION_MAX_RESULTS', () => {
  for (const op of ['ListChannelGroups', 'ListChannels', 'ListOriginEndpoints', 'ListHarvestJobs'] as const) {
    for (const bad of ['0', '101', '1000', 'abc', '1.5', '']) {
      assertInvalid(
        () => parseAndValidate(op, request({ labels: ENDPOINT, query: new URLSearchParams({ maxResults: bad }) })),
        'INVALID_PAGINATION_MAX_RESULTS',
        /^maxResults /,
      );
    }
    const ok = parseAndValidate(op, request({ labels: ENDPOINT, query: new URLSearchParams({ maxResults: '100' }) }));
    assert.equal(ok['MaxResults'], 100);
  }
});

test('a union must set exactly one member', () => {
  const withAst = (ast: unknown) =>
    createEndpoint({ ContainerType: 'CMAF', DashManifests: [{ ManifestName: 'd', AvailabilityStartTimeConfiguration: ast }] });
  assertInvalid(withAst({}), 'MEMBER_INVALID', /^DashManifests\[0\]\.AvailabilityStartTimeConfiguration must set exactly one of FixedAvailabilityStartTime/);
  assertInvalid(withAst({ Other: 1 }), 'MEMBER_INVALID', /sets none/);
  assertInvalid(withAst({ FixedAvailabilityStartTime: 'soon' }), 'MEMBER_INVALID', /ISO-8601/);
  withAst({ FixedAvailabilityStartTime: '2024-06-01T00:00:00Z' })();
});

test('the first failure in model member order is reported', () => {
  assertInvalid(
    () => parseAndValidate('CreateChannelGroup', request({ body: { Description: 5 } })),
    'MEMBER_MISSING',
    'ChannelGroupName is required.',
  );
});
