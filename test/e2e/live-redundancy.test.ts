/**
 * Live robustness end to end, with ffmpeg encoders against real Packhouse processes:
 *
 * - redundant ingest: two encoders on ingest endpoints 1 and 2 of one channel; encoder 1 is
 *   SIGKILLed mid-stream and the output must continue from encoder 2 without a hole;
 * - a Packhouse restart (SIGTERM, same data dir, same port and --public-url) between two
 *   encoder sessions: the time-shift window over both halves returns all of it;
 * - an encoder restarted with the same file names (ffmpeg numbers segments from 0 in every
 *   session, as MediaLive counts from 00001): the second session must not disturb the first;
 * - ResetChannelState (raw SigV4 request): only content ingested after the reset is served.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateChannelGroupCommand, GetChannelCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import {
  cmafEndpoint,
  closedWindowEnd,
  createLiveChannel,
  decode,
  decodedDuration,
  errorLines,
  findAll,
  isoSeconds,
  parseXml,
  timelineDurations,
  expectEncoderSuccess,
  freePort,
  get,
  readMedia,
  resetChannel,
  segmentTimes,
  startEncoder,
  startSharedSource,
  startTeeProxy,
  tsEndpoint,
  waitPastAnnounced,
  type CapturedRequest,
  type MediaPlaylistText,
  type TeeProxy,
  type XmlElement,
} from '../support/live.js';

const SEG = 2;

/** Gaps (s) between the end of each segment and the start of the next, from PDT and EXTINF. */
function holes(p: MediaPlaylistText): { after: string; seconds: number }[] {
  const t = segmentTimes(p);
  return p.segments.slice(1).map((s, i) => ({ after: p.segments[i]!.uri, seconds: (t[i + 1]! - (t[i]! + p.segments[i]!.duration * 1000)) / 1000 }));
}

async function fetchMedia(url: string): Promise<MediaPlaylistText> {
  const res = await get(url);
  assert.equal(res.status, 200, `${url}: ${res.text}`);
  return readMedia(res.text);
}

