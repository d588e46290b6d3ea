/**
 * Hostile ingest and origin requests against the real server: nothing a request names or sends
 * makes the server do work or hold memory out of proportion to it, and no input can break what a
 * channel already serves.
 *  - a tiny fMP4 segment declaring 2^30 samples does not stall ingest;
 *  - the origin serves only the output grouping its endpoint configures, and streams it;
 *  - refused uploads (no such channel, a policy that refuses them) are never buffered;
 *  - over-long names are a 400; implausible program date-times a 400; one rendition cannot drag
 *    the channel's clock, and a reset removes everything, whatever its timestamps;
 *  - a segment of the wrong container under a rendition is refused, and output keeps working;
 *  - pending playlists are bounded in number, so that uploads stay fast.
 * Server memory is read from /proc/<pid>/status (VmHWM, the peak resident set).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { CreateChannelCommand, CreateOriginEndpointCommand, PutChannelPolicyCommand, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { createLiveChannel, get, resetChannel, waitFor } from '../support/live.js';

const G = 'sec';
let server: TestServer;
let client: MediaPackageV2Client;
let dir: string;
/** 1 s MPEG-TS segments of one continuous stream, padded to 2 MB with null packets. */
let tsSegments: Buffer[];
let tsDurations: number[];
/** A small valid TS segment (not padded). */
let smallTs: Buffer;
let fmp4Init: Buffer;
let fmp4Segments: Buffer[];
let fmp4Durations: number[];

const PAD_TO = 2 * 1024 * 1024;

function pad(ts: Buffer): Buffer {
  const nul = Buffer.alloc(188, 0xff);
  nul.set([0x47, 0x1f, 0xff, 0x10]);
  const n = Math.max(0, Math.floor((PAD_TO - ts.length) / 188));
  return Buffer.concat([ts, ...Array.from({ length: n }, () => nul)]);
}

/** Segments and EXTINF durations of an HLS folder written by ffmpeg, in playlist order. */
function hlsOutput(folder: string, playlist: string): { files: Buffer[]; durations: number[] } {
  const text = readFileSync(join(folder, playlist), 'utf8');
  const durations = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  const names = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return { files: names.map((n) => readFileSync(join(folder, n))), durations };
}

interface Entry {
  uri: string;
  duration: number;
  pdt?: number;
}

function playlist(entries: readonly Entry[], map?: string): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${Math.max(1, ...entries.map((e) => Math.ceil(e.duration)))}`, '#EXT-X-MEDIA-SEQUENCE:0'];
  if (map) lines.push(`#EXT-X-MAP:URI="${map}"`);
  for (const e of entries) {
    if (e.pdt !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(e.pdt).toISOString()}`);
    lines.push(`#EXTINF:${e.duration.toFixed(6)},`, e.uri);
  }
  return `${lines.join('\n')}\n`;
}

/** Entries for files `${prefix}${i}${ext}`, back to back from `startMs`. */
function entries(prefix: string, ext: string, durations: readonly number[], startMs: number | undefined): Entry[] {
  let t = startMs;
  return durations.map((d, i) => {
    const e: Entry = { uri: `${prefix}${i}${ext}`, duration: d, ...(t !== undefined ? { pdt: t } : {}) };
    if (t !== undefined) t += Math.round(d * 1000);
    return e;
  });
}

