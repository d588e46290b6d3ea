/**
 * Real players on repackaged output: hls.js and dash.js in Debian's headless Chromium play a CMAF
 * endpoint over a channel fed MPEG-TS (docs/design/010-packager.md), live (hls.js in low-latency
 * mode on LL-HLS, dash.js on the dynamic MPD) and time-shifted (a closed window of HLS and DASH,
 * played to its end).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/server.js';
import {
  closedWindowEnd,
  createLiveChannel,
  expectEncoderSuccess,
  findAll,
  get,
  parseXml,
  readMedia,
  startEncoder,
  startTeeProxy,
  waitFor,
  waitPastAnnounced,
  type EndpointSpec,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';
import { HAS_CHROMIUM, startBrowserPlayer, type BrowserPlayer, type PlayResult } from '../support/browser.js';

const G = 'players-ts';
const C = 'ch';
/** Long enough for both live players to start and play a few seconds on a loaded machine. */
const SECONDS = 24;
const LIVE_TARGET_SECONDS = 3;

const ENDPOINT: EndpointSpec = {
  OriginEndpointName: 'cmaf',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 4 },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
  LowLatencyHlsManifests: [{ ManifestName: 'low', ProgramDateTimeIntervalSeconds: 1 }],
  DashManifests: [{ ManifestName: 'dash', UtcTiming: { TimingMode: 'UTC_DIRECT' } }],
};

describe('real players in Chromium on TS input repackaged into CMAF (hls.js, dash.js)', () => {
  let server: TestServer;
  let tee: TeeProxy;
  let player: BrowserPlayer;
  let base: string;
  let query: string;
  let encoder: RunningProcess;
  let liveHls: Promise<PlayResult>;
  let liveDash: Promise<PlayResult>;

  before(async () => {
    assert.ok(HAS_CHROMIUM, 'Chromium is installed (README: apt-get install -y chromium)');
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [ENDPOINT]);
    base = `${server.url}/out/v1/${G}/${C}/cmaf`;
    tee = await startTeeProxy(server.url);
    player = await startBrowserPlayer();
    encoder = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: SECONDS });
    const started = Date.now();
    await waitFor('two output segments on the live playlist', async () => {
      const res = await get(`${base}/index_index_0.m3u8`);
      return res.status === 200 && readMedia(res.text).segments.length >= 2 ? true : undefined;
    }, 30_000);
    const firstPdt = readMedia((await get(`${base}/index_index_0.m3u8`)).text).segments[0]!.pdtMs!;
    const bound = () => Math.max(5000, started + SECONDS * 1000 - Date.now());
    liveHls = player.play('hls', `${base}/low.m3u8`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: bound(), lowLatency: true });
    liveDash = player.play('dash', `${base}/dash.mpd`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: bound() });
    await Promise.all([liveHls, liveDash]);
    await expectEncoderSuccess(encoder);
    await tee.settled();
    await waitPastAnnounced([tee]);
    query = `start=${Math.floor(firstPdt / 1000)}&end=${await closedWindowEnd([tee])}`;
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await player?.close();
    await tee?.close();
    await server?.stop();
  });

  test('hls.js in low-latency mode plays the live LL-HLS playlist of CMAF parts', async () => {
    const r = await liveHls;
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the live stream in ${r.wallSeconds} s`);
    assert.ok(r.decodedFrames > 30, `${r.decodedFrames} frames decoded`);
  });

  test('dash.js plays the live dynamic MPD', async () => {
    const r = await liveDash;
    assert.deepEqual(r.errors, [], JSON.stringify(r));
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the live stream in ${r.wallSeconds} s`);
    assert.ok(r.decodedFrames > 30, `${r.decodedFrames} frames decoded`);
  });

  test('dash.js plays the closed window (static MPD) to its end', async () => {
    const url = `${base}/dash.mpd?${query}`;
    const mpd = parseXml((await get(url)).text);
    assert.equal(findAll(mpd, 'Period').length, 1);
    const total = Number(/PT(?:(\d+)M)?([\d.]+)S/.exec(mpd.attrs['mediaPresentationDuration']!)!.slice(1).reduce((s, v, i) => s + (i === 0 ? Number(v ?? 0) * 60 : Number(v)), 0));
    const r = await player.play('dash', url, { untilSeconds: total - 1, rate: 4, timeoutMs: 40_000 });
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= total - 1 || r.ended, `played to ${r.currentTime} of ${total} s`);
  });

  test('hls.js plays the closed window of the HLS manifest to its end', async () => {
    const url = `${base}/index.m3u8?${query}`;
    const child = readMedia((await get(`${base}/index_index_0.m3u8?${query}`)).text);
    const total = child.segments.reduce((s, x) => s + x.duration, 0);
    const r = await player.play('hls', url, { untilSeconds: total - 1, rate: 4, timeoutMs: 40_000 });
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= total - 1 || r.ended, `played to ${r.currentTime} of ${total} s`);
  });
});
