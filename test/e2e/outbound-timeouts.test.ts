/**
 * No request waits on a store for ever: a node whose PostgreSQL database or S3 segment store stops
 * answering (a TCP proxy in front of each goes silent) answers ingest, origin and control-plane
 * requests within the configured bounds (--database-timeout-seconds, --s3-timeout-seconds) with a
 * 5xx that names the store, logs a line saying so, and serves normally once the store is back.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { GetChannelCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { S3RVER_KEYS, startS3rver, type OwnS3 } from '../support/harvest.js';
import { createPgDatabase, dropPgDatabase, PG_BASE } from '../support/postgres.js';
import { startFreezableProxy, type FreezableProxy } from '../support/tcp-proxy.js';
import { cmafEndpoint, createLiveChannel, send, get, waitFor } from '../support/live.js';

const G = 'bounds';
const C = 'ch';
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n';

describe('a store that stops answering', () => {
  let db: { name: string; url: string };
  let s3: OwnS3;
  let pgProxy: FreezableProxy;
  let s3Proxy: FreezableProxy;
  let node: TestServer;
  const dataDir = tempDir('packhouse-bounds-');

  before(async () => {
    db = await createPgDatabase();
    // s3rver as it comes (objects rewritten in place), as the segment store.
    s3 = await startS3rver();
    await s3.createBucket('live');
    const pgUrl = new URL(PG_BASE);
    pgProxy = await startFreezableProxy(pgUrl.hostname, Number(pgUrl.port));
    s3Proxy = await startFreezableProxy('127.0.0.1', Number(new URL(s3.url).port));
    node = await startServer({
      dataDir,
      args: [
        '--database-url', `postgres://postgres@127.0.0.1:${pgProxy.port}/${db.name}`,
        '--s3-endpoint', `http://127.0.0.1:${s3Proxy.port}`,
        '--s3-access-key-id', S3RVER_KEYS.accessKeyId,
        '--s3-secret-access-key', S3RVER_KEYS.secretAccessKey,
        '--segment-store', 's3://live/segments',
      ],
      env: { PACKHOUSE_DATABASE_TIMEOUT_SECONDS: '1', PACKHOUSE_S3_TIMEOUT_SECONDS: '1' },
    });
    await createLiveChannel(node.client(), G, C, [cmafEndpoint('cmaf', 600)]);
  });

  after(async () => {
    pgProxy?.thaw();
    s3Proxy?.thaw();
    await node?.stop();
    await pgProxy?.close();
    await s3Proxy?.close();
    await s3?.close();
    if (db) await dropPgDatabase(db.name);
    for (const d of [dataDir, s3?.directory]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Runs a request and says how long it took. */
  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const t0 = Date.now();
    const value = await fn();
    return { value, ms: Date.now() - t0 };
  }

  /** Waits for an error line (pino level 50) that says a store did not answer and names it. */
  const logged = (store: string) =>
    waitFor(`a log line naming ${store}`, async () => (node.logs.some((l) => /"level":50/.test(l) && l.includes('a store did not answer') && l.includes(`"dependency":"${store}"`)) ? true : undefined), 10_000);

  test('the S3 segment store silent: ingest gets 503 naming the store within the bound, then works again', { timeout: 60_000 }, async () => {
    const url = `${node.url}/in/v1/${G}/1/${C}/index_0.m3u8`;
    s3Proxy.freeze();
    try {
      const r = await timed(() => send(url, 'PUT', PLAYLIST));
      assert.equal(r.value.status, 503, r.value.text);
      // Which call meets the silence first depends on what the input already holds (a listing of its
      // pending files, or the PUT of the playlist); either way the answer names the store and the call.
      assert.match(r.value.text, /the S3 segment store did not answer within 1 s \((PutObject|ListObjectsV2|GetObject|HeadObject) segments\/ingest\//);
      assert.equal(r.value.headers.get('retry-after'), '1');
      assert.ok(r.ms < 8000, `answered after ${r.ms} ms`);
      await logged('the S3 segment store');
    } finally {
      s3Proxy.thaw();
    }
    await waitFor('ingest to work again', async () => ((await send(url, 'PUT', PLAYLIST)).status === 201 ? true : undefined), 30_000);
  });

  test('the database silent: origin and API get 503 (the API as InternalServerException), both naming the database, within the bound; then both work again', { timeout: 60_000 }, async () => {
    const origin = `${node.url}/out/v1/${G}/${C}/cmaf/index.m3u8`;
    pgProxy.freeze();
    try {
      const o = await timed(() => get(origin));
      assert.equal(o.value.status, 503, o.value.text);
      assert.match(o.value.text, /the database did not answer within 1 s/);
      assert.ok(o.ms < 8000, `the origin answered after ${o.ms} ms`);
      const api = await timed(() => node.client().send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C })).then(() => undefined, (err: unknown) => err as Error & { $metadata?: { httpStatusCode?: number } }));
      assert.equal(api.value?.name, 'InternalServerException');
      assert.equal(api.value?.$metadata?.httpStatusCode, 503);
      assert.match(api.value?.message ?? '', /the database did not answer within 1 s/);
      assert.ok(api.ms < 8000, `the API answered after ${api.ms} ms`);
      await logged('the database');
    } finally {
      pgProxy.thaw();
    }
    await waitFor('the API to work again', async () => ((await node.client().send(new GetChannelCommand({ ChannelGroupName: G, ChannelName: C }))).ChannelName === C ? true : undefined), 30_000);
    // No content yet: the origin says so (404), from the database again.
    assert.equal((await get(origin)).status, 404);
  });
});
