/**
 * Live MPEG-TS end to end: ffmpeg pushes ~12 s of HLS with TS segments (two H.264 renditions and one
 * AAC rendition) through a recording tee proxy to a real Packhouse process. While it runs, bad
 * ingest requests are sent beside it (garbage media, an unknown channel, a file type Packhouse
 * does not take, a DELETE, a broken playlist); afterwards the TS endpoint's output is checked
 * against what ffmpeg sent — none of the bad requests may have left a trace.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/server.js';
import {
  closedWindowEnd,
  cmafEndpoint,
  createLiveChannel,
  decodedDuration,
  errorLines,
  expectEncoderSuccess,
  ffprobe,
  ffprobeBytes,
  get,
  readMaster,
  readMedia,
  rfc6381,
  segmentTimes,
  send,
  startEncoder,
  startTeeProxy,
  tsEndpoint,
  waitFor,
  waitPastAnnounced,
  type CapturedRequest,
  type MediaPlaylistText,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';

const G = 'live-t';
const C = 'ch';
const SECONDS = 12;
const SEG = 2;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;
const VIDEO = { index_0: { width: 320, height: 180 }, index_1: { width: 160, height: 90 } } as const;

let server: TestServer;
let tee: TeeProxy;
let encoder: RunningProcess;
let tsOut: string;
let cmafOut: string;
let ingest: string;
const live = new Map<string, MediaPlaylistText>();
const sentInfo = new Map<string, { duration: number; pdtMs?: number }>();
/** The live video playlist just before the bad requests. */
let beforeBad: MediaPlaylistText;

const sentSegments = (r: string): CapturedRequest[] => tee.files(new RegExp(`^${r}_\\d+\\.ts$`));

