/**
 * Redundancy across nodes: two Packhouse processes over one PostgreSQL database keep live segments
 * in S3 (s3rver). A channel's ingest endpoint 1 is on node A and ingest endpoint 2 on node B, each
 * fed by its own ffmpeg encoder (the same fMP4 ladder, started together). Both nodes serve the same
 * playlists and bytes; node A is then killed with SIGKILL while a harvest window is open. Node B
 * keeps serving from the second input (no hole longer than one segment), answers every request, and
 * runs the harvest job whole.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { CreateHarvestJobCommand, GetChannelCommand, GetHarvestJobCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { S3RVER_KEYS, startS3rver, type OwnS3 } from '../support/harvest.js';
import { createPgDatabase, dropPgDatabase } from '../support/postgres.js';
import {
  cmafEndpoint,
  createLiveChannel,
  decodedDuration,
  errorLines,
  get,
  readMedia,
  segmentTimes,
  startEncoder,
  startTeeProxy,
  waitFor,
  type MediaPlaylistText,
  type TeeProxy,
} from '../support/live.js';

const G = 'failover';
const C = 'ch';
const SECONDS = 30;

/** The newest segment start (PDT, epoch ms) an encoder announced in its playlists for rendition r. */
function announced(tee: TeeProxy, r: string): number {
  let last = 0;
  for (const p of tee.files(new RegExp(`^index_${r}\\.m3u8$`))) {
    const segs = readMedia(p.body.toString('utf8')).segments;
    for (const s of segs) if (s.pdtMs !== undefined) last = Math.max(last, s.pdtMs);
  }
  return last;
}

/** The first segment start (PDT, epoch ms) an encoder announced. */
function firstAnnounced(tee: TeeProxy): number | undefined {
  for (const p of tee.files(/^index_0\.m3u8$/)) {
    const s = readMedia(p.body.toString('utf8')).segments[0];
    if (s?.pdtMs !== undefined) return s.pdtMs;
  }
  return undefined;
}

/** Gaps (s) between the end of each segment and the start of the next. */
function holes(p: MediaPlaylistText): number[] {
  const t = segmentTimes(p);
  return p.segments.slice(1).map((_, i) => (t[i + 1]! - (t[i]! + p.segments[i]!.duration * 1000)) / 1000);
}

