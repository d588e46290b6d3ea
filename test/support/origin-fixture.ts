/**
 * An origin's stores on real SQLite in a fresh folder, holding one channel group, channel and
 * origin endpoint and one fMP4 video rendition 'v' (init m/init-aa.mp4), for tests that drive
 * OriginService directly with their own clock and timeline. `segment(t)` appends the 2 s segment
 * starting at t.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, ChannelGroup, OriginEndpoint } from '../../src/domain/model.js';
import { records } from '../../src/domain/services/context.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqlTimelineStore } from '../../src/storage/sql/sql-timeline-store.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';

export const FIXTURE_SCOPE = { accountId: '000000000000', region: 'us-east-1' };

export async function openOriginFixture(o: { prefix: string; group: ChannelGroup; channel: Channel; endpoint: OriginEndpoint; t0: number }) {
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  const driver = new SqliteDriver(join(dir, 'db.sqlite'));
  const store = await SqlMetadataStore.open(driver);
  const timeline = new SqlTimelineStore(driver);
  await store.insertResource(records.group(FIXTURE_SCOPE, o.group));
  await store.insertResource(records.channel(FIXTURE_SCOPE, o.channel));
  await store.insertResource(records.endpoint(FIXTURE_SCOPE, o.endpoint));
  await timeline.upsertRendition({ channelArn: o.channel.arn, id: 'v', container: 'fmp4', kind: 'video', codecs: 'avc1.64001f', bandwidth: 1_000_000, timescale: 90_000, initKey: 'm/init-aa.mp4', updatedMs: o.t0 });
  const segment = (t: number) =>
    timeline.appendSegment({ channelArn: o.channel.arn, rendition: 'v', startMs: t, durationMs: 2000, mediaTime: (t - o.t0) * 90, mediaDuration: 180_000, key: `k/${t}`, bytes: 1, discontinuity: false, source: '1', initKey: 'm/init-aa.mp4' });
  return { dir, driver, store, timeline, segment };
}
