/**
 * Harvest jobs that run, end to end: a real Packhouse process fed by ffmpeg live encodes (one CMAF,
 * one MPEG-TS, 16 s each), harvesting into its built-in s3rver.
 *
 *  (a) a CMAF window that ended before the job was created, HLS + LL-HLS + DASH in one job;
 *  (b) a CMAF window whose end is still ahead when the job is created: QUEUED until EndTime has
 *      passed and the content up to it has arrived, then it runs;
 *  (c) a window of the TS endpoint.
 *
 * For each: the waiter's SUCCESS, the record (COMPLETED, later ModifiedAt, new ETag), the exact key
 * set the layout implies (derived independently from the origin's own playlists over the window),
 * VOD playlists whose first/last segments hold StartTime/EndTime, a static MPD, clean ffmpeg decodes
 * of the harvested assets over HTTP from S3, their duration, and segment bytes equal to the origin's.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateChannelCommand,
  CreateChannelGroupCommand,
  CreateHarvestJobCommand,
  CreateOriginEndpointCommand,
  GetHarvestJobCommand,
  waitUntilHarvestJobFinished,
  type CreateHarvestJobCommandOutput,
  type MediaPackageV2Client,
} from '@aws-sdk/client-mediapackagev2';
import type { S3Client } from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../support/server.js';
import { startReadingProxy, type ReadingProxy } from '../support/s3-raw.js';
import { decode, errorLines, expectEncoderSuccess, ffprobe, get, isoSeconds, readMaster, readMedia, startEncoder, waitFor, type RunningProcess } from '../support/live.js';
import {
  builtinS3Url,
  getObject,
  inWindow,
  listKeys,
  logEntries,
  pollJob,
  readMpd,
  s3Client,
  timedSegments,
  type JobRef,
  type TimedSegment,
} from '../support/harvest.js';

const G = 'hrun';
const CM = 'live-cmaf';
const EP = 'cmaf';
/** The same channel with 4 s output segments: two 2 s input segments each. */
const EP4 = 'cmaf4';
const TSC = 'live-ts';
const TSE = 'ts';
const SEG = 'seg';
const ENCODE_SECONDS = 16;
const RENDITIONS = ['index_0', 'index_1', 'index_2'];

let server: TestServer;
let client: MediaPackageV2Client;
let s3Url: string;
let reader: ReadingProxy;
let s3: S3Client;
let cmafEncoder: RunningProcess;
let tsEncoder: RunningProcess;
/** PDT of the first video segment of each channel (epoch ms). */
let cmafT0: number;
let tsT0: number;

interface HlsSpec {
  readonly name: string;
  /** Name its media playlists are written under (ChildManifestName, else the manifest name). */
  readonly child: string;
}

interface Harvest {
  readonly ref: JobRef;
  readonly created: CreateHarvestJobCommandOutput;
  readonly bucket: string;
  readonly prefix: string;
  readonly channel: string;
  readonly endpoint: string;
  readonly hls: readonly HlsSpec[];
  readonly dash: readonly string[];
  readonly startMs: number;
  readonly endMs: number;
  readonly ext: 'mp4' | 'ts';
  /** Input segments per output segment, when more than one. */
  readonly groupSize?: number;
}

async function originPlaylist(channel: string, endpoint: string, file: string): Promise<TimedSegment[]> {
  const r = await get(`${server.url}/out/v1/${G}/${channel}/${endpoint}/${file}`);
  assert.equal(r.status, 200, `origin ${file}: ${r.text}`);
  return timedSegments(readMedia(r.text));
}

/** Waits until the origin lists a first video segment for the channel and returns its PDT. */
async function firstPdt(channel: string, endpoint: string): Promise<number> {
  return waitFor(
    `the first segment of ${channel}`,
    async () => {
      const r = await get(`${server.url}/out/v1/${G}/${channel}/${endpoint}/index_index_0.m3u8`);
      if (r.status !== 200) return undefined;
      return timedSegments(readMedia(r.text))[0]?.startMs;
    },
    20_000,
    200,
  );
}

