/**
 * Live endpoint settings end to end: one real ffmpeg fMP4 encode (~12 s, 320x180 + 160x90 H.264
 * and AAC) into one channel of a real Packhouse process, read through several CMAF origin
 * endpoints created before the encode, each showing one setting take effect in the origin output:
 * manifest window, PDT interval, StartTag, ChildManifestName, SegmentName, manifest filters
 * (static and per request), time delay, clip start, a fixed Start/End window, the DASH timing
 * settings and UTCTiming, Cache-Control, and ResetOriginEndpointState on one endpoint only.
 *
 * Not (yet) asserted here, see the notes next to the tests:
 *  - a manifest with ManifestWindowSeconds 4: the model's minimum is 30, so the control plane
 *    refuses it; the 4-s window is shown with the `manifest_window_seconds` query parameter.
 *  - `aws.manifestfilter` on a manifest with a static ManifestFilter → 404 (DATAPLANE 3.1.5):
 *    Packhouse answers 200 (the static filter silently wins); reported as a bug.
 *  - `aws.manifestfilter` on a media playlist → 400 (DATAPLANE 3.1.3): Packhouse answers 200,
 *    ignoring it; reported as a bug.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateOriginEndpointCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, type TestServer } from '../support/server.js';
import {
  createLiveChannel,
  expectEncoderSuccess,
  findAll,
  get,
  parseXml,
  readMaster,
  readMedia,
  segmentTimes,
  signedRequest,
  startEncoder,
  waitFor,
  type EndpointSpec,
  type MediaPlaylistText,
} from '../support/live.js';

const G = 'live-set';
const C = 'ch';
const SECONDS = 12;
const SEG = 2;
const VIDEO = ['index_0', 'index_1'] as const;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;

let server: TestServer;
const out = (endpoint: string, file: string) => `${server.url}/out/v1/${G}/${C}/${endpoint}/${file}`;

/** Instants (epoch ms) chosen before the encode. */
let t0 = 0;
let clipMs = 0;
let windowStartMs = 0;
let windowEndMs = 0;
/** ResetOriginEndpointState on endpoint `rst` (mid-encode): status, and the reset instant. */
let reset: { status: number; text: string; atMs: number } | undefined;
/** The Start/End playlist fetched while End was still in the future. */
let rangeBeforeEnd: { status: number; text: string; at: number } | undefined;
/** Back-to-back live fetches (mid-encode) of the undelayed and delayed playlists. */
let delaySnapshot: { base: Record<string, MediaPlaylistText>; delayed: MediaPlaylistText } | undefined;
/** The control plane's answer to ManifestWindowSeconds 4. */
let smallWindowError: unknown;

/** The reference (undelayed, unfiltered, PDT every 2 s) media playlists after the encode. */
const ref = new Map<string, MediaPlaylistText>();

const hls = (name: string, extra: Record<string, unknown> = {}) => ({ ManifestName: name, ...extra });
const endpoint = (name: string, spec: Partial<EndpointSpec>): EndpointSpec => ({
  OriginEndpointName: name,
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: SEG },
  ...spec,
});

const segEnd = (p: MediaPlaylistText): number => {
  const times = segmentTimes(p);
  const last = p.segments.length - 1;
  return times[last]! + p.segments[last]!.duration * 1000;
};

async function media(url: string): Promise<MediaPlaylistText> {
  const res = await get(url);
  assert.equal(res.status, 200, `${url}: ${res.text}`);
  return readMedia(res.text);
}

/**
 * PDT with ProgramDateTimeIntervalSeconds 2: on the first segment and then whenever 2 s have
 * passed since the last one, so on every video segment (exactly 2 s) and, for audio (segments of
 * whole AAC frames, a few ms under or over 2 s), never more than one segment without.
 */
