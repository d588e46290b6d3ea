/**
 * Prometheus metrics at /metrics: scraped from a real server fed by a real ffmpeg encoder, the
 * ingest, egress and database counters move; who may read them follows --metrics and
 * --metrics-token.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel, expectEncoderSuccess, get, readMaster, readMedia, startEncoder, waitFor } from '../support/live.js';

const TOKEN = 'metrics-token-for-the-test-0123';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${url}/metrics`, { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** The sum of a metric's samples whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = new Map<string, string>();
    for (const x of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) have.set(x[1]!, x[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[2]);
  }
  return sum;
}

describe('metrics', () => {
  test('counters move with live ingest, origin requests and database work; a scrape needs the bearer token', async (t) => {
    const server = await startServer({ args: ['--metrics-token', TOKEN] });
    t.after(() => server.stop());
    const auth = { authorization: `Bearer ${TOKEN}` };

    const refused = await scrape(server.url);
    assert.equal(refused.status, 401, refused.text);
    assert.match(refused.text, /--metrics-token/);
    assert.equal((await scrape(server.url, { authorization: 'Bearer wrong-token-of-other-size' })).status, 401);

    const before = await scrape(server.url, auth);
    assert.equal(before.status, 200, before.text);
    assert.match(before.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(before.text, 'packhouse_ingest_segments_total'), 0);

    await createLiveChannel(server.client(), 'metrics', 'ch', [cmafEndpoint('e')]);
    const arn = 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/metrics/channel/ch';
    const encoder = startEncoder({ baseUrl: server.url, group: 'metrics', channel: 'ch', ingest: 1, segmentType: 'fmp4', seconds: 6 });
    t.after(() => encoder.kill());
    const during = await waitFor('segments counted for the channel', async () => {
      const s = await scrape(server.url, auth);
      return sample(s.text, 'packhouse_ingest_segments_total', { channel: arn }) >= 2 ? s.text : undefined;
    }, 60_000);
    assert.ok(sample(during, 'packhouse_ingest_bytes_total', { channel: arn }) > 1000, 'bytes counted');
    assert.ok(sample(during, 'packhouse_ingest_to_playlist_seconds_count', { channel: arn }) >= 1, 'ingest-to-playlist latency observed');
    await expectEncoderSuccess(encoder);

    // Origin: a manifest, a media playlist and a segment.
    const base = `${server.url}/out/v1/metrics/ch/e`;
    const master = await get(`${base}/index.m3u8`);
    assert.equal(master.status, 200);
    const child = readMaster(master.text).variants[0]!.uri;
    const media = await get(`${base}/${child}`);
    assert.equal(media.status, 200);
    const seg = readMedia(media.text).segments[0]!.uri;
    assert.equal((await get(`${base}/${seg}`)).status, 200);
    assert.equal((await get(`${base}/no-such-manifest.m3u8`)).status, 404);

    const after = (await scrape(server.url, auth)).text;
    assert.ok(sample(after, 'packhouse_egress_requests_total', { kind: 'manifest', status: '2xx' }) >= 2, 'manifests counted');
    assert.ok(sample(after, 'packhouse_egress_requests_total', { kind: 'segment', status: '2xx' }) >= 1, 'segments counted');
    assert.ok(sample(after, 'packhouse_egress_requests_total', { kind: 'manifest', status: '4xx' }) >= 1, 'a refused request counted by its status');
    assert.ok(sample(after, 'packhouse_egress_request_seconds_count', { kind: 'segment' }) >= 1);
    assert.ok(sample(after, 'packhouse_database_seconds_count', { op: 'transaction' }) >= 3, 'database transactions timed');
    assert.ok(sample(after, 'packhouse_database_seconds_count', { op: 'statement' }) >= 1, 'database statements timed');
    // Labels never carry a URL or a path.
    assert.doesNotMatch(after, /\/out\/v1|\.m3u8|\.mp4/);
    for (const name of ['packhouse_harvest_jobs_total', 'packhouse_harvest_bytes_total', 'packhouse_harvest_job_seconds']) assert.match(after, new RegExp(`# TYPE ${name} `));
  });

  test('by default only this machine may scrape (not through a proxy); --metrics off serves nothing', async (t) => {
    const local = await startServer();
    t.after(() => local.stop());
    assert.equal((await scrape(local.url)).status, 200);
    const proxied = await scrape(local.url, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(proxied.status, 403);
    assert.match(proxied.text, /--metrics-token/);

    const off = await startServer({ args: ['--metrics', 'off'] });
    t.after(() => off.stop());
    assert.equal((await scrape(off.url)).status, 404);
  });
});