async function createJob(
  name: string,
  channel: string,
  endpoint: string,
  manifests: { hls?: string[]; ll?: string[]; dash?: string[] },
  startMs: number,
  endMs: number,
  bucket: string,
  prefix: string,
): Promise<{ ref: JobRef; created: CreateHarvestJobCommandOutput }> {
  const ref: JobRef = { ChannelGroupName: G, ChannelName: channel, OriginEndpointName: endpoint, HarvestJobName: name };
  const created = await client.send(
    new CreateHarvestJobCommand({
      ChannelGroupName: G,
      ChannelName: channel,
      OriginEndpointName: endpoint,
      HarvestJobName: name,
      HarvestedManifests: {
        ...(manifests.hls ? { HlsManifests: manifests.hls.map((ManifestName) => ({ ManifestName })) } : {}),
        ...(manifests.ll ? { LowLatencyHlsManifests: manifests.ll.map((ManifestName) => ({ ManifestName })) } : {}),
        ...(manifests.dash ? { DashManifests: manifests.dash.map((ManifestName) => ({ ManifestName })) } : {}),
      },
      ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
      Destination: { S3Destination: { BucketName: bucket, DestinationPath: `${prefix}/` } },
    }),
  );
  assert.equal(created.Status, 'QUEUED');
  assert.equal(created.ModifiedAt?.getTime(), created.CreatedAt?.getTime());
  return { ref, created };
}

async function waitSuccess(ref: JobRef): Promise<void> {
  const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, ref);
  assert.equal(w.state, 'SUCCESS', `waiter: ${JSON.stringify(w.reason)}`);
}

