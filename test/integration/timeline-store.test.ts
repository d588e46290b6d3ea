/**
 * The TimelineStore contract on both databases (SQLite and PostgreSQL): sequence and
 * discontinuity sequence numbers assigned on append, the redundant copy refused, reads by time,
 * by sequence and by run, and counters that survive every segment being removed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SegmentRecord } from '../../src/domain/ports.js';
import type { SqlDriver } from '../../src/storage/sql/driver.js';
import { PostgresDriver } from '../../src/storage/sql/postgres-driver.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';
import { SqlTimelineStore } from '../../src/storage/sql/sql-timeline-store.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';
import { createPgDatabase, dropPgDatabase } from '../support/postgres.js';
import { expandRuns } from '../../src/domain/timeline-runs.js';

const CH = 'arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/g/channel/c';
const T0 = 1_800_000_000_000;

type Input = Omit<SegmentRecord, 'seq' | 'discSeq'>;
const input = (i: number, o: Partial<Input> = {}): Input => ({
  channelArn: CH,
  rendition: 'v',
  startMs: T0 + i * 2000,
  durationMs: 2000,
  mediaTime: i * 180_000,
  mediaDuration: 180_000,
  key: `k/${i}`,
  bytes: 10,
  discontinuity: false,
  source: '1',
  ...o,
});

const backends: { name: string; open: () => Promise<{ driver: SqlDriver; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'packhouse-timeline-'));
      const driver = new SqliteDriver(join(dir, 'db.sqlite'));
      return { driver, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const db = await createPgDatabase();
      return { driver: new PostgresDriver(db.url), cleanup: () => dropPgDatabase(db.name) };
    },
  },
];

for (const backend of backends) {
  describe(`TimelineStore on ${backend.name}`, () => {
    let driver: SqlDriver;
    let cleanup: () => Promise<void>;
    let timeline: SqlTimelineStore;

    before(async () => {
      ({ driver, cleanup } = await backend.open());
      await SqlMetadataStore.open(driver); // runs the migrations
      timeline = new SqlTimelineStore(driver);
    });

    after(async () => {
      await driver.close();
      await cleanup();
    });

    test('seq counts from 1; discSeq counts discontinuities up to and including each segment; a copy covering a midpoint is refused', async () => {
      const got: SegmentRecord[] = [];
      for (let i = 0; i < 6; i++) got.push((await timeline.appendSegment(input(i, { discontinuity: i === 3 })))!);
      assert.deepEqual(got.map((s) => [s.seq, s.discSeq, s.discontinuity]), [[1, 0, false], [2, 0, false], [3, 0, false], [4, 1, true], [5, 1, false], [6, 1, false]]);
      assert.equal(await timeline.appendSegment(input(2, { source: '2', startMs: T0 + 4500 })), undefined, 'the other input\'s copy of segment 3');
      assert.deepEqual((await timeline.segmentsBySeq(CH, 'v', 2, 4)).map((s) => s.seq), [2, 3, 4]);
      assert.deepEqual((await timeline.findSegments(CH, 'v', T0 + 3000, T0 + 6000)).map((s) => s.seq), [2, 3]);
      assert.equal(await timeline.runStartMs(CH, 'v', 1), T0 + 6000, 'run 1 starts with its discontinuity');
      assert.equal(await timeline.runStartMs(CH, 'v', 0), T0);
      assert.equal(await timeline.runStartMs(CH, 'v', 7), undefined);
    });

    test('when every segment is gone (retention, a reset), numbering carries on and what comes next is a discontinuity', async () => {
      const removed = await timeline.deleteSegmentsBefore(CH, T0 + 1_000_000);
      assert.equal(removed.length, 6);
      assert.equal(await timeline.latestSegment(CH, 'v'), undefined);
      const next = (await timeline.appendSegment(input(600)))!;
      assert.deepEqual([next.seq, next.discSeq, next.discontinuity], [7, 2, true], 'seq 7, not 1 again: segment URLs stay unique');
      const after = (await timeline.appendSegment(input(601)))!;
      assert.deepEqual([after.seq, after.discSeq, after.discontinuity], [8, 2, false]);
      // Another rendition has its own numbers.
      assert.equal((await timeline.appendSegment(input(0, { rendition: 'a' })))!.seq, 1);
    });

    test('deleting the channel drops its rows but not its counters: a channel created again numbers on', async () => {
      assert.deepEqual((await timeline.channelArns()).sort(), [CH]);
      const gone = await timeline.deleteChannel(CH);
      assert.equal(gone.length, 3);
      assert.deepEqual(await timeline.channelArns(), []);
      assert.equal(await timeline.latestSegment(CH, 'v'), undefined);
      const again = (await timeline.appendSegment(input(0)))!;
      assert.deepEqual([again.seq, again.discontinuity], [9, true]);
    });

    test('runs held in memory follow the rows another node appends and removes', async () => {
      const CH2 = `${CH}2`;
      // Two stores on one database: two nodes, each with its own memory.
      const a = timeline;
      const b = new SqlTimelineStore(driver);
      const rows = async () => (await a.segmentsBySeq(CH2, 'v', 0, 1e9)).map((s) => [s.seq, s.startMs, s.durationMs, s.mediaTime, s.discontinuity, s.discSeq]);
      const held = async (store: SqlTimelineStore) => {
        const m = await store.segmentRuns(CH2, ['v']);
        assert.ok(m, 'the store holds runs');
        return expandRuns(m.get('v')!).map((s) => [s.seq, s.startMs, s.durationMs, s.mediaTime, s.discontinuity, s.discSeq]);
      };
      assert.equal(await a.segmentRuns(CH2, ['v']), undefined, 'nothing appended yet: no counters, no runs');
      for (let i = 0; i < 30; i++) await b.appendSegment(input(i, { channelArn: CH2, discontinuity: i === 12, durationMs: i === 20 ? 1500 : 2000 }));
      assert.deepEqual(await held(a), await rows());
      assert.equal((await a.segmentRuns(CH2, ['v']))!.get('v')!.length, 4, 'runs cut at the discontinuity and around the short segment');
      for (let i = 30; i < 35; i++) await b.appendSegment(input(i, { channelArn: CH2 }));
      assert.deepEqual(await held(a), await rows(), 'appended rows are read');
      assert.ok((await b.deleteSegmentsBefore(CH2, T0 + 20_000)).length > 0);
      assert.deepEqual(await held(a), await rows(), 'removed rows are gone');
      // A row removed out of order (not a prefix): the runs are read again.
      await driver.run('DELETE FROM segments WHERE channel_arn = ? AND seq = ?', [CH2, 25]);
      await driver.run('UPDATE rendition_counters SET trims = trims + 1 WHERE channel_arn = ?', [CH2]);
      assert.deepEqual(await held(a), await rows());
      await b.deleteChannel(CH2);
      assert.deepEqual(await held(a), []);
      await b.appendSegment(input(100, { channelArn: CH2 }));
      assert.deepEqual(await held(a), await rows());
      assert.equal((await held(a)).length, 1);
    });
  });
}
