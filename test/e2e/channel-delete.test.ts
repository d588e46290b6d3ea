/**
 * A deleted channel's content goes with it: DeleteChannel removes its segments from the timeline
 * and its files from the data directory, and a channel created again under the same name starts
 * empty, numbering its segments on from where the old one stopped (no segment URL is reused, since
 * segments are cached for two weeks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateChannelCommand, CreateChannelGroupCommand, CreateOriginEndpointCommand, DeleteChannelCommand, DeleteOriginEndpointCommand } from '@aws-sdk/client-mediapackagev2';
import { arns } from '../../src/domain/arn.js';
import { channelKey } from '../../src/dataplane/ingest/ingest-service.js';
import { startServer, tempDir } from '../support/server.js';
import { get, send, waitFor } from '../support/live.js';

test('DeleteChannel removes the channel\'s media; the same name created again starts empty and numbers on', async () => {
  const dir = tempDir();
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-f', 'mpegts', join(dir, 's.ts')]);
  const segment = readFileSync(join(dir, 's.ts'));
  const server = await startServer();
  try {
    const c = server.client();
    const media = join(server.dataDir, 'media', 'media', channelKey(arns.channel({ accountId: '000000000000', region: 'us-east-1' }, 'g', 'c')));
    const create = async () => {
      await c.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: 'c' }));
      await c.send(new CreateOriginEndpointCommand({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'ts', ContainerType: 'TS', StartoverWindowSeconds: 300, Segment: { SegmentDurationSeconds: 2 }, HlsManifests: [{ ManifestName: 'index' }] }));
    };
    const push = async (pdtMs: number) => {
      assert.equal((await send(`${server.url}/in/v1/g/1/c/seg_0.ts`, 'PUT', segment)).status, 201);
      const playlist = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PROGRAM-DATE-TIME:${new Date(pdtMs).toISOString()}\n#EXTINF:2.000,\nseg_0.ts\n`;
      assert.equal((await send(`${server.url}/in/v1/g/1/c/video.m3u8`, 'PUT', playlist)).status, 201);
    };
    const out = `${server.url}/out/v1/g/c/ts`;
    await c.send(new CreateChannelGroupCommand({ ChannelGroupName: 'g' }));
    await create();
    await push(Date.now() - 2000);
    assert.match((await get(`${out}/index_video.m3u8`)).text, /^segment_video_1\.ts$/m);
    assert.ok(existsSync(media), `the channel's media folder ${media}`);

    await c.send(new DeleteOriginEndpointCommand({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'ts' }));
    await c.send(new DeleteChannelCommand({ ChannelGroupName: 'g', ChannelName: 'c' }));
    await waitFor('the media folder to go', async () => (existsSync(media) ? undefined : true), 10_000, 100);
    await waitFor('the clean-up log line', async () => (server.logs.some((l) => l.includes('deleted channel: content removed')) ? true : undefined), 10_000, 100);

    await create();
    const empty = await get(`${out}/index_video.m3u8`);
    assert.equal(empty.status, 404, `nothing of the old channel: ${empty.text}`);
    assert.equal((await get(`${out}/segment_video_1.ts`)).status, 404);
    await push(Date.now() - 2000);
    const fresh = await get(`${out}/index_video.m3u8`);
    assert.match(fresh.text, /^segment_video_2\.ts$/m, fresh.text);
    assert.doesNotMatch(fresh.text, /segment_video_1\.ts/);
    assert.ok((await get(`${out}/segment_video_2.ts`)).body.equals(segment));
  } finally {
    await server.stop();
  }
});
