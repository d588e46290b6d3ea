/**
 * The built-in S3 endpoint and harvest destinations never reach outside the data directory, and
 * the endpoint only answers requests signed with its configured keys:
 * - unsigned, unknown-key and wrong-secret requests are refused; signed ones work;
 * - keys with `..`, empty or encoded-slash segments, and copy sources that climb out, are refused;
 * - CreateHarvestJob refuses a BucketName or DestinationPath S3 would not take as a key;
 * - a write cut off half-way leaves the previous object whole, and a broken object left by an
 *   older crash neither breaks the bucket nor stops a harvest from overwriting it;
 * - after hostile harvests and hostile S3 requests, no new file exists outside the data directory;
 * - the endpoint binds loopback unless told otherwise, and refuses a public address without keys;
 * - the start-up log names the harvest destination and why it was chosen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { CreateHarvestJobCommand, GetHarvestJobCommand, type MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ROOT, startExpectingFailure, startServer, tempDir, type TestServer } from '../support/server.js';
import { cmafEndpoint, createLiveChannel, expectEncoderSuccess, startEncoder, waitFor } from '../support/live.js';
import { builtinS3Url, listKeys, S3RVER_KEYS } from '../support/harvest.js';
import { rawS3, s3ErrorCode, signS3 } from '../support/s3-raw.js';

const MARKER = `phleak${randomBytes(4).toString('hex')}`;
const OWN_KEYS = { accessKeyId: 'builtin-test-key', secretAccessKey: 'builtin-test-secret' };

function s3With(url: string, keys: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: keys, maxAttempts: 1 });
}

/** Every path under `root` (depth-limited, unreadable parts skipped) whose name holds `needle`. */
function findNamed(root: string, needle: string, skip: string, depth = 7): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth || dir === skip || dir.startsWith(skip + sep)) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(dir, name);
      if (name.includes(needle)) out.push(p);
      try {
        if (statSync(p).isDirectory() && !statSync(p).isSymbolicLink()) walk(p, d + 1);
      } catch {
        // vanished or unreadable
      }
    }
  };
  walk(root, 0);
  return out;
}

/** New entries outside the data directory: anything named with the marker, in /tmp, the data dir's parent, / and the repository. */
function leaks(dataDir: string): string[] {
  const roots = new Set(['/tmp', tmpdir(), dirname(dataDir), dirname(dirname(dataDir)), ROOT, '/']);
  const found = new Set<string>();
  for (const r of roots) for (const p of findNamed(r, MARKER, dataDir, r === '/' ? 1 : 7)) found.add(p);
  return [...found].sort();
}

let server: TestServer;
let s3Url: string;
let s3: S3Client;

