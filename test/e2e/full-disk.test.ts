/**
 * A full disk under the data directory (a small tmpfs mounted for the test, so the disk is really
 * full): ingest answers 507, the API and the built-in S3 503, each with a reason, no temporary file
 * is left behind, and all work again once space returns. Needs root (mount), as CI runs it: without
 * it the test fails saying so rather than skipping.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateChannelCommand, CreateChannelGroupCommand, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../support/server.js';
import { builtinS3Url, s3Client } from '../support/harvest.js';
import { HAS_FFMPEG } from '../support/media-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'packhouse-fulldisk-'));
const mnt = join(work, 'data');
mkdirSync(mnt);
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]).status === 0;
const CANNOT = !HAS_FFMPEG ? 'ffmpeg is not installed (apt-get install -y ffmpeg)' : !mounted ? 'cannot mount a small tmpfs for the full disk (run the tests as root, as CI does)' : undefined;

let server: TestServer;
let client: MediaPackageV2Client;
let segment: Buffer;

before(async () => {
  if (CANNOT) return;
  const seg = join(work, 'seg.ts');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '2', '-c:v', 'libx264', '-g', '50', '-b:v', '2M', '-f', 'mpegts', '-y', seg]);
  assert.equal(r.status, 0, r.stderr.toString());
  segment = readFileSync(seg);
  server = await startServer({ dataDir: mnt, args: ['--quota-channels-per-group', '1000'] });
  client = server.client();
  await client.send(new CreateChannelGroupCommand({ ChannelGroupName: 'g' }));
  await client.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: 'c' }));
});

after(async () => {
  if (server) await server.stop();
  if (mounted) spawnSync('umount', [mnt]);
  rmSync(work, { recursive: true, force: true });
});

/** Writes a filler file until the file system refuses (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

async function put(path: string, body: Buffer | string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/in/v1/g/1/c/${path}`, { method: 'PUT', body });
  return { status: res.status, text: await res.text() };
}

test('a full disk: ingest 507, API and built-in S3 503 with a reason, no temporary left, recovery when space returns', async () => {
  assert.equal(CANNOT, undefined, CANNOT);
  const s3 = s3Client(builtinS3Url(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'vod' }));
  const object = Buffer.alloc(512 * 1024, 3);
  const filler = join(mnt, 'filler');
  fill(filler);
  try {
    const r = await put('seg_0.ts', segment);
    assert.equal(r.status, 507, `segment PUT on a full disk: ${r.status} ${r.text}`);
    assert.match(r.text, /no space left|full/i);
    assert.deepEqual(files(mnt).filter((f) => f.endsWith('.tmp') || /\.tmp\b/.test(f)), [], 'no temporary file is left behind');
    // The API: writes that need space fail with 503 and a reason, never a bare 500.
    let refused: { status: number | undefined; message: string } | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await client.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: `c${i}`, Description: 'd'.repeat(1000) }));
      } catch (err) {
        refused = { status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, message: (err as Error).message };
      }
    }
    assert.ok(refused, 'some API write met the full disk');
    assert.equal(refused.status, 503, refused.message);
    assert.match(refused.message, /space|full/i);
    // The built-in S3 store (harvest output) on the same disk.
    const s3put: (Error & { $metadata?: { httpStatusCode?: number } }) | undefined = await s3.send(new PutObjectCommand({ Bucket: 'vod', Key: 'clips/a.mp4', Body: object })).then(
      () => undefined,
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => err,
    );
    assert.ok(s3put, 'the S3 PUT met the full disk');
    assert.equal(s3put.$metadata?.httpStatusCode, 503, s3put.message);
    assert.match(s3put.message, /no space left/);
    assert.deepEqual(files(mnt).filter((f) => /tmp$/.test(f)), [], 'no temporary file is left behind');
  } finally {
    rmSync(filler, { force: true });
  }
  // Space is back: both work again.
  const again = await put('seg_0.ts', segment);
  assert.ok(again.status >= 200 && again.status < 300, `segment PUT after space returned: ${again.status} ${again.text}`);
  await client.send(new CreateChannelCommand({ ChannelGroupName: 'g', ChannelName: 'after' }));
  await s3.send(new PutObjectCommand({ Bucket: 'vod', Key: 'clips/a.mp4', Body: object }));
  s3.destroy();
  assert.deepEqual(files(mnt).filter((f) => /tmp$/.test(f)), [], 'no temporary file is left behind');
});
