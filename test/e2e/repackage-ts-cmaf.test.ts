/**
 * TS in, CMAF out, end to end: ffmpeg pushes ~12 s of HLS with MPEG-TS segments (two H.264
 * renditions and one AAC rendition) through a recording tee proxy into a channel with a TS endpoint
 * (pass-through) and two CMAF endpoints (2 s segments with HLS, LL-HLS and DASH; 4 s segments with
 * HLS). Checked: the CMAF output's boxes with an independent parser (mp4box), its timing against
 * what ffmpeg sent, clean ffmpeg decodes of HLS, LL-HLS and DASH with the durations and A/V offset
 * of the TS endpoint's same window, identical bytes on every fetch, a harvest equal to the origin,
 * and bad input (lost packets, a codec CMAF cannot carry) refused on the CMAF endpoint only.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CreateHarvestJobCommand, CreateOriginEndpointCommand, waitUntilHarvestJobFinished } from '@aws-sdk/client-mediapackagev2';
import { createFile, MP4BoxBuffer } from 'mp4box';
import { startServer, type TestServer } from '../support/server.js';
import {
  closedWindowEnd,
  createLiveChannel,
  decodedDuration,
  errorLines,
  expectEncoderSuccess,
  ffprobe,
  ffprobeBytes,
  findAll,
  get,
  parseXml,
  readMaster,
  readMedia,
  rfc6381,
  send,
  startEncoder,
  startTeeProxy,
  tsEndpoint,
  waitFor,
  waitPastAnnounced,
  type CapturedRequest,
  type EndpointSpec,
  type MediaPlaylistText,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';
import { builtinS3Url, getObject, listKeys, s3Client, logEntries } from '../support/harvest.js';
import { startReadingProxy } from '../support/s3-raw.js';
import { repackageTs } from '../../src/media/package/ts-to-cmaf.js';

const G = 'repack';
const C = 'ch';
const SECONDS = 12;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;
const FRAME = 0.04;

const CMAF: EndpointSpec = {
  OriginEndpointName: 'cmaf',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 2 },
  HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 2 }],
  LowLatencyHlsManifests: [{ ManifestName: 'low' }],
  DashManifests: [{ ManifestName: 'dash' }],
};
const CMAF4: EndpointSpec = {
  OriginEndpointName: 'cmaf4',
  ContainerType: 'CMAF',
  StartoverWindowSeconds: 600,
  Segment: { SegmentName: 'segment', SegmentDurationSeconds: 4 },
  HlsManifests: [{ ManifestName: 'index' }],
};

let server: TestServer;
let tee: TeeProxy;
let encoder: RunningProcess;
let tsOut: string;
let cmafOut: string;
let cmaf4Out: string;
/** start/end query of a closed window over the whole encode. */
let windowQuery: string;
const cmafLive = new Map<string, MediaPlaylistText>();
const tsLive = new Map<string, MediaPlaylistText>();

