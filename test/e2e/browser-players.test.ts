/**
 * Real players: dash.js and hls.js in Debian's headless Chromium play Packhouse's origin output.
 * A CMAF endpoint with 4 s output segments (two 2 s input segments each) carries HLS, LL-HLS and
 * DASH. ffmpeg pushes session A, stops, and session B starts again from media time 0 (an encoder
 * restart); a closed window over both sessions is a two-period static MPD and an HLS playlist with
 * one EXT-X-DISCONTINUITY. Each player must play across the restart to the end without an error;
 * while session B runs, hls.js in low-latency mode plays the live LL-HLS playlist and dash.js the
 * live MPD, whose window then spans both sessions.
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

const G = 'players';
const C = 'ch';
const SESSION_SECONDS = 10;
/**
 * Session B runs long enough for both live players to start and play a few seconds on a loaded
 * machine (loading a player page, its first manifest and segments can take many seconds there).
 */
const SESSION_B_SECONDS = 24;
/** Seconds of live stream each live player must play; it stops as soon as it has. */
const LIVE_TARGET_SECONDS = 3;

const ENDPOINT: EndpointSpec = {
  OriginEndpointName: 'cmaf',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 4 },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
  LowLatencyHlsManifests: [{ ManifestName: 'low', ProgramDateTimeIntervalSeconds: 1 }],
  // The clock in the MPD itself: without a UTCTiming element dash.js asks time.akamai.com, which a
  // closed network (this one) does not reach.
  DashManifests: [{ ManifestName: 'dash', UtcTiming: { TimingMode: 'UTC_DIRECT' } }],
};

describe('real players in Chromium (dash.js, hls.js)', () => {
  let server: TestServer;
  let tee: TeeProxy;
  let player: BrowserPlayer;
  let base: string;
  let query: string;
  let sessionB: RunningProcess;
  let liveHls: Promise<PlayResult>;
  let liveDash: Promise<PlayResult>;
  let liveDashMpd: string;

  before(async () => {
    assert.ok(HAS_CHROMIUM, 'Chromium is installed (README: apt-get install -y chromium)');
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [ENDPOINT]);
    base = `${server.url}/out/v1/${G}/${C}/cmaf`;
    tee = await startTeeProxy(server.url);
    player = await startBrowserPlayer();
    await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SESSION_SECONDS, uniqueNames: true }), 'session A');
    await tee.settled();
    const firstPdt = readMedia((await get(`${base}/index_index_0.m3u8`)).text).segments[0]!.pdtMs!;
    sessionB = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SESSION_B_SECONDS, uniqueNames: true, look: 'b' });
    const sessionBStarted = Date.now();
    // Live, while session B runs: hls.js in low-latency mode on the LL-HLS playlist.
    await waitFor('session B on the LL-HLS playlist', async () => {
      const p = readMedia((await get(`${base}/low_index_0.m3u8`)).text);
      return p.segments.some((s) => s.discontinuity) || p.lines.some((l) => l === '#EXT-X-DISCONTINUITY') ? true : undefined;
    });
    // Both live players at once, in two pages: hls.js on LL-HLS, dash.js on the dynamic MPD, whose
    // window now holds the end of session A and the start of session B (two periods).
    // Each stops once it has played LIVE_TARGET_SECONDS, bounded by what is left of session B.
    const liveBoundMs = () => Math.max(5000, sessionBStarted + SESSION_B_SECONDS * 1000 - Date.now());
    liveHls = player.play('hls', `${base}/low.m3u8`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: liveBoundMs(), lowLatency: true });
    liveDashMpd = (await get(`${base}/dash.mpd`)).text;
    liveDash = player.play('dash', `${base}/dash.mpd`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: liveBoundMs() });
    await Promise.all([liveHls, liveDash]);
    await expectEncoderSuccess(sessionB, 'session B');
    await tee.settled();
    await waitPastAnnounced([tee]);
    query = `start=${firstPdt / 1000}&end=${await closedWindowEnd([tee])}`;
  });

  after(async () => {
    await sessionB?.kill('SIGKILL');
    await player?.close();
    await tee?.close();
    await server?.stop();
  });

  test('Chromium decodes the stream\'s H.264 and AAC through Media Source Extensions', async () => {
    assert.ok(await player.canPlay('video/mp4; codecs="avc1.64001e"'));
    assert.ok(await player.canPlay('audio/mp4; codecs="mp4a.40.2"'));
  });

  test('hls.js in low-latency mode plays the live LL-HLS playlist', async () => {
    const r = await liveHls;
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the live stream in ${r.wallSeconds} s`);
    assert.ok(r.decodedFrames > 10, `${r.decodedFrames} frames decoded`);
  });

  test('dash.js plays the live, two-period dynamic MPD', async () => {
    assert.equal(findAll(parseXml(liveDashMpd), 'Period').length, 2, liveDashMpd);
    const r = await liveDash;
    assert.deepEqual(r.errors, [], JSON.stringify(r));
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the live stream in ${r.wallSeconds} s`);
    assert.ok(r.decodedFrames > 10, `${r.decodedFrames} frames decoded`);
  });

  test('dash.js plays the two-period MPD across the restart to its end', async () => {
    const url = `${base}/dash.mpd?${query}`;
    const mpd = parseXml((await get(url)).text);
    const periods = findAll(mpd, 'Period');
    assert.equal(periods.length, 2);
    const total = Number(/PT(?:(\d+)M)?([\d.]+)S/.exec(mpd.attrs['mediaPresentationDuration']!)!.slice(1).reduce((s, v, i) => s + (i === 0 ? Number(v ?? 0) * 60 : Number(v)), 0));
    const r = await player.play('dash', url, { untilSeconds: total - 1, rate: 4, timeoutMs: 40_000 });
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= total - 1 || r.ended, `played to ${r.currentTime} of ${total} s`);
    assert.deepEqual(r.periods, periods.map((p) => p.attrs['id']), 'started in the first period and switched into the second');
  });

  test('hls.js plays the same window of the HLS manifest across the discontinuity to its end', async () => {
    const url = `${base}/index.m3u8?${query}`;
    const child = readMedia((await get(`${base}/index_index_0.m3u8?${query}`)).text);
    assert.equal(child.tags('EXT-X-DISCONTINUITY').length, 1, child.lines.join('\n'));
    const total = child.segments.reduce((s, x) => s + x.duration, 0);
    const r = await player.play('hls', url, { untilSeconds: total - 1, rate: 4, timeoutMs: 40_000 });
    assert.deepEqual(r.errors, []);
    assert.ok(r.played >= total - 1 || r.ended, `played to ${r.currentTime} of ${total} s`);
  });
});
