/**
 * Invalid input is a 400 with the modelled type, never a 500: timestamps no calendar can hold
 * (1e308, 8.65e12 or -1e15 epoch seconds) in CreateHarvestJob and in a manifest's
 * FilterConfiguration, and bodies nested deeper than any request needs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/server.js';
import { rawApi, type RawResponse } from '../support/raw-api.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  const made = await rawApi(server.url, { method: 'POST', path: '/channelGroup', body: JSON.stringify({ ChannelGroupName: 'inv' }) });
  assert.equal(made.status, 200, made.text);
  const ch = await rawApi(server.url, { method: 'POST', path: '/channelGroup/inv/channel', body: JSON.stringify({ ChannelName: 'c' }) });
  assert.equal(ch.status, 200, ch.text);
  const ep = await rawApi(server.url, { method: 'POST', path: '/channelGroup/inv/channel/c/originEndpoint', body: JSON.stringify({ OriginEndpointName: 'e', ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }) });
  assert.equal(ep.status, 200, ep.text);
});

after(async () => {
  await server?.stop();
});

function assertValidation(r: RawResponse, what: string, field?: RegExp): void {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.headers['x-amzn-errortype'], 'ValidationException', what);
  const body = JSON.parse(r.text) as { message?: string; Message?: string };
  if (field) assert.match(body.message ?? body.Message ?? '', field, what);
}

const HUGE = ['1e308', '8.65e12', '-1e15', '253402300800', '-62167219201'];

test('CreateHarvestJob: StartTime and EndTime no calendar holds are 400 ValidationException naming the member', async () => {
  for (const t of HUGE) {
    for (const member of ['StartTime', 'EndTime']) {
      const now = Math.floor(Date.now() / 1000);
      const schedule = { StartTime: now - 600, EndTime: now - 60, [member]: '__T__' };
      const body = JSON.stringify({
        HarvestJobName: 'j',
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: schedule,
        Destination: { S3Destination: { BucketName: 'b', DestinationPath: 'p/' } },
      }).replace('"__T__"', t);
      const r = await rawApi(server.url, { method: 'POST', path: '/channelGroup/inv/channel/c/originEndpoint/e/harvestJob', body });
      assertValidation(r, `${member}=${t}`, new RegExp(`ScheduleConfiguration\\.${member} must be a timestamp`));
    }
  }
});

test('FilterConfiguration Start, End and ClipStartTime no calendar holds are 400 ValidationException on create and update', async () => {
  for (const t of HUGE) {
    for (const member of ['Start', 'End', 'ClipStartTime']) {
      const manifest = `{"ManifestName":"index","FilterConfiguration":{"${member}":${t}}}`;
      const create = await rawApi(server.url, { method: 'POST', path: '/channelGroup/inv/channel/c/originEndpoint', body: `{"OriginEndpointName":"f","ContainerType":"TS","StartoverWindowSeconds":3600,"HlsManifests":[${manifest}]}` });
      assertValidation(create, `create ${member}=${t}`, new RegExp(`FilterConfiguration\\.${member} must be a timestamp`));
      const update = await rawApi(server.url, { method: 'PUT', path: '/channelGroup/inv/channel/c/originEndpoint/e', body: `{"ContainerType":"TS","StartoverWindowSeconds":3600,"HlsManifests":[${manifest}]}` });
      assertValidation(update, `update ${member}=${t}`, new RegExp(`FilterConfiguration\\.${member} must be a timestamp`));
    }
  }
});

test('timestamps in years 0000-0099 keep their year', async () => {
  const body = '{"OriginEndpointName":"y50","ContainerType":"TS","StartoverWindowSeconds":3600,"HlsManifests":[{"ManifestName":"index","FilterConfiguration":{"ClipStartTime":"0050-06-01T00:00:00Z"}}]}';
  const r = await rawApi(server.url, { method: 'POST', path: '/channelGroup/inv/channel/c/originEndpoint', body });
  assert.equal(r.status, 200, r.text);
  const got = JSON.parse(r.text) as { HlsManifests: { FilterConfiguration: { ClipStartTime: number } }[] };
  assert.equal(new Date(got.HlsManifests[0]!.FilterConfiguration.ClipStartTime * 1000).toISOString(), '0050-06-01T00:00:00.000Z');
});

test('deeply nested arrays and objects in any member are a 400, not a stack overflow', async () => {
  for (const depth of [40, 1_000, 100_000]) {
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    for (const [what, path, body] of [
      ['Tags', '/channelGroup', `{"ChannelGroupName":"deep","Tags":${deep}}`],
      ['Description', '/channelGroup', `{"ChannelGroupName":"deep","Description":${deepObject}}`],
      ['StartTime', '/channelGroup/inv/channel/c/originEndpoint/e/harvestJob', `{"HarvestJobName":"d","HarvestedManifests":{"HlsManifests":[{"ManifestName":"index"}]},"ScheduleConfiguration":{"StartTime":${deep},"EndTime":1},"Destination":{"S3Destination":{"BucketName":"b","DestinationPath":"p/"}}}`],
      ['HlsManifests', '/channelGroup/inv/channel/c/originEndpoint', `{"OriginEndpointName":"f","ContainerType":"TS","HlsManifests":${deep}}`],
    ] as const) {
      const r = await rawApi(server.url, { method: 'POST', path, body });
      assertValidation(r, `${what} nested ${depth} deep`);
    }
  }
});