const sentSegments = (r: string): CapturedRequest[] => tee.files(new RegExp(`^${r}_\\d+\\.ts$`));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The stored CMAF fragments of every channel (files under the server's media folder). */
const storedFragments = (): Set<string> =>
  new Set((readdirSync(join(server.dataDir, 'media'), { recursive: true }) as string[]).filter((f) => f.endsWith('.cmaf.mp4')));

// ---------------------------------------------------------------------------------------------
// mp4box as the independent box reader

interface Mp4Box {
  type: string;
  boxes?: Mp4Box[];
  [field: string]: unknown;
}
interface Trun extends Mp4Box {
  sample_count: number;
  sample_duration: number[];
  sample_composition_time_offset: number[];
  sample_flags: number[];
}
interface Traf extends Mp4Box {
  tfhd: { track_id: number };
  tfdt: { baseMediaDecodeTime: number | bigint };
  truns: Trun[];
}

function mp4box(bytes: Buffer): { boxes: Mp4Box[]; tracks: { id: number; codec: string; timescale: number; type: string }[] } {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = createFile();
  let tracks: { id: number; codec: string; timescale: number; type: string }[] = [];
  let error: unknown;
  file.onReady = (info) => {
    tracks = info.tracks.map((t) => ({ id: t.id, codec: t.codec, timescale: t.timescale, type: t.type ?? '' }));
  };
  file.onError = (_module: string, message: string) => {
    error = message;
  };
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  file.flush();
  assert.equal(error, undefined, `mp4box: ${String(error)}`);
  return { boxes: (file as unknown as { boxes: Mp4Box[] }).boxes, tracks };
}

/** Decode start, earliest presentation time and duration (ticks) of the one traf of a media segment's moofs, in order. */
function fragmentTimes(boxes: readonly Mp4Box[]): { tfdt: number; ept: number; duration: number; samples: number; firstSync: boolean }[] {
  const out: { tfdt: number; ept: number; duration: number; samples: number; firstSync: boolean }[] = [];
  for (const moof of boxes.filter((b) => b.type === 'moof')) {
    const trafs = (moof as unknown as { trafs: Traf[] }).trafs;
    assert.equal(trafs.length, 1, 'one track per CMAF fragment');
    const traf = trafs[0]!;
    const tfdt = Number(traf.tfdt.baseMediaDecodeTime);
    let t = tfdt;
    let ept = Number.POSITIVE_INFINITY;
    let samples = 0;
    let firstSync = false;
    for (const trun of traf.truns) {
      for (let i = 0; i < trun.sample_count; i++) {
        if (samples === 0) firstSync = ((trun.sample_flags[i] ?? 0) & 0x00010000) === 0;
        ept = Math.min(ept, t + (trun.sample_composition_time_offset[i] ?? 0));
        t += trun.sample_duration[i]!;
        samples++;
      }
    }
    out.push({ tfdt, ept, duration: t - tfdt, samples, firstSync });
  }
  return out;
}

/** ffprobe's start_time (s) of the first stream of a file made of the bytes. */
function ffprobeStartTime(bytes: Buffer, ext: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-start-'));
  try {
    const file = join(dir, `x.${ext}`);
    writeFileSync(file, bytes);
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim().split('\n')[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TS segment with three packets of `pid` (none starting a PES) cut out of its middle: lost packets. */
function dropPackets(ts: Buffer, pid: number): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < ts.length; i += 188) packets.push(ts.subarray(i, i + 188));
  const ofPid = packets.map((p, i) => ({ p, i })).filter(({ p }) => (((p[1]! & 0x1f) << 8) | p[2]!) === pid && (p[1]! & 0x40) === 0);
  const mid = ofPid[Math.floor(ofPid.length / 2)]!.i;
  const drop = new Set([mid, mid + 1, mid + 2].filter((i) => ofPid.some((x) => x.i === i)));
  assert.ok(drop.size >= 2, 'packets to drop');
  return Buffer.concat(packets.filter((_, i) => !drop.has(i)));
}

/** Pushes segments and then a media playlist naming them (PDT from now back), one request at a time. */
async function pushSegments(channel: string, rendition: string, segments: readonly { file: string; body: Buffer }[], segSeconds: number): Promise<void> {
  const base = Date.now() - segments.length * segSeconds * 1000;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${segSeconds}`, '#EXT-X-MEDIA-SEQUENCE:0'];
  segments.forEach((s, i) => lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(base + i * segSeconds * 1000).toISOString()}`, `#EXTINF:${segSeconds}.000,`, s.file));
  for (const s of segments) {
    const r = await send(`${server.url}/in/v1/${G}/1/${channel}/${s.file}`, 'PUT', s.body);
    assert.equal(r.status, 201, `${s.file}: ${r.text}`);
  }
  const r = await send(`${server.url}/in/v1/${G}/1/${channel}/${rendition}.m3u8`, 'PUT', `${lines.join('\n')}\n`);
  assert.equal(r.status, 201, r.text);
}

interface StreamTimes {
  video: number;
  audio: number;
}

