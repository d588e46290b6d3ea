/**
 * ffmpeg uploads every HLS file with "Connection: close" and half-closes the connection as soon as
 * the body is written, without waiting for the answer. A segment larger than what ingest holds
 * before it decides whether it wants a body (EARLY_BYTES in dataplane-http.ts, 256 KiB) was lost:
 * when Node read the FIN it ended the connection and destroyed the unanswered request, although its
 * whole body had arrived, and the channel showed a discontinuity for every segment lost. Here
 * ffmpeg pushes straight to the server (no proxy between them, which would hide the half-close),
 * its first rendition 640x360 at 1 Mbit/s (about 300 KB per 2-second segment): every segment must be
 * placed. (Without the fix about a third of those segments were lost here, so six in a row are
 * rarely all spared.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.js';
import { createLiveChannel, expectEncoderSuccess, get, readMedia, startEncoder, tsEndpoint, waitFor } from '../support/live.js';
import { logEntries } from '../support/harvest.js';

const SECONDS = 12;

test('segments larger than ingest holds back survive an encoder that half-closes right after each upload', { timeout: 120_000 }, async () => {
  const server = await startServer();
  try {
    await createLiveChannel(server.client(), 'g', 'c', [tsEndpoint('ts', 600)]);
    await expectEncoderSuccess(startEncoder({ baseUrl: server.url, group: 'g', channel: 'c', ingest: 1, segmentType: 'mpegts', seconds: SECONDS, videoBitrate: '1000k', pictureSize: { width: 640, height: 360 } }));
    const url = `${server.url}/out/v1/g/c/ts/index_index_0.m3u8`;
    // ffmpeg has finished: its last segment (the one ending at SECONDS) is on its way or placed.
    const playlist = await waitFor(
      'the big rendition to list the whole encode',
      async () => {
        const res = await get(url);
        if (res.status !== 200) return undefined;
        const p = readMedia(res.text);
        const total = p.segments.reduce((t, s) => t + s.duration, 0);
        return total >= SECONDS - 0.5 ? p : undefined;
      },
      20_000,
    ).catch(async (err: Error) => {
      const res = await get(url);
      throw new Error(`${err.message}\nplaylist now:\n${res.text}\nserver said:\n${server.logs.filter((l) => /client closed|encoder restart/.test(l)).join('\n')}`);
    });
    assert.equal(playlist.segments.filter((s) => s.discontinuity).length, 0, 'no segment of the big rendition is missing');
    assert.deepEqual(logEntries(server, 'client closed the connection before the request completed'), [], 'no upload was cut off');
    assert.deepEqual(logEntries(server, 'ingest: encoder restart (discontinuity)'), [], 'no gap was taken for an encoder restart');
  } finally {
    await server.stop();
  }
});
