/**
 * A harvest is never COMPLETED short of its window while the stream is alive, and says so when the
 * stream really stopped inside it. A real ffmpeg encoder reads its input at 0.7× real time: its
 * program date-times follow the media clock, so the content for a time T arrives well after T on
 * the wall clock (as with a loaded machine or an encoder whose PDT follows its media clock).
 * The settle time is 1 s, far less than that delay.
 *
 *  - Job A's window ends while the stream runs: it waits (QUEUED, `packhouse jobs` says it waits
 *    for late content) until the 6 s output segment holding EndTime is whole, and its harvest
 *    covers the window with whole output segments whose bytes are the origin's under the same names.
 *  - Job B's window ends after the stream stopped inside an output segment: it runs once ingest
 *    stalled, is COMPLETED, leaves the partial output segment out, and its log line, its event and
 *    `packhouse jobs` give the span harvested next to the window asked for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateHarvestJobCommand, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { BIN, ROOT, startServer, type TestServer } from '../support/server.js';
import { createLiveChannel, get, readMedia, startEncoder, waitFor, type RunningProcess } from '../support/live.js';
import { builtinS3Url, getObject, listKeys, logEntries, pollJob, s3Client, startWebhookReceiver, timedSegments, type JobRef, type WebhookReceiver } from '../support/harvest.js';

const G = 'slow';
const CH = 'ch';
/** 2 s output segments: one per input segment, to learn the stream's timing early. */
const E2 = 'e2';
/** 6 s output segments: three 2 s input segments each (`..._{k}.g3.mp4`), as the README's walkthrough. */
const E6 = 'e6';
const SEG = 'seg';
const READRATE = 0.7;
const MEDIA_SECONDS = 14;
const BUCKET = 'vod';

let server: TestServer;
let client: MediaPackageV2Client;
let webhook: WebhookReceiver;
let encoder: RunningProcess;
/** PDT of the stream's first segment (epoch ms). */
let t0: number;

const job = (name: string): JobRef => ({ ChannelGroupName: G, ChannelName: CH, OriginEndpointName: E6, HarvestJobName: name });