async function startTimes(url: string): Promise<StreamTimes> {
  const p = await ffprobe(url);
  const streams = p.streams as (typeof p.streams[number] & { start_time?: string })[];
  const video = streams.find((s) => s.codec_type === 'video' && s.width === 320);
  const audio = streams.find((s) => s.codec_type === 'audio');
  assert.ok(video?.start_time !== undefined && audio?.start_time !== undefined, `${url}: ${JSON.stringify(streams)}`);
  return { video: Number(video.start_time), audio: Number(audio.start_time) };
}

describe('TS in, CMAF out: HLS (EXT-X-MAP), LL-HLS and DASH repackaged from an MPEG-TS encoder', () => {
  before(async () => {
    server = await startServer();
    await createLiveChannel(server.client(), G, C, [tsEndpoint('ts', 600), CMAF, CMAF4]);
    tsOut = `${server.url}/out/v1/${G}/${C}/ts`;
    cmafOut = `${server.url}/out/v1/${G}/${C}/cmaf`;
    cmaf4Out = `${server.url}/out/v1/${G}/${C}/cmaf4`;
    tee = await startTeeProxy(server.url);
    encoder = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: SECONDS });
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await tee?.close();
    await server?.stop();
  });

  test('while ffmpeg pushes: the live LL-HLS playlist lists CMAF parts with EXT-X-MAP, and a part decodes after its init segment', async () => {
    const p = await waitFor(
      'a live LL-HLS playlist with a part',
      async () => {
        const res = await get(`${cmafOut}/low_index_0.m3u8`);
        if (res.status !== 200) return undefined;
        const pl = readMedia(res.text);
        return pl.tags('EXT-X-PART').length > 0 && pl.tags('EXT-X-MAP').length > 0 ? pl : undefined;
      },
      20_000,
    );
    const map = /URI="([^"]+)"/.exec(p.tags('EXT-X-MAP')[0]!)![1]!;
    const part = /URI="([^"]+)"/.exec(p.tags('EXT-X-PART').at(-1)!)![1]!;
    assert.match(map, /^segment_index_0_init-[0-9a-f]+\.mp4$/);
    assert.match(part, /\.mp4$/);
    const init = await get(`${cmafOut}/${map}`);
    const media = await get(`${cmafOut}/${part}`);
    assert.equal(init.status, 200, init.text);
    assert.equal(media.status, 200, media.text);
    assert.equal(media.headers.get('content-type'), 'video/mp4');
    const probe = await ffprobeBytes([init.body, media.body], 'mp4');
    assert.equal(probe.streams[0]?.codec_name, 'h264');
    assert.equal(probe.streams[0]?.width, 320);
  });

  test('ffmpeg finished; every file was accepted; TS and CMAF playlists list the same segments', async () => {
    await expectEncoderSuccess(encoder);
    await tee.settled();
    await waitPastAnnounced([tee]);
    assert.deepEqual(tee.requests.filter((r) => r.status !== 201).map((r) => `${r.method} ${r.file} → ${r.status}`), []);
    for (const r of RENDITIONS) {
      const ts = await get(`${tsOut}/index_${r}.m3u8`);
      const cm = await get(`${cmafOut}/index_${r}.m3u8`);
      assert.equal(ts.status, 200, ts.text);
      assert.equal(cm.status, 200, cm.text);
      tsLive.set(r, readMedia(ts.text));
      cmafLive.set(r, readMedia(cm.text));
      const t = tsLive.get(r)!;
      const c = cmafLive.get(r)!;
      assert.equal(c.segments.length, sentSegments(r).length, `${r}: every segment ffmpeg sent\n${c.lines.join('\n')}`);
      assert.deepEqual(
        c.segments.map((s) => [s.uri.replace(/\.mp4$/, ''), s.duration, s.pdtMs]),
        t.segments.map((s) => [s.uri.replace(/\.ts$/, ''), s.duration, s.pdtMs]),
        `${r}: same names, durations and PDTs`,
      );
      assert.ok(c.segments.every((s) => s.map !== undefined && /_init-[0-9a-f]+\.mp4$/.test(s.map)), `${r}: EXT-X-MAP\n${c.lines.join('\n')}`);
      assert.equal(new Set(c.segments.map((s) => s.map)).size, 1, `${r}: one init segment`);
      assert.equal(c.tags('EXT-X-DISCONTINUITY').length, 0);
    }
    const end = await closedWindowEnd([tee]);
    windowQuery = `start=${Math.floor(cmafLive.get('index_0')!.segments[0]!.pdtMs! / 1000) - 1}&end=${end}`;
  });

  test('multivariant and MPD: codecs from the actual configuration, equal to the TS endpoint and to ffprobe of the input', async () => {
    const ts = readMaster((await get(`${tsOut}/index.m3u8`)).text);
    const cm = readMaster((await get(`${cmafOut}/index.m3u8`)).text);
    const codecs: Record<string, string> = {};
    for (const r of RENDITIONS) codecs[r] = rfc6381((await ffprobeBytes([sentSegments(r)[0]!.body], 'ts')).streams[0]!);
    assert.equal(codecs['index_2'], 'mp4a.40.2');
    assert.equal(cm.variants.length, 2);
    for (const v of cm.variants) {
      const r = v.uri.replace(/^index_/, '').replace(/\.m3u8$/, '');
      assert.equal(v.attrs['CODECS'], `${codecs[r]},mp4a.40.2`);
      assert.equal(v.attrs['CODECS'], ts.variants.find((x) => x.uri === v.uri)?.attrs['CODECS']);
    }
    assert.ok(Number(cm.tags('EXT-X-VERSION')[0]) >= 6);
    const mpd = parseXml((await get(`${cmafOut}/dash.mpd`)).text);
    const reps = findAll(mpd, 'Representation');
    assert.deepEqual(reps.map((x) => [x.attrs['id'], x.attrs['codecs']]).sort(), RENDITIONS.map((r) => [r, codecs[r]]).sort());
  });

  test('mp4box reads init and media segments: ftyp/moov/mvex, moof(mfhd, traf(tfhd, tfdt, trun))/mdat; tfdt continues the input media time', async () => {
    for (const r of RENDITIONS) {
      const c = cmafLive.get(r)!;
      const init = (await get(`${cmafOut}/${c.segments[0]!.map!}`)).body;
      const ib = mp4box(init);
      assert.deepEqual(ib.boxes.map((b) => b.type), ['ftyp', 'moov'], r);
      const moov = ib.boxes[1]!;
      assert.deepEqual(moov.boxes!.map((b) => b.type), ['mvhd', 'trak', 'mvex'], r);
      assert.equal(ib.tracks.length, 1);
      assert.equal(ib.tracks[0]!.timescale, 90000);
      const expectCodec = rfc6381((await ffprobeBytes([sentSegments(r)[0]!.body], 'ts')).streams[0]!);
      assert.equal(ib.tracks[0]!.codec, expectCodec, `${r}: mp4box's codec string`);
      let prevEnd: number | undefined;
      for (let i = 0; i < c.segments.length; i++) {
        const seg = (await get(`${cmafOut}/${c.segments[i]!.uri}`)).body;
        const mb = mp4box(Buffer.concat([init, seg]));
        const top = mb.boxes.map((b) => b.type);
        assert.deepEqual(top, ['ftyp', 'moov', 'moof', 'mdat'], `${r} ${c.segments[i]!.uri}`);
        const moof = mb.boxes[2]!;
        assert.deepEqual(moof.boxes!.map((b) => b.type), ['mfhd', 'traf']);
        assert.deepEqual(moof.boxes![1]!.boxes!.map((b) => b.type), ['tfhd', 'tfdt', 'trun']);
        const [f] = fragmentTimes(mb.boxes);
        assert.ok(f && f.samples > 0);
        assert.equal(f.firstSync, true, `${r} segment ${i} starts with a sync sample`);
        // The earliest presentation time is the input segment's first PTS (ffprobe's start_time of what ffmpeg sent).
        const tsStart = ffprobeStartTime(sentSegments(r)[i]!.body, 'ts');
        assert.ok(Math.abs(f.ept / 90000 - tsStart) < 0.0005, `${r} segment ${i}: EPT ${f.ept / 90000} vs TS start ${tsStart}`);
        if (prevEnd !== undefined) assert.ok(Math.abs(f.tfdt - prevEnd) <= (r === 'index_2' ? 1 : 0), `${r} segment ${i}: tfdt ${f.tfdt} continues ${prevEnd}`);
        prevEnd = f.tfdt + f.duration;
      }
    }
  });

  test('same URL, same bytes: init, segments and parts fetched twice have one SHA-256; a 4 s segment is its two 2 s fragments', async () => {
    const c = cmafLive.get('index_0')!;
    for (const uri of [c.segments[0]!.map!, c.segments[0]!.uri, c.segments[1]!.uri]) {
      const a = await get(`${cmafOut}/${uri}`);
      const b = await get(`${cmafOut}/${uri}`);
      assert.equal(a.status, 200);
      assert.equal(sha256(a.body), sha256(b.body), uri);
    }
    const c4 = readMedia((await get(`${cmaf4Out}/index_index_0.m3u8?${windowQuery}`)).text);
    assert.ok(c4.segments.length >= 2, c4.lines.join('\n'));
    const g = c4.segments[1]!;
    const k = Number(/_(\d+)\.g2\.mp4$/.exec(g.uri)![1]);
    const halves = [await get(`${cmafOut}/segment_index_0_${2 * k - 1}.mp4`), await get(`${cmafOut}/segment_index_0_${2 * k}.mp4`)];
    const whole = await get(`${cmaf4Out}/${g.uri}`);
    assert.ok(whole.body.equals(Buffer.concat(halves.map((h) => h.body))), `${g.uri} = input segments ${2 * k - 1} and ${2 * k}`);
    assert.equal(sha256(whole.body), sha256((await get(`${cmaf4Out}/${g.uri}`)).body));
  });

  test('ffmpeg decodes HLS, LL-HLS and DASH of the closed window without a message; durations and A/V offset match the TS endpoint within a frame', async () => {
    const tsUrl = `${tsOut}/index.m3u8?${windowQuery}`;
    const tsRun = await decodedDuration(tsUrl, [], ['-map', '0']);
    assert.deepEqual(errorLines(tsRun.result.stderr), []);
    const tsTimes = await startTimes(tsUrl);
    for (const url of [`${cmafOut}/index.m3u8?${windowQuery}`, `${cmafOut}/low.m3u8?${windowQuery}`, `${cmaf4Out}/index.m3u8?${windowQuery}`, `${cmafOut}/dash.mpd?${windowQuery}`]) {
      const run = await decodedDuration(url, [], ['-map', '0']);
      assert.equal(run.result.code, 0, `${url}: ${run.result.stderr}`);
      assert.deepEqual(errorLines(run.result.stderr), [], url);
      if (!url.includes('cmaf4')) {
        assert.ok(Math.abs(run.seconds - tsRun.seconds) <= FRAME + 0.001, `${url}: decoded ${run.seconds} s, TS ${tsRun.seconds} s`);
        const times = await startTimes(url);
        const offset = times.video - times.audio;
        const tsOffset = tsTimes.video - tsTimes.audio;
        assert.ok(Math.abs(offset - tsOffset) <= FRAME, `${url}: A/V offset ${offset} s, TS ${tsOffset} s`);
      }
    }
  });

  test('a harvest of the repackaged window writes the origin bytes, and its HLS decodes', async () => {
    const [from, to] = windowQuery.split('&').map((x) => Number(x.split('=')[1]) * 1000) as [number, number];
    const ref = { ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'cmaf', HarvestJobName: 'repackaged' };
    await server.client().send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }], DashManifests: [{ ManifestName: 'dash' }] },
        ScheduleConfiguration: { StartTime: new Date(from), EndTime: new Date(to) },
        Destination: { S3Destination: { BucketName: 'repackaged', DestinationPath: 'vod/' } },
      }),
    );
    const w = await waitUntilHarvestJobFinished({ client: server.client(), maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS', JSON.stringify(w.reason));
    const s3Url = builtinS3Url(server);
    const keys = await listKeys(s3Client(s3Url), 'repackaged');
    const media = keys.filter((k) => k.endsWith('.mp4'));
    assert.ok(media.some((k) => /_init-/.test(k)) && media.length > RENDITIONS.length * 3, keys.join('\n'));
    assert.ok(!keys.some((k) => k.endsWith('.ts')), 'no TS in a CMAF harvest');
    for (const key of media) {
      const harvested = await getObject(s3Url, 'repackaged', key);
      const origin = await get(`${cmafOut}/${key.slice('vod/'.length)}`);
      assert.ok(harvested.equals(origin.body), `${key} equals the origin's bytes`);
    }
    // The built-in S3 answers signed requests only: ffmpeg reads through a proxy that signs.
    const s3 = s3Client(s3Url);
    const reader = await startReadingProxy(s3);
    try {
      const run = await decodedDuration(`${reader.url}/repackaged/vod/index.m3u8`, [], ['-map', '0']);
      assert.equal(run.result.code, 0, run.result.stderr);
      assert.deepEqual(errorLines(run.result.stderr), []);
      assert.ok(Math.abs(run.seconds - SECONDS) <= 2, `decoded ${run.seconds} s`);
    } finally {
      await reader.close();
      s3.destroy();
    }
  });

  test('lost packets in one segment: the CMAF endpoint leaves it out (a discontinuity), logs why; the TS endpoint serves all three', async () => {
    await createLiveChannel(server.client(), G, 'lossy', [tsEndpoint('ts', 600), CMAF], { createGroup: false });
    const sent = sentSegments('index_0').slice(0, 3).map((s) => ({ file: s.file, body: s.body }));
    sent[1] = { file: sent[1]!.file, body: dropPackets(sent[1]!.body, 0x100) };
    await pushSegments('lossy', 'index_0', sent, 2);
    const ts = readMedia((await get(`${server.url}/out/v1/${G}/lossy/ts/index_index_0.m3u8`)).text);
    assert.equal(ts.segments.length, 3, ts.lines.join('\n'));
    for (let i = 0; i < 3; i++) {
      const res = await get(`${server.url}/out/v1/${G}/lossy/ts/${ts.segments[i]!.uri}`);
      assert.ok(res.body.equals(sent[i]!.body), `TS segment ${i} as pushed`);
    }
    const cm = await get(`${server.url}/out/v1/${G}/lossy/cmaf/index_index_0.m3u8`);
    assert.equal(cm.status, 200, cm.text);
    const c = readMedia(cm.text);
    assert.deepEqual(c.segments.map((s) => s.uri), [ts.segments[0]!.uri, ts.segments[2]!.uri].map((u) => u.replace(/\.ts$/, '.mp4')), cm.text);
    assert.equal(c.segments[1]!.discontinuity, true, cm.text);
    const warn = logEntries(server, 'ingest: TS segment cannot be repackaged into CMAF; CMAF endpoints leave it out, TS endpoints serve it');
    assert.ok(warn.some((e) => /missing/.test(String(e['err']))), JSON.stringify(warn));
    const run = await decodedDuration(`${server.url}/out/v1/${G}/lossy/cmaf/index.m3u8`, ['-live_start_index', '0', '-m3u8_hold_counters', '1'], ['-map', '0']);
    assert.deepEqual(errorLines(run.result.stderr), []);
  });

  test('a codec CMAF cannot carry (MPEG audio layer II): the CMAF endpoint answers 415 naming it; the TS endpoint serves the channel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packhouse-mp2-'));
    try {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:a', 'mp2', '-f', 'mpegts', join(dir, 'a_0.ts')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      await createLiveChannel(server.client(), G, 'mp2', [tsEndpoint('ts', 600), CMAF], { createGroup: false });
      await pushSegments('mp2', 'a', [{ file: 'a_0.ts', body: readFileSync(join(dir, 'a_0.ts')) }], 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ts = await get(`${server.url}/out/v1/${G}/mp2/ts/index_a.m3u8`);
    assert.equal(ts.status, 200, ts.text);
    for (const file of ['index.m3u8', 'index_a.m3u8', 'low.m3u8', 'dash.mpd']) {
      const res = await get(`${server.url}/out/v1/${G}/mp2/cmaf/${file}`);
      assert.equal(res.status, 415, `${file}: ${res.text}`);
      assert.match(res.text, /^[^\n]+\n$/);
      assert.match(res.text, /MPEG-1 audio|MPEG-2 audio/);
      assert.match(res.text, /\ba\b/);
    }
  });

  test('a CMAF endpoint created after the TS segments arrived serves and harvests them repackaged: each fragment made on its first read and stored once', async () => {
    await createLiveChannel(server.client(), G, 'late', [tsEndpoint('ts', 600)], { createGroup: false });
    const sent = sentSegments('index_0').slice(0, 3).map((s) => ({ file: s.file, body: s.body }));
    const before = storedFragments();
    await pushSegments('late', 'index_0', sent, 2);
    assert.deepEqual(storedFragments(), before, 'no CMAF fragment stored while the channel has no CMAF endpoint');
    await server.client().send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'late', ...CMAF }));
    const out = `${server.url}/out/v1/${G}/late/cmaf`;
    const pl = await get(`${out}/index_index_0.m3u8`);
    assert.equal(pl.status, 200, pl.text);
    const c = readMedia(pl.text);
    assert.equal(c.segments.length, 3, pl.text);
    for (const [i, seg] of c.segments.entries()) {
      const first = await get(`${out}/${seg.uri}`);
      assert.equal(first.status, 200, `${seg.uri}: ${first.text}`);
      assert.ok(first.body.equals(Buffer.from(repackageTs(sent[i]!.body).media)), `${seg.uri}: the fragment ingest would have stored`);
      assert.equal(sha256((await get(`${out}/${seg.uri}`)).body), sha256(first.body), `${seg.uri}: same bytes on the second read`);
    }
    const made = [...storedFragments()].filter((f) => !before.has(f));
    assert.equal(made.length, 3, `one stored fragment per segment: ${made.join(', ')}`);
    assert.ok(made.every((f) => f.endsWith('.ts.cmaf.mp4')), made.join(', '));
    const run = await decodedDuration(`${out}/index.m3u8`, ['-live_start_index', '0', '-m3u8_hold_counters', '1'], ['-map', '0']);
    assert.deepEqual(errorLines(run.result.stderr), []);
    // A harvest of the window writes the same bytes as the origin.
    const from = Math.floor(c.segments[0]!.pdtMs! / 1000) - 1;
    const to = Math.ceil(c.segments[2]!.pdtMs! / 1000) + 3;
    const ref = { ChannelGroupName: G, ChannelName: 'late', OriginEndpointName: 'cmaf', HarvestJobName: 'late' };
    await server.client().send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: new Date(from * 1000), EndTime: new Date(to * 1000) },
        Destination: { S3Destination: { BucketName: 'late', DestinationPath: 'vod/' } },
      }),
    );
    const w = await waitUntilHarvestJobFinished({ client: server.client(), maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS', JSON.stringify(w.reason));
    const s3Url = builtinS3Url(server);
    const media = (await listKeys(s3Client(s3Url), 'late')).filter((k) => k.endsWith('.mp4') && !/_init-/.test(k));
    assert.equal(media.length, 3, media.join('\n'));
    for (const key of media) {
      const origin = await get(`${out}/${key.slice('vod/'.length)}`);
      assert.ok((await getObject(s3Url, 'late', key)).equals(origin.body), `${key} equals the origin's bytes`);
    }
  });
});