describe('two nodes, one input each, one node killed', () => {
  let db: { name: string; url: string };
  let s3: OwnS3;
  let a: TestServer;
  let b: TestServer;
  let teeA: TeeProxy;
  let teeB: TeeProxy;
  const dirs: string[] = [];

  before(async () => {
    db = await createPgDatabase();
    // s3rver as it comes (objects rewritten in place), as the segment store and harvest destination.
    s3 = await startS3rver();
    for (const bucket of ['live', 'vod']) await s3.createBucket(bucket);
    const args = (ingest: string) => [
      '--database-url', db.url,
      '--s3-endpoint', s3.url,
      '--s3-access-key-id', S3RVER_KEYS.accessKeyId,
      '--s3-secret-access-key', S3RVER_KEYS.secretAccessKey,
      '--segment-store', 's3://live/segments',
      '--harvest-lease-seconds', '3',
      '--ingest-url-1', 'https://ingest-1.example.net',
      '--ingest-url-2', ingest,
    ];
    dirs.push(tempDir('packhouse-node-a-'), tempDir('packhouse-node-b-'));
    const nodes = await Promise.all(dirs.map((dataDir, i) => startServer({ dataDir, args: args(i === 0 ? 'https://ingest-2.example.net' : 'https://ingest-2.example.net/') })));
    a = nodes[0]!;
    b = nodes[1]!;
    await createLiveChannel(a.client(), G, C, [cmafEndpoint('cmaf', 600)]);
    teeA = await startTeeProxy(a.url, { serial: false });
    teeB = await startTeeProxy(b.url, { serial: false });
  });

  after(async () => {
    await teeA?.close();
    await teeB?.close();
    await a?.stop();
    await b?.stop();
    await s3?.close();
    if (db) await dropPgDatabase(db.name);
    for (const d of [...dirs, s3?.directory]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('each ingest endpoint names its own base (--ingest-url-1 / --ingest-url-2), on every node', async () => {
    for (const n of [a, b]) {
      const ch = await n.client().send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C }));
      assert.deepEqual(
        ch.IngestEndpoints?.map((e) => [e.Id, e.Url]),
        [
          ['1', `https://ingest-1.example.net/in/v1/${G}/1/${C}/index`],
          ['2', `https://ingest-2.example.net/in/v1/${G}/2/${C}/index`],
        ],
      );
    }
  });

  test('node A killed mid-window: node B answers every request, shows no hole, and harvests the window whole', { timeout: 150_000 }, async () => {
    const enc1 = startEncoder({ baseUrl: teeA.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: SECONDS });
    const enc2 = startEncoder({ baseUrl: teeB.url, group: G, channel: C, ingest: 2, segmentType: 'fmp4', seconds: SECONDS, look: 'b' });
    try {
      const t0 = await waitFor('the first playlists of both encoders', async () => {
        const f1 = firstAnnounced(teeA);
        const f2 = firstAnnounced(teeB);
        return f1 !== undefined && f2 !== undefined ? Math.max(f1, f2) : undefined;
      }, 60_000);
      const startMs = Math.ceil(t0 / 1000) * 1000 + 2000;
      const endMs = startMs + 16_000;
      const client = b.client();
      const ref = { ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'cmaf', HarvestJobName: 'across-the-kill' };
      // Both inputs feed their node; before the kill, both nodes list the same playlists.
      await waitFor('both encoders 8 s into the window', async () => (Math.min(announced(teeA, '2'), announced(teeB, '2')) >= startMs + 8000 ? true : undefined), 60_000);
      // The harvest job is created on A (its StartTime must have passed) while its window is open.
      await a.client().send(
        new CreateHarvestJobCommand({
          ...ref,
          HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
          ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
          Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'clip/' } },
        }),
      );
      const before = `start=${Math.floor(startMs / 1000)}&end=${Math.floor(startMs / 1000) + 6}`;
      for (const r of ['index_0', 'index_2']) {
        // On a loaded machine the last segments of the window may still be on their way: wait
        // (bounded) until both nodes list at least two and the same playlist.
        let last: (string | undefined)[] = [];
        const [pa, pb] = await waitFor(`${r}: the window to list segments on both nodes`, async () => {
          last = await Promise.all([a, b].map(async (n) => (await get(`${n.url}/out/v1/${G}/${C}/cmaf/index_${r}.m3u8?${before}`)).text));
          return last[0] === last[1] && last.every((t) => t !== undefined && readMedia(t).segments.length >= 2) ? last : undefined;
        }, 30_000).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${last.join('\n')}`);
        });
        assert.equal(pa, pb, `${r}: both nodes list the same playlist`);
        // ... and serve the same bytes under every name it lists (init segments included).
        const p = readMedia(pa!);
        for (const uri of new Set(p.segments.flatMap((x) => [x.uri, ...(x.map ? [x.map] : [])]))) {
          const ga = await get(`${a.url}/out/v1/${G}/${C}/cmaf/${uri}`);
          const gb = await get(`${b.url}/out/v1/${G}/${C}/cmaf/${uri}`);
          assert.equal(ga.status, 200, `${uri} from A: ${ga.text}`);
          assert.equal(gb.status, 200, `${uri} from B: ${gb.text}`);
          assert.ok(ga.body.equals(gb.body), `${uri}: the same bytes from A and B`);
        }
      }
      await a.kill();
      const killedAt = Date.now();

      // A closed 10 s window across the kill, read from B: every request answers, the whole window decodes.
      const closedEnd = Math.floor(killedAt / 1000) + 4;
      // Input 2 must have sent (to B) the segments past the window's end: on a loaded machine the
      // encoder can be seconds behind the clock.
      await waitFor('input 2 to announce segments past the closed window on node B', async () => (Math.min(announced(teeB, '0'), announced(teeB, '2')) >= closedEnd * 1000 ? true : undefined), 60_000);
      await waitFor('the closed window to end on node B', async () => (Date.now() > closedEnd * 1000 + 4000 ? true : undefined), 60_000);
      const win = `start=${closedEnd - 10}&end=${closedEnd}`;
      const d = await decodedDuration(`${b.url}/out/v1/${G}/${C}/cmaf/index.m3u8?${win}`);
      assert.equal(d.result.code, 0, `ffmpeg read the closed window from B: ${d.result.stderr}\n${b.logs.filter((l) => /"level":(40|50)/.test(l)).join('\n')}`);
      if (d.seconds < 9) {
        const lists = await Promise.all(['0', '2'].map(async (r) => (await get(`${b.url}/out/v1/${G}/${C}/cmaf/index_index_${r}.m3u8?${win}`)).text));
        assert.fail(`decoded ${d.seconds} s of the 10 s window [${new Date((closedEnd - 10) * 1000).toISOString()}, ${new Date(closedEnd * 1000).toISOString()}], killed at ${new Date(killedAt).toISOString()}; node B lists:\n${lists.join('\n')}`);
      }

      // The harvest completes on B with the whole window.
      const job = await waitFor(
        'the harvest job to finish',
        async () => {
          const j = await client.send(new GetHarvestJobCommand(ref));
          return j.Status === 'COMPLETED' || j.Status === 'FAILED' ? j : undefined;
        },
        90_000,
        1000,
      );
      assert.equal(job.Status, 'COMPLETED', job.ErrorMessage);
      for (const r of ['index_0', 'index_1', 'index_2']) {
        const p = readMedia(await (await fetch(`${s3.url}/vod/clip/index_${r}.m3u8`)).text());
        const times = segmentTimes(p);
        const span = (times[times.length - 1]! + p.segments[p.segments.length - 1]!.duration * 1000 - times[0]!) / 1000;
        assert.ok(times[0]! <= startMs + 100 && span >= (endMs - times[0]!) / 1000 - 0.1, `${r}: the harvest covers the window (${span} s from ${new Date(times[0]!).toISOString()})`);
        assert.ok(Math.max(...holes(p)) <= 2.1, `${r}: no hole longer than one segment: ${holes(p).join(', ')}`);
      }
      const vod = await decodedDuration(`${s3.url}/vod/clip/index.m3u8`);
      assert.equal(vod.result.code, 0, vod.result.stderr);
      assert.deepEqual(errorLines(vod.result.stderr), []);
      assert.ok(vod.seconds >= 15.5, `the harvested asset plays ${vod.seconds} s of the 16 s window`);
    } finally {
      await Promise.all([enc1.kill('SIGKILL'), enc2.kill('SIGKILL')]);
    }
  });
});