function jobsCommand(): string[] {
  const run = spawnSync(process.execPath, [BIN, 'jobs', '--data-dir', server.dataDir, '--harvest-settle-seconds', '1'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trimEnd().split('\n');
}

async function createJob(name: string, startMs: number, endMs: number): Promise<void> {
  await client.send(
    new CreateHarvestJobCommand({
      ...job(name),
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(startMs), EndTime: new Date(endMs) },
      Destination: { S3Destination: { BucketName: BUCKET, DestinationPath: `${name}/` } },
    }),
  );
}

/** The origin's live 2 s playlist of the video rendition: where the content has arrived (end of its last segment). */
async function arrivedUpTo(): Promise<number | undefined> {
  const r = await get(`${server.url}/out/v1/${G}/${CH}/${E2}/index_index_0.m3u8`);
  if (r.status !== 200) return undefined;
  const segs = timedSegments(readMedia(r.text));
  const last = segs.at(-1);
  return last && last.startMs + last.durationMs;
}

/** Harvested video playlist of a job, its segments, and each segment's bytes against the origin's under the same name. */
async function checkHarvest(name: string): Promise<{ startMs: number; endMs: number; uris: string[] }> {
  const s3Url = builtinS3Url(server);
  const keys = await listKeys(s3Client(s3Url), BUCKET, `${name}/`);
  const playlist = readMedia((await getObject(s3Url, BUCKET, `${name}/index_index_0.m3u8`)).toString('utf8'));
  assert.ok(playlist.endList, 'a VOD playlist');
  const segs = timedSegments(playlist);
  assert.ok(segs.length > 0);
  for (const s of segs) {
    assert.match(s.uri, /^seg_index_0_\d+\.g3\.mp4$/, 'output segments of three input segments');
    assert.ok(Math.abs(s.durationMs - 6000) < 300, `${s.uri} is a whole 6 s output segment (${s.durationMs} ms)`);
    assert.ok(keys.includes(`${name}/${s.uri}`), `${s.uri} was written`);
    const harvested = await getObject(s3Url, BUCKET, `${name}/${s.uri}`);
    const origin = await get(`${server.url}/out/v1/${G}/${CH}/${E6}/${s.uri}`);
    assert.equal(origin.status, 200, `the origin serves ${s.uri}`);
    assert.ok(harvested.equals(origin.body), `${s.uri}: the harvested bytes are the origin's bytes under the same name`);
  }
  return { startMs: segs[0]!.startMs, endMs: segs.at(-1)!.startMs + segs.at(-1)!.durationMs, uris: segs.map((s) => s.uri) };
}

describe('harvests of an encoder slower than real time', () => {
  before(async () => {
    webhook = await startWebhookReceiver(0);
    server = await startServer({ args: ['--harvest-settle-seconds', '1', '--event-webhooks', webhook.url] });
    client = server.client();
    const endpoint = (name: string, seconds: number) => ({
      OriginEndpointName: name,
      ContainerType: 'CMAF' as const,
      StartoverWindowSeconds: 600,
      Segment: { SegmentName: SEG, SegmentDurationSeconds: seconds },
      HlsManifests: [{ ManifestName: 'index', ProgramDateTimeIntervalSeconds: 1 }],
    });
    await createLiveChannel(client, G, CH, [endpoint(E2, 2), endpoint(E6, 6)]);
    encoder = startEncoder({ baseUrl: server.url, group: G, channel: CH, ingest: 1, segmentType: 'fmp4', seconds: MEDIA_SECONDS, readrate: READRATE });
    const first = await waitFor(
      'the first segment',
      async () => {
        const r = await get(`${server.url}/out/v1/${G}/${CH}/${E2}/index_index_0.m3u8`);
        return r.status === 200 ? timedSegments(readMedia(r.text))[0] : undefined;
      },
      30_000,
    );
    t0 = first.startMs;
  });

  after(async () => {
    await encoder?.kill('SIGKILL');
    await server?.stop();
    await webhook?.close();
  });

  test('a window ending while the stream runs waits for its content, however late, and is harvested whole; one ending after the stream stopped says what it got', async () => {
    // A: ends inside the second 6 s output segment ([t0+6, t0+12)), reached at about t0 + 12/0.7.
    const a = { startMs: t0 + 1000, endMs: t0 + 11_000 };
    // B: ends after the stream (14 s of media: output segments [0,6) and [6,12) whole, [12,14) partial).
    const b = { startMs: t0 + 1000, endMs: t0 + 16_000 };
    await createJob('a', a.startMs, a.endMs);
    await createJob('b', b.startMs, b.endMs);

    const early = jobsCommand();
    assert.match(early[0]!, /^STATUS\s+JOB .*WINDOW\s+DESTINATION\s+STATE$/, `a header row: ${early[0]}`);
    assert.match(early.find((l) => l.includes(`${G}/${CH}/${E6}/b`)) ?? '', /^QUEUED .*waiting for its end time \(.*, in \d+ s\)/);

    // EndTime + settle has passed on the wall clock, but the content for EndTime has not arrived.
    await waitFor('EndTime + settle of job A to pass', async () => (Date.now() >= a.endMs + 1500 ? true : undefined), 30_000, 100);
    const upTo = await arrivedUpTo();
    assert.ok(upTo !== undefined && upTo < a.endMs, `the slow encoder's content reached only ${upTo && new Date(upTo).toISOString()} of EndTime ${new Date(a.endMs).toISOString()} (the test needs it late)`);
    const waiting = jobsCommand().find((l) => l.includes(`${G}/${CH}/${E6}/a `));
    assert.match(waiting ?? '', /^QUEUED .*waiting for late content: the input is live but has not reached the end time yet; content has arrived up to /, waiting);

    const doneA = await pollJob(client, job('a'), ['COMPLETED', 'FAILED'], 60_000);
    assert.equal(doneA.job.Status, 'COMPLETED', doneA.job.ErrorMessage);
    assert.ok((await arrivedUpTo())! >= a.endMs);
    const harvestA = await checkHarvest('a');
    assert.ok(harvestA.startMs <= a.startMs, 'starts with the segment holding StartTime');
    assert.ok(harvestA.endMs >= a.endMs, `ends with the whole segment holding EndTime: ${new Date(harvestA.endMs).toISOString()} >= ${new Date(a.endMs).toISOString()}`);
    const finishedA = logEntries(server, 'harvest job finished', doneA.job.Arn);
    assert.equal(finishedA.length, 1);
    assert.equal(finishedA[0]!['short'], false, JSON.stringify(finishedA[0]));

    // B: the stream stops inside its window; once ingest has stalled the job runs with what there is.
    const doneB = await pollJob(client, job('b'), ['COMPLETED', 'FAILED'], 60_000);
    assert.equal(doneB.job.Status, 'COMPLETED', doneB.job.ErrorMessage);
    const harvestB = await checkHarvest('b');
    assert.deepEqual(harvestB.uris, ['seg_index_0_1.g3.mp4', 'seg_index_0_2.g3.mp4'], 'the partial third output segment is left out');
    assert.equal((await get(`${server.url}/out/v1/${G}/${CH}/${E6}/seg_index_0_3.g3.mp4`)).status, 404, 'the origin does not serve a partial output segment either');
    assert.ok(harvestB.endMs < b.endMs);
    const spanStart = new Date(harvestB.startMs).toISOString();
    const spanEnd = new Date(harvestB.endMs).toISOString();

    const finishedB = logEntries(server, 'harvest job finished', doneB.job.Arn);
    assert.equal(finishedB.length, 1);
    const line = finishedB[0]! as { short?: boolean; harvested?: { start: string; end: string }; window?: { start: string; end: string }; objects?: number; bytes?: number; durationMs?: number; throughputMBps?: number };
    assert.equal(line.short, true, JSON.stringify(line));
    assert.deepEqual(line.window, { start: new Date(b.startMs).toISOString(), end: new Date(b.endMs).toISOString() });
    // The span all renditions cover: the video's, or a few ms less where the audio segments end earlier.
    assert.ok(line.harvested && Math.abs(Date.parse(line.harvested.end) - harvestB.endMs) < 100 && Math.abs(Date.parse(line.harvested.start) - harvestB.startMs) < 100, JSON.stringify(line));
    assert.ok((line.objects ?? 0) > 0 && (line.bytes ?? 0) > 0 && typeof line.durationMs === 'number' && typeof line.throughputMBps === 'number', JSON.stringify(line));

    const event = await waitFor('job B\'s event', async () => webhook.posts.find((p) => JSON.stringify(p.json).includes(doneB.job.Arn!)), 20_000);
    const detail = (event.json!['detail'] as { harvestJob: { status: string; message: string; harvestedSpan?: { startTime: string; endTime: string } } }).harvestJob;
    assert.equal(detail.status, 'COMPLETED');
    assert.ok(detail.harvestedSpan && Math.abs(Date.parse(detail.harvestedSpan.endTime) - harvestB.endMs) < 100, JSON.stringify(detail));
    assert.match(detail.message, /^Your harvest job is complete\. The window asked for was .* to .*; the stream covered only .* to .* of it, which was harvested\.$/);

    const listed = jobsCommand().find((l) => l.includes(`${G}/${CH}/${E6}/b `));
    assert.match(listed ?? '', /^COMPLETED .* harvested \S+ \.\. \S+ \(SHORT of the window: the stream stopped\)/, listed);
    const listedA = jobsCommand().find((l) => l.includes(`${G}/${CH}/${E6}/a `));
    assert.doesNotMatch(listedA ?? '', /SHORT/);
    assert.ok(spanStart && spanEnd);
  });
});