async function put(channel: string, file: string, body: Buffer | string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/in/v1/${G}/1/${channel}/${file}`, { method: 'PUT', body });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

const out = (channel: string, endpoint: string, file: string, query = '') => `${server.url}/out/v1/${G}/${channel}/${endpoint}/${file}${query}`;

/** Peak resident memory of the server so far, in bytes. */
function peakRss(): number {
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  assert.ok(m, 'VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

/** Resets the peak resident set to the current one (writing 5 to clear_refs), so a burst's peak can be measured. */
function resetPeak(): void {
  execFileSync('sh', ['-c', `echo 5 > /proc/${server.process.pid}/clear_refs`]);
}

const MB = 1024 * 1024;

before(async () => {
  dir = tempDir('packhouse-ingest-limits-');
  const src = ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0'];
  execFileSync('ffmpeg', ['-v', 'error', ...src.slice(0, 4), '-t', '20', ...src.slice(4), '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', join(dir, 'ts_%d.ts'), join(dir, 'ts.m3u8')]);
  execFileSync('ffmpeg', ['-v', 'error', ...src.slice(0, 4), '-t', '4', ...src.slice(4), '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', join(dir, 'f_%d.m4s'), join(dir, 'f.m3u8')]);
  const ts = hlsOutput(dir, 'ts.m3u8');
  smallTs = ts.files[0]!;
  tsSegments = ts.files.map(pad);
  tsDurations = ts.durations;
  const f = hlsOutput(dir, 'f.m3u8');
  fmp4Segments = f.files;
  fmp4Durations = f.durations;
  fmp4Init = readFileSync(join(dir, 'init.mp4'));
  assert.ok(readdirSync(dir).length > 10);
  server = await startServer();
  client = server.client();
  const tsEndpoint = (segmentSeconds: number) => ({
    OriginEndpointName: 'ts',
    ContainerType: 'TS' as const,
    StartoverWindowSeconds: 3600,
    Segment: { SegmentName: 'segment', SegmentDurationSeconds: segmentSeconds },
    HlsManifests: [{ ManifestName: 'index' }],
  });
  await createLiveChannel(client, G, 'grp', [tsEndpoint(6)]);
  for (const c of ['clock', 'pend', 'names']) await createLiveChannel(client, G, c, [tsEndpoint(1)], { createGroup: false });
  await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: 'mixed' }));
  await client.send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: G,
      ChannelName: 'mixed',
      OriginEndpointName: 'cmaf',
      ContainerType: 'CMAF',
      StartoverWindowSeconds: 3600,
      Segment: { SegmentName: 'segment', SegmentDurationSeconds: 1 },
      HlsManifests: [{ ManifestName: 'index' }],
      DashManifests: [{ ManifestName: 'dash' }],
    }),
  );
  await client.send(new CreateChannelCommand({ ChannelGroupName: G, ChannelName: 'guarded' }));
  await client.send(
    new PutChannelPolicyCommand({
      ChannelGroupName: G,
      ChannelName: 'guarded',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '111111111111' }, Action: 'mediapackagev2:PutObject', Resource: '*' }],
      }),
    }),
  );
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a 132-byte fMP4 segment whose trun declares 2^30 samples is dropped at once, without stalling the server', async () => {
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + body.length);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, body]);
  };
  const u32 = (...v: number[]) => Buffer.concat(v.map((x) => Buffer.from([x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff])));
  const moof = box('moof', box('mfhd', u32(0, 1)), box('traf', box('tfhd', u32(0x0002_0008, 1, 1000)), box('tfdt', u32(0, 0)), box('trun', u32(0, 2 ** 30))));
  const hostile = Buffer.concat([box('styp', Buffer.from('msdh\0\0\0\0msdhmsix', 'latin1')), moof, box('mdat', Buffer.alloc(8))]);
  assert.ok(hostile.length <= 132);
  assert.equal((await put('names', 'bad_init.mp4', fmp4Init)).status, 201);
  assert.equal((await put('names', 'bad_0.m4s', hostile)).status, 201);
  const t0 = Date.now();
  const [pl, probe] = await Promise.all([put('names', 'bad.m3u8', playlist([{ uri: 'bad_0.m4s', duration: 1, pdt: Date.now() - 2000 }], 'bad_init.mp4')), get(out('names', 'ts', 'index.m3u8'))]);
  assert.equal(pl.status, 201, pl.text);
  assert.ok(probe.status === 404 || probe.status === 200);
  assert.ok(Date.now() - t0 < 2000, `the playlist naming the hostile segment took ${Date.now() - t0} ms`);
});

test('the origin serves only the grouping its endpoint configures, and streams it without holding it in memory', async () => {
  const base = Date.now() - 30_000;
  for (let i = 0; i < tsSegments.length; i++) assert.equal((await put('grp', `seg_${i}.ts`, tsSegments[i]!)).status, 201);
  assert.equal((await put('grp', 'video.m3u8', playlist(entries('seg_', '.ts', tsDurations, base)))).status, 201);
  const media = await waitFor('the grouped playlist', async () => {
    const r = await get(out('grp', 'ts', 'index_video.m3u8'));
    return r.status === 200 && /segment_video_1\.g6\.ts/.test(r.text) ? r.text : undefined;
  });
  assert.match(media, /segment_video_2\.g6\.ts/);
  // Six 1 s input segments make one 6 s output segment, byte for byte.
  const six = await get(out('grp', 'ts', 'segment_video_1.g6.ts'));
  assert.equal(six.status, 200);
  assert.ok(six.body.equals(Buffer.concat(tsSegments.slice(0, 6))), 'the output segment is its input segments end to end');
  // 20 concurrent requests for 12 MB output segments: streamed one input segment at a time.
  resetPeak();
  const before = peakRss();
  const bodies = await Promise.all(Array.from({ length: 20 }, (_, i) => get(out('grp', 'ts', `segment_video_${1 + (i % 3)}.g6.ts`))));
  bodies.forEach((b, i) => {
    const k = 1 + (i % 3);
    assert.equal(b.status, 200);
    assert.ok(b.body.equals(Buffer.concat(tsSegments.slice((k - 1) * 6, k * 6))), `output segment ${k}`);
  });
  const grown = peakRss() - before;
  assert.ok(grown < 100 * MB, `serving 20 × 12 MB grew the server's peak memory by ${(grown / MB).toFixed(0)} MB`);
  // Other groupings of the same input are not this endpoint's: 404, whatever the name asks for.
  for (const name of ['segment_video_1.g18.ts', 'segment_video_1.g7.ts', 'segment_video_1.g2.ts']) {
    assert.equal((await get(out('grp', 'ts', name))).status, 404, name);
  }
});

