/**
 * Real players: dash.js and hls.js in Debian's headless Chromium play Packhouse's origin output.
 * A CMAF endpoint with 4 s output segments (two 2 s input segments each) carries HLS, LL-HLS and
 * DASH. ffmpeg pushes session A, stops, and session B starts again from media time 0 (an encoder
 * restart); a closed window over both sessions is a two-period static MPD and an HLS playlist with
 * one EXT-X-DISCONTINUITY. Each player must play across the restart to the end without an error;
 * while session B runs, hls.js in low-latency mode plays the live LL-HLS playlist and dash.js the
 * live MPD, whose window then spans both sessions. A CENC endpoint of the same channel, keyed by the
 * test SPEKE provider, plays in dash.js through EME and the W3C ClearKey key system (the provider's
 * keys given to the player), live and over a closed window; with a wrong key it does not play.
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
import { HAS_CHROMIUM, clearKey, startBrowserPlayer, type BrowserPlayer, type ClearKeys, type PlayResult } from '../support/browser.js';
import { providerKey, startSpekeProvider, type SpekeProvider } from '../support/speke-provider.js';

const G = 'players';
const C = 'ch';
const SESSION_SECONDS = 10;
/**
 * Session B runs long enough for the live players to start and play a few seconds on a loaded
 * machine (loading a player page, its first manifest and segments can take many seconds there):
 * hls.js first, on its own, then the two dash.js pages together.
 */
const SESSION_B_SECONDS = 44;
/**
 * How long after session B's first segment the live dash.js pages start: dash.js begins
 * suggestedPresentationDelay (10 s) behind the newest complete segment (4 s), so from then on it
 * begins inside session B. Started earlier it can begin in session A's last seconds, a case the
 * MPD writer's unit tests cover (a Period cut where its tracks' content ends).
 */
const LIVE_DASH_START_MS = 18_000;
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

/** The same output, CENC-encrypted with keys from the test SPEKE provider (DASH only). */
const encryptedEndpoint = (providerUrl: string): EndpointSpec => ({
  OriginEndpointName: 'cenc',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: {
    SegmentName: 'segment',
    SegmentDurationSeconds: 4,
    Encryption: {
      EncryptionMethod: { CmafEncryptionMethod: 'CENC' },
      SpekeKeyProvider: {
        Url: providerUrl,
        ResourceId: 'res-players',
        RoleArn: 'arn:aws:iam::000000000000:role/speke',
        DrmSystems: ['WIDEVINE'],
        EncryptionContractConfiguration: { PresetSpeke20Video: 'PRESET_VIDEO_1', PresetSpeke20Audio: 'PRESET_AUDIO_1' },
      },
    },
  },
  DashManifests: [
    { ManifestName: 'dash', UtcTiming: { TimingMode: 'UTC_DIRECT' } },
    // The same MPD with its ContentProtection declared once at MPD level and referenced (ref/refId).
    { ManifestName: 'dashref', UtcTiming: { TimingMode: 'UTC_DIRECT' }, DrmSignaling: 'REFERENCED' },
  ],
});

