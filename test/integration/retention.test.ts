/**
 * Retention keeps a channel's disk use bounded: segments older than the longest startover or
 * manifest window of its endpoints (plus a margin), or older than a channel reset, leave the
 * timeline and the disk. Real SQLite and real files; the clock is injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { arns } from '../../src/domain/arn.js';
import type { Channel, OriginEndpoint } from '../../src/domain/model.js';
import { records } from '../../src/domain/services/context.js';
import { RetentionKeeper, retentionSeconds } from '../../src/dataplane/retention.js';
import { DiskBlobStore } from '../../src/storage/blobs/disk-blob-store.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqlTimelineStore } from '../../src/storage/sql/sql-timeline-store.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';

const scope = { accountId: '000000000000', region: 'us-east-1' };

test('retention removes segments older than the longest window of the channel, and from before a reset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-retention-'));
  const driver = new SqliteDriver(join(dir, 'db.sqlite'));
  try {
    const store = await SqlMetadataStore.open(driver);
    const timeline = new SqlTimelineStore(driver);
    const blobs = new DiskBlobStore(join(dir, 'media'));
    const now = 1_800_000_000_000;
    let clockMs = now;
    const clock = { now: () => new Date(clockMs) };
    const channel: Channel = { groupName: 'g', name: 'c', arn: arns.channel(scope, 'g', 'c'), inputType: 'HLS', createdMs: 0, modifiedMs: 0, etag: 'e', tags: {} };
    await store.insertResource(records.channel(scope, channel));
    const endpoint = (name: string, startover: number, window: number): OriginEndpoint => ({
      groupName: 'g', channelName: 'c', name, arn: arns.endpoint(scope, 'g', 'c', name), containerType: 'CMAF', segment: {}, startoverWindowSeconds: startover,
      hlsManifests: [{ ManifestName: 'index', ManifestWindowSeconds: window }], lowLatencyHlsManifests: [], dashManifests: [], mssManifests: [], extra: {},
      createdMs: 0, modifiedMs: 0, etag: 'e', tags: {},
    });
    await store.insertResource(records.endpoint(scope, endpoint('a', 300, 60)));
    await store.insertResource(records.endpoint(scope, endpoint('b', 0, 900)));
    assert.equal(retentionSeconds([endpoint('a', 300, 60), endpoint('b', 0, 900)]), 960, 'the longest window (900 s) plus a 60 s margin');
    assert.equal(retentionSeconds([]), 300, 'a channel without endpoints keeps 5 minutes');

    // Segments every 2 s over the last 30 minutes.
    for (let t = now - 1800_000; t < now; t += 2000) {
      const key = `media/x/r/${t}.mp4`;
      await blobs.put(key, Buffer.from('segment'));
      await timeline.appendSegment({ channelArn: channel.arn, rendition: 'r', startMs: t, durationMs: 2000, mediaTime: t, mediaDuration: 2000, key, bytes: 7, discontinuity: false, source: '1' });
    }
    const keeper = new RetentionKeeper({ store, timeline, blobs, clock, logger: pino({ level: 'silent' }) });
    const removed = await keeper.run(await store.getResource<Channel>(channel.arn).then((r) => r!));
    const left = await timeline.findSegments(channel.arn, 'r', 0, now + 1);
    assert.equal(left[0]!.startMs, now - 960_000 - 2000, 'the oldest kept segment still reaches into the 960 s window');
    assert.equal(removed, 900 - 481, `${removed} segments removed`);
    assert.equal(existsSync(join(dir, 'media', `media/x/r/${now - 1800_000}.mp4`)), false, 'the oldest file is gone');
    assert.equal(existsSync(join(dir, 'media', left[0]!.key)), true, 'kept files stay');

    // A reset drops everything before it, whatever the windows.
    clockMs = now + 1;
    const resetAt = now - 100_000;
    await store.updateResource(records.channel(scope, { ...channel, resetMs: resetAt }));
    await keeper.run((await store.getResource<Channel>(channel.arn))!);
    const afterReset = await timeline.findSegments(channel.arn, 'r', 0, now + 1);
    assert.ok(afterReset.every((s) => s.startMs + s.durationMs >= resetAt), 'nothing that ended before the reset is left');
    assert.equal(afterReset.length, 51);
  } finally {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