function assertPdtEvery2s(p: MediaPlaylistText, r: string): void {
  const where = `${r}:\n${p.lines.join('\n')}`;
  assert.notEqual(p.segments[0]!.pdtMs, undefined, where);
  if (r !== 'index_2') assert.ok(p.segments.every((s) => s.pdtMs !== undefined), `PDT on every 2-s video segment: ${where}`);
  const times = segmentTimes(p);
  let last = times[0]!;
  p.segments.forEach((s, i) => {
    if (s.pdtMs !== undefined) {
      assert.ok(Math.abs(s.pdtMs - times[i]!) <= 1, where);
      last = s.pdtMs;
    } else assert.ok(times[i]! - last < SEG * 1000, `segment ${s.uri} without PDT although 2 s have passed: ${where}`);
  });
}

/** Undelayed (base/pdt) playlists of every rendition and the delayed video playlist, fetched back to back. */
async function fetchDelayPair(): Promise<{ base: Record<string, MediaPlaylistText>; delayed: MediaPlaylistText } | undefined> {
  const grab = async () => Object.fromEntries(await Promise.all(RENDITIONS.map(async (r) => [r, await media(out('base', `pdt_${r}.m3u8`))] as const)));
  const before = await grab();
  const delayed = await media(out('delay', 'index_index_0.m3u8'));
  const after = await grab();
  const same = RENDITIONS.every((r) => before[r]!.lines.join('\n') === after[r]!.lines.join('\n'));
  return same ? { base: before, delayed } : undefined;
}

/** The delayed playlist is the undelayed one cut where the channel clock minus 4 s lies. */
function checkDelay(pair: { base: Record<string, MediaPlaylistText>; delayed: MediaPlaylistText }, when: string): void {
  const channelNow = Math.max(...RENDITIONS.map((r) => segEnd(pair.base[r]!)));
  const base = pair.base['index_0']!;
  const times = segmentTimes(base);
  const want = base.segments.filter((s, i) => times[i]! + s.duration * 1000 <= channelNow - 4000 + 1).map((s) => s.uri);
  const where = `${when}\nundelayed:\n${base.lines.join('\n')}\ndelayed:\n${pair.delayed.lines.join('\n')}`;
  assert.ok(want.length > 0, where);
  assert.deepEqual(pair.delayed.segments.map((s) => s.uri.replace(/^segment_/, '')), want.map((u) => u.replace(/^segment_/, '')), where);
  const behind = segEnd(base) - segEnd(pair.delayed);
  // ~2 segments earlier: 4 s on the video clock (2 s when audio is one segment ahead of video at that instant).
  assert.ok(behind >= 2 * 1000 - 5 && behind <= 2 * SEG * 1000 + 5, `delayed playlist ends ${behind} ms before the undelayed one: ${where}`);
  assert.equal(pair.delayed.endList, false);
}

