/**
 * Bucket names and object keys Packhouse writes or stores (domain/s3-names.ts), the harvest
 * destination check built on them, and the built-in S3's settings (config.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketNameProblem, harvestDestinationProblem, harvestKeysProblem, objectKeyProblem } from '../../src/domain/s3-names.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';

test('object keys: names, never paths, and what S3 refuses', () => {
  for (const ok of ['a', 'clips/clip1/index.m3u8', 'a b/c+d/é.mp4', '..a/b..', '.hidden/x', 'k'.repeat(1024)]) assert.equal(objectKeyProblem(ok), undefined, ok);
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['../x', /"\.\." segment/],
    ['a/../x', /"\.\." segment/],
    ['a/..', /"\.\." segment/],
    ['./x', /"\." segment/],
    ['a//b', /empty segment/],
    ['/a', /empty segment/],
    ['a/', /empty segment/],
    ['a\u0000b', /control character/],
    ['a\nb', /control character/],
    ['a\u007fb', /control character/],
    ['k'.repeat(1025), /1025 bytes long; S3 keys are at most 1024/],
    ['é'.repeat(513), /1026 bytes/],
    ['a\ud800b', /UTF-8/],
  ];
  for (const [key, why] of bad) assert.match(objectKeyProblem(key) ?? '', why, JSON.stringify(key));
});

test('bucket names: 3–63 letters, digits, dots, hyphens, underscores; no path', () => {
  for (const ok of ['vod', 'my-bucket', 'a.b.c', 'harvestJobS3DestinationBucket', 'legacy_bucket', '123']) assert.equal(bucketNameProblem(ok), undefined, ok);
  for (const bad of ['ab', 'x'.repeat(64), '..', '...', 'a..b', '.ab', 'ab.', 'a/b', 'a\\b', 'a b', '-ab', 'a%2fb']) assert.ok(bucketNameProblem(bad), bad);
});

test('a harvest destination: the bucket, the path as a key prefix, and the longest known key', () => {
  assert.equal(harvestDestinationProblem('vod', 'clips/clip1/', 'index.m3u8'), undefined);
  assert.equal(harvestDestinationProblem('vod', 'clips/clip1', 'index.m3u8'), undefined);
  assert.equal(harvestDestinationProblem('vod', 'clips///', 'index.m3u8'), undefined, 'trailing slashes end the prefix');
  assert.match(harvestDestinationProblem('vod', '../../tmp/x/', 'index.m3u8') ?? '', /DestinationPath "\.\.\/\.\.\/tmp\/x" has a "\.\." segment/);
  assert.match(harvestDestinationProblem('vod', '/', 'index.m3u8') ?? '', /empty segment/);
  assert.match(harvestDestinationProblem('a/../b', 'x/', 'index.m3u8') ?? '', /BucketName/);
  assert.match(harvestDestinationProblem('vod', 'p'.repeat(1015), 'index.m3u8') ?? '', /1026 bytes; S3 keys are at most 1024 bytes/);
});

test('the keys a harvest plans are checked again before writing (jobs queued before the create-time check)', () => {
  assert.equal(harvestKeysProblem('vod', ['clips/a/index.m3u8', 'clips/a/segment_index_0_1.mp4']), undefined);
  assert.match(harvestKeysProblem('vod', ['clips/a/index.m3u8', '../../tmp/x/index.m3u8']) ?? '', /The harvested key "\.\.\/\.\.\/tmp\/x\/index\.m3u8" has a "\.\." segment/);
  assert.match(harvestKeysProblem('a/../b', ['k']) ?? '', /bucket name/);
  assert.match(harvestKeysProblem('vod', [`${'p'.repeat(1020)}/index.m3u8`]) ?? '', /at most 1024 bytes/);
});

test('the built-in S3: loopback by default, keys required elsewhere, and the reason for the harvest store', () => {
  const base = loadConfig([], {});
  assert.equal(base.s3.mode, 'builtin');
  assert.ok(base.s3.mode === 'builtin' && base.s3.host === '127.0.0.1' && base.s3.defaultKeys && base.s3.credentials.accessKeyId === 'S3RVER');
  assert.match(base.s3.reason, /no S3 store configured/);
  // The API on every address does not move the built-in S3 off loopback.
  const api = loadConfig(['--host', '0.0.0.0', '--access-key-id', 'k', '--secret-access-key', 's'], {});
  assert.ok(api.s3.mode === 'builtin' && api.s3.host === '127.0.0.1');
  assert.throws(() => loadConfig(['--s3-host', '0.0.0.0'], {}), (e: Error) => e instanceof ConfigError && /--s3-host \(PACKHOUSE_S3_HOST\) 0\.0\.0\.0 \(not loopback\) needs configured keys/.test(e.message));
  assert.throws(() => loadConfig(['--s3-builtin-access-key-id', 'k'], {}), (e: Error) => e instanceof ConfigError && /must be set together/.test(e.message));
  const own = loadConfig(['--s3-host', '0.0.0.0'], { PACKHOUSE_S3_BUILTIN_ACCESS_KEY_ID: 'id', PACKHOUSE_S3_BUILTIN_SECRET_ACCESS_KEY: 'secret' });
  assert.ok(own.s3.mode === 'builtin' && !own.s3.defaultKeys && own.s3.credentials.accessKeyId === 'id' && own.s3.credentials.secretAccessKey === 'secret');
  const env = loadConfig([], { AWS_ACCESS_KEY_ID: 'AKIA' });
  assert.equal(env.s3.mode, 'aws');
  assert.match(env.s3.reason, /AWS_ACCESS_KEY_ID is set in the environment and --s3-endpoint \(PACKHOUSE_S3_ENDPOINT\) is not/);
  assert.match(loadConfig([], { AWS_PROFILE: 'p' }).s3.reason, /AWS_PROFILE is set/);
  assert.match(loadConfig(['--s3-endpoint', 'aws'], {}).s3.reason, /is "aws"/);
  assert.match(loadConfig(['--s3-endpoint', 'http://127.0.0.1:9000'], { AWS_ACCESS_KEY_ID: 'AKIA' }).s3.reason, /--s3-endpoint \(PACKHOUSE_S3_ENDPOINT\) is set/);
});
