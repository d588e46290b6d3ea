/**
 * Ingest logs what a person needs to follow a channel's input, not one line per segment: a line
 * when an input starts, when it stops (no new segment for a few target durations), when the
 * channel switches from one input to the other, and when an encoder restarts (a discontinuity).
 * Two real ffmpeg encoders: 6 s on input 1, then 6 s on input 2 (a new encoder session).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel, expectEncoderSuccess, startEncoder, waitFor } from '../support/live.js';
import { logEntries } from '../support/harvest.js';

const INGEST_LINES = ['ingest: input started', 'ingest: input stopped', 'ingest: switched input', 'ingest: encoder restart (discontinuity)'];

test('ingest logs an input starting, stopping, the switch between inputs and an encoder restart, once each', { timeout: 120_000 }, async () => {
  const server = await startServer();
  try {
    const c = server.client();
    await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 600)]);
    const encode = (ingest: 1 | 2) => expectEncoderSuccess(startEncoder({ baseUrl: server.url, group: 'g', channel: 'c', ingest, segmentType: 'fmp4', seconds: 6 }));
    await encode(1);
    await encode(2);
    const stopped = await waitFor(
      'both inputs to be logged as stopped',
      async () => {
        const s = logEntries(server, 'ingest: input stopped');
        return s.length >= 2 ? s : undefined;
      },
      30_000,
    );
    const arn = 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/g/channel/c';
    const started = logEntries(server, 'ingest: input started');
    assert.deepEqual(started.map((e) => [e['channel'], e['input']]), [[arn, '1'], [arn, '2']], 'one start line per input, not one per segment');
    assert.deepEqual(stopped.map((e) => e['input']).sort(), ['1', '2']);
    for (const s of stopped) assert.ok(Number(s['lastSegmentAgoMs']) >= 6000, `stopped after a few target durations without a segment: ${JSON.stringify(s)}`);
    const switched = logEntries(server, 'ingest: switched input');
    assert.deepEqual(switched.map((e) => [e['from'], e['to']]), [['1', '2']]);
    const restarts = logEntries(server, 'ingest: encoder restart (discontinuity)');
    assert.equal(restarts.length, 1, `one line for the restart, not one per rendition: ${JSON.stringify(restarts)}`);
    assert.equal(restarts[0]!['input'], '2');
    // Twelve seconds of three renditions is 18 segments: the ingest lines are the six events only.
    const all = server.logs.filter((l) => INGEST_LINES.some((m) => l.includes(`"msg":"${m}"`)));
    assert.equal(all.length, 6, all.join('\n'));
  } finally {
    await server.stop();
  }
});
