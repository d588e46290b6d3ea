// Configuration from flags and PACKHOUSE_* variables (src/config/config.ts): the settings added for
// output caching and the segment store, their defaults, and the messages for bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';

test('defaults: segments on disk, 64 MiB for closed-window manifests', () => {
  const c = loadConfig([], {});
  assert.deepEqual(c.segmentStore, { mode: 'disk' });
  assert.equal(c.manifestCacheBytes, 64 * 1024 * 1024);
  assert.equal(c.renderThreads, 1);
});

test('--segment-store s3://bucket/prefix, or the variable; a flag wins over the variable', () => {
  assert.deepEqual(loadConfig(['--segment-store', 's3://live/packhouse/'], {}).segmentStore, { mode: 's3', bucket: 'live', prefix: 'packhouse/' });
  assert.deepEqual(loadConfig([], { PACKHOUSE_SEGMENT_STORE: 's3://live' }).segmentStore, { mode: 's3', bucket: 'live', prefix: '' });
  assert.deepEqual(loadConfig(['--segment-store=disk'], { PACKHOUSE_SEGMENT_STORE: 's3://live' }).segmentStore, { mode: 'disk' });
});

test('bad values stop the start with a message naming the setting', () => {
  assert.throws(() => loadConfig(['--segment-store', '/mnt/segments'], {}), (e: Error) => e instanceof ConfigError && /--segment-store \(PACKHOUSE_SEGMENT_STORE\) must be "disk" or s3:\/\/bucket/.test(e.message));
  assert.throws(() => loadConfig(['--segment-store', 's3://No_Such'], {}), ConfigError);
  assert.throws(() => loadConfig(['--manifest-cache-mb', '-1'], {}), /--manifest-cache-mb \(PACKHOUSE_MANIFEST_CACHE_MB\) must be a whole number from 0 to 65536/);
  assert.equal(loadConfig(['--manifest-cache-mb', '0'], {}).manifestCacheBytes, 0);
  assert.equal(loadConfig(['--render-threads', '0'], {}).renderThreads, 0);
  assert.equal(loadConfig([], { PACKHOUSE_RENDER_THREADS: '2' }).renderThreads, 2);
  assert.equal(loadConfig([], {}).renderThreadNice, 10);
  assert.equal(loadConfig(['--render-thread-nice', '0'], {}).renderThreadNice, 0);
  assert.equal(loadConfig([], { PACKHOUSE_RENDER_THREAD_NICE: '19' }).renderThreadNice, 19);
  assert.throws(() => loadConfig(['--render-thread-nice', '20'], {}), /--render-thread-nice \(PACKHOUSE_RENDER_THREAD_NICE\) must be a whole number from 0 to 19/);
});

test('--trusted-proxies and --cdn-secrets-file: addresses or CIDR ranges; a path resolved', () => {
  assert.deepEqual(loadConfig([], {}).trustedProxies, []);
  assert.deepEqual(loadConfig(['--trusted-proxies', '10.0.0.0/8, 192.0.2.1,2001:db8::/32'], {}).trustedProxies, ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
  assert.throws(() => loadConfig([], { PACKHOUSE_TRUSTED_PROXIES: '10.0.0.0/33' }), /--trusted-proxies \(PACKHOUSE_TRUSTED_PROXIES\): "10.0.0.0\/33" is not an IP address or CIDR range/);
  assert.throws(() => loadConfig(['--trusted-proxies', 'proxy.internal'], {}), ConfigError);
  assert.equal(loadConfig([], {}).cdnSecretsFile, undefined);
  assert.match(loadConfig([], { PACKHOUSE_CDN_SECRETS_FILE: 'cdn.json' }).cdnSecretsFile ?? '', /\/cdn\.json$/);
});

test('--ingest-url-1 / --ingest-url-2 (or the variables) name each ingest endpoint\'s base; a trailing slash is dropped; default: none', () => {
  assert.deepEqual(loadConfig([], {}).ingestUrls, [undefined, undefined]);
  assert.deepEqual(loadConfig(['--ingest-url-1', 'https://in-a.example.net/'], { PACKHOUSE_INGEST_URL_2: 'http://10.0.0.2:8080' }).ingestUrls, ['https://in-a.example.net', 'http://10.0.0.2:8080']);
  assert.throws(() => loadConfig(['--ingest-url-2', 'in-b.example.net'], {}), /--ingest-url-2 \(PACKHOUSE_INGEST_URL_2\) must be an absolute http\(s\) URL/);
  assert.throws(() => loadConfig([], { PACKHOUSE_INGEST_URL_1: 'ftp://in-a.example.net' }), /--ingest-url-1 \(PACKHOUSE_INGEST_URL_1\) must use http or https/);
  assert.throws(() => loadConfig(['--ingest-url-1', 'https://in-a.example.net/?x=1'], {}), /must not have a query or fragment/);
});
