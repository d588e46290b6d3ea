/**
 * Harvest failures the other files do not reach, and the multipart path of the S3 sink:
 * - the window slid out of the endpoint's startover window before the job ran (HARVEST.md §5.5);
 * - the bucket is not writable (the S3 store answers 403);
 * - an object of 20 MB goes up in parts and arrives whole.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateHarvestJobCommand, GetHarvestJobCommand, UpdateOriginEndpointCommand } from '@aws-sdk/client-mediapackagev2';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3Sink } from '../../src/storage/sinks/s3-sink.js';
import { startServer, type TestServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel, expectEncoderSuccess, startEncoder, waitFor } from '../support/live.js';
import { S3RVER_KEYS, s3Client, startS3rver, type OwnS3 } from '../support/harvest.js';

let s3: OwnS3;
let denying: Server;
let denyingUrl: string;

before(async () => {
  s3 = await startS3rver();
  // An S3 endpoint that refuses everything, as a bucket policy without s3:PutObject would.
  denying = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
  });
  await new Promise<void>((r) => denying.listen(0, '127.0.0.1', () => r()));
  denyingUrl = `http://127.0.0.1:${(denying.address() as AddressInfo).port}`;
});

after(async () => {
  await s3.close();
  denying.close();
});

async function finished(server: TestServer, ref: { ChannelGroupName: string; ChannelName: string; OriginEndpointName: string; HarvestJobName: string }) {
  return waitFor(
    'the harvest job to end',
    async () => {
      const j = await server.client().send(new GetHarvestJobCommand(ref));
      return j.Status === 'QUEUED' || j.Status === 'IN_PROGRESS' ? undefined : j;
    },
    40_000,
    250,
  );
}

test('a window that slid out of the startover window before the job ran ends FAILED saying so', async () => {
  const server = await startServer({ args: ['--harvest-settle-seconds', '0'] });
  try {
    const c = server.client();
    await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 600)]);
    const now = Date.now();
    const ref = { ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: 'slid' };
    // Accepted: the start is 5 minutes back, inside the 10-minute startover window; the end is 3 s ahead.
    await c.send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: new Date(now - 300_000), EndTime: new Date(now + 3_000) },
        Destination: { S3Destination: { BucketName: 'vod', DestinationPath: 'slid/' } },
      }),
    );
    // Before it runs, the endpoint's startover window shrinks to one minute.
    await c.send(new UpdateOriginEndpointCommand({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', ContainerType: 'CMAF', StartoverWindowSeconds: 60, HlsManifests: [{ ManifestName: 'index' }] }));
    const job = await finished(server, ref);
    assert.equal(job.Status, 'FAILED');
    assert.match(job.ErrorMessage ?? '', /startover window \(60 s\)/);
  } finally {
    await server.stop();
  }
});

test('a bucket Packhouse may not write to ends the job FAILED with access denied', async () => {
  const server = await startServer({ args: ['--harvest-settle-seconds', '1', '--s3-endpoint', denyingUrl, '--s3-access-key-id', 'k', '--s3-secret-access-key', 's'] });
  try {
    const c = server.client();
    await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 600)]);
    const start = Date.now();
    await expectEncoderSuccess(startEncoder({ baseUrl: server.url, group: 'g', channel: 'c', ingest: 1, segmentType: 'fmp4', seconds: 5 }));
    const ref = { ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: 'denied' };
    await c.send(
      new CreateHarvestJobCommand({
        ...ref,
        HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
        ScheduleConfiguration: { StartTime: new Date(start), EndTime: new Date(start + 3_000) },
        Destination: { S3Destination: { BucketName: 'locked', DestinationPath: 'x/' } },
      }),
    );
    const job = await finished(server, ref);
    assert.equal(job.Status, 'FAILED');
    assert.match(job.ErrorMessage ?? '', /not allowed to write to bucket locked \(access denied\)/);
  } finally {
    await server.stop();
  }
});

test('the S3 sink writes a 20 MB object in parts and it arrives whole', async () => {
  // A forwarding proxy in front of s3rver records the requests, to see the multipart upload.
  const seen: string[] = [];
  const proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '/', s3.url);
    const out = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const sink = new S3Sink({ endpoint: url, region: 'us-east-1', credentials: S3RVER_KEYS, createsBuckets: true });
    await sink.createBucket('big');
    assert.equal(await sink.checkBucket('big'), 'ok');
    assert.equal(await sink.checkBucket('absent-bucket'), 'missing');
    const body = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    await sink.putObject('big', 'clips/large.mp4', body, 'video/mp4');
    const head = await s3Client(s3.url).send(new HeadObjectCommand({ Bucket: 'big', Key: 'clips/large.mp4' }));
    assert.equal(head.ContentLength, body.length);
    // 20 MB in 8 MB parts: one CreateMultipartUpload, three UploadPart, one CompleteMultipartUpload.
    const puts = seen.filter((r) => r.startsWith('PUT /big/clips/large.mp4'));
    assert.equal(puts.filter((r) => /partNumber=/.test(r)).length, 3, seen.join('\n'));
    assert.equal(seen.filter((r) => r.startsWith('POST /big/clips/large.mp4?uploads')).length, 1, seen.join('\n'));
    assert.equal(seen.filter((r) => /^POST \/big\/clips\/large\.mp4\?uploadId=/.test(r)).length, 1, seen.join('\n'));
    const got = await s3Client(s3.url).send(new GetObjectCommand({ Bucket: 'big', Key: 'clips/large.mp4' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), 'the object is the bytes written');
  } finally {
    proxy.close();
  }
});
