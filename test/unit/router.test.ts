// Route table: every modelled method + URI, trailing slashes, raw-path label decoding (API.md §1.2, §1.6, §1.7).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { OPERATIONS, OPERATION_NAMES } from '../../src/api/generated/model.js';
import { matchRoute } from '../../src/api/protocol/router.js';
import { ValidationError } from '../../src/domain/errors.js';

/** The modelled URI with each `{Label}` replaced by `v-Label`. */
function concrete(uri: string): { path: string; labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  const path = uri.replace(/\{([^}]+)\}/g, (_, name: string) => {
    labels[name] = `v-${name}`;
    return `v-${name}`;
  });
  return { path, labels };
}

test('there are 30 operations', () => {
  assert.equal(OPERATION_NAMES.length, 30);
});

test('every operation is routed from its modelled method and URI, with and without a trailing slash', () => {
  for (const name of OPERATION_NAMES) {
    const { method, uri } = OPERATIONS[name];
    const { path, labels } = concrete(uri);
    const bare = path.endsWith('/') ? path.slice(0, -1) : path;
    for (const p of [bare, `${bare}/`]) {
      assert.deepEqual(matchRoute(method, p), { operation: name, labels }, `${method} ${p}`);
    }
  }
});

test('the three channel routes are modelled with a trailing slash and match without one', () => {
  for (const [method, op] of [
    ['GET', 'GetChannel'],
    ['PUT', 'UpdateChannel'],
    ['DELETE', 'DeleteChannel'],
  ] as const) {
    assert.ok(OPERATIONS[op].uri.endsWith('/'));
    assert.deepEqual(matchRoute(method, '/channelGroup/g1/channel/c1'), {
      operation: op,
      labels: { ChannelGroupName: 'g1', ChannelName: 'c1' },
    });
    assert.deepEqual(matchRoute(method, '/channelGroup/g1/channel/c1/'), {
      operation: op,
      labels: { ChannelGroupName: 'g1', ChannelName: 'c1' },
    });
  }
});

test('an encoded ARN stays in the ResourceArn label and is decoded after matching', () => {
  const raw = '/tags/arn%3Aaws%3Amediapackagev2%3Aus-east-1%3A123456789012%3AchannelGroup%2Fg1%2Fchannel%2Fc1';
  const arn = 'arn:aws:mediapackagev2:us-east-1:123456789012:channelGroup/g1/channel/c1';
  assert.deepEqual(matchRoute('GET', raw), { operation: 'ListTagsForResource', labels: { ResourceArn: arn } });
  assert.deepEqual(matchRoute('POST', raw), { operation: 'TagResource', labels: { ResourceArn: arn } });
  assert.deepEqual(matchRoute('DELETE', `${raw}?tagKeys=a&tagKeys=b`), {
    operation: 'UntagResource',
    labels: { ResourceArn: arn },
  });
});

test('the query string is ignored', () => {
  assert.deepEqual(matchRoute('GET', '/channelGroup?maxResults=5&nextToken=abc'), {
    operation: 'ListChannelGroups',
    labels: {},
  });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/harvestJob?channelName=c1&includeStatus=QUEUED'), {
    operation: 'ListHarvestJobs',
    labels: { ChannelGroupName: 'g1' },
  });
});

test('ListChannels vs GetChannel (API.md §1.7)', () => {
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel'), {
    operation: 'ListChannels',
    labels: { ChannelGroupName: 'g1' },
  });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel/'), {
    operation: 'ListChannels',
    labels: { ChannelGroupName: 'g1' },
  });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel/c1'), {
    operation: 'GetChannel',
    labels: { ChannelGroupName: 'g1', ChannelName: 'c1' },
  });
});

test('ListHarvestJobs lives under the channel group; the endpoint harvestJob collection is POST-only', () => {
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/harvestJob'), {
    operation: 'ListHarvestJobs',
    labels: { ChannelGroupName: 'g1' },
  });
  const collection = '/channelGroup/g1/channel/c1/originEndpoint/e1/harvestJob';
  assert.equal(routeOf('POST', collection), 'CreateHarvestJob');
  assert.deepEqual(matchRoute('GET', collection), { error: 'method-not-allowed' });
});

