/**
 * Live fMP4 end to end: ffmpeg pushes ~12 s of HLS with fMP4 segments (two H.264 renditions and one
 * AAC rendition) over HTTP PUT, through a recording tee proxy, to a real Packhouse process; the
 * CMAF endpoint's HLS and DASH output is then checked against what ffmpeg actually sent (bytes,
 * PDT, durations, codecs), decoded with ffmpeg, time-shifted, and refused by the TS endpoint.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/server.js';
import {
  cmafEndpoint,
  createLiveChannel,
  decode,
  decodedDuration,
  errorLines,
  expectEncoderSuccess,
  ffprobe,
  ffprobeBytes,
  findAll,
  get,
  isoSeconds,
  parseXml,
  readMaster,
  readMedia,
  rfc6381,
  segmentTimes,
  startEncoder,
  startTeeProxy,
  timelineDurations,
  timelineSeconds,
  tsEndpoint,
  waitPastAnnounced,
  type CapturedRequest,
  type MediaPlaylistText,
  type TeeProxy,
  type XmlElement,
} from '../support/live.js';

const G = 'live-f';
const C = 'ch';
const SECONDS = 12;
const SEG = 2;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;
const VIDEO = { index_0: { width: 320, height: 180 }, index_1: { width: 160, height: 90 } } as const;

let server: TestServer;
let tee: TeeProxy;
let cmaf: string;
let tsOut: string;
/** The live media playlists (fetched once, after the encode), by rendition id. */
const live = new Map<string, MediaPlaylistText>();
/** What ffmpeg said about each segment file in its own playlists: EXTINF and PDT. */
const sentInfo = new Map<string, { duration: number; pdtMs?: number }>();

const sentSegments = (r: string): CapturedRequest[] => tee.files(new RegExp(`^${r}_\\d+\\.m4s$`));
const sentInit = (r: string): CapturedRequest => {
  const all = tee.files(new RegExp(`^init_${r.slice('index_'.length)}\\.mp4$`));
  assert.equal(all.length, 1, `ffmpeg sent init_${r.slice(6)}.mp4 once`);
  return all[0]!;
};