describe('the built-in S3 endpoint (default keys)', () => {
  before(async () => {
    server = await startServer();
    s3Url = builtinS3Url(server);
    s3 = s3With(s3Url, S3RVER_KEYS);
    await s3.send(new CreateBucketCommand({ Bucket: 'vod' }));
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  test('unsigned requests, unknown keys and wrong secrets are refused; signed requests work', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['PUT', '/other'],
      ['GET', '/vod'],
      ['PUT', '/vod/a.txt'],
      ['GET', '/vod/a.txt'],
      ['DELETE', '/vod'],
    ] as const) {
      const r = await rawS3(s3Url, method, path, method === 'PUT' ? { body: 'x' } : {});
      assert.equal(r.status, 403, `unsigned ${method} ${path}: ${r.status} ${r.text}`);
      assert.equal(s3ErrorCode(r.text), 'AccessDenied', r.text);
    }
    const unknown = await rawS3(s3Url, 'PUT', '/vod/a.txt', { body: 'x', keys: { accessKeyId: 'nobody', secretAccessKey: 'S3RVER' } });
    assert.equal(unknown.status, 403, unknown.text);
    assert.equal(s3ErrorCode(unknown.text), 'InvalidAccessKeyId');
    const wrong = await rawS3(s3Url, 'PUT', '/vod/a.txt', { body: 'x', keys: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } });
    assert.equal(wrong.status, 403, wrong.text);
    assert.equal(s3ErrorCode(wrong.text), 'SignatureDoesNotMatch');
    // A signature over one body does not carry another.
    const headers = await signS3(s3Url, 'PUT', '/vod/a.txt', { keys: S3RVER_KEYS, body: 'signed body' });
    const swapped = await new Promise<number>((resolve, reject) => {
      const u = new URL(s3Url);
      const req = httpRequest({ hostname: u.hostname, port: Number(u.port), method: 'PUT', path: '/vod/a.txt', headers: { ...headers, 'content-length': '10' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('other body');
    });
    assert.equal(swapped, 400, 'a body that does not match the signed x-amz-content-sha256 is refused');
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'vod', Key: 'a.txt' })), (err: Error) => err.name === 'NotFound', 'nothing was stored');
    const ok = await rawS3(s3Url, 'PUT', '/vod/a.txt', { body: 'hello', keys: S3RVER_KEYS });
    assert.equal(ok.status, 200, ok.text);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vod', Key: 'a.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello');
  });

  test('keys with dot, empty or encoded-slash segments and climbing copy sources are refused, signed or not', async () => {
    const hostile = [
      `/vod/../../../../../../../../tmp/${MARKER}-a`,
      `/vod/..%2F..%2F..%2F..%2F..%2F..%2F..%2Ftmp%2F${MARKER}-b`,
      `/vod/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/${MARKER}-c`,
      `/vod/x/../../../${MARKER}-d`,
      `/vod/./${MARKER}-e`,
      `/vod/a//${MARKER}-f`,
      `/../../../../tmp/${MARKER}-g`,
      `/..%2F..%2F..%2Ftmp%2F${MARKER}-h/k`,
      `/vod/${MARKER}%00-i`,
    ];
    for (const path of hostile) {
      for (const keys of [undefined, S3RVER_KEYS]) {
        const r = await rawS3(s3Url, 'PUT', path, { body: 'evil', keys });
        assert.ok(r.status === 400 || r.status === 403, `PUT ${path} (${keys ? 'signed' : 'unsigned'}) answered ${r.status}: ${r.text}`);
        if (keys) assert.equal(r.status, 400, `signed PUT ${path} is refused as invalid: ${r.text}`);
      }
    }
    // A key of more than 1024 bytes is one S3 refuses too.
    const long = await rawS3(s3Url, 'PUT', `/vod/${'k'.repeat(1025)}`, { body: 'x', keys: S3RVER_KEYS });
    assert.equal(long.status, 400, long.text);
    assert.equal(s3ErrorCode(long.text), 'KeyTooLongError');
    // CopyObject whose source climbs out of the store reads nothing.
    for (const source of ['/vod/../../../../../../../../etc/hostname', 'vod/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fhostname', '/../../../../../../etc/hostname']) {
      const r = await rawS3(s3Url, 'PUT', `/vod/${MARKER}-copy`, { keys: S3RVER_KEYS, headers: { 'x-amz-copy-source': source } });
      assert.equal(r.status, 400, `copy from ${source}: ${r.status} ${r.text}`);
    }
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'vod', Key: `${MARKER}-copy` })), (err: Error) => err.name === 'NotFound');
    assert.deepEqual(leaks(server.dataDir), [], 'nothing new outside the data directory');
  });

  test('a PUT cut off half-way leaves the previous object whole and no stray file', async () => {
    const first = Buffer.alloc(256 * 1024, 1);
    await s3.send(new PutObjectCommand({ Bucket: 'vod', Key: 'cut/object.bin', Body: first }));
    const u = new URL(s3Url);
    const headers = await signS3(s3Url, 'PUT', '/vod/cut/object.bin', { keys: S3RVER_KEYS, unsignedPayload: true });
    await new Promise<void>((resolve) => {
      const req = httpRequest({ hostname: u.hostname, port: Number(u.port), method: 'PUT', path: '/vod/cut/object.bin', headers: { ...headers, 'content-length': String(2 * 1024 * 1024) } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(512 * 1024, 2), () => setTimeout(() => req.destroy(), 200));
      req.on('close', () => resolve());
    });
    const dir = join(server.dataDir, 's3', 'vod', 'cut');
    await waitFor('the cut-off upload to be cleaned up', async () => (readdirSync(dir).filter((f) => !f.startsWith('object.bin._S3rver_')).length === 0 ? true : undefined), 15_000);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vod', Key: 'cut/object.bin' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(first), 'the earlier object is intact');
  });

  test('a multipart upload (as harvests send objects of 16 MB and more) arrives whole', async () => {
    const body = Buffer.alloc(18 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    await new Upload({ client: s3, params: { Bucket: 'vod', Key: 'big/asset.mp4', Body: body, ContentType: 'video/mp4' }, partSize: 8 * 1024 * 1024, queueSize: 2 }).done();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vod', Key: 'big/asset.mp4' }));
    assert.equal(got.ContentType, 'video/mp4');
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), 'the object is the bytes sent');
    const uploads = join(server.dataDir, 's3', 'vod', '._S3rver_uploads');
    assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], [], 'the parts are gone');
  });

  test('a broken object (empty metadata file from a crash) does not break the bucket and is overwritten', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'vod', Key: 'broken/index.m3u8', Body: '#EXTM3U\n', ContentType: 'application/vnd.apple.mpegurl' }));
    const meta = join(server.dataDir, 's3', 'vod', 'broken', 'index.m3u8._S3rver_metadata.json');
    assert.ok(existsSync(meta), 'the store keeps metadata beside the object');
    writeFileSync(meta, '');
    writeFileSync(join(server.dataDir, 's3', 'vod', 'broken', 'index.m3u8._S3rver_object.md5'), '');
    const keys = await listKeys(s3, 'vod', 'broken/');
    assert.ok(keys.includes('broken/index.m3u8'), `listing works: ${keys.join(', ')}`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'vod', Key: 'broken/index.m3u8' }));
    assert.equal(head.ContentLength, 8);
    await s3.send(new PutObjectCommand({ Bucket: 'vod', Key: 'broken/index.m3u8', Body: '#EXTM3U\n#EXT-X-ENDLIST\n', ContentType: 'application/vnd.apple.mpegurl' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'vod', Key: 'broken/index.m3u8' }));
    assert.equal(got.ContentType, 'application/vnd.apple.mpegurl');
    assert.equal(await got.Body!.transformToString(), '#EXTM3U\n#EXT-X-ENDLIST\n');
  });
});

