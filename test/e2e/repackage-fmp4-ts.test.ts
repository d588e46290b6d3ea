/**
 * fMP4 in, TS out, end to end: ffmpeg pushes ~12 s of HLS with fMP4 segments (two H.264 renditions
 * and one AAC rendition) through a recording tee proxy into a channel with a CMAF endpoint
 * (pass-through) and two TS endpoints (2 s and 4 s output segments), which serve the input
 * repackaged into MPEG-TS at ingest. Checked: TS segments that begin with PAT/PMT and decode without
 * a message, continuity counters that carry on across the input segments of a 4 s output segment,
 * the durations and A/V offset of the CMAF endpoint's same window, identical bytes on every fetch,
 * harvests equal to the origin.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateHarvestJobCommand, waitUntilHarvestJobFinished } from '@aws-sdk/client-mediapackagev2';
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
  send,
  startEncoder,
  startTeeProxy,
  tsEndpoint,
  waitPastAnnounced,
  type CapturedRequest,
  type MediaPlaylistText,
  type RunningProcess,
  type TeeProxy,
} from '../support/live.js';
import { builtinS3Url, getObject, listKeys, s3Client } from '../support/harvest.js';

const G = 'repack-f';
const C = 'ch';
const SECONDS = 12;
const RENDITIONS = ['index_0', 'index_1', 'index_2'] as const;
const FRAME = 0.04;

let server: TestServer;
let tee: TeeProxy;
let encoder: RunningProcess;
let tsOut: string;
let cmafOut: string;
let windowQuery: string;
const tsLive = new Map<string, MediaPlaylistText>();

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sentSegments = (r: string): CapturedRequest[] => tee.files(new RegExp(`^${r}_\\d+\\.m4s$`));

async function startTimes(url: string): Promise<{ video: number; audio: number }> {
  const p = await ffprobe(url);
  const streams = p.streams as (typeof p.streams[number] & { start_time?: string })[];
  const video = streams.find((s) => s.codec_type === 'video' && s.width === 320);
  const audio = streams.find((s) => s.codec_type === 'audio');
  assert.ok(video?.start_time !== undefined && audio?.start_time !== undefined, `${url}: ${JSON.stringify(streams)}`);
  return { video: Number(video.start_time), audio: Number(audio.start_time) };
}

describe('fMP4 in, TS out: a TS endpoint over an fMP4 encoder', () => {
  before(async () => {
    server = await startServer();
    const grouped = tsEndpoint('ts4', 600);
    await createLiveChannel(server.client(), G, C, [cmafEndpoint('cmaf', 600), tsEndpoint('ts', 600), { ...grouped, Segment: { ...grouped.Segment, SegmentDurationSeconds: 4 } }]);
    tsOut = `${server.url}/out/v1/${G}/${C}/ts`;
    cmafOut = `${server.url}/out/v1/${G}/${C}/cmaf`;
    tee = await startTeeProxy(server.url);
    encoder = startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SECONDS });
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await tee?.close();
    await server?.stop();
  });

  test('ffmpeg finished; every file was accepted; the TS playlists list the segments of the CMAF ones, without EXT-X-MAP', async () => {
    await expectEncoderSuccess(encoder);
    await tee.settled();
    await waitPastAnnounced([tee]);
    assert.deepEqual(tee.requests.filter((r) => r.status !== 201).map((r) => `${r.method} ${r.file} → ${r.status}`), []);
    for (const r of RENDITIONS) {
      const ts = await get(`${tsOut}/index_${r}.m3u8`);
      const cm = await get(`${cmafOut}/index_${r}.m3u8`);
      assert.equal(ts.status, 200, ts.text);
      assert.equal(cm.status, 200, cm.text);
      const t = readMedia(ts.text);
      const c = readMedia(cm.text);
      tsLive.set(r, t);
      assert.equal(t.segments.length, sentSegments(r).length, `${r}: every segment ffmpeg sent\n${ts.text}`);
      assert.deepEqual(
        t.segments.map((s) => [s.uri.replace(/\.ts$/, ''), s.duration, s.pdtMs]),
        c.segments.map((s) => [s.uri.replace(/\.mp4$/, ''), s.duration, s.pdtMs]),
      );
      assert.deepEqual(t.tags('EXT-X-MAP'), []);
    }
    windowQuery = `start=${Math.floor(tsLive.get('index_0')!.segments[0]!.pdtMs! / 1000) - 1}&end=${await closedWindowEnd([tee])}`;
  });

  test('multivariant: version 3, the codecs of the input; every segment begins with PAT and PMT, decodes alone, and is the same on every fetch', async () => {
    const m = readMaster((await get(`${tsOut}/index.m3u8`)).text);
    assert.deepEqual(m.tags('EXT-X-VERSION'), ['3']);
    const cm = readMaster((await get(`${cmafOut}/index.m3u8`)).text);
    assert.equal(m.variants.length, 2);
    for (const v of m.variants) assert.equal(v.attrs['CODECS'], cm.variants.find((x) => x.uri === v.uri)?.attrs['CODECS']);
    for (const r of RENDITIONS) {
      const init = tee.files(new RegExp(`^init_${r.slice(-1)}\\.mp4$`)).at(-1)!.body;
      const expect = rfc6381((await ffprobeBytes([init, sentSegments(r)[0]!.body], 'mp4')).streams[0]!);
      for (const s of tsLive.get(r)!.segments) {
        const a = await get(`${tsOut}/${s.uri}`);
        const b = await get(`${tsOut}/${s.uri}`);
        assert.equal(a.status, 200, a.text);
        assert.equal(a.headers.get('content-type'), 'video/mp2t');
        assert.equal(sha256(a.body), sha256(b.body), `${s.uri}: the same bytes twice`);
        const pid = (i: number) => ((a.body[i * 188 + 1]! & 0x1f) << 8) | a.body[i * 188 + 2]!;
        assert.deepEqual([a.body[0], pid(0), pid(1)], [0x47, 0, 0x1000], `${s.uri} begins with PAT and PMT`);
        const p = await ffprobeBytes([a.body], 'ts');
        assert.equal(p.streams.length, 1);
        assert.equal(rfc6381(p.streams[0]!), expect, `${s.uri}: codec as the input's`);
      }
    }
  });

  test('output segments of two repackaged segments (SegmentDurationSeconds 4): every PID counts on across the join, ffmpeg reads them without a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packhouse-ts4-'));
    try {
      for (const r of RENDITIONS) {
        const list = readMedia((await get(`${server.url}/out/v1/${G}/${C}/ts4/index_${r}.m3u8?${windowQuery}`)).text);
        assert.ok(list.segments.length >= 2, `${r}: ${list.segments.length} segments`);
        for (const s of list.segments) {
          const res = await get(`${server.url}/out/v1/${G}/${C}/ts4/${s.uri}`);
          assert.equal(res.status, 200, res.text);
          assert.equal(Number(res.headers.get('content-length')), res.body.length);
          const b = res.body;
          const cc = new Map<number, number>();
          for (let i = 0; i * 188 < b.length; i++) {
            const pid = ((b[i * 188 + 1]! & 0x1f) << 8) | b[i * 188 + 2]!;
            const prev = cc.get(pid);
            if (prev !== undefined) assert.equal(b[i * 188 + 3]! & 0x0f, (prev + 1) & 0x0f, `${s.uri} packet ${i} (PID ${pid})`);
            cc.set(pid, b[i * 188 + 3]! & 0x0f);
          }
          const file = join(dir, `${r}-${s.uri}`);
          writeFileSync(file, b);
          const read = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'warning', '-i', file, '-map', '0', '-f', 'null', '-'], { encoding: 'utf8' });
          assert.equal(read.status, 0, read.stderr);
          assert.deepEqual(errorLines(read.stderr), [], `${s.uri}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ffmpeg decodes the TS endpoint (closed window, every stream) without a message; duration and A/V offset match the CMAF endpoint within a frame', async () => {
    const cmafUrl = `${cmafOut}/index.m3u8?${windowQuery}`;
    const tsUrl = `${tsOut}/index.m3u8?${windowQuery}`;
    const cmaf = await decodedDuration(cmafUrl, [], ['-map', '0']);
    const ts = await decodedDuration(tsUrl, [], ['-map', '0']);
    assert.equal(ts.result.code, 0, ts.result.stderr);
    assert.deepEqual(errorLines(ts.result.stderr), []);
    assert.ok(Math.abs(ts.seconds - cmaf.seconds) <= FRAME + 0.001, `decoded ${ts.seconds} s, CMAF ${cmaf.seconds} s`);
    const a = await startTimes(cmafUrl);
    const b = await startTimes(tsUrl);
    assert.ok(Math.abs(b.video - b.audio - (a.video - a.audio)) <= FRAME, `A/V offset ${b.video - b.audio} s, CMAF ${a.video - a.audio} s`);
  });

  test('a harvest of the TS window writes the origin bytes, output segments of one and of two repackaged segments alike', async () => {
    const [from, to] = windowQuery.split('&').map((x) => Number(x.split('=')[1]) * 1000) as [number, number];
    const refs = ['ts', 'ts4'].map((e) => ({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: e, HarvestJobName: `repackaged-${e}` }));
    for (const ref of refs) {
      await server.client().send(
        new CreateHarvestJobCommand({
          ...ref,
          HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
          ScheduleConfiguration: { StartTime: new Date(from), EndTime: new Date(to) },
          Destination: { S3Destination: { BucketName: ref.HarvestJobName, DestinationPath: 'vod/' } },
        }),
      );
    }
    const s3Url = builtinS3Url(server);
    for (const ref of refs) {
      const w = await waitUntilHarvestJobFinished({ client: server.client(), maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, ref);
      assert.equal(w.state, 'SUCCESS', JSON.stringify(w.reason));
      const keys = await listKeys(s3Client(s3Url), ref.HarvestJobName);
      const media = keys.filter((k) => k.endsWith('.ts'));
      assert.ok(media.length >= RENDITIONS.length * (ref.OriginEndpointName === 'ts' ? 4 : 2), keys.join('\n'));
      assert.ok(!keys.some((k) => k.endsWith('.mp4')), 'no init segment or fMP4 in a TS harvest');
      for (const key of media) {
        const harvested = await getObject(s3Url, ref.HarvestJobName, key);
        assert.ok(harvested.equals((await get(`${server.url}/out/v1/${G}/${C}/${ref.OriginEndpointName}/${key.slice('vod/'.length)}`)).body), `${key} equals the origin's bytes`);
      }
    }
  });

  test('an audio codec TS cannot carry here (Opus): the TS endpoint answers 415 naming it and the rendition; the CMAF endpoint serves the channel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packhouse-opus-'));
    try {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:a', 'libopus', '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'init_o.mp4', '-hls_segment_filename', 'o_%d.m4s', 'o.m3u8'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      await createLiveChannel(server.client(), G, 'opus', [cmafEndpoint('cmaf', 600), tsEndpoint('ts', 600)], { createGroup: false });
      const ingest = `${server.url}/in/v1/${G}/1/opus`;
      for (const f of ['init_o.mp4', 'o_0.m4s']) assert.equal((await send(`${ingest}/${f}`, 'PUT', readFileSync(join(dir, f)))).status, 201, f);
      const pdt = new Date(Date.now() - 2000).toISOString();
      const playlist = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="init_o.mp4"', `#EXT-X-PROGRAM-DATE-TIME:${pdt}`, '#EXTINF:2.000,', 'o_0.m4s', ''].join('\n');
      assert.equal((await send(`${ingest}/o.m3u8`, 'PUT', playlist)).status, 201);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const cmaf = await get(`${server.url}/out/v1/${G}/opus/cmaf/index_o.m3u8`);
    assert.equal(cmaf.status, 200, cmaf.text);
    for (const file of ['index.m3u8', 'index_o.m3u8']) {
      const res = await get(`${server.url}/out/v1/${G}/opus/ts/${file}`);
      assert.equal(res.status, 415, `${file}: ${res.text}`);
      assert.match(res.text, /^[^\n]+\n$/);
      assert.match(res.text, /\bo \(.*AAC/);
    }
  });
});