/** The ClearKey keys of an MPD's key ids, as the test provider derives them (or wrong ones). */
const mpdClearKeys = (mpd: string, wrong = false): ClearKeys => {
  const kids = [...new Set([...mpd.matchAll(/cenc:default_KID="([0-9a-f-]{36})"/g)].map((m) => m[1]!))];
  assert.ok(kids.length >= 1, mpd);
  return Object.fromEntries(kids.map((k) => clearKey(k, wrong ? providerKey(`${k}-wrong`) : providerKey(k))));
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
  let provider: SpekeProvider;
  let encBase: string;
  let liveClearKey: Promise<PlayResult>;
  let liveEncryptedMpd: string;
  let firstPdt: number;

  before(async () => {
    assert.ok(HAS_CHROMIUM, 'Chromium is installed (README: apt-get install -y chromium)');
    server = await startServer();
    provider = await startSpekeProvider();
    await createLiveChannel(server.client(), G, C, [ENDPOINT, encryptedEndpoint(provider.url)]);
    base = `${server.url}/out/v1/${G}/${C}/cmaf`;
    encBase = `${server.url}/out/v1/${G}/${C}/cenc`;
    tee = await startTeeProxy(server.url);
    player = await startBrowserPlayer();
    await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SESSION_SECONDS, uniqueNames: true }), 'session A');
    await tee.settled();
    firstPdt = readMedia((await get(`${base}/index_index_0.m3u8`)).text).segments[0]!.pdtMs!;
    sessionB = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SESSION_B_SECONDS, uniqueNames: true, look: 'b' });
    const sessionBStarted = Date.now();
    // Live, while session B runs: hls.js in low-latency mode on the LL-HLS playlist.
    const sessionBPdt = await waitFor('session B on the LL-HLS playlist', async () => readMedia((await get(`${base}/low_index_0.m3u8`)).text).segments.find((s) => s.discontinuity)?.pdtMs);
    // The live players, each stopping once it has played LIVE_TARGET_SECONDS, bounded by what is
    // left of session B. hls.js in low-latency mode on LL-HLS first, on its own: three live pages
    // at once starve each other on a loaded two-core machine.
    const liveBoundMs = () => Math.max(8000, sessionBStarted + SESSION_B_SECONDS * 1000 - Date.now());
    liveHls = player.play('hls', `${base}/low.m3u8`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: liveBoundMs(), lowLatency: true });
    await liveHls;
    await waitFor('the live start of dash.js to lie in session B', async () => (Date.now() >= sessionBPdt + LIVE_DASH_START_MS ? true : undefined), 60_000);
    // Then dash.js on the dynamic MPD, whose window now holds the end of session A and the start
    // of session B (two periods), and dash.js with ClearKey on the encrypted endpoint's dynamic
    // MPD, in two pages.
    liveDashMpd = (await get(`${base}/dash.mpd`)).text;
    liveDash = player.play('dash', `${base}/dash.mpd`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: liveBoundMs() });
    liveEncryptedMpd = (await get(`${encBase}/dash.mpd`)).text;
    liveClearKey = player.play('dash', `${encBase}/dash.mpd`, { untilSeconds: LIVE_TARGET_SECONDS, timeoutMs: liveBoundMs(), clearkeys: mpdClearKeys(liveEncryptedMpd) });
    await Promise.all([liveDash, liveClearKey]);
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
    await provider?.close();
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
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the live stream in ${r.wallSeconds} s, from ${r.currentTime}; the MPD when it began:\n${liveDashMpd}`);
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

  test('dash.js plays the live CENC MPD through EME with the W3C ClearKey key system', async () => {
    assert.match(liveEncryptedMpd, /<ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0"\/>/);
    const r = await liveClearKey;
    assert.deepEqual(r.errors, [], JSON.stringify(r));
    assert.ok(r.played >= LIVE_TARGET_SECONDS, `played ${r.played} s of the encrypted live stream in ${r.wallSeconds} s, from ${r.currentTime}; the MPD when it began:\n${liveEncryptedMpd}`);
    assert.ok(r.decodedFrames > 10, `${r.decodedFrames} frames decoded`);
  });

  test('dash.js with ClearKey plays a closed window of the CENC endpoint (DrmSignaling INDIVIDUAL and REFERENCED), and not with a wrong key', async () => {
    // The first 8 s of session A: a static one-period MPD.
    const url = `${encBase}/dash.mpd?start=${firstPdt / 1000}&end=${firstPdt / 1000 + 8}`;
    const res = await get(url);
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /type="static"/);
    const r = await player.play('dash', url, { untilSeconds: 6, rate: 4, timeoutMs: 30_000, clearkeys: mpdClearKeys(res.text) });
    assert.deepEqual(r.errors, [], JSON.stringify(r));
    assert.ok(r.played >= 6 || r.ended, `played to ${r.currentTime} s`);
    assert.ok(r.decodedFrames > 10, `${r.decodedFrames} frames decoded`);
    // DrmSignaling REFERENCED: dash.js resolves the references to the MPD-level declarations.
    const refUrl = url.replace('/dash.mpd', '/dashref.mpd');
    const refMpd = (await get(refUrl)).text;
    assert.match(refMpd, / ref="cp-[0-9a-f]{16}"/);
    const byRef = await player.play('dash', refUrl, { untilSeconds: 6, rate: 4, timeoutMs: 30_000, clearkeys: mpdClearKeys(refMpd) });
    assert.deepEqual(byRef.errors, [], JSON.stringify(byRef));
    assert.ok(byRef.played >= 6 || byRef.ended, `REFERENCED: played to ${byRef.currentTime} s`);
    assert.ok(byRef.decodedFrames > 10, `REFERENCED: ${byRef.decodedFrames} frames decoded`);
    // The same window with keys that are not the provider's: the CDM cannot decrypt the samples.
    const wrong = await player.play('dash', url, { untilSeconds: 6, rate: 4, timeoutMs: 10_000, clearkeys: mpdClearKeys(res.text, true) });
    assert.ok(wrong.errors.length > 0 || wrong.decodedFrames === 0, `a wrong key played: ${JSON.stringify(wrong)}`);
    assert.ok(wrong.played < 6 && !wrong.ended, `a wrong key played to ${wrong.currentTime} s`);
  });
});
