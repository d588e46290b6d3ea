/**
 * Content keys go with what they were fetched for: a Packhouse on SQLite and one on PostgreSQL
 * each serve two AES-128 endpoints fed by ffmpeg, so each endpoint's keys are fetched from the test
 * SPEKE provider and stored (the content_keys table); deleting one endpoint deletes its keys and
 * leaves the other's (and the endpoint created again under its name asks the provider afresh), and
 * deleting the other, the channel and the group leaves none.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CreateOriginEndpointCommand, DeleteChannelCommand, DeleteChannelGroupCommand, DeleteOriginEndpointCommand } from '@aws-sdk/client-mediapackagev2';
import { startServer, type TestServer } from '../support/server.js';
import { createLiveChannel, expectEncoderSuccess, get, readMedia, startEncoder, waitFor, type EndpointSpec } from '../support/live.js';
import { createPgDatabase, dropPgDatabase } from '../support/postgres.js';
import { startSpekeProvider, type SpekeProvider } from '../support/speke-provider.js';

const G = 'keys';
const C = 'ch';

const aes = (name: string, url: string): EndpointSpec => ({
  OriginEndpointName: name,
  ContainerType: 'TS',
  Segment: {
    SegmentName: 'segment',
    SegmentDurationSeconds: 2,
    Encryption: {
      EncryptionMethod: { TsEncryptionMethod: 'AES_128' },
      SpekeKeyProvider: {
        Url: url,
        ResourceId: `res-${name}`,
        RoleArn: 'arn:aws:iam::000000000000:role/speke',
        DrmSystems: ['CLEAR_KEY_AES_128'],
        EncryptionContractConfiguration: { PresetSpeke20Video: 'SHARED', PresetSpeke20Audio: 'SHARED' },
      },
    },
  },
  HlsManifests: [{ ManifestName: 'index' }],
});

describe('content keys are deleted with their origin endpoint', () => {
  let provider: SpekeProvider;
  before(async () => {
    provider = await startSpekeProvider();
  });
  after(async () => {
    await provider?.close();
  });

  /** Drives one server: keys stored for both endpoints, then deleted endpoint by endpoint. */
  async function exercise(server: TestServer, keyRows: () => Promise<string[]>): Promise<void> {
    const client = server.client();
    await createLiveChannel(client, G, C, [aes('a', provider.url), aes('b', provider.url)]);
    await expectEncoderSuccess(startEncoder({ baseUrl: server.url, group: G, channel: C, ingest: 1, segmentType: 'mpegts', seconds: 4 }), 'the encoder');
    for (const ep of ['a', 'b']) {
      await waitFor(`a keyed playlist on ${ep}`, async () => {
        const res = await get(`${server.url}/out/v1/${G}/${C}/${ep}/index_index_0.m3u8`);
        return res.status === 200 && readMedia(res.text).segments.length > 0 && res.text.includes('#EXT-X-KEY:METHOD=AES-128') ? true : undefined;
      }, 30_000);
    }
    const arnOf = (ep: string) => new RegExp(`:channelGroup/${G}/channel/${C}/originEndpoint/${ep}$`);
    const stored = await keyRows();
    assert.equal(stored.filter((a) => arnOf('a').test(a)).length, 1, stored.join(', '));
    assert.equal(stored.filter((a) => arnOf('b').test(a)).length, 1, stored.join(', '));
    await client.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'a' }));
    const left = await keyRows();
    assert.deepEqual(left.filter((a) => arnOf('a').test(a)), [], 'the deleted endpoint\'s keys are gone');
    assert.equal(left.filter((a) => arnOf('b').test(a)).length, 1, 'the other endpoint keeps its keys');
    // Created again under the same name: its keys are asked of the provider afresh, not taken from
    // this node's memory of the deleted endpoint, and stored again.
    const asked = () => provider.requests.filter((r) => /contentId="res-a"/.test(r.body)).length;
    const before = asked();
    await client.send(new CreateOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, ...aes('a', provider.url) }));
    const again = await get(`${server.url}/out/v1/${G}/${C}/a/index_index_0.m3u8`);
    assert.equal(again.status, 200, again.text);
    assert.match(again.text, /#EXT-X-KEY:METHOD=AES-128/);
    assert.equal(asked(), before + 1, 'the provider is asked again');
    assert.equal((await keyRows()).filter((a) => arnOf('a').test(a)).length, 1);
    await client.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'a' }));
    await client.send(new DeleteOriginEndpointCommand({ ChannelGroupName: G, ChannelName: C, OriginEndpointName: 'b' }));
    await client.send(new DeleteChannelCommand({ ChannelGroupName: G, ChannelName: C }));
    await client.send(new DeleteChannelGroupCommand({ ChannelGroupName: G }));
    assert.deepEqual(await keyRows(), []);
  }

  test('SQLite', async () => {
    const server = await startServer({ args: ['--speke-timeout-seconds', '5'] });
    const db = new Database(join(server.dataDir, 'packhouse.db'), { readonly: true });
    try {
      await exercise(server, async () => (db.prepare('SELECT endpoint_arn FROM content_keys').all() as { endpoint_arn: string }[]).map((r) => r.endpoint_arn));
    } finally {
      db.close();
      await server.stop();
    }
  });

  test('PostgreSQL', async () => {
    const { name, url } = await createPgDatabase();
    const server = await startServer({ args: ['--database-url', url, '--speke-timeout-seconds', '5'] });
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await exercise(server, async () => (await db.query<{ endpoint_arn: string }>('SELECT endpoint_arn FROM content_keys')).rows.map((r) => r.endpoint_arn));
    } finally {
      await db.end();
      await server.stop();
      await dropPgDatabase(name);
    }
  });
});