describe('hostile harvest destinations', () => {
  let h: TestServer;
  let c: MediaPackageV2Client;
  let start: number;
  before(async () => {
    h = await startServer({ args: ['--harvest-settle-seconds', '1', '--s3-builtin-access-key-id', OWN_KEYS.accessKeyId, '--s3-builtin-secret-access-key', OWN_KEYS.secretAccessKey] });
    c = h.client();
    await createLiveChannel(c, 'g', 'c', [cmafEndpoint('e', 600)]);
    start = Date.now();
    await expectEncoderSuccess(startEncoder({ baseUrl: h.url, group: 'g', channel: 'c', ingest: 1, segmentType: 'fmp4', seconds: 5 }));
  });
  after(async () => {
    await h.stop();
  });

  const job = (name: string, bucket: string, path: string) =>
    new CreateHarvestJobCommand({
      ChannelGroupName: 'g',
      ChannelName: 'c',
      OriginEndpointName: 'e',
      HarvestJobName: name,
      HarvestedManifests: { HlsManifests: [{ ManifestName: 'index' }] },
      ScheduleConfiguration: { StartTime: new Date(start), EndTime: new Date(start + 3_000) },
      Destination: { S3Destination: { BucketName: bucket, DestinationPath: path } },
    });
  const ref = (name: string) => ({ ChannelGroupName: 'g', ChannelName: 'c', OriginEndpointName: 'e', HarvestJobName: name });
  const finished = (name: string) =>
    waitFor(
      `harvest job ${name} to end`,
      async () => {
        const j = await c.send(new GetHarvestJobCommand(ref(name)));
        return j.Status === 'QUEUED' || j.Status === 'IN_PROGRESS' ? undefined : j;
      },
      40_000,
    );

  test('CreateHarvestJob refuses destinations S3 would not take as keys, and nothing is written outside the store', async () => {
    const hostile: [string, string, RegExp][] = [
      ['vod', `../../../../../../../../tmp/${MARKER}-h1/`, /"\.\."/],
      ['vod', `../${MARKER}-h2`, /"\.\."/],
      ['vod', `a/../../${MARKER}-h3/`, /"\.\."/],
      ['vod', `./${MARKER}-h4`, /"\."/],
      ['vod', `a//${MARKER}-h5`, /empty/],
      ['vod', `/${MARKER}-h6`, /empty|start/],
      ['vod', `a\u0001${MARKER}-h7`, /control/],
      ['vod', `${'p/'.repeat(505)}${MARKER}`, /1024/],
      [`a/../../../../../../tmp/${MARKER}-b1`, 'x/', /bucket/i],
      ['..', 'x/', /bucket/i],
      ['has space', 'x/', /bucket/i],
      ['a..b', 'x/', /bucket/i],
    ];
    let i = 0;
    for (const [bucket, path, reason] of hostile) {
      const name = `hostile${i++}`;
      try {
        await c.send(job(name, bucket, path));
      } catch (err) {
        assert.equal((err as Error).name, 'ValidationException', `${bucket} ${JSON.stringify(path)}: ${(err as Error).message}`);
        assert.match((err as Error).message, reason, `${bucket} ${JSON.stringify(path)}`);
        continue;
      }
      await finished(name); // accepted: let it run, then the scan below tells where it wrote
      assert.fail(`CreateHarvestJob accepted bucket ${bucket} with DestinationPath ${JSON.stringify(path)}`);
    }
    assert.deepEqual(leaks(h.dataDir), [], 'nothing new outside the data directory');
  });

  test('a valid destination harvests into the built-in store with its configured keys, over a broken object', async () => {
    const url = builtinS3Url(h);
    // A crash left the manifest's key broken: torn metadata and checksum files.
    const own = s3With(url, OWN_KEYS);
    await own.send(new CreateBucketCommand({ Bucket: 'vod' }));
    await own.send(new PutObjectCommand({ Bucket: 'vod', Key: `clips/${MARKER}/index.m3u8`, Body: 'torn' }));
    const folder = join(h.dataDir, 's3', 'vod', 'clips', MARKER);
    writeFileSync(join(folder, 'index.m3u8._S3rver_metadata.json'), '');
    writeFileSync(join(folder, 'index.m3u8._S3rver_object.md5'), '');
    await c.send(job('fine', 'vod', `clips/${MARKER}/`));
    const j = await finished('fine');
    assert.equal(j.Status, 'COMPLETED', j.ErrorMessage);
    const manifest = await own.send(new GetObjectCommand({ Bucket: 'vod', Key: `clips/${MARKER}/index.m3u8` }));
    assert.equal(manifest.ContentType, 'application/vnd.apple.mpegurl', 'the job replaced the broken object, metadata included');
    assert.match(await manifest.Body!.transformToString(), /^#EXTM3U/);
    await assert.rejects(listKeys(s3With(url, S3RVER_KEYS), 'vod'), (err: Error) => err.name === 'InvalidAccessKeyId', 'the default keys are not accepted when others are configured');
    const keys = await listKeys(s3With(url, OWN_KEYS), 'vod', `clips/${MARKER}/`);
    assert.ok(keys.includes(`clips/${MARKER}/index.m3u8`), keys.join(', '));
    assert.deepEqual(leaks(h.dataDir), [], 'nothing new outside the data directory');
  });
});

describe('binding and start-up', () => {
  test('the built-in S3 binds loopback even when the API listens on every address', async (t) => {
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    const s = await startServer({ args: ['--host', '0.0.0.0', '--access-key-id', 'k', '--secret-access-key', 's'] });
    try {
      const url = new URL(builtinS3Url(s));
      assert.equal(url.hostname, '127.0.0.1');
      if (!external) {
        t.diagnostic('no non-loopback interface here: only the logged address is checked');
        return;
      }
      const reached = await new Promise<boolean>((resolve) => {
        const sock = connect({ host: external.address, port: Number(url.port) });
        sock.once('connect', () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => resolve(false));
      });
      assert.equal(reached, false, `the built-in S3 port answers on ${external.address}`);
    } finally {
      await s.stop();
    }
  });

  test('a public address for the built-in S3 needs configured keys', async () => {
    const r = await startExpectingFailure(['--port', '0', '--s3-port', '0', '--s3-host', '0.0.0.0', '--data-dir', join(tmpdir(), `${MARKER}-unused`)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--s3-host .* needs configured keys: set --s3-builtin-access-key-id/);
    const s = await startServer({ args: ['--s3-host', '0.0.0.0', ...['--s3-builtin-access-key-id', 'k1', '--s3-builtin-secret-access-key', 's1']] });
    try {
      const url = builtinS3Url(s);
      const r2 = await rawS3(url, 'GET', '/');
      assert.equal(r2.status, 403);
    } finally {
      await s.stop();
    }
  });

  test('an --s3-host that is not an address of this machine is named in the one-line failure', async () => {
    const dir = tempDir();
    const r = await startExpectingFailure(['--port', '0', '--s3-port', '0', '--s3-host', '192.0.2.1', '--s3-builtin-access-key-id', 'k', '--s3-builtin-secret-access-key', 's', '--data-dir', dir]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /built-in S3 endpoint cannot listen on 192\.0\.2\.1:\d+: 192\.0\.2\.1 is not an address of this machine\. Fix --s3-host \(PACKHOUSE_S3_HOST\)/);
  });

  test('the start-up log says which store harvests go to and why', async () => {
    const fromEnv = await startServer({ env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' } });
    try {
      const line = fromEnv.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e['msg'] === 'packhouse listening')!;
      assert.equal(line['harvestStore'], 'aws');
      assert.match(String(line['harvestStoreReason']), /AWS_ACCESS_KEY_ID is set in the environment/);
    } finally {
      await fromEnv.stop();
    }
    const builtin = await startServer();
    try {
      const line = builtin.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e['msg'] === 'packhouse listening')!;
      assert.equal(line['harvestStore'], 'builtin');
      assert.match(String(line['harvestStoreReason']), /no S3 store configured/);
    } finally {
      await builtin.stop();
    }
  });
});