describe('live MPEG-TS ingest → TS endpoint (HLS)', () => {
  before(async () => {
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [tsEndpoint('ts', 600), cmafEndpoint('cmaf', 600)]);
    tsOut = `${server.url}/out/v1/${G}/${C}/ts`;
    cmafOut = `${server.url}/out/v1/${G}/${C}/cmaf`;
    ingest = `${server.url}/in/v1/${G}/1/${C}`;
    tee = await startTeeProxy(server.url);
    encoder = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: SECONDS });
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await tee?.close();
    await server?.stop();
  });

  test('while ffmpeg pushes: bad ingest requests are refused with a status and a one-line reason', async () => {
    beforeBad = await waitFor(
      'two segments on the live playlist',
      async () => {
        const res = await get(`${tsOut}/index_index_0.m3u8`);
        if (res.status !== 200) return undefined;
        const p = readMedia(res.text);
        return p.segments.length >= 2 ? p : undefined;
      },
      15_000,
    );
    const oneLine = (what: string, r: { status: number; text: string; headers: Headers }, status: number, mention?: RegExp) => {
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/, what);
      assert.match(r.text, /^[^\n]+\n$/, `${what}: one line, got ${JSON.stringify(r.text)}`);
      if (mention) assert.match(r.text, mention, what);
    };
    const garbage = Buffer.alloc(4096, 'this is not a transport stream ');
    oneLine('garbage bytes as index_0_99.ts', await send(`${ingest}/index_0_99.ts`, 'PUT', garbage), 415, /index_0_99\.ts/);
    const realSegment = sentSegments('index_0')[0]!.body;
    oneLine('a real segment for an unknown channel', await send(`${server.url}/in/v1/${G}/1/no-such-channel/index_0_0.ts`, 'PUT', realSegment), 404, /no-such-channel/);
    oneLine('an unknown channel group', await send(`${server.url}/in/v1/no-such-group/1/${C}/index_0_0.ts`, 'PUT', realSegment), 404);
    oneLine('ingest endpoint 3', await send(`${server.url}/in/v1/${G}/3/${C}/index_0_0.ts`, 'PUT', realSegment), 404);
    oneLine('x.exe', await send(`${ingest}/x.exe`, 'PUT', Buffer.from('MZ not media')), 415, /x\.exe/);
    oneLine('a playlist that is not HLS', await send(`${ingest}/index_0.m3u8`, 'PUT', 'hello, world\n'), 400, /index_0\.m3u8/);
    const del = await send(`${ingest}/index_0_0.ts`, 'DELETE');
    assert.equal(del.status, 204, del.text);
    assert.equal(del.body.length, 0);
    // The live playlist still serves, with at least what it had.
    const after = await get(`${tsOut}/index_index_0.m3u8`);
    assert.equal(after.status, 200, after.text);
    const p = readMedia(after.text);
    assert.deepEqual(
      p.segments.slice(0, beforeBad.segments.length).map((s) => s.uri),
      beforeBad.segments.map((s) => s.uri),
    );
  });

  test('ffmpeg finished and every file it pushed was accepted (201)', async () => {
    await expectEncoderSuccess(encoder);
    await tee.settled();
    await waitPastAnnounced([tee]);
    const bad = tee.requests.filter((r) => r.status !== 201).map((r) => `${r.method} ${r.file} → ${r.status}`);
    assert.deepEqual(bad, []);
    for (const r of RENDITIONS) {
      const n = sentSegments(r).length;
      assert.ok(n >= SECONDS / SEG && n <= SECONDS / SEG + 1, `${r}: ffmpeg sent ${n} segments`);
    }
    for (const p of tee.files(/^index_\d\.m3u8$/)) {
      for (const s of readMedia(p.body.toString('utf8')).segments) sentInfo.set(s.uri, { duration: s.duration, ...(s.pdtMs !== undefined ? { pdtMs: s.pdtMs } : {}) });
    }
    for (const r of RENDITIONS) {
      const res = await get(`${tsOut}/index_${r}.m3u8`);
      assert.equal(res.status, 200, `index_${r}.m3u8: ${res.text}`);
      live.set(r, readMedia(res.text));
    }
  });

  test('multivariant playlist: version 3, 2 STREAM-INF (320x180, 160x90) with the ingested codecs, 1 audio EXT-X-MEDIA', async () => {
    const res = await get(`${tsOut}/index.m3u8`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.equal(res.headers.get('cache-control'), 'max-age=1');
    const m = readMaster(res.text);
    assert.deepEqual(m.tags('EXT-X-VERSION'), ['3']);
    const codecs: Record<string, string> = {};
    for (const r of RENDITIONS) {
      const p = await ffprobeBytes([sentSegments(r)[0]!.body], 'ts');
      assert.equal(p.streams.length, 1, `${r}: one elementary stream`);
      codecs[r] = rfc6381(p.streams[0]!);
    }
    assert.equal(codecs['index_2'], 'mp4a.40.2');
    assert.equal(m.variants.length, 2, res.text);
    for (const [r, size] of Object.entries(VIDEO)) {
      const v = m.variants.find((x) => x.uri === `index_${r}.m3u8`);
      assert.ok(v, res.text);
      assert.equal(v.attrs['RESOLUTION'], `${size.width}x${size.height}`);
      assert.match(codecs[r]!, /^avc1\.[0-9a-f]{6}$/);
      assert.equal(v.attrs['CODECS'], `${codecs[r]},mp4a.40.2`);
      assert.equal(v.attrs['AUDIO'], 'audio_0');
    }
    assert.equal(m.media.length, 1, res.text);
    assert.equal(m.media[0]!['TYPE'], 'AUDIO');
    assert.equal(m.media[0]!['URI'], 'index_index_2.m3u8');
    assert.equal(m.media[0]!['CHANNELS'], '2');
  });

  test('media playlists: no EXT-X-MAP, PDT and EXTINF as ffmpeg wrote them, contiguous sequence, only what ffmpeg sent', () => {
    for (const r of RENDITIONS) {
      const p = live.get(r)!;
      const sent = sentSegments(r);
      const where = `${r}:\n${p.lines.join('\n')}`;
      assert.deepEqual(p.tags('EXT-X-MAP'), [], where);
      assert.deepEqual(p.tags('EXT-X-VERSION'), ['3'], where);
      assert.equal(p.targetDuration, SEG, where);
      assert.equal(p.endList, false, where);
      assert.equal(p.tags('EXT-X-DISCONTINUITY').length, 0, where);
      // The garbage index_0_99.ts never became a segment; the DELETE removed nothing.
      assert.equal(p.segments.length, sent.length, `every segment ffmpeg sent, and nothing else: ${where}`);
      p.segments.forEach((s, i) => assert.equal(s.uri, `segment_${r}_${p.mediaSequence + i}.ts`, where));
      const times = segmentTimes(p);
      p.segments.forEach((s, i) => {
        const info = sentInfo.get(sent[i]!.file)!;
        assert.ok(Math.abs(s.duration - info.duration) <= 0.0005, `${s.uri} EXTINF ${s.duration} vs ffmpeg ${info.duration}`);
        assert.ok(Math.abs(times[i]! - info.pdtMs!) <= 2, `${s.uri} starts ${new Date(times[i]!).toISOString()}, ffmpeg said ${new Date(info.pdtMs!).toISOString()}`);
      });
      const total = p.segments.reduce((n, s) => n + s.duration, 0);
      assert.ok(Math.abs(total - SECONDS) <= SEG, `${r}: ${total} s`);
    }
  });

  test('every segment: 200, video/mp2t, max-age=1209600, byte-identical to what ffmpeg sent (also the one DELETEd)', async () => {
    for (const r of RENDITIONS) {
      const p = live.get(r)!;
      const sent = sentSegments(r);
      for (let i = 0; i < p.segments.length; i++) {
        const s = p.segments[i]!;
        const res = await get(`${tsOut}/${s.uri}`);
        assert.equal(res.status, 200, `${s.uri}: ${res.text}`);
        assert.equal(res.headers.get('content-type'), 'video/mp2t', s.uri);
        assert.equal(res.headers.get('cache-control'), 'max-age=1209600', s.uri);
        assert.ok(res.body.equals(sent[i]!.body), `${s.uri} is byte-identical to ${sent[i]!.file}`);
      }
    }
    const head = await get(`${tsOut}/${live.get('index_0')!.segments[0]!.uri}`, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-length'), String(sentSegments('index_0')[0]!.body.length));
  });

  test('ffprobe of the origin (closed window over the whole stream): HLS, 2 video variants + AAC, ~12 s', async () => {
    const start = live.get('index_0')!.segments[0]!.pdtMs! / 1000 - 1;
    const end = await closedWindowEnd([tee]);
    const url = `${tsOut}/index.m3u8?start=${start}&end=${end}`;
    const p = await ffprobe(url);
    assert.equal(p.format.format_name, 'hls');
    assert.equal(p.programs?.length, 2);
    const kinds = p.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.width ?? ''}x${s.height ?? ''}`).sort();
    assert.deepEqual(kinds, ['audio:aac:x', 'video:h264:160x90', 'video:h264:320x180']);
    const duration = Number(p.format.duration);
    assert.ok(Math.abs(duration - SECONDS) <= SEG, `ffprobe duration ${p.format.duration} for a ${SECONDS} s encode`);
    const { seconds, result } = await decodedDuration(url, [], ['-map', '0']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(errorLines(result.stderr), []);
    assert.ok(Math.abs(seconds - SECONDS) <= SEG, `decoded ${seconds} s`);
  });

  test('ffmpeg decodes the live multivariant (all streams) without a message', async () => {
    const { seconds, result } = await decodedDuration(`${tsOut}/index.m3u8`, ['-live_start_index', '0', '-m3u8_hold_counters', '2'], ['-map', '0']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(errorLines(result.stderr), []);
    assert.ok(Math.abs(seconds - SECONDS) <= SEG, `decoded ${seconds} s`);
  });

  test('the CMAF endpoint serves the TS channel repackaged (fMP4 with EXT-X-MAP; DASH); repackage-ts-cmaf.test.ts checks it in depth', async () => {
    for (const file of ['index.m3u8', 'index_index_0.m3u8', 'dash.mpd']) {
      const res = await get(`${cmafOut}/${file}`);
      assert.equal(res.status, 200, `${file}: ${res.text}`);
    }
    const p = readMedia((await get(`${cmafOut}/index_index_0.m3u8`)).text);
    assert.equal(p.tags('EXT-X-MAP').length, 1, p.lines.join('\n'));
    assert.ok(p.segments.every((s) => s.uri.endsWith('.mp4')));
  });

  test('an encoder whose clock is 90 s behind or 30 s ahead: the live playlist follows the input PDT (DATAPLANE 1.2.8)', async () => {
    // "now" for a channel is the PDT of its newest input segment. The same three TS segments are
    // pushed (one request at a time, segments first) with a playlist whose PDTs are off the wall clock.
    const segments = sentSegments('index_0').slice(0, 3);
    const results: string[] = [];
    for (const [name, skewS] of [
      ['skew-behind', -90],
      ['skew-ahead', 30],
    ] as const) {
      await createLiveChannel(server.client(), G, name, [tsEndpoint('ts', 600)], { createGroup: false });
      const base = Date.now() - segments.length * SEG * 1000 + skewS * 1000;
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SEG}`, '#EXT-X-MEDIA-SEQUENCE:0'];
      segments.forEach((s, i) => lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(base + i * SEG * 1000).toISOString()}`, `#EXTINF:${SEG}.000,`, s.file));
      for (const s of segments) assert.equal((await send(`${server.url}/in/v1/${G}/1/${name}/${s.file}`, 'PUT', s.body)).status, 201);
      assert.equal((await send(`${server.url}/in/v1/${G}/1/${name}/index_0.m3u8`, 'PUT', `${lines.join('\n')}\n`)).status, 201);
      const res = await get(`${server.url}/out/v1/${G}/${name}/ts/index_index_0.m3u8`);
      if (res.status !== 200) {
        results.push(`${name} (${skewS} s): ${res.status} ${res.text.trim()}`);
        continue;
      }
      const p = readMedia(res.text);
      const pdts = p.segments.map((s) => s.pdtMs);
      const want = segments.map((_, i) => base + i * SEG * 1000);
      if (JSON.stringify(pdts) !== JSON.stringify(want)) results.push(`${name} (${skewS} s): PDTs ${JSON.stringify(pdts)}, want ${JSON.stringify(want)}`);
    }
    assert.deepEqual(results, [], 'each live playlist lists the 3 segments with the input PDT');
  });

  test('after everything, the channel still serves: the live playlist is unchanged', async () => {
    const res = await get(`${tsOut}/index_index_0.m3u8`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      readMedia(res.text).segments.map((s) => s.uri),
      live.get('index_0')!.segments.map((s) => s.uri),
    );
  });
});
