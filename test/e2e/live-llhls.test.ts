/**
 * LL-HLS end to end: ffmpeg pushes ~20 s of HLS with 1 s fMP4 segments through a recording tee
 * proxy to a real Packhouse process; a CMAF endpoint with 2 s segments carries an HLS, an LL-HLS
 * and a DASH manifest. While the encoder runs: the LL-HLS media playlist (server control, part
 * info, parts, preload hint), blocking playlist reload with _HLS_msn/_HLS_part, and a blocking
 * preload-hinted part request. Afterwards: every part is an input segment ffmpeg sent, every
 * grouped segment is its parts end to end and decodes, a blocked request times out with 503, and
 * the regular HLS and DASH output of the same endpoint lists the same 2 s output segments.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../support/server.js';
import {
  attributes,
  createLiveChannel,
  decode,
  errorLines,
  expectEncoderSuccess,
  findAll,
  get,
  parseXml,
  readMaster,
  readMedia,
  runProcess,
  startEncoder,
  startTeeProxy,
  timelineDurations,
  waitFor,
  waitPastAnnounced,
  type EndpointSpec,
  type MediaPlaylistText,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';

const G = 'live-ll';
const C = 'ch';
const SECONDS = 20;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;

const ENDPOINT: EndpointSpec = {
  OriginEndpointName: 'll',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
  LowLatencyHlsManifests: [{ ManifestName: 'low', ProgramDateTimeIntervalSeconds: 1 }],
  DashManifests: [{ ManifestName: 'dash' }],
};

let server: TestServer;
let tee: TeeProxy;
let enc: RunningProcess;
let base: string;

interface Part {
  readonly uri: string;
  readonly duration: number;
  readonly independent: boolean;
}

/** EXT-X-PART lines of a playlist, each with the URI of the segment it belongs to (undefined: the segment being built). */
function partsOf(p: MediaPlaylistText): { part: Part; segment: string | undefined }[] {
  const out: { part: Part; segment: string | undefined }[] = [];
  let pending: Part[] = [];
  for (const l of p.lines) {
    if (l.startsWith('#EXT-X-PART:')) {
      const a = attributes(l.slice('#EXT-X-PART:'.length));
      pending.push({ uri: a['URI']!, duration: Number(a['DURATION']), independent: a['INDEPENDENT'] === 'YES' });
    } else if (!l.startsWith('#')) {
      out.push(...pending.map((part) => ({ part, segment: l })));
      pending = [];
    }
  }
  out.push(...pending.map((part) => ({ part, segment: undefined })));
  return out;
}

const llUrl = (r: string, q = '') => `${base}/low_${r}.m3u8${q}`;
const sentSegments = (r: string) => tee.files(new RegExp(`^${r}_\\d+\\.m4s$`));