/** PUTs `size` bytes with node:http and resolves with the status (the server may answer before the body is sent). */
function bigPut(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(server.url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'PUT', headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('uploads refused by route, channel or policy are decided from the headers and never buffered', async () => {
  const body = Buffer.alloc(60 * MB, 0x47);
  resetPeak();
  const before = peakRss();
  const statuses = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => bigPut(`/in/v1/${G}/1/no-such-channel/seg_${i}.ts`, body)),
    ...Array.from({ length: 10 }, (_, i) => bigPut(`/in/v1/${G}/1/guarded/seg_${i}.ts`, body)),
    ...Array.from({ length: 5 }, (_, i) => bigPut(`/in/v1/${G}/1/names/seg_${i}.exe`, body)),
    ...Array.from({ length: 5 }, (_, i) => bigPut(`/in/v1/${G}/1/names/p_${i}.m3u8`, body)),
  ]);
  const grown = peakRss() - before;
  assert.deepEqual(statuses, [...Array<number>(10).fill(404), ...Array<number>(10).fill(403), ...Array<number>(5).fill(415), ...Array<number>(5).fill(413)]);
  assert.ok(grown < 150 * MB, `30 refused 60 MB uploads grew the server's peak memory by ${(grown / MB).toFixed(0)} MB`);
});

test('ingest names longer than 128 bytes, or in a folder, are a 400 with a reason, never a 500', async () => {
  for (const name of [`${'a'.repeat(300)}.ts`, `${'b'.repeat(200)}.ts`, `${'c'.repeat(60)}/${'d'.repeat(60)}/${'e'.repeat(60)}.ts`, `${'f'.repeat(250)}.m3u8`]) {
    const r = await put('names', name, smallTs);
    assert.equal(r.status, 400, `${name.length} bytes: ${r.text}`);
    assert.match(r.text, /at most 128/);
  }
  assert.equal((await put('names', `${'g'.repeat(120)}.ts`, smallTs)).status, 201);
  // A file in a folder would never be read (an input's files sit side by side): refused, not stored.
  const nested = await put('names', 'video/seg_1.ts', smallTs);
  assert.equal(nested.status, 400, nested.text);
  assert.match(nested.text, /is in a folder/);
});