describe('live endpoint settings on one fMP4 channel (CMAF endpoints, HLS + DASH)', () => {
  before(async () => {
    server = await startServer();
    const client = server.client();
    t0 = Date.now();
    clipMs = t0 + 5_000;
    windowStartMs = t0 + 3_000;
    windowEndMs = t0 + 8_000;
    const pdt = { ProgramDateTimeIntervalSeconds: 2 };
    await createLiveChannel(client, G, C, [
      endpoint('base', {
        HlsManifests: [
          hls('index', { ManifestWindowSeconds: 60 }),
          hls('pdt', { ...pdt, StartTag: { TimeOffset: -4, Precise: true } }),
        ],
        DashManifests: [{ ManifestName: 'dash' }],
      }),
      endpoint('child', { HlsManifests: [hls('index', { ...pdt, ChildManifestName: 'kid' })] }),
      endpoint('chunky', { Segment: { SegmentName: 'chunk', SegmentDurationSeconds: SEG }, HlsManifests: [hls('index', pdt)] }),
      endpoint('filter', { HlsManifests: [hls('index', { ...pdt, FilterConfiguration: { ManifestFilter: 'video_height:0-100' } })] }),
      endpoint('delay', { HlsManifests: [hls('index', { ...pdt, FilterConfiguration: { TimeDelaySeconds: 4 } })] }),
      endpoint('clip', { HlsManifests: [hls('index', { ...pdt, FilterConfiguration: { ClipStartTime: new Date(clipMs) } })] }),
      endpoint('range', { HlsManifests: [hls('index', { ...pdt, FilterConfiguration: { Start: new Date(windowStartMs), End: new Date(windowEndMs) } })] }),
      endpoint('dashcfg', {
        DashManifests: [
          {
            ManifestName: 'dash',
            MinUpdatePeriodSeconds: 3,
            MinBufferTimeSeconds: 7,
            SuggestedPresentationDelaySeconds: 9,
            UtcTiming: { TimingMode: 'HTTP_ISO', TimingSource: 'https://time.example/?iso' },
          },
        ],
      }),
      endpoint('rst', { HlsManifests: [hls('index', pdt)] }),
    ]);
    // ManifestWindowSeconds below the model's minimum (30) is refused by the control plane.
    try {
      await client.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, ...endpoint('win4', { HlsManifests: [hls('index', { ManifestWindowSeconds: 4 })] }) }));
    } catch (err) {
      smallWindowError = err;
    }

    const enc = startEncoder({ baseUrl: server.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SECONDS });
    const encStart = Date.now();
    const at = (ms: number) => sleep(Math.max(0, encStart + ms - Date.now()));
    const midEncode = (async () => {
      await at(5_500);
      const before = Date.now();
      const r = await signedRequest(server.url, 'POST', `/channelGroup/${G}/channel/${C}/originEndpoint/rst/reset`);
      const after = Date.now();
      let atMs = before;
      try {
        const v = (JSON.parse(r.text) as { ResetAt?: string | number }).ResetAt;
        const parsed = typeof v === 'number' ? (v < 1e11 ? v * 1000 : v) : typeof v === 'string' ? Date.parse(v) : NaN;
        if (Number.isFinite(parsed)) atMs = parsed;
      } catch {
        // keep the local instant
      }
      assert.ok(atMs >= before - 1000 && atMs <= after + 1000, `ResetAt ${atMs} between ${before} and ${after}`);
      reset = { ...r, atMs };
      await at(6_000);
      const rb = await get(out('range', 'index_index_0.m3u8'));
      rangeBeforeEnd = { status: rb.status, text: rb.text, at: Date.now() };
      await at(9_000);
      for (let i = 0; i < 5 && !delaySnapshot; i++) delaySnapshot = await fetchDelayPair();
    })();
    await expectEncoderSuccess(enc);
    await midEncode;
    // Everything ffmpeg pushed is listed once the reference playlists stop changing.
    let previous = '';
    await waitFor('the reference playlists to settle', async () => {
      const now = (await Promise.all(RENDITIONS.map((r) => get(out('base', `pdt_${r}.m3u8`))))).map((x) => x.text).join('\n');
      const stable = now === previous;
      previous = now;
      return stable ? true : undefined;
    }, 10_000, 400);
    for (const r of RENDITIONS) ref.set(r, await media(out('base', `pdt_${r}.m3u8`)));
  });

  after(async () => {
    await server?.stop();
  });

  test('the reference playlists hold the whole ~12 s encode in 2-s segments with PDT', () => {
    for (const r of RENDITIONS) {
      const p = ref.get(r)!;
      assert.ok(p.segments.length >= SECONDS / SEG && p.segments.length <= SECONDS / SEG + 1, `${r}: ${p.lines.join('\n')}`);
      assertPdtEvery2s(p, r);
      assert.ok(p.segments[0]!.pdtMs! >= t0 - 1000 && p.segments[0]!.pdtMs! <= t0 + 5000, `${r}: first PDT near the encode start`);
    }
  });

  test('ManifestWindowSeconds: 4 is refused by the control plane (model minimum 30); manifest_window_seconds=4 lists the last 2-3 segments, the 60-s window lists all', async () => {
    assert.ok(smallWindowError instanceof Error, 'ManifestWindowSeconds 4 was accepted');
    assert.equal((smallWindowError as { name?: string }).name, 'ValidationException', String(smallWindowError));
    const full = ref.get('index_0')!;
    const all = await media(out('base', 'index_index_0.m3u8'));
    assert.deepEqual(all.segments.map((s) => s.uri), full.segments.map((s) => s.uri), '60-s window lists every segment');
    for (const r of VIDEO) {
      const small = await media(out('base', `pdt_${r}.m3u8?manifest_window_seconds=4`));
      const whole = ref.get(r)!;
      const where = small.lines.join('\n');
      assert.ok(small.segments.length >= 2 && small.segments.length <= 3, `${r}: ${small.segments.length} segments in a 4-s window: ${where}`);
      assert.deepEqual(small.segments.map((s) => s.uri), whole.segments.slice(-small.segments.length).map((s) => s.uri), `${r}: the newest segments: ${where}`);
      assert.equal(small.mediaSequence, whole.segments[whole.segments.length - small.segments.length]!.seq);
    }
  });

  test('ProgramDateTimeIntervalSeconds: absent → no EXT-X-PROGRAM-DATE-TIME; 2 → one per 2-s segment', async () => {
    for (const r of RENDITIONS) {
      const none = await media(out('base', `index_${r}.m3u8`));
      assert.deepEqual(none.tags('EXT-X-PROGRAM-DATE-TIME'), [], none.lines.join('\n'));
      assert.ok(none.segments.length >= SECONDS / SEG);
      const withPdt = ref.get(r)!;
      assertPdtEvery2s(withPdt, r);
      for (const v of withPdt.tags('EXT-X-PROGRAM-DATE-TIME')) assert.match(v, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  test('StartTag {TimeOffset: -4, Precise: true} → #EXT-X-START:TIME-OFFSET=-4,PRECISE=YES in media playlists only', async () => {
    for (const r of RENDITIONS) {
      const p = ref.get(r)!;
      assert.ok(p.lines.includes('#EXT-X-START:TIME-OFFSET=-4,PRECISE=YES'), p.lines.join('\n'));
      assert.equal(p.tags('EXT-X-START').length, 1);
      assert.ok(p.lines.indexOf('#EXT-X-START:TIME-OFFSET=-4,PRECISE=YES') < p.lines.indexOf(p.segments[0]!.uri));
      const plain = await media(out('base', `index_${r}.m3u8`));
      assert.deepEqual(plain.tags('EXT-X-START'), [], 'a manifest without StartTag has none');
    }
  });

  test('ChildManifestName "kid" → child URIs kid_{rendition}.m3u8 that serve 200 and list the segments', async () => {
    const res = await get(out('child', 'index.m3u8'));
    assert.equal(res.status, 200, res.text);
    const m = readMaster(res.text);
    assert.deepEqual(m.variants.map((v) => v.uri).sort(), ['kid_index_0.m3u8', 'kid_index_1.m3u8']);
    assert.deepEqual(m.media.map((a) => a['URI']), ['kid_index_2.m3u8']);
    for (const r of RENDITIONS) {
      const p = await media(out('child', `kid_${r}.m3u8`));
      assert.deepEqual(p.segments.map((s) => s.uri), ref.get(r)!.segments.map((s) => s.uri), r);
    }
    const old = await get(out('child', 'index_index_0.m3u8'));
    assert.equal(old.status, 404, `the default child name is not served when ChildManifestName is set: ${old.text}`);
  });

  test('Segment.SegmentName "chunk" → segment and init URIs start with chunk_ and serve the same bytes', async () => {
    for (const r of RENDITIONS) {
      const p = await media(out('chunky', `index_${r}.m3u8`));
      const where = p.lines.join('\n');
      assert.ok(p.segments.length > 0, where);
      assert.ok(p.segments.every((s) => s.uri.startsWith(`chunk_${r}_`)), where);
      assert.match(p.segments[0]!.map ?? '', new RegExp(`^chunk_${r}_init-[0-9a-f]+\\.mp4$`));
      const init = await get(out('chunky', p.segments[0]!.map!));
      assert.equal(init.status, 200, init.text);
      const s = p.segments[1]!;
      const [chunk, same] = [await get(out('chunky', s.uri)), await get(out('base', s.uri.replace(/^chunk_/, 'segment_')))];
      assert.equal(chunk.status, 200, chunk.text);
      assert.ok(chunk.body.length > 0 && chunk.body.equals(same.body), `${s.uri} = the segment_ bytes of another endpoint`);
      const wrong = await get(out('chunky', s.uri.replace(/^chunk_/, 'segment_')));
      assert.equal(wrong.status, 404, 'the default segment name is not served on this endpoint');
    }
  });

  test('ManifestFilter video_height:0-100 (static, and as aws.manifestfilter): only the 160x90 variant plus audio; malformed filter → 400', async () => {
    const check = (text: string, what: string) => {
      const m = readMaster(text);
      assert.equal(m.variants.length, 1, `${what}: ${text}`);
      assert.equal(m.variants[0]!.attrs['RESOLUTION'], '160x90', `${what}: ${text}`);
      assert.match(m.variants[0]!.uri, /_index_1\.m3u8$/);
      assert.equal(m.media.length, 1, `${what}: audio stays: ${text}`);
      assert.equal(m.media[0]!['TYPE'], 'AUDIO');
    };
    const unfiltered = await get(out('base', 'pdt.m3u8'));
    assert.equal(readMaster(unfiltered.text).variants.length, 2, unfiltered.text);
    const stat = await get(out('filter', 'index.m3u8'));
    assert.equal(stat.status, 200, stat.text);
    check(stat.text, 'static ManifestFilter');
    const q = await get(out('base', `pdt.m3u8?aws.manifestfilter=${encodeURIComponent('video_height:0-100')}`));
    assert.equal(q.status, 200, q.text);
    check(q.text, 'aws.manifestfilter');
    for (const bad of ['video_height', 'video_height:100-0', 'nosuchkey:1', 'video_height:a:is:0-1']) {
      const res = await get(out('base', `pdt.m3u8?aws.manifestfilter=${encodeURIComponent(bad)}`));
      assert.equal(res.status, 400, `${bad}: ${res.status} ${res.text}`);
    }
    // DATAPLANE 3.1.5: the query cannot override (or add to) a static ManifestFilter: 404.
    for (const f of ['video_height:0-100', 'video_height:100-200']) {
      const res = await get(out('filter', `index.m3u8?aws.manifestfilter=${encodeURIComponent(f)}`));
      assert.equal(res.status, 404, `${f} on a filtered manifest: ${res.status} ${res.text}`);
    }
    // DATAPLANE 3.1.3 and 3.6: a filter on a media (child) playlist is a 400.
    for (const [endpoint, file] of [['base', 'pdt_index_0.m3u8'], ['chunky', 'index_index_0.m3u8']] as const) {
      const res = await get(out(endpoint, `${file}?aws.manifestfilter=${encodeURIComponent('video_height:0-100')}`));
      assert.equal(res.status, 400, `${endpoint}/${file}: ${res.status} ${res.text}`);
    }
  });

  test('TimeDelaySeconds 4: the delayed live playlist ends ~2 segments before the undelayed one fetched at the same moment (mid-encode and after)', async () => {
    assert.ok(delaySnapshot, 'a stable back-to-back mid-encode fetch');
    checkDelay(delaySnapshot, 'mid-encode');
    const after = await fetchDelayPair();
    assert.ok(after);
    checkDelay(after, 'after the encode');
    assert.equal(segEnd(after.base['index_0']!) - segEnd(after.delayed), 2 * SEG * 1000, 'after the encode: exactly 2 segments (4 s) earlier');
  });

  test('ClipStartTime (encode start + 5 s): no segment starting before it is listed; every later one is', async () => {
    for (const r of RENDITIONS) {
      const p = await media(out('clip', `index_${r}.m3u8`));
      const whole = ref.get(r)!;
      const times = segmentTimes(whole);
      const want = whole.segments.filter((_, i) => times[i]! >= clipMs).map((s) => s.uri);
      const where = `${r}, clip ${new Date(clipMs).toISOString()}:\n${p.lines.join('\n')}`;
      assert.ok(want.length > 0 && want.length < whole.segments.length, where);
      assert.ok(segmentTimes(p).every((t) => t >= clipMs), where);
      assert.deepEqual(p.segments.map((s) => s.uri), want, where);
    }
  });

  test('Start/End (encode start + 3 s … + 8 s): open before End, closed with EXT-X-ENDLIST after, only overlapping segments; ?start= → 404', async () => {
    assert.ok(rangeBeforeEnd);
    assert.ok(rangeBeforeEnd.at < windowEndMs, 'fetched before End');
    assert.equal(rangeBeforeEnd.status, 200, rangeBeforeEnd.text);
    assert.equal(readMedia(rangeBeforeEnd.text).endList, false, `before End the playlist is still open:\n${rangeBeforeEnd.text}`);
    for (const r of RENDITIONS) {
      const res = await get(out('range', `index_${r}.m3u8`));
      assert.equal(res.status, 200, res.text);
      const p = readMedia(res.text);
      const whole = ref.get(r)!;
      const times = segmentTimes(whole);
      const want = whole.segments.filter((s, i) => times[i]! < windowEndMs && times[i]! + s.duration * 1000 > windowStartMs).map((s) => s.uri);
      assert.equal(p.endList, true, res.text);
      assert.deepEqual(p.tags('EXT-X-PLAYLIST-TYPE'), ['VOD'], res.text);
      assert.ok(want.length >= 2 && want.length < whole.segments.length, res.text);
      assert.deepEqual(p.segments.map((s) => s.uri), want, `${r}: [${windowStartMs}, ${windowEndMs})\n${res.text}`);
    }
    const master = await get(out('range', 'index.m3u8'));
    assert.equal(master.status, 200, master.text);
    for (const q of [`start=${Math.floor(windowStartMs / 1000)}`, `end=${Math.ceil(windowEndMs / 1000)}`]) {
      for (const file of ['index.m3u8', 'index_index_0.m3u8']) {
        const res = await get(out('range', `${file}?${q}`));
        assert.equal(res.status, 404, `${file}?${q}: ${res.status} ${res.text}`);
      }
    }
  });

  test('DASH settings: minimumUpdatePeriod PT3S, minBufferTime PT7S, suggestedPresentationDelay PT9S, UTCTiming http-iso; defaults and no UTCTiming without UtcTiming', async () => {
    const res = await get(out('dashcfg', 'dash.mpd'));
    assert.equal(res.status, 200, res.text);
    const mpd = parseXml(res.text);
    assert.equal(mpd.attrs['type'], 'dynamic');
    assert.equal(mpd.attrs['minimumUpdatePeriod'], 'PT3S');
    assert.equal(mpd.attrs['minBufferTime'], 'PT7S');
    assert.equal(mpd.attrs['suggestedPresentationDelay'], 'PT9S');
    const utc = findAll(mpd, 'UTCTiming');
    assert.equal(utc.length, 1, res.text);
    assert.deepEqual(utc[0]!.attrs, { schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'https://time.example/?iso' });
    assert.ok(res.text.includes('<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://time.example/?iso"/>'), res.text);
    assert.equal(findAll(mpd, 'Representation').length, 3);

    const plain = await get(out('base', 'dash.mpd'));
    assert.equal(plain.status, 200, plain.text);
    const p = parseXml(plain.text);
    assert.deepEqual(findAll(p, 'UTCTiming'), [], plain.text);
    assert.equal(p.attrs['minimumUpdatePeriod'], 'PT2S');
    assert.equal(p.attrs['minBufferTime'], 'PT5S');
    assert.equal(p.attrs['suggestedPresentationDelay'], 'PT10S');
  });

  test('Cache-Control: live multivariant and media playlists max-age=1 (half of 2 s), segments and init segments max-age=1209600', async () => {
    const playlists: [string, string][] = [
      ['base', 'index.m3u8'],
      ['base', 'pdt.m3u8'],
      ['base', 'pdt_index_0.m3u8'],
      ['base', 'index_index_2.m3u8'],
      ['child', 'index.m3u8'],
      ['child', 'kid_index_1.m3u8'],
      ['chunky', 'index_index_0.m3u8'],
      ['filter', 'index.m3u8'],
      ['delay', 'index_index_0.m3u8'],
      ['clip', 'index_index_0.m3u8'],
    ];
    for (const [e, f] of playlists) {
      const res = await get(out(e, f));
      assert.equal(res.status, 200, `${e}/${f}: ${res.text}`);
      const m = /^max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '');
      assert.ok(m, `${e}/${f}: cache-control ${res.headers.get('cache-control')}`);
      const age = Number(m[1]);
      assert.ok(age >= 1 && age <= SEG / 2, `${e}/${f}: max-age=${age}`);
    }
    for (const [e, name] of [['base', 'segment'], ['chunky', 'chunk']] as const) {
      const p = await media(out(e, e === 'base' ? 'pdt_index_1.m3u8' : 'index_index_1.m3u8'));
      for (const uri of [p.segments[0]!.map!, p.segments[0]!.uri, p.segments[p.segments.length - 1]!.uri]) {
        assert.ok(uri.startsWith(`${name}_`), uri);
        const res = await get(out(e, uri));
        assert.equal(res.status, 200, `${e}/${uri}: ${res.text}`);
        assert.equal(res.headers.get('cache-control'), 'max-age=1209600', `${e}/${uri}`);
      }
    }
  });

  test('ResetOriginEndpointState (mid-encode) hides everything from before the reset on that endpoint only', async () => {
    assert.ok(reset);
    assert.equal(reset.status, 200, reset.text);
    for (const r of RENDITIONS) {
      const whole = ref.get(r)!;
      const times = segmentTimes(whole);
      const beforeReset = whole.segments.filter((_, i) => times[i]! < reset!.atMs);
      const want = whole.segments.filter((_, i) => times[i]! >= reset!.atMs).map((s) => s.uri);
      assert.ok(beforeReset.length >= 2 && want.length >= 2, `${r}: segments on both sides of the reset at ${reset.atMs}`);
      const p = await media(out('rst', `index_${r}.m3u8`));
      const where: string = `${r}, reset at ${new Date(reset.atMs).toISOString()}:\n${p.lines.join('\n')}`;
      assert.ok(segmentTimes(p).every((t) => t >= reset!.atMs), where);
      assert.deepEqual(p.segments.map((s) => s.uri), want, where);
      // The same channel's other endpoints still list and serve the older segments.
      assert.deepEqual(ref.get(r)!.segments.slice(0, beforeReset.length).map((s) => s.uri), beforeReset.map((s) => s.uri));
      const still = await media(out('base', `index_${r}.m3u8`));
      assert.ok(still.segments.some((s) => s.uri === beforeReset[0]!.uri), `base still lists ${beforeReset[0]!.uri}`);
      const oldHere = await get(out('rst', beforeReset[0]!.uri));
      assert.equal(oldHere.status, 404, `${beforeReset[0]!.uri} on the reset endpoint: ${oldHere.status}`);
      const oldThere = await get(out('base', beforeReset[0]!.uri));
      assert.equal(oldThere.status, 200, `${beforeReset[0]!.uri} on another endpoint`);
    }
    const dash = await get(out('base', 'dash.mpd'));
    const rep0 = findAll(parseXml(dash.text), 'Representation').find((x) => x.attrs['id'] === 'index_0')!;
    assert.equal(Number(findAll(rep0, 'SegmentTemplate')[0]!.attrs['startNumber']), ref.get('index_0')!.mediaSequence, 'the DASH manifest of another endpoint keeps the old segments');
  });
});
