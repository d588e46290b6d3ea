/**
 * Origin query parameters are checked against their grammar (DATAPLANE.md §3.2, RFC 8216bis
 * §6.2.5) and what reaches a manifest is encoded: a value with an encoded line break cannot add a
 * variant to a multivariant playlist, a malformed value is a 400 naming the parameter (not a
 * misleading 404), and valid time-shift parameters still travel on to child playlists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateChannelCommand, CreateChannelGroupCommand } from '@aws-sdk/client-mediapackagev2';
import { signedRequest } from '../support/live.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { NO_FFMPEG } from '../support/media-fixtures.js';

let server: TestServer;
const SEGMENTS = 4;
let firstMs = 0;

before(async () => {
  if (NO_FFMPEG) return;
  const dir = tempDir();
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-f', 'mpegts', join(dir, 's.ts')]);
  const segment = readFileSync(join(dir, 's.ts'));
  server = await startServer();
  const c = server.client();
  await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'q' }));
  await c.send(new CreateChannelCommand({ ChannelGroupName: 'q', ChannelName: 'c' }));
  for (const [name, encode] of [['ts', false], ['tsenc', true]] as const) {
    // A raw request: the pinned SDK does not know UrlEncodeChildManifest and would drop it.
    const body = { OriginEndpointName: name, ContainerType: 'TS', StartoverWindowSeconds: 600, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index', UrlEncodeChildManifest: encode }] };
    const created = await signedRequest(server.url, 'POST', '/channelGroup/q/channel/c/originEndpoint', JSON.stringify(body));
    assert.equal(created.status, 200, created.text);
  }
  firstMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', `#EXT-X-PROGRAM-DATE-TIME:${new Date(firstMs).toISOString()}`];
  for (let i = 0; i < SEGMENTS; i++) {
    const put = await fetch(`${server.url}/in/v1/q/1/c/seg_${i}.ts`, { method: 'PUT', body: segment });
    assert.equal(put.status, 201);
    lines.push('#EXTINF:2.000,', `seg_${i}.ts`);
  }
  const pl = await fetch(`${server.url}/in/v1/q/1/c/video.m3u8`, { method: 'PUT', body: `${lines.join('\n')}\n` });
  assert.equal(pl.status, 201);
});

after(async () => {
  await server?.stop();
});

async function get(path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/out/v1/q/c/${path}`);
  return { status: res.status, text: await res.text() };
}

/** Every line of a playlist is a tag or a relative child URI of this endpoint: nothing was injected. */
function assertOnlyOwnLines(text: string): void {
  for (const line of text.split('\n').filter(Boolean)) {
    if (line.startsWith('#')) {
      assert.match(line, /^#EXT(M3U|-X-[A-Z-]+)(:.*)?$/, `a tag line: ${line}`);
      if (line.startsWith('#EXT-X-STREAM-INF')) assert.doesNotMatch(line, /evil/);
    } else {
      assert.match(line, /^index_video\.m3u8(\?[A-Za-z0-9\-._~:;,%=&]*)?$/, `a child playlist URI: ${line}`);
    }
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

test('an encoded line break in aws.manifestsettings or any time-shift value cannot add a variant: 400 naming the parameter', { skip: NO_FFMPEG }, async () => {
  const injected = encodeURIComponent('\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/x.m3u8');
  for (const [query, name] of [
    [`aws.manifestsettings=time_delay:0${injected}`, /aws\.manifestsettings time_delay/],
    [`aws.manifestsettings=start:${firstMs / 1000};end:${firstMs / 1000 + 6}${injected}`, /aws\.manifestsettings end/],
    [`start=${firstMs / 1000}${injected}`, /^start=/],
    [`end=${firstMs / 1000 + 6}${injected}`, /^end=/],
    [`time_delay=0${injected}`, /^time_delay=/],
    [`start=${firstMs / 1000}&start=${firstMs / 1000}${injected}`, /start is given 2 times/],
  ] as const) {
    for (const endpoint of ['ts', 'tsenc']) {
      const r = await get(`${endpoint}/index.m3u8?${query}`);
      assert.equal(r.status, 400, `${endpoint} ?${query}: ${r.text}`);
      assert.match(r.text, name, `${endpoint} ?${query}`);
      assert.doesNotMatch(r.text, /\n.+\n/, 'a one-line reason');
    }
  }
});

test('valid time-shift parameters travel on to child playlists, encoded where a character would change meaning, and those URIs work', { skip: NO_FFMPEG }, async () => {
  const start = iso(firstMs).replace('Z', '+00:00');
  const end = firstMs / 1000 + 6;
  const query = `start=${encodeURIComponent(start)}&end=${end}&aws.manifestsettings=${encodeURIComponent('time_delay:0')}`;
  const plain = await get(`ts/index.m3u8?${query}`);
  assert.equal(plain.status, 200, plain.text);
  assertOnlyOwnLines(plain.text);
  const child = plain.text.split('\n').find((l) => l.startsWith('index_video.m3u8'));
  // Alphabetical, unencoded except the '+' of the zone (a bare '+' would read as a space).
  assert.equal(child, `index_video.m3u8?aws.manifestsettings=time_delay:0&end=${end}&start=${start.replace('+', '%2B')}`);
  const encoded = await get(`tsenc/index.m3u8?${query}`);
  assert.equal(encoded.status, 200, encoded.text);
  assertOnlyOwnLines(encoded.text);
  const childEnc = encoded.text.split('\n').find((l) => l.startsWith('index_video.m3u8'));
  assert.equal(childEnc, `index_video.m3u8?aws.manifestsettings=time_delay%3A0&end=${end}&start=${encodeURIComponent(start)}`);
  for (const [endpoint, uri] of [['ts', child], ['tsenc', childEnc]] as const) {
    const media = await get(`${endpoint}/${uri}`);
    assert.equal(media.status, 200, `${endpoint}/${uri}: ${media.text}`);
    assert.match(media.text, /#EXT-X-ENDLIST/);
    assert.match(media.text, /segment_video_1\.ts/);
  }
});

test('manifest_window_seconds of abc, 0 or -100 is a 400 with a reason, not a 404; a whole number of seconds works', { skip: NO_FFMPEG }, async () => {
  for (const v of ['abc', '0', '-100', '1e3', '2.5', '']) {
    for (const path of [`ts/index.m3u8?manifest_window_seconds=${v}`, `ts/index_video.m3u8?manifest_window_seconds=${v}`, `ts/index.m3u8?aws.manifestsettings=manifest_window_seconds:${v}`]) {
      const r = await get(path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.match(r.text, /manifest_window_seconds.*whole number of seconds from 1/, path);
    }
  }
  const ok = await get(`ts/index_video.m3u8?manifest_window_seconds=600`);
  assert.equal(ok.status, 200, ok.text);
});

test('other malformed values are 400s naming the parameter; unknown parameters are ignored', { skip: NO_FFMPEG }, async () => {
  const cases: [string, RegExp][] = [
    ['start=x%205', /^start="x 5" is not a time/],
    ['start=1%2F2%2F50', /^start="1\/2\/50" is not a time/],
    ['end=2026-02-30T00:00:00Z', /^end=.* is not a time/],
    ['start=1e9', /^start="1e9" is not a time/],
    ['time_delay=-1', /^time_delay=.*whole number of seconds from 0/],
    ['aws.manifestsettings=bogus:1', /"bogus" is not a setting/],
    ['aws.manifestsettings=time_delay:1;time_delay:2', /gives time_delay more than once/],
    ['aws.manifestsettings=time_delay', /is not name:value/],
    [`aws.manifestsettings=${encodeURIComponent(`clip_start_time:${firstMs / 1000}`)}&start=${firstMs / 1000}`, /clip_start_time cannot be combined with start or end/],
    ['_HLS_skip=NO', /_HLS_skip="NO" is not valid/],
    ['aws.manifestfilter=audio_language:en%0A%23EXT', /manifest filter is invalid/],
  ];
  for (const [query, reason] of cases) {
    const r = await get(`ts/index.m3u8?${query}`);
    assert.equal(r.status, 400, `?${query}: ${r.text}`);
    assert.match(r.text, reason, `?${query}`);
  }
  const ignored = await get('ts/index.m3u8?cachebuster=%0Aevil&utm_source=x');
  assert.equal(ignored.status, 200, ignored.text);
  assertOnlyOwnLines(ignored.text);
  assert.doesNotMatch(ignored.text, /cachebuster/);
});

test('clip_start_time in aws.manifestsettings hides what came before it', { skip: NO_FFMPEG }, async () => {
  const all = await get('ts/index_video.m3u8');
  assert.equal(all.status, 200, all.text);
  assert.match(all.text, /segment_video_1\.ts/);
  const clipped = await get(`ts/index_video.m3u8?aws.manifestsettings=${encodeURIComponent(`clip_start_time:${firstMs / 1000 + 3}`)}`);
  assert.equal(clipped.status, 200, clipped.text);
  assert.doesNotMatch(clipped.text, /segment_video_[12]\.ts/);
  assert.match(clipped.text, /segment_video_3\.ts/);
});