async function decodeBytes(parts: readonly Buffer[]): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-ll-'));
  const file = join(dir, 'seg.mp4');
  try {
    writeFileSync(file, Buffer.concat(parts));
    const r = await runProcess('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', '-i', file, '-f', 'null', '-'], { timeoutMs: 30_000 }).done;
    return { code: r.code, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('LL-HLS output of a CMAF endpoint (2 s segments of 1 s input parts)', () => {
  before(async () => {
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [ENDPOINT]);
    base = `${server.url}/out/v1/${G}/${C}/ll`;
    tee = await startTeeProxy(server.url);
    enc = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SECONDS, hlsTime: 1 });
    // Live: wait for two complete LL segments of the first video rendition.
    await waitFor('two complete LL-HLS segments', async () => {
      const res = await get(llUrl('index_0'));
      return res.status === 200 && readMedia(res.text).segments.length >= 2 ? true : undefined;
    });
  });

  after(async () => {
    await enc?.kill('SIGKILL');
    await tee?.close();
    await server?.stop();
  });

  test('live LL-HLS media playlist: SERVER-CONTROL, PART-INF, parts of 1 s, 2 s segments, parts-only tail, PRELOAD-HINT, headers', async () => {
    const res = await get(llUrl('index_0'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'max-age=1', 'LL-HLS media playlists are cached 1 s (DATAPLANE 2.4.2)');
    const p = readMedia(res.text);
    const where = res.text;
    assert.deepEqual(p.tags('EXT-X-SERVER-CONTROL').map(attributes), [{ 'CAN-BLOCK-RELOAD': 'YES', 'PART-HOLD-BACK': '3.000' }], where);
    assert.deepEqual(p.tags('EXT-X-PART-INF').map(attributes), [{ 'PART-TARGET': '1.000' }], where);
    assert.equal(p.targetDuration, 2, where);
    assert.equal(p.tags('EXT-X-MAP').length, 1, where);
    for (const s of p.segments) {
      assert.match(s.uri, /^segment_index_0_\d+\.g2\.mp4$/, where);
      assert.ok(Math.abs(s.duration - 2) < 0.1, `${s.uri} lasts ${s.duration} s: ${where}`);
    }
    p.segments.forEach((s, i) => assert.equal(s.uri, `segment_index_0_${p.mediaSequence + i}.g2.mp4`, where));
    const parts = partsOf(p);
    assert.ok(parts.length >= 2, where);
    for (const { part, segment } of parts) {
      assert.ok(part.duration > 0.9 && part.duration <= 1, `part ${part.uri} lasts ${part.duration}: ${where}`);
      assert.ok(part.independent, where);
      const m = /^segment_index_0_(\d+)\.g2\.p([01])\.mp4$/.exec(part.uri);
      assert.ok(m, part.uri);
      if (segment !== undefined) assert.equal(segment, `segment_index_0_${m[1]}.g2.mp4`, `part ${part.uri} listed before its segment`);
    }
    // Parts of a listed segment are its two halves, in order.
    const bySeg = new Map<string, string[]>();
    for (const { part, segment } of parts) if (segment) bySeg.set(segment, [...(bySeg.get(segment) ?? []), part.uri]);
    for (const [seg, uris] of bySeg) assert.deepEqual(uris, [0, 1].map((i) => seg.replace(/\.mp4$/, `.p${i}.mp4`)), where);
    // The preload hint names the part after the last one listed.
    const hints = p.tags('EXT-X-PRELOAD-HINT').map(attributes);
    assert.equal(hints.length, 1, where);
    assert.equal(hints[0]!['TYPE'], 'PART');
    const lastPart = parts[parts.length - 1]!.part.uri;
    const [, k, i] = /_(\d+)\.g2\.p(\d)\.mp4$/.exec(lastPart)!.map(Number) as [number, number, number];
    const next = i === 1 ? `segment_index_0_${k + 1}.g2.p0.mp4` : `segment_index_0_${k}.g2.p1.mp4`;
    assert.equal(hints[0]!['URI'], next, where);
    assert.equal(res.headers.get('x-amzn-mediapackage-manifest-last-part'), String(i));
    assert.equal(res.headers.get('x-mediapackage-manifest-last-sequence'), String(k));
    // The LL multivariant names the LL media playlists.
    const mv = readMaster((await get(`${base}/low.m3u8`)).text);
    assert.deepEqual(mv.variants.map((v) => v.uri).sort(), ['low_index_0.m3u8', 'low_index_1.m3u8']);
  });

  test('blocking reload: _HLS_msn of the next segment returns within 3 target durations with that segment listed', async () => {
    const p = readMedia((await get(llUrl('index_0'))).text);
    const want = p.mediaSequence + p.segments.length; // the first segment not yet complete
    const t0 = Date.now();
    const res = await get(llUrl('index_0', `?_HLS_msn=${want}`));
    const took = Date.now() - t0;
    assert.equal(res.status, 200, res.text);
    assert.ok(took < 6000, `answered after ${took} ms`);
    const q = readMedia(res.text);
    assert.ok(q.mediaSequence + q.segments.length - 1 >= want, `segment ${want} is listed:\n${res.text}`);
  });

  test('blocking reload with _HLS_part, and a blocking request for the preload-hinted part', async () => {
    const p = readMedia((await get(llUrl('index_0'))).text);
    const hint = attributes(p.tags('EXT-X-PRELOAD-HINT')[0]!)['URI']!;
    const [, k, i] = /_(\d+)\.g2\.p(\d)\.mp4$/.exec(hint)!.map(Number) as [number, number, number];
    const t0 = Date.now();
    const [pl, part] = await Promise.all([get(llUrl('index_0', `?_HLS_msn=${k}&_HLS_part=${i}`)), get(`${base}/${hint}`)]);
    const took = Date.now() - t0;
    assert.ok(took < 6000, `answered after ${took} ms`);
    assert.equal(pl.status, 200, pl.text);
    assert.ok(partsOf(readMedia(pl.text)).some(({ part: x }) => x.uri === hint) || readMedia(pl.text).segments.some((s) => s.uri === `segment_index_0_${k}.g2.mp4`), `the hinted part is listed:\n${pl.text}`);
    assert.equal(part.status, 200, part.text);
    assert.equal(part.headers.get('content-type'), 'video/mp4');
    assert.ok(part.body.length > 0);
  });

  test('EXT-X-RENDITION-REPORT names every other rendition with where its own playlist ends', async () => {
    const text = (await get(llUrl('index_0'))).text;
    const reports = readMedia(text).tags('EXT-X-RENDITION-REPORT').map(attributes);
    assert.deepEqual(reports.map((r) => r['URI']), ['low_index_1.m3u8', 'low_index_2.m3u8'], text);
    for (const r of reports) {
      const other = readMedia((await get(`${base}/${r['URI']}`)).text);
      const parts = partsOf(other);
      const last = parts[parts.length - 1]!.part.uri;
      const [, k, i] = /_(\d+)\.g2\.p(\d)\.mp4$/.exec(last)!.map(Number) as [number, number, number];
      // Read a moment later, the rendition's own playlist is at the reported part or at most two parts on.
      const reported = Number(r['LAST-MSN']) * 2 + Number(r['LAST-PART']);
      assert.ok(k * 2 + i >= reported && k * 2 + i <= reported + 2, `${r['URI']}: reported ${r['LAST-MSN']}/${r['LAST-PART']}, its playlist ends at ${k}/${i}`);
    }
  });

  test('_HLS_msn far beyond the live edge: 400 at once; on a regular HLS playlist or malformed: 400', async () => {
    const p = readMedia((await get(llUrl('index_0'))).text);
    const t0 = Date.now();
    const far = await get(llUrl('index_0', `?_HLS_msn=${p.mediaSequence + p.segments.length + 50}`));
    assert.equal(far.status, 400, far.text);
    assert.ok(Date.now() - t0 < 1000, 'not held');
    assert.equal((await get(`${base}/index_index_0.m3u8?_HLS_msn=1`)).status, 400);
    assert.equal((await get(`${base}/low.m3u8?_HLS_msn=1`)).status, 400, 'not on the multivariant playlist');
    assert.equal((await get(llUrl('index_0', '?_HLS_msn=abc'))).status, 400);
    assert.equal((await get(llUrl('index_0', '?_HLS_part=1'))).status, 400);
    assert.equal((await get(llUrl('index_0', '?_HLS_msn=1&_HLS_part=-1'))).status, 400);
  });

  describe('after the encode', () => {
    before(async () => {
      await expectEncoderSuccess(enc);
      await tee.settled();
      await waitPastAnnounced([tee]);
    });

    test('every part listed is an input segment ffmpeg sent, and every grouped segment is its parts end to end', async () => {
      for (const r of RENDITIONS) {
        const sent = sentSegments(r);
        const res = await get(llUrl(r));
        assert.equal(res.status, 200, `${r}: ${res.text}`);
        const p = readMedia(res.text);
        const parts = partsOf(p);
        assert.ok(parts.length >= 4, `${r}: ${res.text}`);
        // Output segment k is input segments 2k−1 and 2k: segment 1 is the first two ffmpeg sent.
        assert.equal(p.mediaSequence, 1, res.text);
        assert.ok((await get(`${base}/${p.segments[0]!.uri}`)).body.equals(Buffer.concat([sent[0]!.body, sent[1]!.body])), `${p.segments[0]!.uri} = ${sent[0]!.file} + ${sent[1]!.file}`);
        const byUri = new Map<string, Buffer>();
        for (const { part } of parts) {
          const got = await get(`${base}/${part.uri}`);
          assert.equal(got.status, 200, `${part.uri}: ${got.text}`);
          assert.equal(got.headers.get('cache-control'), 'max-age=1209600');
          const index = sent.findIndex((s) => s.body.equals(got.body));
          assert.ok(index >= 0, `${part.uri} is one of the ${sent.length} segments ffmpeg sent for ${r}`);
          byUri.set(part.uri, got.body);
        }
        for (const s of p.segments) {
          const own = parts.filter((x) => x.segment === s.uri).map((x) => byUri.get(x.part.uri)!);
          const got = await get(`${base}/${s.uri}`);
          assert.equal(got.status, 200, `${s.uri}: ${got.text}`);
          assert.equal(got.headers.get('content-type'), r === 'index_2' ? 'audio/mp4' : 'video/mp4');
          if (own.length === 2) assert.ok(got.body.equals(Buffer.concat(own)), `${s.uri} = its two parts`);
          // Whatever the parts: two consecutive input segments ffmpeg sent.
          const i = sent.findIndex((x) => got.body.subarray(0, x.body.length).equals(x.body));
          assert.ok(i >= 0 && i + 1 < sent.length && got.body.equals(Buffer.concat([sent[i]!.body, sent[i + 1]!.body])), `${s.uri} is two consecutive input segments`);
        }
      }
    });

    test('grouped 2 s segments decode with ffmpeg without a message', async () => {
      for (const r of RENDITIONS) {
        const p = readMedia((await get(llUrl(r))).text);
        const init = await get(`${base}/${p.segments[0]!.map!}`);
        assert.equal(init.status, 200);
        for (const s of p.segments.slice(0, 3)) {
          const seg = await get(`${base}/${s.uri}`);
          const d = await decodeBytes([init.body, seg.body]);
          assert.equal(d.code, 0, `${r} ${s.uri}: ${d.stderr}`);
          assert.deepEqual(errorLines(d.stderr), [], `${r} ${s.uri}`);
        }
      }
    });

    test('a blocking reload that is never satisfied (the encoder stopped) gets 503 after 3 target durations', async () => {
      const p = readMedia((await get(llUrl('index_0'))).text);
      const parts = partsOf(p);
      const tailOnly = parts.some((x) => x.segment === undefined);
      const want = p.mediaSequence + p.segments.length + (tailOnly ? 1 : 0);
      const t0 = Date.now();
      const res = await get(llUrl('index_0', `?_HLS_msn=${want}`));
      const took = Date.now() - t0;
      assert.equal(res.status, 503, res.text);
      assert.ok(took >= 5500 && took < 8000, `held ${took} ms (3 × 2 s)`);
    });

    test('the regular HLS and DASH manifests of the same endpoint group the same way: 2 s segments of two 1 s input segments, under the LL-HLS names', async () => {
      const sent = sentSegments('index_0');
      const res = await get(`${base}/index_index_0.m3u8`);
      assert.equal(res.status, 200, res.text);
      const p = readMedia(res.text);
      assert.equal(p.targetDuration, 2, res.text);
      assert.deepEqual(p.tags('EXT-X-PART'), []);
      assert.deepEqual(p.tags('EXT-X-SERVER-CONTROL'), []);
      assert.equal(p.mediaSequence, 1, res.text);
      // Every complete pair of what ffmpeg sent, in order (the last odd one waits for its partner).
      assert.equal(p.segments.length, Math.floor(sent.length / 2), res.text);
      const ll = new Set(readMedia((await get(llUrl('index_0'))).text).segments.map((s) => s.uri));
      for (let i = 0; i < p.segments.length; i++) {
        const s = p.segments[i]!;
        assert.equal(s.uri, `segment_index_0_${i + 1}.g2.mp4`);
        assert.ok(Math.abs(s.duration - 2) < 0.05, `${s.uri}: EXTINF ${s.duration}`);
        const got = await get(`${base}/${s.uri}`);
        assert.ok(got.body.equals(Buffer.concat([sent[2 * i]!.body, sent[2 * i + 1]!.body])), `${s.uri} = ${sent[2 * i]!.file} + ${sent[2 * i + 1]!.file}`);
      }
      assert.ok([...ll].every((u) => p.segments.some((s) => s.uri === u)), 'the LL-HLS segments are the HLS segments');
      const mpd = parseXml((await get(`${base}/dash.mpd`)).text);
      const rep = findAll(mpd, 'Representation').find((x) => x.attrs['id'] === 'index_0')!;
      const set = findAll(mpd, 'AdaptationSet').find((a) => findAll(a, 'Representation').includes(rep))!;
      const template = findAll(rep, 'SegmentTemplate')[0] ?? findAll(set, 'SegmentTemplate')[0]!;
      assert.equal(template.attrs['media'], 'segment_$RepresentationID$_$Number$.g2.mp4');
      assert.equal(template.attrs['startNumber'], '1');
      const ds = timelineDurations(template);
      assert.equal(ds.length, p.segments.length);
      assert.ok(ds.every((d) => Math.abs(d - 2) < 0.05), `2 s entries: ${ds.join(',')}`);
    });

    test('a closed time-shifted window of the grouped HLS and DASH output decodes without a message', async () => {
      const p = readMedia((await get(`${base}/index_index_0.m3u8`)).text);
      const from = p.segments[1]!.pdtMs!;
      const q = `?start=${(from + 500) / 1000}&end=${(from + 4500) / 1000}`;
      const child = readMedia((await get(`${base}/index_index_0.m3u8${q}`)).text);
      // 0.5 s into segment 2 up to 0.5 s into segment 4: whole output segments 2, 3 and 4.
      assert.deepEqual(child.segments.map((s) => s.uri), ['segment_index_0_2.g2.mp4', 'segment_index_0_3.g2.mp4', 'segment_index_0_4.g2.mp4']);
      assert.ok(child.endList);
      for (const url of [`${base}/index.m3u8${q}`, `${base}/dash.mpd${q}`]) {
        const r = await decode(url);
        assert.equal(r.code, 0, `${url}: ${r.stderr}`);
        assert.equal(r.stderr, '', url);
      }
    });
  });
});