describe('live fMP4 ingest → CMAF endpoint (HLS + DASH)', () => {
  before(async () => {
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [cmafEndpoint('cmaf', 600), tsEndpoint('ts', 600)]);
    cmaf = `${server.url}/out/v1/${G}/${C}/cmaf`;
    tsOut = `${server.url}/out/v1/${G}/${C}/ts`;
    tee = await startTeeProxy(server.url);
    const enc = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SECONDS });
    await expectEncoderSuccess(enc);
    await tee.settled();
    await waitPastAnnounced([tee]);
    for (const p of tee.files(/^index_\d\.m3u8$/)) {
      for (const s of readMedia(p.body.toString('utf8')).segments) sentInfo.set(s.uri, { duration: s.duration, ...(s.pdtMs !== undefined ? { pdtMs: s.pdtMs } : {}) });
    }
    for (const r of RENDITIONS) {
      const res = await get(`${cmaf}/index_${r}.m3u8`);
      assert.equal(res.status, 200, `index_${r}.m3u8: ${res.text}`);
      live.set(r, readMedia(res.text));
    }
  });

  after(async () => {
    await tee?.close();
    await server?.stop();
  });

  test('Packhouse answered 201 to every file ffmpeg pushed (3 init segments, 3 renditions of segments, playlists)', () => {
    const bad = tee.requests.filter((r) => r.status !== 201).map((r) => `${r.method} ${r.file} → ${r.status}`);
    assert.deepEqual(bad, []);
    assert.ok(tee.requests.every((r) => r.method === 'PUT'), 'ffmpeg used PUT');
    for (const r of RENDITIONS) {
      sentInit(r);
      const n = sentSegments(r).length;
      assert.ok(n >= SECONDS / SEG && n <= SECONDS / SEG + 1, `${r}: ffmpeg sent ${n} segments`);
    }
    assert.equal(tee.files(/^index\.m3u8$/).length, 1, 'one multivariant playlist');
  });

  test('multivariant playlist: 2 STREAM-INF (320x180, 160x90) with the ingested codecs, 1 audio EXT-X-MEDIA', async () => {
    const res = await get(`${cmaf}/index.m3u8`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(res.headers.get('cache-control'), 'max-age=1', 'half the 2 s segment duration (DATAPLANE 3.4.1)');
    const m = readMaster(res.text);
    assert.deepEqual(m.tags('EXT-X-INDEPENDENT-SEGMENTS'), ['']);

    // What ffprobe reports on the ingested input (ffmpeg's own init + first segment of each rendition).
    const codecs: Record<string, string> = {};
    const probed: Record<string, { profile?: string; width?: number; height?: number }> = {};
    for (const r of RENDITIONS) {
      const p = await ffprobeBytes([sentInit(r).body, sentSegments(r)[0]!.body], 'mp4');
      assert.equal(p.streams.length, 1, `${r} carries one stream`);
      codecs[r] = rfc6381(p.streams[0]!);
      probed[r] = p.streams[0]!;
    }
    assert.match(codecs['index_0']!, /^avc1\.[0-9a-f]{6}$/);
    assert.equal(codecs['index_2'], 'mp4a.40.2');

    assert.equal(m.variants.length, 2, res.text);
    for (const [r, size] of Object.entries(VIDEO)) {
      assert.equal(probed[r]!.width, size.width);
      assert.equal(probed[r]!.height, size.height);
      const v = m.variants.find((x) => x.uri === `index_${r}.m3u8`);
      assert.ok(v, `a STREAM-INF for index_${r}.m3u8 in\n${res.text}`);
      assert.equal(v.attrs['RESOLUTION'], `${size.width}x${size.height}`);
      assert.equal(v.attrs['CODECS'], `${codecs[r]},${codecs['index_2']}`);
      assert.equal(v.attrs['AUDIO'], 'audio_0');
      assert.match(v.attrs['BANDWIDTH'] ?? '', /^[1-9]\d*$/);
    }
    assert.ok(Number(m.variants[0]!.attrs['BANDWIDTH']) > Number(m.variants[1]!.attrs['BANDWIDTH']), 'the 600k rendition has the higher BANDWIDTH');
    // ffmpeg's own multivariant names the same codecs.
    const ffmpegMaster = readMaster(tee.files(/^index\.m3u8$/)[0]!.body.toString('utf8'));
    assert.equal(ffmpegMaster.variants.find((v) => v.uri === 'index_0.m3u8')?.attrs['CODECS'], `${codecs['index_0']},mp4a.40.2`);

    assert.equal(m.media.length, 1, res.text);
    const a = m.media[0]!;
    assert.equal(a['TYPE'], 'AUDIO');
    assert.equal(a['GROUP-ID'], 'audio_0');
    assert.equal(a['URI'], 'index_index_2.m3u8');
    assert.equal(a['DEFAULT'], 'YES');
    assert.equal(a['AUTOSELECT'], 'YES');
    assert.equal(a['CHANNELS'], '2');
  });

  test('media playlists: EXT-X-MAP, PDT equal to the encoder\'s, EXTINF as sent, contiguous media sequence, ~12 s each', () => {
    for (const r of RENDITIONS) {
      const p = live.get(r)!;
      const sent = sentSegments(r);
      const where = `${r}:\n${p.lines.join('\n')}`;
      assert.equal(p.endList, false, `live playlist has no ENDLIST: ${where}`);
      assert.deepEqual(p.tags('EXT-X-PLAYLIST-TYPE'), [], where);
      assert.equal(p.targetDuration, SEG, where);
      assert.equal(p.segments.length, sent.length, `every segment ffmpeg sent is listed: ${where}`);
      // EXT-X-MAP: exactly one, before the first segment, naming the current init segment.
      const maps = p.tags('EXT-X-MAP');
      assert.equal(maps.length, 1, where);
      assert.ok(p.lines.indexOf(`#EXT-X-MAP:${maps[0]}`) < p.lines.indexOf(p.segments[0]!.uri), where);
      assert.match(p.segments[0]!.map ?? '', new RegExp(`^segment_${r}_init-[0-9a-f]+\\.mp4$`));
      // Contiguous numbering, names per DATAPLANE 2.2.2.
      p.segments.forEach((s, i) => assert.equal(s.uri, `segment_${r}_${p.mediaSequence + i}.mp4`, where));
      assert.equal(p.tags('EXT-X-DISCONTINUITY').length, 0, where);
      // PDT on the first segment and at least every 2 s (ProgramDateTimeIntervalSeconds 2).
      assert.notEqual(p.segments[0]!.pdtMs, undefined, where);
      const pdtCount = p.segments.filter((s) => s.pdtMs !== undefined).length;
      assert.ok(pdtCount >= Math.floor(SECONDS / SEG), `${pdtCount} PDT tags: ${where}`);
      // Output PDT reuses the input's (DATAPLANE 1.2.8) and EXTINF is what ffmpeg wrote.
      const times = segmentTimes(p);
      p.segments.forEach((s, i) => {
        const info = sentInfo.get(sent[i]!.file);
        assert.ok(info, `ffmpeg listed ${sent[i]!.file}`);
        assert.ok(Math.abs(s.duration - info.duration) <= 0.0005, `${s.uri} EXTINF ${s.duration} vs ffmpeg ${info.duration}`);
        assert.ok(info.pdtMs !== undefined);
        if (s.pdtMs !== undefined) assert.equal(new Date(s.pdtMs).toISOString(), new Date(info.pdtMs).toISOString(), `${s.uri} PDT`);
        else assert.ok(Math.abs(times[i]! - info.pdtMs) <= 2, `${s.uri} carried time ${times[i]} vs ffmpeg PDT ${info.pdtMs}`);
      });
      const total = p.segments.reduce((n, s) => n + s.duration, 0);
      assert.ok(Math.abs(total - SECONDS) <= SEG, `${r}: EXTINF total ${total} s for a ${SECONDS} s encode`);
    }
    // The renditions share one timeline: same first PDT and same media sequence numbers for the two video renditions.
    assert.equal(live.get('index_0')!.segments[0]!.pdtMs, live.get('index_1')!.segments[0]!.pdtMs);
    assert.equal(live.get('index_0')!.mediaSequence, live.get('index_1')!.mediaSequence);
    assert.ok(Math.abs(live.get('index_0')!.segments[0]!.pdtMs! - live.get('index_2')!.segments[0]!.pdtMs!) <= 50, 'audio starts with video');
  });

  test('every segment and init segment: 200, video/mp4 or audio/mp4, max-age=1209600, bytes equal to what ffmpeg sent', async () => {
    for (const r of RENDITIONS) {
      const type = r === 'index_2' ? 'audio/mp4' : 'video/mp4';
      const p = live.get(r)!;
      const init = await get(`${cmaf}/${p.segments[0]!.map!}`);
      assert.equal(init.status, 200, init.text);
      assert.equal(init.headers.get('content-type'), type);
      assert.equal(init.headers.get('cache-control'), 'max-age=1209600');
      assert.ok(init.body.equals(sentInit(r).body), `${r} init segment bytes`);
      const sent = sentSegments(r);
      for (let i = 0; i < p.segments.length; i++) {
        const s = p.segments[i]!;
        const res = await get(`${cmaf}/${s.uri}`);
        assert.equal(res.status, 200, `${s.uri}: ${res.text}`);
        assert.equal(res.headers.get('content-type'), type, s.uri);
        assert.equal(res.headers.get('cache-control'), 'max-age=1209600', s.uri);
        assert.equal(res.headers.get('content-length'), String(sent[i]!.body.length), s.uri);
        assert.ok(res.body.equals(sent[i]!.body), `${s.uri} is byte-identical to ${sent[i]!.file} (${res.body.length} vs ${sent[i]!.body.length} bytes)`);
      }
    }
  });

  test('HEAD on a segment: the GET headers, no body', async () => {
    const s = live.get('index_0')!.segments[1]!;
    const [head, full] = [await get(`${cmaf}/${s.uri}`, 'HEAD'), await get(`${cmaf}/${s.uri}`)];
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-length'), String(full.body.length));
    assert.equal(head.headers.get('content-type'), 'video/mp4');
    assert.equal(head.headers.get('cache-control'), 'max-age=1209600');
  });

  test('ffprobe of the origin multivariant: 2 H.264 variants (320x180, 160x90) and AAC, same profile/level as the input', async () => {
    const p = await ffprobe(`${cmaf}/index.m3u8`);
    assert.equal(p.format.format_name, 'hls');
    assert.equal(p.programs?.length, 2);
    const kinds = p.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.width ?? ''}x${s.height ?? ''}`).sort();
    assert.deepEqual(kinds, ['audio:aac:x', 'video:h264:160x90', 'video:h264:320x180']);
    const aac = p.streams.find((s) => s.codec_type === 'audio')!;
    assert.equal(aac.sample_rate, '48000');
    assert.equal(aac.channels, 2);
    assert.equal(aac.profile, 'LC');
    for (const [r, size] of Object.entries(VIDEO)) {
      const input = (await ffprobeBytes([sentInit(r).body, sentSegments(r)[0]!.body], 'mp4')).streams[0]!;
      const out = p.streams.find((s) => s.width === size.width)!;
      assert.equal(out.profile, input.profile, r);
      assert.equal(out.level, input.level, r);
    }
  });

  test('ffmpeg decodes the origin multivariant (all streams) without a message; ~12 s', async () => {
    const { seconds, result } = await decodedDuration(`${cmaf}/index.m3u8`, ['-live_start_index', '0', '-m3u8_hold_counters', '2'], ['-map', '0']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(errorLines(result.stderr), []);
    assert.ok(Math.abs(seconds - SECONDS) <= SEG, `decoded ${seconds} s of a ${SECONDS} s encode`);
  });

  test('DASH: well-formed dynamic MPD, 2 video + 1 audio Representation, SegmentTimeline = HLS durations, same bytes', async () => {
    const res = await get(`${cmaf}/dash.mpd`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/dash+xml');
    const mpd = parseXml(res.text);
    assert.equal(mpd.name, 'MPD');
    assert.equal(mpd.attrs['type'], 'dynamic');
    assert.equal(mpd.attrs['xmlns'], 'urn:mpeg:dash:schema:mpd:2011');
    const periods = findAll(mpd, 'Period');
    assert.equal(periods.length, 1);
    const sets = findAll(mpd, 'AdaptationSet');
    const byType = (t: string) => sets.filter((s) => s.attrs['contentType'] === t).flatMap((s) => findAll(s, 'Representation'));
    assert.deepEqual(byType('video').map((r) => r.attrs['id']).sort(), ['index_0', 'index_1']);
    assert.deepEqual(byType('audio').map((r) => r.attrs['id']), ['index_2']);
    const hlsMaster = readMaster((await get(`${cmaf}/index.m3u8`)).text);
    for (const rep of findAll(mpd, 'Representation')) {
      const id = rep.attrs['id']!;
      const hls = live.get(id)!;
      const template = findAll(rep, 'SegmentTemplate')[0]!;
      const { seconds, count } = timelineSeconds(template);
      const hlsSeconds = hls.segments.reduce((n, s) => n + s.duration, 0);
      assert.equal(count, hls.segments.length, `${id}: S entries`);
      // Video: EXTINF (ms) is the media duration. Audio: ffmpeg's EXTINF may differ from the media by
      // up to one AAC frame (1024 samples) per segment, the SegmentTimeline having the media's own.
      const perSegment = id === 'index_2' ? 1024 / 48000 : 0.0005;
      const ds = timelineDurations(template);
      ds.forEach((d, i) => assert.ok(Math.abs(d - hls.segments[i]!.duration) <= perSegment, `${id} segment ${i}: S@d ${d} s vs EXTINF ${hls.segments[i]!.duration}`));
      assert.ok(Math.abs(seconds - hlsSeconds) <= perSegment * count, `${id}: SegmentTimeline ${seconds} s vs HLS ${hlsSeconds} s`);
      assert.equal(Number(template.attrs['startNumber']), hls.mediaSequence, `${id}: startNumber`);
      if (id !== 'index_2') {
        const size = VIDEO[id as keyof typeof VIDEO];
        assert.equal(rep.attrs['width'], String(size.width));
        assert.equal(rep.attrs['height'], String(size.height));
        const hlsCodecs = hlsMaster.variants.find((v) => v.uri === `index_${id}.m3u8`)!.attrs['CODECS']!;
        assert.equal(rep.attrs['codecs'], hlsCodecs.split(',')[0]);
      } else {
        assert.equal(rep.attrs['codecs'], 'mp4a.40.2');
        assert.equal(rep.attrs['audioSamplingRate'], '48000');
      }
      // The template's URLs resolve to the same bytes as the HLS names.
      const media = template.attrs['media']!.replace('$RepresentationID$', id);
      const first = hls.mediaSequence;
      const [dashSeg, hlsSeg] = [await get(`${cmaf}/${media.replace('$Number$', String(first + 1))}`), await get(`${cmaf}/${hls.segments[1]!.uri}`)];
      assert.equal(dashSeg.status, 200, dashSeg.text);
      assert.ok(dashSeg.body.equals(hlsSeg.body), `${id}: DASH segment ${first + 1} = HLS segment`);
      const init = await get(`${cmaf}/${template.attrs['initialization']!}`);
      assert.equal(init.status, 200, init.text);
      assert.ok(init.body.equals(sentInit(id).body), `${id}: DASH initialization = ffmpeg's init segment`);
    }
  });

  test('DASH (dynamic): each Representation\'s first segment is presented at its PDT (AST + Period@start + (t - PTO)/timescale)', async () => {
    const mpd = parseXml((await get(`${cmaf}/dash.mpd`)).text);
    const ast = Date.parse(mpd.attrs['availabilityStartTime']!) / 1000;
    const periodStart = isoSeconds(findAll(mpd, 'Period')[0]!.attrs['start']!);
    for (const rep of findAll(mpd, 'Representation')) {
      const id = rep.attrs['id']!;
      const at = ast + periodStart + firstPresentation(findAll(rep, 'SegmentTemplate')[0]!);
      const pdt = live.get(id)!.segments[0]!.pdtMs! / 1000;
      assert.ok(Math.abs(at - pdt) <= 0.02, `${id}: presented at ${at.toFixed(3)}, PDT ${pdt.toFixed(3)}`);
    }
  });

  test('ffmpeg decodes 6 s of the live DASH MPD without a message', async () => {
    const r = await decode(`${cmaf}/dash.mpd`, [], ['-t', '6']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('time-shift ?start=PDT+2s&end=PDT+6s (epoch seconds): closed child playlists with exactly the overlapping segments; ISO 8601 gives the same', async () => {
    const firstPdt = live.get('index_0')!.segments[0]!.pdtMs!;
    const [from, to] = [firstPdt + 2000, firstPdt + 6000];
    const q = `start=${from / 1000}&end=${to / 1000}`;
    const master = await get(`${cmaf}/index.m3u8?${q}`);
    assert.equal(master.status, 200, master.text);
    const m = readMaster(master.text);
    // DATAPLANE 3.2.6: the time-shift parameters travel on to child playlists, in alphabetical order.
    const childQuery = `?end=${to / 1000}&start=${from / 1000}`;
    assert.deepEqual(m.variants.map((v) => v.uri).sort(), [`index_index_0.m3u8${childQuery}`, `index_index_1.m3u8${childQuery}`]);
    assert.equal(m.media[0]?.['URI'], `index_index_2.m3u8${childQuery}`);
    const iso = `start=${new Date(from).toISOString()}&end=${new Date(to).toISOString()}`;
    for (const r of RENDITIONS) {
      const res = await get(`${cmaf}/index_${r}.m3u8?${q}`);
      assert.equal(res.status, 200, res.text);
      const p = readMedia(res.text);
      assert.equal(p.endList, true, res.text);
      assert.deepEqual(p.tags('EXT-X-PLAYLIST-TYPE'), ['VOD'], res.text);
      assert.equal(p.tags('EXT-X-MAP').length, 1, res.text);
      const times = segmentTimes(live.get(r)!);
      const expected = live.get(r)!.segments.filter((s, i) => times[i]! < to && times[i]! + s.duration * 1000 > from).map((s) => s.uri);
      assert.deepEqual(p.segments.map((s) => s.uri), expected, `${r} window [${from}, ${to})`);
      assert.equal(p.mediaSequence, Number(/_(\d+)\.mp4$/.exec(expected[0]!)![1]));
      if (r !== 'index_2') assert.deepEqual(expected, [`segment_${r}_${live.get(r)!.mediaSequence + 1}.mp4`, `segment_${r}_${live.get(r)!.mediaSequence + 2}.mp4`]);
      const viaIso = await get(`${cmaf}/index_${r}.m3u8?${iso}`);
      assert.equal(viaIso.status, 200, viaIso.text);
      assert.deepEqual(readMedia(viaIso.text).segments.map((s) => s.uri), expected, `${r}: ISO 8601 window`);
    }
  });

  test('time-shift DASH: the MPD for start/end is static and decodes without a message', async () => {
    const firstPdt = live.get('index_0')!.segments[0]!.pdtMs!;
    const url = `${cmaf}/dash.mpd?start=${(firstPdt + 2000) / 1000}&end=${(firstPdt + 6000) / 1000}`;
    const res = await get(url);
    assert.equal(res.status, 200, res.text);
    const mpd = parseXml(res.text);
    assert.equal(mpd.attrs['type'], 'static');
    assert.equal(mpd.attrs['availabilityStartTime'], undefined);
    assert.ok(isoSeconds(mpd.attrs['mediaPresentationDuration']!) >= 4);
    assert.equal(findAll(mpd, 'Representation').length, 3);
    const r = await decode(url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('time-shift DASH (static): Representations stay in sync — presentation start differences equal PDT differences', async () => {
    const firstPdt = live.get('index_0')!.segments[0]!.pdtMs!;
    const res = await get(`${cmaf}/dash.mpd?start=${(firstPdt + 2000) / 1000}&end=${(firstPdt + 6000) / 1000}`);
    const mpd = parseXml(res.text);
    const periodStart = isoSeconds(findAll(mpd, 'Period')[0]!.attrs['start'] ?? 'PT0S');
    const reps = findAll(mpd, 'Representation').map((rep) => {
      const id = rep.attrs['id']!;
      const template = findAll(rep, 'SegmentTemplate')[0]!;
      const seq = Number(template.attrs['startNumber']);
      const hls = live.get(id)!;
      const pdt = segmentTimes(hls)[seq - hls.mediaSequence]! / 1000;
      return { id, at: periodStart + firstPresentation(template), pdt };
    });
    const base = reps.reduce((a, b) => (b.pdt < a.pdt ? b : a));
    for (const r of reps) {
      const want = r.pdt - base.pdt;
      const got = r.at - base.at;
      assert.ok(
        Math.abs(got - want) <= 0.05,
        `${r.id} starts ${got.toFixed(3)} s after ${base.id} in the static MPD, but ${want.toFixed(3)} s after it on the wall clock (PDT)\n${res.text}`,
      );
    }
  });

  test('a window entirely before the stream (now-3000 … now-2900, startover 600 s) → 404 with a one-line plain-text reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const file of ['index.m3u8', 'index_index_0.m3u8', 'dash.mpd']) {
      const res = await get(`${cmaf}/${file}?start=${now - 3000}&end=${now - 2900}`);
      assert.equal(res.status, 404, `${file}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(res.text, /^[^\n]+\n$/, 'one line');
      assert.match(res.text, /startover|window/i);
    }
  });

  test('the TS endpoint serves the fMP4 channel repackaged into MPEG-TS; repackage-fmp4-ts.test.ts checks it in depth', async () => {
    for (const file of ['index.m3u8', 'index_index_0.m3u8']) {
      const res = await get(`${tsOut}/${file}`);
      assert.equal(res.status, 200, `${file}: ${res.text}`);
    }
    const p = readMedia((await get(`${tsOut}/index_index_0.m3u8`)).text);
    assert.deepEqual(p.tags('EXT-X-MAP'), []);
    assert.ok(p.segments.length > 0 && p.segments.every((s) => s.uri.endsWith('.ts')));
  });
});

/** Presentation time (s, from the Period start) of a SegmentTemplate's first S: (t - presentationTimeOffset) / timescale. */
function firstPresentation(template: XmlElement): number {
  const ts = Number(template.attrs['timescale']);
  const pto = Number(template.attrs['presentationTimeOffset'] ?? 0);
  const s0 = findAll(template, 'S')[0]!;
  return (Number(s0.attrs['t'] ?? 0) - pto) / ts;
}