/** Everything a completed harvest must satisfy; see the file comment. */
async function verifyHarvest(h: Harvest): Promise<void> {
  const S = h.startMs;
  const E = h.endMs;
  const at = (file: string) => `${h.prefix}/${file}`;

  // The record.
  const job = await client.send(new GetHarvestJobCommand(h.ref));
  assert.equal(job.Status, 'COMPLETED');
  assert.equal(job.ErrorMessage, undefined);
  assert.equal(job.CreatedAt?.getTime(), h.created.CreatedAt?.getTime());
  assert.ok(job.ModifiedAt!.getTime() > h.created.ModifiedAt!.getTime(), `ModifiedAt ${job.ModifiedAt?.toISOString()} is not later than at creation ${h.created.ModifiedAt?.toISOString()}`);
  assert.notEqual(job.ETag, h.created.ETag, 'a new ETag');

  // The origin's own view of the window: renditions, their segments overlapping [S, E), init segments.
  const originBase = `${server.url}/out/v1/${G}/${h.channel}/${h.endpoint}`;
  const mv = readMaster((await get(`${originBase}/index.m3u8`)).text);
  const ids = [...mv.variants.map((v) => v.uri), ...mv.media.map((m) => m['URI']!)].map((u) => u.replace(/^index_/, '').replace(/\.m3u8$/, '')).sort();
  assert.deepEqual(ids, RENDITIONS, 'renditions the origin serves');
  const expectedSegs = new Map<string, TimedSegment[]>();
  for (const id of RENDITIONS) {
    const win = inWindow(await originPlaylist(h.channel, h.endpoint, `index_${id}.m3u8`), S, E);
    assert.ok(win.length >= 3, `origin has ${win.length} segments of ${id} in the window`);
    expectedSegs.set(id, win);
  }
  const manifestKeys = [...h.hls.flatMap((m) => [at(`${m.name}.m3u8`), ...RENDITIONS.map((id) => at(`${m.child}_${id}.m3u8`))]), ...h.dash.map((d) => at(`${d}.mpd`))];
  const mediaFiles = new Set<string>();
  for (const segs of expectedSegs.values()) {
    for (const s of segs) {
      mediaFiles.add(s.uri);
      if (s.map) mediaFiles.add(s.map);
    }
  }
  for (const f of mediaFiles) {
    const seq = h.groupSize ? `\\d+\\.g${h.groupSize}` : '\\d+';
    const re = h.ext === 'ts' ? new RegExp(`^${SEG}_index_\\d_${seq}\\.ts$`) : new RegExp(`^${SEG}_index_\\d_(${seq}|init-[0-9a-f]+)\\.mp4$`);
    assert.match(f, re, 'segment names follow {SegmentName}_{rendition}_{seq[.gN]|init-hash}');
  }
  const expectedKeys = [...manifestKeys, ...[...mediaFiles].map(at)].sort();
  const keys = await listKeys(s3, h.bucket);
  assert.deepEqual(keys, expectedKeys, 'the bucket holds exactly the harvested manifests and the segments of the window');

  // Every object a harvested manifest references, read from S3.
  const referenced = new Set<string>();
  for (const m of h.hls) {
    const master = readMaster((await getObject(s3Url, h.bucket, at(`${m.name}.m3u8`))).toString('utf8'));
    const children = [...master.variants.map((v) => v.uri), ...master.media.map((x) => x['URI']!)].sort();
    assert.deepEqual(children, RENDITIONS.map((id) => `${m.child}_${id}.m3u8`), `${m.name}.m3u8 names its media playlists`);
    for (const id of RENDITIONS) {
      const file = `${m.child}_${id}.m3u8`;
      const text = (await getObject(s3Url, h.bucket, at(file))).toString('utf8');
      const pl = readMedia(text);
      assert.deepEqual(pl.tags('EXT-X-PLAYLIST-TYPE'), ['VOD'], `${file}: EXT-X-PLAYLIST-TYPE:VOD`);
      assert.equal(pl.endList, true, `${file}: EXT-X-ENDLIST`);
      assert.ok(pl.tags('EXT-X-PROGRAM-DATE-TIME').length >= 1, `${file}: PDT tags`);
      const segs = timedSegments(pl);
      const want = expectedSegs.get(id)!;
      assert.deepEqual(
        segs.map((s) => [s.uri, s.startMs, s.durationMs]),
        want.map((s) => [s.uri, s.startMs, s.durationMs]),
        `${file}: the origin's segments over the window, with the origin's times`,
      );
      const first = segs[0]!;
      const last = segs[segs.length - 1]!;
      assert.ok(first.startMs <= S && S < first.startMs + first.durationMs, `${file}: first segment [${first.startMs}, +${first.durationMs}) holds StartTime ${S}`);
      assert.ok(last.startMs <= E && E < last.startMs + last.durationMs, `${file}: last segment [${last.startMs}, +${last.durationMs}) holds EndTime ${E}`);
      for (const s of pl.segments) {
        referenced.add(at(s.uri));
        if (s.map) referenced.add(at(s.map));
      }
      referenced.add(at(file));
    }
    referenced.add(at(`${m.name}.m3u8`));
  }
  for (const d of h.dash) {
    const mpd = readMpd((await getObject(s3Url, h.bucket, at(`${d}.mpd`))).toString('utf8'));
    assert.equal(mpd.attrs['type'], 'static', `${d}.mpd is static`);
    assert.ok(mpd.attrs['mediaPresentationDuration'], `${d}.mpd has mediaPresentationDuration`);
    const all = [...expectedSegs.values()];
    const spanMs = Math.max(...all.map((s) => s[s.length - 1]!.startMs + s[s.length - 1]!.durationMs)) - Math.min(...all.map((s) => s[0]!.startMs));
    assert.ok(Math.abs(isoSeconds(mpd.attrs['mediaPresentationDuration']) - spanMs / 1000) < 0.0015, `${d}.mpd mediaPresentationDuration ${mpd.attrs['mediaPresentationDuration']} vs ${spanMs} ms`);
    assert.deepEqual(mpd.representations.map((r) => r.id).sort(), RENDITIONS);
    for (const r of mpd.representations) {
      assert.deepEqual(r.media, expectedSegs.get(r.id)!.map((s) => s.uri), `${d}.mpd: segments of ${r.id}`);
      assert.equal(r.initialization, expectedSegs.get(r.id)![0]!.map, `${d}.mpd: init of ${r.id}`);
      for (const f of [r.initialization, ...r.media]) referenced.add(at(f));
    }
    referenced.add(at(`${d}.mpd`));
  }
  assert.deepEqual([...referenced].sort(), keys, 'every key is a manifest or referenced by one, and every reference exists');

  // Shared segments are written once: the job's plan has exactly as many objects as the bucket.
  const started = logEntries(server, 'harvest job started', job.Arn);
  assert.equal(started.length, 1, 'one run');
  assert.equal(started[0]!['objects'], keys.length, 'objects written = distinct keys (segments shared by HLS, LL-HLS and DASH are written once)');

  // Bytes: each segment in S3 is the segment the origin serves under the same name.
  for (const f of mediaFiles) {
    const fromS3 = await getObject(s3Url, h.bucket, at(f));
    const fromOrigin = await get(`${originBase}/${f}`);
    assert.equal(fromOrigin.status, 200, `origin ${f}`);
    assert.ok(fromS3.equals(fromOrigin.body), `${f}: S3 bytes (${fromS3.length}) equal the origin's (${fromOrigin.body.length})`);
  }

  // Playable: clean decodes over HTTP from S3, and the duration of the window.
  const video = expectedSegs.get('index_0')!;
  const assetSeconds = (video[video.length - 1]!.startMs + video[video.length - 1]!.durationMs - video[0]!.startMs) / 1000;
  const windowSeconds = (E - S) / 1000;
  const maxSeg = Math.max(...[...expectedSegs.values()].flat().map((s) => s.durationMs)) / 1000;
  for (const file of [...h.hls.map((m) => `${m.name}.m3u8`), ...h.dash.map((d) => `${d}.mpd`)]) {
    // The built-in S3 only answers signed requests: ffmpeg reads through a proxy that signs.
    const url = `${reader.url}/${h.bucket}/${at(file)}`;
    const r = await decode(url);
    assert.equal(r.code, 0, `ffmpeg decode of ${file}: ${r.stderr}`);
    assert.deepEqual(errorLines(r.stderr), [], `ffmpeg decode of ${file} printed errors`);
    const probe = await ffprobe(url);
    const seconds = Number(probe.format.duration);
    assert.ok(seconds >= windowSeconds - 0.05 && seconds <= windowSeconds + 2 * maxSeg + 0.05, `${file}: duration ${seconds} s is the window (${windowSeconds} s) within one segment at each end`);
    assert.ok(Math.abs(seconds - assetSeconds) < 0.1, `${file}: duration ${seconds} s vs the harvested segments' ${assetSeconds} s`);
    assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video', 'video'], `${file}: streams`);
  }
}