// Two tests at a time (the restart test has its own server): each encoder is light (~0.1 core),
// and the file stays well under a minute.
describe('live redundancy, restarts and reset', { concurrency: 2 }, () => {
  let server: TestServer;
  const G = 'live-r';

  before(async () => {
    server = await startServer();
    await server.client().send(new CreateChannelGroupCommand({ ChannelGroupName: G }));
  });

  after(async () => {
    await server?.stop();
  });

  test('two encoders on ingest 1 and 2; encoder 1 SIGKILLed after ~6 s: the live playlist never shows a hole, encoder 2 carries on', async () => {
    const C = 'redundant';
    await createLiveChannel(server.client(), G, C, [tsEndpoint('ts', 600)], { createGroup: false });
    const out = `${server.url}/out/v1/${G}/${C}/ts`;
    // Both encoders encode one live source (same frames, same media timestamps). Encoder 1 gets it
    // 150 ms after encoder 2, so its PDTs run 150 ms later (two encoder clocks that do not quite
    // agree); encoder 2's files reach Packhouse 500 ms after it sent them (MediaLive's send delay on
    // pipeline 1), so encoder 1 is the active input until it dies.
    const tees: TeeProxy[] = [await startTeeProxy(server.url), await startTeeProxy(server.url, { delayMs: 500 })];
    try {
      const common = { group: G, channel: C, segmentType: 'mpegts', seconds: 12, input: 'stdin' } as const;
      const enc1 = startEncoder({ ...common, baseUrl: tees[0]!.url, ingest: 1 });
      const enc2 = startEncoder({ ...common, baseUrl: tees[1]!.url, ingest: 2 });
      await sleep(500); // both are up and waiting for input
      const started = Date.now();
      const source = startSharedSource(12, [{ encoder: enc2 }, { encoder: enc1, delayMs: 150 }]);
      // Poll the live video playlist during the whole run.
      const snapshots: MediaPlaylistText[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const res = await get(`${out}/index_index_0.m3u8`);
          if (res.status === 200) snapshots.push(readMedia(res.text));
          await sleep(400);
        }
      })();
      await sleep(Math.max(0, started + 7_000 - Date.now()));
      const killedAt = Date.now();
      const r1 = await enc1.kill('SIGKILL');
      assert.equal(r1.signal, 'SIGKILL', `encoder 1 was still running when killed: ${r1.stderr}`);
      await expectEncoderSuccess(enc2, 'encoder 2');
      await expectEncoderSuccess(source, 'the source');
      await Promise.all(tees.map((t) => t.settled()));
      await waitPastAnnounced(tees);
      polling = false;
      await poller;

      // Precondition (the set-up, not Packhouse): encoder 1's clock runs ~150 ms after encoder 2's.
      const firstPdt = (t: TeeProxy) => readMedia(t.files(/^index_0\.m3u8$/)[0]!.body.toString('utf8')).segments[0]!.pdtMs!;
      const skew = firstPdt(tees[0]!) - firstPdt(tees[1]!);
      assert.ok(skew > 50 && skew < 400, `encoder 1's first PDT is ${skew} ms after encoder 2's`);

      const final = {
        video: await fetchMedia(`${out}/index_index_0.m3u8`),
        audio: await fetchMedia(`${out}/index_index_2.m3u8`),
      };
      snapshots.push(final.video);
      assert.ok(snapshots.length >= 15, `${snapshots.length} snapshots`);
      // Every snapshot: contiguous numbering, no hole or overlap of a quarter segment (0.5 s) or more.
      const seen = new Map<number, { uri: string; start: number }>();
      for (const [n, p] of snapshots.entries()) {
        const where = `snapshot ${n}:\n${p.lines.join('\n')}`;
        p.segments.forEach((s, i) => assert.equal(s.uri, `segment_index_0_${p.mediaSequence + i}.ts`, where));
        for (const h of holes(p)) assert.ok(Math.abs(h.seconds) < SEG / 4, `a ${h.seconds.toFixed(3)} s hole after ${h.after} in ${where}`);
        // A sequence number keeps its meaning from one snapshot to the next.
        const times = segmentTimes(p);
        p.segments.forEach((s, i) => {
          const before = seen.get(s.seq);
          if (before) assert.deepEqual({ uri: s.uri, start: times[i] }, before, `seq ${s.seq} changed in ${where}`);
          else seen.set(s.seq, { uri: s.uri, start: times[i]! });
        });
      }
      for (const [name, p] of Object.entries(final)) {
        for (const h of holes(p)) assert.ok(Math.abs(h.seconds) < SEG / 4, `${name}: a ${h.seconds.toFixed(3)} s hole after ${h.after}\n${p.lines.join('\n')}`);
        const total = p.segments.reduce((n, s) => n + s.duration, 0);
        assert.ok(Math.abs(total - 12) <= SEG, `${name}: ${total} s listed for a 12 s stream\n${p.lines.join('\n')}`);
        assert.equal(p.tags('EXT-X-DISCONTINUITY').length, 0, `${name}: the two encoders share one media timeline:\n${p.lines.join('\n')}`);
      }
      // Content from after the kill is there (encoder 2 took over) ...
      const times = segmentTimes(final.video);
      const lastEnd = times.at(-1)! + final.video.segments.at(-1)!.duration * 1000;
      assert.ok(lastEnd > killedAt + 3_000, `the stream goes on after the kill: last segment ends ${new Date(lastEnd).toISOString()}, kill at ${new Date(killedAt).toISOString()}`);
      // ... and each listed segment is, byte for byte, the same-position file of one of the encoders;
      // where both sent the same bytes, the nearer PDT says which.
      const sent = tees.map((t) => t.files(/^index_0_\d+\.ts$/));
      const pdts = tees.map((t) => {
        const m = new Map<string, number>();
        for (const p of t.files(/^index_0\.m3u8$/)) for (const s of readMedia(p.body.toString('utf8')).segments) if (s.pdtMs !== undefined) m.set(s.uri, s.pdtMs);
        return m;
      });
      assert.equal(final.video.segments.length, sent[1]!.length, 'one listed segment per segment of the surviving encoder');
      const sources: number[] = [];
      for (const [i, s] of final.video.segments.entries()) {
        const res = await get(`${out}/${s.uri}`);
        assert.equal(res.status, 200, `${s.uri}: ${res.text}`);
        const candidates = [0, 1].filter((k) => sent[k]![i]?.body.equals(res.body) && pdts[k]!.has(sent[k]![i].file));
        const describe = [0, 1].map((k) => {
          const f = sent[k]![i];
          return f ? `encoder ${k + 1}: ${f.file} ${f.body.length} bytes${f.body.equals(res.body) ? ' (same bytes)' : ''}, PDT ${pdts[k]!.get(f.file)}` : `encoder ${k + 1}: none`;
        });
        assert.ok(candidates.length > 0, `${s.uri} (${res.body.length} bytes, PDT ${times[i]}) is segment ${i} of encoder 1 or 2: ${describe.join('; ')}\n${final.video.lines.join('\n')}`);
        const distance = (k: number) => Math.abs(pdts[k]!.get(sent[k]![i]!.file)! - times[i]!);
        sources.push(candidates.reduce((a, b) => (distance(b) < distance(a) ? b : a)) + 1);
      }
      // Encoder 1 was the active input for every segment it announced (in a playlist it got out
      // before the kill), encoder 2 for all the rest.
      const switchAt = pdts[0]!.size;
      assert.ok(switchAt > 0 && switchAt < sources.length, `encoder 1 announced ${switchAt} of ${sources.length} segments`);
      assert.deepEqual(sources, sources.map((_, i) => (i < switchAt ? 1 : 2)), 'the encoder each segment came from');
      // The output decodes.
      const end = await closedWindowEnd(tees);
      const { result } = await decodedDuration(`${out}/index.m3u8?start=${final.video.segments[0]!.pdtMs! / 1000 - 1}&end=${end}`, [], ['-map', '0']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(errorLines(result.stderr), []);
      // Output timing is the input's (DATAPLANE 1.2.8): every segment's start as a player computes it
      // (last PDT tag plus EXTINF since) is the PDT its encoder gave it — also right after the switch,
      // where encoder 2's clock is 150 ms behind encoder 1's.
      const misdated = final.video.segments
        .map((s, i) => ({ uri: s.uri, implied: times[i]!, input: pdts[sources[i]! - 1]!.get(sent[sources[i]! - 1]![i]!.file)! }))
        .filter((x) => x.implied !== x.input)
        .map((x) => `${x.uri}: implied ${new Date(x.implied).toISOString()}, input PDT ${new Date(x.input).toISOString()}`);
      assert.deepEqual(misdated, [], `segment times as the playlist states them:\n${final.video.lines.join('\n')}`);
    } finally {
      await Promise.all(tees.map((t) => t.close()));
    }
  });

  test('Packhouse restarted (SIGTERM, same data dir, port and --public-url) between two encoder sessions: the window over both halves has everything', async () => {
    const C = 'restart';
    const port = await freePort();
    const dataDir = tempDir();
    const args = ['--port', String(port), '--public-url', `http://127.0.0.1:${port}`];
    let srv = await startServer({ dataDir, args, keepData: true });
    const tee = await startTeeProxy(srv.url);
    try {
      await createLiveChannel(srv.client(), G, C, [cmafEndpoint('cmaf', 600)]);
      const ingestBefore = (await srv.client().send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C }))).IngestEndpoints;
      const out = () => `${srv.url}/out/v1/${G}/${C}/cmaf`;
      // Session A, session-unique file names (epoch numbering).
      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 6, uniqueNames: true }), 'encoder A');
      await tee.settled();
      await waitPastAnnounced([tee]);
      const firstHalf = await fetchMedia(`${out()}/index_index_0.m3u8`);
      assert.equal(firstHalf.segments.length, tee.files(/^index_0_\d+\.m4s$/).length);
      const split = tee.requests.length;

      await srv.stop();
      assert.equal(srv.process.exitCode, 0, `graceful exit on SIGTERM (signal ${srv.process.signalCode})`);
      srv = await startServer({ dataDir, args, keepData: true });
      assert.equal(srv.url, `http://127.0.0.1:${port}`);
      const ingestAfter = (await srv.client().send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C }))).IngestEndpoints;
      assert.deepEqual(ingestAfter, ingestBefore, 'same ingest URLs after the restart');
      // What was there before the restart is still served.
      const afterRestart = await fetchMedia(`${out()}/index_index_0.m3u8`);
      assert.deepEqual(afterRestart.lines, firstHalf.lines);

      // Session B.
      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 6, uniqueNames: true, look: 'b' }), 'encoder B');
      await tee.settled();
      await waitPastAnnounced([tee]);
      assert.deepEqual(tee.requests.filter((r) => r.status !== 201).map((r) => `${r.file} → ${r.status}`), []);

      const end = await closedWindowEnd([tee]);
      const q = `start=${firstHalf.segments[0]!.pdtMs! / 1000 - 1}&end=${end}`;
      for (const r of ['index_0', 'index_1', 'index_2']) {
        const p = await fetchMedia(`${out()}/index_${r}.m3u8?${q}`);
        const where = `${r}:\n${p.lines.join('\n')}`;
        assert.equal(p.endList, true, where);
        const re = new RegExp(`^${r}_\\d+\\.m4s$`);
        const sent = tee.files(re);
        const sentA = tee.requests.slice(0, split).filter((x) => re.test(x.file)).length;
        assert.equal(p.segments.length, sent.length, `every segment of both sessions (${sentA} + ${sent.length - sentA}): ${where}`);
        // One discontinuity, where session B starts (its media time starts again from 0), with a PDT.
        assert.equal(p.tags('EXT-X-DISCONTINUITY').length, 1, where);
        assert.equal(p.segments.findIndex((s) => s.discontinuity), sentA, where);
        assert.notEqual(p.segments[sentA]!.pdtMs, undefined, where);
        for (const [i, s] of p.segments.entries()) {
          const res = await get(`${out()}/${s.uri}`);
          assert.equal(res.status, 200, `${s.uri}: ${res.text}`);
          assert.ok(res.body.equals(sent[i]!.body), `${s.uri} = ${sent[i]!.file}`);
        }
      }
      const { result } = await decodedDuration(`${out()}/index.m3u8?${q}`, [], ['-map', '0']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(errorLines(result.stderr), []);

      // A window that starts inside session B counts the discontinuity before it (RFC 8216 §4.3.3.3).
      const both = await fetchMedia(`${out()}/index_index_0.m3u8?${q}`);
      const bStart = both.segments.find((s) => s.discontinuity)!.pdtMs!;
      const onlyB = await fetchMedia(`${out()}/index_index_0.m3u8?start=${(bStart + 2500) / 1000}&end=${end}`);
      assert.match(both.lines.join('\n'), /#EXT-X-DISCONTINUITY-SEQUENCE:0\n/);
      assert.match(onlyB.lines.join('\n'), /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/, onlyB.lines.join('\n'));
      assert.equal(onlyB.tags('EXT-X-DISCONTINUITY').length, 0);

      // DASH: one period per session, each numbered on from where its segments are, each decodable.
      const sentA = tee.requests.slice(0, split).filter((x) => /^index_0_\d+\.m4s$/.test(x.file)).length;
      const mpdText = (await get(`${out()}/dash.mpd?${q}`)).text;
      const mpd = parseXml(mpdText);
      const periods = findAll(mpd, 'Period');
      assert.equal(periods.length, 2, mpdText);
      assert.equal(periods[0]!.attrs['start'], 'PT0S');
      const secondStart = isoSeconds(periods[1]!.attrs['start']!);
      assert.ok(Math.abs(isoSeconds(periods[0]!.attrs['duration']!) - secondStart) < 0.002, mpdText);
      assert.ok(Math.abs(Number(periods[1]!.attrs['id']) - bStart) <= 50, `the second period starts with session B (${bStart}): ${mpdText}`);
      const video = (p: XmlElement) => findAll(findAll(p, 'Representation').find((r) => r.attrs['id'] === 'index_0')!, 'SegmentTemplate')[0]!;
      assert.equal(video(periods[0]!).attrs['startNumber'], String(both.segments[0]!.seq));
      assert.equal(Number(video(periods[1]!).attrs['startNumber']), both.segments[sentA]!.seq);
      assert.equal(timelineDurations(video(periods[0]!)).length, sentA);
      // ffmpeg's DASH demuxer plays the first period only: decode the MPD, then each period's
      // video on its own, from the init segment and the segments its template names.
      const dash = await decode(`${out()}/dash.mpd?${q}`);
      assert.equal(dash.code, 0, dash.stderr);
      assert.equal(dash.stderr, '');
      for (const [i, period] of periods.entries()) {
        const t = video(period);
        const count = timelineDurations(t).length;
        const first = Number(t.attrs['startNumber']);
        const parts = [(await get(`${out()}/${t.attrs['initialization']!.replace('$RepresentationID$', 'index_0')}`)).body];
        for (let n = first; n < first + count; n++) parts.push((await get(`${out()}/${t.attrs['media']!.replace('$RepresentationID$', 'index_0').replace('$Number$', String(n))}`)).body);
        const dir = tempDir();
        try {
          writeFileSync(join(dir, 'p.mp4'), Buffer.concat(parts));
          const d = await decodedDuration(join(dir, 'p.mp4'));
          assert.equal(d.result.code, 0, d.result.stderr);
          assert.deepEqual(errorLines(d.result.stderr), [], `period ${i}`);
          const listed = timelineDurations(t).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(d.seconds - listed) < 0.1, `period ${i}: decoded ${d.seconds} s, its timeline lists ${listed} s`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await tee.close();
      await srv.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an encoder restarted with the same file names (ffmpeg numbers from 0 again): the first session stays intact, the second is complete', async () => {
    const C = 'samenames';
    await createLiveChannel(server.client(), G, C, [cmafEndpoint('cmaf', 600)], { createGroup: false });
    const out = `${server.url}/out/v1/${G}/${C}/cmaf`;
    const tee = await startTeeProxy(server.url);
    try {
      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 4 }), 'encoder A');
      await tee.settled();
      const split = tee.requests.length;
      await sleep(500);
      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'fmp4', seconds: 4, look: 'b' }), 'encoder B');
      await tee.settled();
      await waitPastAnnounced([tee]);
      const sessions = (r: string): [CapturedRequest[], CapturedRequest[]] => {
        const re = new RegExp(`^${r}_\\d+\\.m4s$`);
        return [tee.requests.slice(0, split).filter((x) => re.test(x.file)), tee.requests.slice(split).filter((x) => re.test(x.file))];
      };
      for (const r of ['index_0', 'index_2']) {
        const [a, b] = sessions(r);
        assert.deepEqual(a.map((x) => x.file), b.map((x) => x.file), 'both sessions used the same file names');
        const p = await fetchMedia(`${out}/index_${r}.m3u8`);
        const where = `${r}:\n${p.lines.join('\n')}`;
        const statuses: string[] = [];
        const bodies: Buffer[] = [];
        for (const s of p.segments) {
          const res = await get(`${out}/${s.uri}`);
          statuses.push(`${s.uri} ${res.status}`);
          bodies.push(res.body);
        }
        assert.deepEqual(statuses, p.segments.map((s) => `${s.uri} 200`), `every listed segment is served: ${where}`);
        const expected = [...a, ...b];
        assert.equal(p.segments.length, expected.length, `${a.length} + ${b.length} segments listed: ${where}`);
        bodies.forEach((body, i) => assert.ok(body.equals(expected[i]!.body), `${p.segments[i]!.uri} is ${i < a.length ? 'session A' : 'session B'}'s ${expected[i]!.file}`));
        assert.equal(p.tags('EXT-X-DISCONTINUITY').length, 1, where);
        assert.equal(p.segments[a.length]?.discontinuity, true, where);
      }
    } finally {
      await tee.close();
    }
  });

  test('ResetChannelState (raw SigV4): nothing from before the reset is served; the live playlist lists only what came after', async () => {
    const C = 'reset';
    await createLiveChannel(server.client(), G, C, [tsEndpoint('ts', 600)], { createGroup: false });
    const out = `${server.url}/out/v1/${G}/${C}/ts`;
    const tee = await startTeeProxy(server.url);
    try {
      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: 4, uniqueNames: true }), 'encoder A');
      await tee.settled();
      await waitPastAnnounced([tee]);
      const old = await fetchMedia(`${out}/index_index_0.m3u8`);
      assert.ok(old.segments.length >= 2, old.lines.join('\n'));
      const split = tee.requests.length;

      const reset = await resetChannel(server.url, G, C);
      assert.equal(reset.status, 200, reset.text);
      const resetAt = (JSON.parse(reset.text) as { ResetAt: number }).ResetAt;
      assert.equal(typeof resetAt, 'number');
      assert.ok(Math.abs(resetAt * 1000 - Date.now()) < 5_000, `ResetAt ${resetAt}`);

      // Until new content arrives: 404 for manifests, old segments, and a window over the old content.
      for (const file of ['index.m3u8', 'index_index_0.m3u8', old.segments[0]!.uri]) {
        const res = await get(`${out}/${file}`);
        assert.equal(res.status, 404, `${file} after the reset: ${res.status} ${res.text}`);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      }
      const oldWindow = await get(`${out}/index_index_0.m3u8?start=${old.segments[0]!.pdtMs! / 1000 - 1}&end=${Math.floor(resetAt) - 1}`);
      assert.equal(oldWindow.status, 404, `a window over the pre-reset content: ${oldWindow.text}`);

      await expectEncoderSuccess(startEncoder({ baseUrl: tee.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: 6, uniqueNames: true, look: 'b' }), 'encoder B');
      await tee.settled();
      await waitPastAnnounced([tee]);
      const fresh = tee.requests.slice(split).filter((x) => /^index_0_\d+\.ts$/.test(x.file));
      const p = await fetchMedia(`${out}/index_index_0.m3u8`);
      const where = p.lines.join('\n');
      assert.equal(p.segments.length, fresh.length, `only the ${fresh.length} segments sent after the reset: ${where}`);
      assert.ok(segmentTimes(p).every((t) => t >= resetAt * 1000), `every PDT is after ResetAt ${resetAt}: ${where}`);
      assert.ok(p.mediaSequence > old.segments.at(-1)!.seq, 'media sequence numbers keep increasing across the reset');
      for (const [i, s] of p.segments.entries()) {
        const res = await get(`${out}/${s.uri}`);
        assert.equal(res.status, 200, `${s.uri}: ${res.text}`);
        assert.ok(res.body.equals(fresh[i]!.body), `${s.uri} = ${fresh[i]!.file}`);
      }
      assert.equal((await get(`${out}/index.m3u8`)).status, 200);
    } finally {
      await tee.close();
    }
  });
});
