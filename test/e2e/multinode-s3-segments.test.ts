/**
 * Several nodes without a shared disk: two Packhouse processes over one PostgreSQL database keep
 * live segments in S3 (`--segment-store s3://live/segments` on a real s3rver). ffmpeg pushes
 * through a proxy that hands its requests to the two nodes in turn, concurrently (a round-robin
 * load balancer), so a playlist and the segments it lists land on different nodes. Both nodes
 * then serve the same playlists and exactly the bytes ffmpeg sent, ffmpeg decodes the output from
 * either, neither node wrote media to its data directory, and a harvest job created on one node
 * copies segments the other node ingested.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateHarvestJobCommand, CreateOriginEndpointCommand, waitUntilHarvestJobFinished } from '@aws-sdk/client-mediapackagev2';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { startBuiltinS3, type BuiltinS3 } from '../../src/storage/sinks/builtin-s3.js';
import { repackageTs } from '../../src/media/package/ts-to-cmaf.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { createPgDatabase, dropPgDatabase } from '../support/postgres.js';
import {
  closedWindowEnd,
  cmafEndpoint,
  createLiveChannel,
  decode,
  expectEncoderSuccess,
  get,
  readMedia,
  send,
  startEncoder,
  startTeeProxy,
  tsEndpoint,
  waitPastAnnounced,
  type TeeProxy,
} from '../support/live.js';
import { getObject } from '../support/harvest.js';

const G = 'multi';
const C = 'ch';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('two nodes, live segments in S3, ingest spread over both', () => {
  let db: { name: string; url: string };
  let s3Dir: string;
  let s3: BuiltinS3;
  let s3c: S3Client;
  let a: TestServer;
  let b: TestServer;
  let tee: TeeProxy;
  const dirs: string[] = [];
  /** The first TS segments of rendition index_0 that ffmpeg sent in the TS test. */
  let tsSent: { file: string; body: Buffer }[] = [];
  /** Keys of the CMAF fragments stored in the live bucket. */
  const fragments = async (): Promise<Set<string>> => {
    const keys = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3c.send(new ListObjectsV2Command({ Bucket: 'live', Prefix: 'segments/media/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key!.endsWith('.cmaf.mp4')) keys.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  };

  before(async () => {
    db = await createPgDatabase();
    s3Dir = mkdtempSync(join(tmpdir(), 'packhouse-s3-'));
    s3 = await startBuiltinS3({ directory: s3Dir, host: '127.0.0.1', port: 0, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    s3c = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: 'us-east-1', credentials: s3.credentials });
    for (const Bucket of ['live', 'vod']) await s3c.send(new CreateBucketCommand({ Bucket }));
    const args = [
      '--database-url', db.url,
      '--s3-endpoint', s3.url,
      '--s3-access-key-id', s3.credentials.accessKeyId,
      '--s3-secret-access-key', s3.credentials.secretAccessKey,
      '--segment-store', 's3://live/segments',
    ];
    dirs.push(tempDir('packhouse-node-a-'), tempDir('packhouse-node-b-'));
    const nodes = await Promise.all(dirs.map((dataDir) => startServer({ dataDir, args })));
    a = nodes[0]!;
    b = nodes[1]!;
    await createLiveChannel(a.client(), G, C, [cmafEndpoint('cmaf', 600)]);
    tee = await startTeeProxy([a.url, b.url], { serial: false });
  });

  after(async () => {
    await tee?.close();
    await a?.stop();
    await b?.stop();
    s3c?.destroy();
    await s3?.close();
    if (db) await dropPgDatabase(db.name);
    for (const d of [...dirs, s3Dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('a node refuses to start on a segment bucket that does not exist, saying so', async () => {
    const dir = tempDir('packhouse-node-c-');
    dirs.push(dir);
    await assert.rejects(
      startServer({ dataDir: dir, args: ['--database-url', db.url, '--s3-endpoint', s3.url, '--s3-access-key-id', 'S3RVER', '--s3-secret-access-key', 'S3RVER', '--segment-store', 's3://missing-bucket'] }),
      /s3:\/\/missing-bucket: the bucket does not exist/,
    );
  });

  test('both nodes serve what ffmpeg sent through either of them, from S3 alone', { timeout: 90_000 }, async () => {
    await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 10 }), 'encoder');
    await tee.settled();
    await waitPastAnnounced([tee]);
    const statuses = tee.requests.filter((r) => r.status !== 201).map((r) => `${r.file} → ${r.status}`);
    const errorLogs = [a, b].flatMap((n) => n.logs.filter((l) => /"level":(50|60)/.test(l)));
    assert.deepEqual(statuses, [], `every upload accepted; node errors:\n${errorLogs.join('\n')}`);
    const onA = tee.requests.filter((_, i) => i % 2 === 0).length;
    assert.ok(onA > 5 && tee.requests.length - onA > 5, 'uploads went to both nodes');

    // A closed window over the whole encode.
    const q = `start=${Math.floor(tee.requests[0]!.atMs / 1000) - 30}&end=${await closedWindowEnd([tee])}`;
    for (const r of ['index_0', 'index_2']) {
      const sent = tee.files(new RegExp(`^${r}_\\d+\\.m4s$`));
      const [pa, pb] = await Promise.all([a, b].map(async (n) => (await get(`${n.url}/out/v1/${G}/${C}/cmaf/index_${r}.m3u8?${q}`)).text));
      assert.equal(pa, pb, `${r}: both nodes list the same playlist`);
      const p = readMedia(pa!);
      assert.equal(p.segments.length, sent.length, `${r}: every segment ffmpeg sent:\n${pa}`);
      for (const [i, s] of p.segments.entries()) {
        const node = i % 2 ? a : b;
        const got = await get(`${node.url}/out/v1/${G}/${C}/cmaf/${s.uri}`);
        assert.equal(got.status, 200, `${s.uri}: ${got.text}`);
        assert.ok(got.body.equals(sent[i]!.body), `${s.uri} from ${node === a ? 'A' : 'B'} = ${sent[i]!.file}`);
      }
    }
    for (const n of [a, b]) {
      const r = await decode(`${n.url}/out/v1/${G}/${C}/cmaf/index.m3u8?${q}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(existsSync(join(n.dataDir, 'media')), false, `${n.dataDir} holds no media`);
    }
    const listed = await s3c.send(new ListObjectsV2Command({ Bucket: 'live', Prefix: 'segments/media/' }));
    assert.ok((listed.KeyCount ?? 0) > 10, 'the segments are objects in the live bucket');
    // Under ingest/ stay the encoder's latest playlists and init segments (later segments name them); no media segment is left pending.
    const pending = await s3c.send(new ListObjectsV2Command({ Bucket: 'live', Prefix: 'segments/ingest/' }));
    assert.deepEqual((pending.Contents ?? []).map((o) => o.Key!).filter((k) => !/(\.m3u8|\/init_\d\.mp4)$/.test(k)), [], 'no media segment left pending');

    // A harvest job created on B copies what either node ingested, from S3 to S3.
    const client = b.client();
    const first = readMedia((await get(`${a.url}/out/v1/${G}/${C}/cmaf/index_index_0.m3u8?${q}`)).text).segments;
    const ref = { ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'cmaf', HarvestJobName: 'clip' };
    await client.send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: new Date(first[1]!.pdtMs! + 500), EndTime: new Date(first[3]!.pdtMs! + 500) },
        Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'clip/' } },
      }),
    );
    const w = await waitUntilHarvestJobFinished({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, ref);
    assert.equal(w.state, 'SUCCESS', JSON.stringify(w.reason));
    for (const s of first.slice(1, 4)) {
      const harvested = await getObject(s3.url, 'vod', `clip/${s.uri}`);
      assert.ok(harvested.equals((await get(`${b.url}/out/v1/${G}/${C}/cmaf/${s.uri}`)).body), `clip/${s.uri}`);
    }
  });

  test('TS input repackaged at ingest: both nodes serve the same CMAF bytes (one SHA-256 per URL), and the TS endpoint what ffmpeg sent', { timeout: 90_000 }, async () => {
    await createLiveChannel(a.client(), G, 'ts-in', [cmafEndpoint('cmaf', 600), tsEndpoint('ts', 600)], { createGroup: false });
    const tsTee = await startTeeProxy([a.url, b.url], { serial: false });
    try {
      await expectEncoderSuccess(startEncoder({ baseUrl: tsTee.url, group: G, channel: 'ts-in', ingest: 1, segmentType: 'mpegts', seconds: 8 }), 'encoder');
      await tsTee.settled();
      await waitPastAnnounced([tsTee]);
      assert.deepEqual(tsTee.requests.filter((r) => r.status !== 201).map((r) => `${r.file} → ${r.status}`), []);
      const q = `start=${Math.floor(tsTee.requests[0]!.atMs / 1000) - 30}&end=${await closedWindowEnd([tsTee])}`;
      const out = (n: TestServer, e: string) => `${n.url}/out/v1/${G}/ts-in/${e}`;
      for (const r of ['index_0', 'index_2']) {
        const [pa, pb] = await Promise.all([a, b].map(async (n) => (await get(`${out(n, 'cmaf')}/index_${r}.m3u8?${q}`)).text));
        assert.equal(pa, pb, `${r}: both nodes list the same playlist`);
        const p = readMedia(pa!);
        const sent = tsTee.files(new RegExp(`^${r}_\\d+\\.ts$`));
        if (r === 'index_0') tsSent = sent.slice(0, 3).map((x) => ({ file: x.file, body: x.body }));
        assert.equal(p.segments.length, sent.length, pa);
        for (const uri of [p.segments[0]!.map!, ...p.segments.map((s) => s.uri)]) {
          const [x, y] = await Promise.all([a, b].map((n) => get(`${out(n, 'cmaf')}/${uri}`)));
          assert.equal(x!.status, 200, `${uri}: ${x!.text}`);
          assert.equal(sha256(x!.body), sha256(y!.body), `${uri}: the same bytes from A and B`);
        }
        const tsList = readMedia((await get(`${out(b, 'ts')}/index_${r}.m3u8?${q}`)).text);
        for (const [i, s] of tsList.segments.entries()) assert.ok((await get(`${out(a, 'ts')}/${s.uri}`)).body.equals(sent[i]!.body), `${s.uri} as ffmpeg sent it`);
      }
      for (const n of [a, b]) {
        const r = await decode(`${out(n, 'cmaf')}/index.m3u8?${q}`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
      }
    } finally {
      await tsTee.close();
    }
  });

  test('a CMAF endpoint created after the TS segments arrived: the fragments are made on first read, stored once in S3, and both nodes serve the same bytes', async () => {
    assert.equal(tsSent.length, 3, 'TS segments from the previous test');
    await createLiveChannel(a.client(), G, 'late', [tsEndpoint('ts', 600)], { createGroup: false });
    const before = await fragments();
    // Segments to A, the playlist to B (PDT from now back), as a load balancer might.
    const base = Date.now() - tsSent.length * 2000;
    for (const s of tsSent) assert.equal((await send(`${a.url}/in/v1/${G}/1/late/${s.file}`, 'PUT', s.body)).status, 201);
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
    tsSent.forEach((s, i) => lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(base + i * 2000).toISOString()}`, '#EXTINF:2.000,', s.file));
    assert.equal((await send(`${b.url}/in/v1/${G}/1/late/index_0.m3u8`, 'PUT', `${lines.join('\n')}\n`)).status, 201);
    assert.deepEqual(await fragments(), before, 'no fragment stored while the channel has no CMAF endpoint');
    await b.client().send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: 'late', ...cmafEndpoint('cmaf', 600) }));
    const out = (n: TestServer) => `${n.url}/out/v1/${G}/late/cmaf`;
    const p = readMedia((await get(`${out(a)}/index_index_0.m3u8`)).text);
    assert.equal(p.segments.length, 3, p.lines.join('\n'));
    for (const [i, seg] of p.segments.entries()) {
      // B reads first (and stores), then A and B again: one set of bytes, those ingest would have stored.
      const [x, y, z] = [await get(`${out(b)}/${seg.uri}`), await get(`${out(a)}/${seg.uri}`), await get(`${out(b)}/${seg.uri}`)];
      assert.equal(x.status, 200, `${seg.uri}: ${x.text}`);
      assert.ok(x.body.equals(Buffer.from(repackageTs(tsSent[i]!.body).media)), `${seg.uri}: the repackaged fragment`);
      assert.equal(sha256(y.body), sha256(x.body), `${seg.uri}: A serves B's bytes`);
      assert.equal(sha256(z.body), sha256(x.body), `${seg.uri}: and B again`);
    }
    const made = [...(await fragments())].filter((k) => !before.has(k));
    assert.equal(made.length, 3, made.join('\n'));
  });
});