test('implausible program date-times are refused; one rendition cannot drag the clock; a reset removes everything', async () => {
  const now = Date.now();
  const upload = async (rendition: string, from: number, count: number, pdt: number) => {
    for (let i = 0; i < count; i++) assert.equal((await put('clock', `${rendition}_${from + i}.ts`, smallTs)).status, 201);
    const list = Array.from({ length: count }, (_, i) => ({ uri: `${rendition}_${from + i}.ts`, duration: 1, pdt: pdt + i * 1000 }));
    return put('clock', `${rendition}.m3u8`, playlist(list));
  };
  assert.equal((await upload('a', 0, 4, now - 5000)).status, 201);
  await waitFor('rendition a', async () => ((await get(out('clock', 'ts', 'index_a.m3u8'))).status === 200 ? true : undefined));
  // Year 2999: refused with a reason, and nothing of it is placed.
  const future = await upload('r', 0, 2, Date.UTC(2999, 0, 1));
  assert.equal(future.status, 400, future.text);
  assert.match(future.text, /ahead of the server's clock/);
  const past = await upload('p', 0, 1, Date.UTC(1999, 0, 1));
  assert.equal(past.status, 400, past.text);
  assert.match(past.text, /behind the server's clock/);
  // 20 hours ahead is within the accepted skew, but one rendition cannot move the channel's clock.
  assert.equal((await upload('s', 0, 2, now + 20 * 3_600_000)).status, 201);
  const a = await get(out('clock', 'ts', 'index_a.m3u8'));
  assert.equal(a.status, 200, `rendition a after a rendition 20 h ahead arrived: ${a.text}`);
  assert.match(a.text, /segment_a_1\.ts/);
  assert.equal((await get(out('clock', 'ts', 'segment_s_1.ts'))).status, 200, 'the odd rendition is held until the reset');
  // A reset removes every segment held, whatever its timestamp, and the channel starts afresh.
  assert.equal((await resetChannel(server.url, G, 'clock')).status, 200);
  assert.equal((await get(out('clock', 'ts', 'segment_s_1.ts'))).status, 404, 'content stamped after the reset instant is gone too');
  assert.equal((await get(out('clock', 'ts', 'segment_a_1.ts'))).status, 404);
  const later = Date.now() + 1000;
  assert.equal((await upload('a', 10, 3, later)).status, 201);
  const fresh = await waitFor('rendition a after the reset', async () => {
    const r = await get(out('clock', 'ts', 'index_a.m3u8'));
    return r.status === 200 ? r.text : undefined;
  });
  assert.doesNotMatch(fresh, /segment_s_/);
});

test('a segment of the wrong container under a rendition is refused, and what was served keeps working', async () => {
  const start = Date.now() - 10_000;
  for (let i = 0; i < fmp4Segments.length; i++) assert.equal((await put('mixed', `f_${i}.m4s`, fmp4Segments[i]!)).status, 201);
  assert.equal((await put('mixed', 'init.mp4', fmp4Init)).status, 201);
  assert.equal((await put('mixed', 'video.m3u8', playlist(entries('f_', '.m4s', fmp4Durations, start), 'init.mp4'))).status, 201);
  const served = await waitFor('the CMAF playlist', async () => {
    const r = await get(out('mixed', 'cmaf', 'index_video.m3u8'));
    return r.status === 200 ? r.text : undefined;
  });
  assert.match(served, /segment_video_1\.mp4/);
  const windowQuery = `?start=${Math.floor(start / 1000)}&end=${Math.floor(start / 1000) + 3}`;
  assert.equal((await get(out('mixed', 'cmaf', 'index.m3u8', windowQuery))).status, 200);
  // Two MPEG-TS segments under the same (fMP4) rendition's playlist.
  const after = start + 4000;
  for (let i = 0; i < 2; i++) assert.equal((await put('mixed', `t_${i}.ts`, smallTs)).status, 201);
  const wrong = await put('mixed', 'video.m3u8', playlist(entries('t_', '.ts', [1, 1], after)));
  assert.equal(wrong.status, 415, wrong.text);
  assert.match(wrong.text, /is MPEG-TS, but rendition video of channel mixed is fMP4/);
  for (const file of ['index.m3u8', 'index_video.m3u8', 'dash.mpd']) {
    assert.equal((await get(out('mixed', 'cmaf', file))).status, 200, file);
    assert.equal((await get(out('mixed', 'cmaf', file, windowQuery))).status, 200, `${file}${windowQuery}`);
  }
  // The other order: the playlist first, then the segment it names.
  assert.equal((await put('mixed', 'video.m3u8', playlist(entries('u_', '.ts', [1], after + 2000)))).status, 201);
  const seg = await put('mixed', 'u_0.ts', smallTs);
  assert.equal(seg.status, 415, seg.text);
  assert.equal((await get(out('mixed', 'cmaf', 'index_video.m3u8'))).status, 200);
});

test('pending playlists are bounded in number, and a segment upload stays fast whatever they hold', async () => {
  // About 0.9 MB each: 30,000 entries naming segments that never come.
  const big = playlist(Array.from({ length: 30_000 }, (_, i) => ({ uri: `never_${i}.ts`, duration: 1 })));
  assert.ok(big.length > 0.8 * MB && big.length < MB, `${big.length}`);
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await put('pend', `p${i}.m3u8`, big);
    statuses.push(r.status);
    if (r.status === 429) assert.match(r.text, /already holds 32 playlists/);
  }
  assert.deepEqual(statuses, [...Array<number>(32).fill(201), ...Array<number>(8).fill(429)]);
  // An existing playlist may still be updated.
  assert.equal((await put('pend', 'p0.m3u8', big)).status, 201);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await put('pend', `lone_${i}.ts`, smallTs);
    assert.equal(r.status, 201);
    times.push(r.ms);
  }
  times.sort((x, y) => x - y);
  assert.ok(times[1]! < 1000, `a segment upload beside 32 pending 0.9 MB playlists took ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
});

test('pending playlists and unplaced segments expire, and so free room for new ones', async () => {
  const other = await startServer({ args: ['--ingest-pending-seconds', '10', '--ingest-max-playlists', '2', '--ingest-max-pending-segments', '2'] });
  try {
    await createLiveChannel(other.client(), 'exp', 'c', []);
    const send = async (file: string, body: Buffer | string) => {
      const res = await fetch(`${other.url}/in/v1/exp/1/c/${file}`, { method: 'PUT', body });
      return { status: res.status, text: await res.text() };
    };
    const listing = (name: string) => playlist([{ uri: `${name}_never.ts`, duration: 1 }]);
    assert.equal((await send('a.m3u8', listing('a'))).status, 201);
    assert.equal((await send('b.m3u8', listing('b'))).status, 201);
    const full = await send('c.m3u8', listing('c'));
    assert.equal(full.status, 429, full.text);
    assert.match(full.text, /already holds 2 playlists/);
    assert.equal((await send('x_0.ts', smallTs)).status, 201);
    assert.equal((await send('x_1.ts', smallTs)).status, 201);
    assert.equal((await send('x_2.ts', smallTs)).status, 429);
    // After 10 s unchanged, the old playlists and unplaced segments expire and make room.
    await waitFor('the expired playlists to make room', async () => ((await send('c.m3u8', listing('c'))).status === 201 ? true : undefined), 40_000, 1000);
    assert.equal((await send('x_2.ts', smallTs)).status, 201);
  } finally {
    await other.stop();
  }
});