describe('harvest jobs that run (CMAF HLS + LL-HLS + DASH, and TS)', () => {
  before(async () => {
    server = await startServer();
    client = server.client();
    s3Url = builtinS3Url(server);
    s3 = s3Client(s3Url);
    reader = await startReadingProxy(s3);
    await client.send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
    await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: CM }));
    await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: TSC }));
    await client.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: CM,
        OriginEndpointName: EP,
        ContainerType: 'CMAF',
        StartoverWindowSeconds: 600,
        Segment: { SegmentName: SEG, SegmentDurationSeconds: 2 },
        HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
        LowLatencyHlsManifests: [{ ManifestName: 'll', ChildManifestName: 'llvar', ProgramDateTimeIntervalSeconds: 1 }],
        DashManifests: [{ ManifestName: 'dash' }],
      }),
    );
    await client.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: CM,
        OriginEndpointName: EP4,
        ContainerType: 'CMAF',
        StartoverWindowSeconds: 600,
        Segment: { SegmentName: SEG, SegmentDurationSeconds: 4 },
        HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
        DashManifests: [{ ManifestName: 'dash' }],
      }),
    );
    await client.send(
      new CreateOriginEndpointCommand({
        ChannelGroupName: G,
        ChannelName: TSC,
        OriginEndpointName: TSE,
        ContainerType: 'TS',
        StartoverWindowSeconds: 600,
        Segment: { SegmentName: SEG, SegmentDurationSeconds: 2 },
        HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
      }),
    );
    cmafEncoder = startEncoder({ baseUrl: server.url, group: G, channel: CM, ingest: 1, segmentType: 'fmp4', seconds: ENCODE_SECONDS });
    tsEncoder = startEncoder({ baseUrl: server.url, group: G, channel: TSC, ingest: 1, segmentType: 'mpegts', seconds: ENCODE_SECONDS });
    [cmafT0, tsT0] = await Promise.all([firstPdt(CM, EP), firstPdt(TSC, TSE)]);
  });

  after(async () => {
    await reader?.close();
    await cmafEncoder?.kill('SIGKILL');
    await tsEncoder?.kill('SIGKILL');
    s3?.destroy();
    await server?.stop();
  });

  test('(b) a window ending ~5 s after creation stays QUEUED until EndTime, then runs as soon as the content up to EndTime is in', { timeout: 60_000 }, async () => {
    // Mid-segment boundaries: segments start at T0 + 2k s, so T0 + 2k + 1 s is 1 s from any boundary.
    const now = Date.now();
    const k = Math.ceil((now + 4500 - cmafT0 - 1000) / 2000);
    const startMs = cmafT0 + 1000;
    const endMs = cmafT0 + 2000 * k + 1000;
    assert.ok(endMs <= cmafT0 + (ENCODE_SECONDS - 3) * 1000, 'the encode covers the window (setup took too long)');
    const { ref, created } = await createJob('future', CM, EP, { hls: ['index'], ll: ['ll'], dash: ['dash'] }, startMs, endMs, 'harvest-future', 'live/future');
    const { job, samples } = await pollJob(client, ref, ['COMPLETED', 'FAILED', 'CANCELLED'], 30_000, 200);
    const before = samples.filter((s) => s.atMs < endMs);
    assert.ok(before.length >= 3, `observed the job ${before.length} times before EndTime`);
    assert.deepEqual([...new Set(before.map((s) => s.status))], ['QUEUED'], 'every status answered before EndTime is QUEUED');
    assert.equal(job.Status, 'COMPLETED', job.ErrorMessage);
    const doneAt = samples[samples.length - 1]!.atMs;
    assert.ok(doneAt < endMs + 10_000, `finished ${doneAt - endMs} ms after EndTime: it ran once the content arrived, not after the 20 s settle time`);
    await waitSuccess(ref);
    await verifyHarvest({ ref, created, bucket: 'harvest-future', prefix: 'live/future', channel: CM, endpoint: EP, hls: [{ name: 'index', child: 'index' }, { name: 'll', child: 'llvar' }], dash: ['dash'], startMs, endMs, ext: 'mp4' });
  });

  test('(a) a past window, HLS + LL-HLS + DASH in one job', { timeout: 60_000 }, async () => {
    await expectEncoderSuccess(cmafEncoder, 'CMAF encoder');
    const startMs = cmafT0 + 2500;
    const endMs = cmafT0 + 11_500;
    const { ref, created } = await createJob('past', CM, EP, { hls: ['index'], ll: ['ll'], dash: ['dash'] }, startMs, endMs, 'harvest-past', 'vod/past');
    await waitSuccess(ref);
    await verifyHarvest({ ref, created, bucket: 'harvest-past', prefix: 'vod/past', channel: CM, endpoint: EP, hls: [{ name: 'index', child: 'index' }, { name: 'll', child: 'llvar' }], dash: ['dash'], startMs, endMs, ext: 'mp4' });
  });

  test('(d) a past window of an endpoint with 4 s segments over 2 s input: grouped segments, each two input segments end to end', { timeout: 60_000 }, async () => {
    await expectEncoderSuccess(cmafEncoder, 'CMAF encoder');
    const startMs = cmafT0 + 2500;
    const endMs = cmafT0 + 11_500;
    const { ref, created } = await createJob('grouped', CM, EP4, { hls: ['index'], dash: ['dash'] }, startMs, endMs, 'harvest-grouped', 'vod/grouped');
    await waitSuccess(ref);
    await verifyHarvest({ ref, created, bucket: 'harvest-grouped', prefix: 'vod/grouped', channel: CM, endpoint: EP4, hls: [{ name: 'index', child: 'index' }], dash: ['dash'], startMs, endMs, ext: 'mp4', groupSize: 2 });
    // Output segment k of the 4 s endpoint is segments 2k−1 and 2k of the 2 s endpoint.
    const keys = await listKeys(s3, 'harvest-grouped');
    const grouped = keys.filter((k) => /_index_0_\d+\.g2\.mp4$/.test(k));
    assert.deepEqual(grouped.map((k) => k.replace(/^.*_index_0_/, '')), ['1.g2.mp4', '2.g2.mp4', '3.g2.mp4']);
    for (const key of grouped) {
      const k = Number(/_(\d+)\.g2\.mp4$/.exec(key)![1]);
      const halves = await Promise.all([2 * k - 1, 2 * k].map(async (n) => (await get(`${server.url}/out/v1/${G}/${CM}/${EP}/${SEG}_index_0_${n}.mp4`)).body));
      assert.ok((await getObject(s3Url, 'harvest-grouped', key)).equals(Buffer.concat(halves)), `${key} = input segments ${2 * k - 1} and ${2 * k}`);
    }
  });

  test('(c) a window of the TS endpoint', { timeout: 60_000 }, async () => {
    await expectEncoderSuccess(tsEncoder, 'TS encoder');
    const startMs = tsT0 + 2500;
    const endMs = tsT0 + 9500;
    const { ref, created } = await createJob('ts-window', TSC, TSE, { hls: ['index'] }, startMs, endMs, 'harvest-ts', 'vod/ts');
    await waitSuccess(ref);
    await verifyHarvest({ ref, created, bucket: 'harvest-ts', prefix: 'vod/ts', channel: TSC, endpoint: TSE, hls: [{ name: 'index', child: 'index' }], dash: [], startMs, endMs, ext: 'ts' });
  });
});