test('PUT on a harvest job is CancelHarvestJob, GET is GetHarvestJob, DELETE is not allowed', () => {
  const job = '/channelGroup/g1/channel/c1/originEndpoint/e1/harvestJob/j1';
  const labels = { ChannelGroupName: 'g1', ChannelName: 'c1', OriginEndpointName: 'e1', HarvestJobName: 'j1' };
  assert.deepEqual(matchRoute('PUT', job), { operation: 'CancelHarvestJob', labels });
  assert.deepEqual(matchRoute('GET', job), { operation: 'GetHarvestJob', labels });
  assert.deepEqual(matchRoute('DELETE', job), { error: 'method-not-allowed' });
});

test('PutChannelPolicy is PUT while PutOriginEndpointPolicy is POST', () => {
  assert.equal(routeOf('PUT', '/channelGroup/g/channel/c/policy'), 'PutChannelPolicy');
  assert.deepEqual(matchRoute('POST', '/channelGroup/g/channel/c/policy'), { error: 'method-not-allowed' });
  assert.equal(routeOf('POST', '/channelGroup/g/channel/c/originEndpoint/e/policy'), 'PutOriginEndpointPolicy');
  assert.deepEqual(matchRoute('PUT', '/channelGroup/g/channel/c/originEndpoint/e/policy'), { error: 'method-not-allowed' });
});

test('policy and reset are literals at a fixed depth and still legal resource names elsewhere', () => {
  assert.equal(routeOf('POST', '/channelGroup/g/channel/c/reset'), 'ResetChannelState');
  assert.equal(routeOf('GET', '/channelGroup/g/channel/c/policy'), 'GetChannelPolicy');
  assert.equal(routeOf('POST', '/channelGroup/g/channel/c/originEndpoint/e/reset'), 'ResetOriginEndpointState');
  assert.equal(routeOf('DELETE', '/channelGroup/g/channel/c/originEndpoint/e/policy'), 'DeleteOriginEndpointPolicy');
  assert.deepEqual(matchRoute('GET', '/channelGroup/policy/channel/reset'), {
    operation: 'GetChannel',
    labels: { ChannelGroupName: 'policy', ChannelName: 'reset' },
  });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g/channel/c/originEndpoint/policy'), {
    operation: 'GetOriginEndpoint',
    labels: { ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'policy' },
  });
});

test('methods are case-insensitive', () => {
  assert.equal(routeOf('get', '/channelGroup/g1'), 'GetChannelGroup');
});

test('unknown paths are not found; empty labels do not match', () => {
  assert.deepEqual(matchRoute('GET', '/'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/nope'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/unknown'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/channelGroup//channel'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/tags/'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel/c1//'), { error: 'not-found' });
  assert.deepEqual(matchRoute('PATCH', '/channelGroup/g1'), { error: 'method-not-allowed' });
});

test('a label that is not valid percent-encoding is a validation error', () => {
  assert.throws(
    () => matchRoute('GET', '/tags/arn%ZZ'),
    (err: unknown) => err instanceof ValidationError && err.type === 'MEMBER_INVALID' && err.message.includes('ResourceArn'),
  );
});

function routeOf(method: string, path: string): string | undefined {
  const m = matchRoute(method, path);
  return 'operation' in m ? m.operation : undefined;
}

test('a path with a dot segment matches nothing: the signature covers the path with dot segments resolved', () => {
  assert.deepEqual(matchRoute('GET', '/channelGroup/..'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel/.'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/channelGroup/g1/channel/c1/../c2'), { error: 'not-found' });
  assert.deepEqual(matchRoute('GET', '/tags/..'), { error: 'not-found' });
  // Dots inside a segment are not dot segments.
  assert.deepEqual(matchRoute('GET', '/channelGroup/..a'), { operation: 'GetChannelGroup', labels: { ChannelGroupName: '..a' } });
});
