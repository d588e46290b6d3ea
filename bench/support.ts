/**
 * What the origin and harvest benchmarks share: a Packhouse process in a throwaway data directory
 * with one CMAF endpoint (bench/ch/ep, HLS `index` and DASH `dash`, 2 s output segments), and a
 * second connection to its SQLite database that writes timeline rows straight in, far faster than
 * ingesting them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CreateChannelCommand, CreateChannelGroupCommand, CreateOriginEndpointCommand, MediaPackageV2Client } from '@aws-sdk/client-mediapackagev2';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { arns } from '../src/domain/arn.js';
import type { RenditionRecord } from '../src/domain/ports.js';
import { channelKey } from '../src/dataplane/ingest/ingest-service.js';
import { DiskBlobStore } from '../src/storage/blobs/disk-blob-store.js';
import { SqliteDriver } from '../src/storage/sql/sqlite-driver.js';
import { SqlTimelineStore } from '../src/storage/sql/sql-timeline-store.js';

export const SEG_MS = 2000;

export interface BenchChannel {
  readonly app: RunningApp;
  readonly client: MediaPackageV2Client;
  readonly channelArn: string;
  /** The channel's folder in blob keys: `media/${cid}/...`. */
  readonly cid: string;
  readonly blobs: DiskBlobStore;
  /** Origin URL of the endpoint's folder. */
  readonly base: string;
  /**
   * Writes `count` 2 s segments per rendition, the last ending at `endMs`, each at the blob key
   * `media/{cid}/{rendition}/{i}.mp4` (bytes are not written); returns the keys.
   */
  fill(renditions: readonly BenchRendition[], o: { count: number; endMs: number; bytes: number; initKey: (id: string) => string }): Promise<string[]>;
  close(): Promise<void>;
}

export type BenchRendition = Omit<RenditionRecord, 'channelArn' | 'container' | 'initKey' | 'updatedMs'>;

export async function startBenchChannel(o: { name: string; startoverSeconds: number; args?: readonly string[] }): Promise<BenchChannel> {
  const dataDir = mkdtempSync(join(tmpdir(), `packhouse-bench-${o.name}-`));
  const config = loadConfig(['--port', '0', '--s3-port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...(o.args ?? [])], {});
  const app = await startApp(config, { logger: pino({ level: 'silent' }) });
  const client = new MediaPackageV2Client({ endpoint: app.url, region: 'us-east-1', credentials: { accessKeyId: 'packhouse', secretAccessKey: 'packhouse' } });
  await client.send(new CreateChannelGroupCommand({ ChannelGroupName: 'bench' }));
  await client.send(new CreateChannelCommand({ ChannelGroupName: 'bench', ChannelName: 'ch' }));
  await client.send(
    new CreateOriginEndpointCommand({
      ChannelGroupName: 'bench',
      ChannelName: 'ch',
      OriginEndpointName: 'ep',
      ContainerType: 'CMAF',
      StartoverWindowSeconds: o.startoverSeconds,
      // One output segment per 2 s input segment.
      Segment: { SegmentDurationSeconds: SEG_MS / 1000 },
      HlsManifests: [{ ManifestName: 'index' }],
      DashManifests: [{ ManifestName: 'dash' }],
    }),
  );
  const channelArn = arns.channel({ accountId: '000000000000', region: 'us-east-1' }, 'bench', 'ch');
  const driver = new SqliteDriver(join(dataDir, 'packhouse.db'));
  const timeline = new SqlTimelineStore(driver);
  const cid = channelKey(channelArn);
  return {
    app,
    client,
    channelArn,
    cid,
    blobs: new DiskBlobStore(join(dataDir, 'media')),
    base: `${app.url}/out/v1/bench/ch/ep`,
    async fill(renditions, f) {
      const first = f.endMs - f.count * SEG_MS;
      const keys: string[] = [];
      for (const r of renditions) {
        const initKey = f.initKey(r.id);
        await timeline.upsertRendition({ channelArn, container: 'fmp4', initKey, updatedMs: f.endMs, ...r });
        await driver.transaction(async (ex) => {
          for (let i = 0; i < f.count; i++) {
            const key = `media/${cid}/${r.id}/${i}.mp4`;
            keys.push(key);
            await ex.run(
              'INSERT INTO segments (channel_arn, rendition, seq, start_ms, duration_ms, media_time, media_duration, blob_key, bytes, discontinuity, source, init_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
              [channelArn, r.id, i + 1, first + i * SEG_MS, SEG_MS, (i * SEG_MS * r.timescale) / 1000, (SEG_MS * r.timescale) / 1000, key, f.bytes, 0, '1', initKey],
            );
          }
          // The counters appendSegment keeps (the origin's in-memory timeline checks them).
          await ex.run('INSERT INTO rendition_counters (channel_arn, rendition, last_seq, last_disc_seq) VALUES (?, ?, ?, 0)', [channelArn, r.id, f.count]);
        });
      }
      return keys;
    },
    async close() {
      await driver.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
