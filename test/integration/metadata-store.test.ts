// One contract suite for the MetadataStore port (src/domain/ports.ts), run unchanged against
// SQLite (a temp file) and PostgreSQL (a fresh database per run). Every test works in its own
// account id, so the tests of one backend share one database without seeing each other.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPgDatabase, dropPgDatabase, pgAdmin } from '../support/postgres.js';

import type { IdempotencyRecord, MetadataOps, MetadataStore, ResourceKind, ResourceRecord, Scope } from '../../src/domain/ports.js';
import { MIGRATIONS } from '../../src/storage/sql/migrations.js';
import { PostgresDriver } from '../../src/storage/sql/postgres-driver.js';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';
import { SqlMetadataStore } from '../../src/storage/sql/sql-metadata-store.js';

// ---------------------------------------------------------------------------------------------
// Backends under test.

interface Backend {
  readonly name: string;
  readonly dialect: 'sqlite' | 'postgres';
  /** Creates the empty database (file or PostgreSQL database). */
  setup(): Promise<void>;
  /** Opens a store (running migrations) on the database made by setup. */
  open(): Promise<MetadataStore>;
  /** Opens a store on a brand-new, separate database; cleaned up by teardown. */
  openFresh(): Promise<MetadataStore>;
  /** Applied migration ids, read around the store. */
  migrationIds(): Promise<number[]>;
  teardown(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  let fresh = 0;
  return {
    name: 'SQLite',
    dialect: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'packhouse-store-'));
    },
    open: () => SqlMetadataStore.open(new SqliteDriver(join(dir, 'packhouse.db'))),
    openFresh: () => SqlMetadataStore.open(new SqliteDriver(join(dir, `fresh-${++fresh}.db`))),
    async migrationIds() {
      const driver = new SqliteDriver(join(dir, 'packhouse.db'));
      try {
        return (await driver.all('SELECT id FROM schema_migrations ORDER BY id')).map((r) => Number(r['id']));
      } finally {
        await driver.close();
      }
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const databases: string[] = [];
  let url = '';
  return {
    name: 'PostgreSQL',
    dialect: 'postgres',
    async setup() {
      const db = await createPgDatabase();
      databases.push(db.name);
      url = db.url;
    },
    open: () => SqlMetadataStore.open(new PostgresDriver(url)),
    async openFresh() {
      const db = await createPgDatabase();
      databases.push(db.name);
      return SqlMetadataStore.open(new PostgresDriver(db.url));
    },
    async migrationIds() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r: { id: number }) => Number(r.id));
      } finally {
        await client.end();
      }
    },
    async teardown() {
      for (const name of databases) await dropPgDatabase(name);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/** A realistic epoch-ms instant (> 2^32, so BIGINT handling is exercised). */
const T = 1_750_000_000_000;

let accountCounter = 0;
/** A scope of its own for each test: a fresh 12-digit account id. */
function freshScope(region = 'us-east-1'): Scope {
  accountCounter += 1;
  return { accountId: `${100000000000 + accountCounter * 7919 + Math.floor(Math.random() * 1000)}`.slice(0, 12), region };
}

interface Spec {
  kind?: ResourceKind;
  scope: Scope;
  group: string;
  channel?: string | null;
  endpoint?: string | null;
  name?: string;
  status?: string | null;
  createdMs?: number;
  expiresMs?: number | null;
  dueMs?: number | null;
  doc?: unknown;
}

function rec(s: Spec): ResourceRecord {
  const kind = s.kind ?? 'channelGroup';
  const name = s.name ?? (kind === 'channelGroup' ? s.group : kind === 'channel' ? (s.channel ?? 'c') : kind === 'originEndpoint' ? (s.endpoint ?? 'e') : 'job');
  const path = [`channelGroup/${s.group}`];
  if (kind !== 'channelGroup') path.push(`channel/${s.channel ?? name}`);
  if (kind === 'originEndpoint' || kind === 'harvestJob') path.push(`originEndpoint/${s.endpoint ?? name}`);
  if (kind === 'harvestJob') path.push(`harvestJob/${name}`);
  return {
    arn: `arn:aws:mediapackagev2:${s.scope.region}:${s.scope.accountId}:${path.join('/')}`,
    kind,
    accountId: s.scope.accountId,
    region: s.scope.region,
    groupName: s.group,
    channelName: kind === 'channelGroup' ? null : (s.channel ?? name),
    endpointName: kind === 'originEndpoint' || kind === 'harvestJob' ? (s.endpoint ?? name) : null,
    name,
    status: s.status ?? null,
    createdMs: s.createdMs ?? T,
    expiresMs: s.expiresMs ?? null,
    dueMs: s.dueMs ?? null,
    doc: s.doc ?? { name, n: 1 },
  };
}

async function insertAll(ops: MetadataOps, records: readonly ResourceRecord[]): Promise<void> {
  for (const r of records) await ops.insertResource(r);
}

const names = (rows: readonly ResourceRecord[]) => rows.map((r) => r.name);

class QuotaError extends Error {}

/** Resolves when `n` parties have arrived, or after `ms` (so a store that serialises transactions cannot deadlock). */
function barrier(n: number, ms: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return async () => {
    arrived += 1;
    if (arrived >= n) release();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  };
}

/** The promise, or a failure after ms (a deadlock fails the test instead of hanging it). */
function within<R>(ms: number, p: Promise<R>): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The contract.

function contract(backend: Backend): void {
  describe(`MetadataStore contract: ${backend.name}`, () => {
    let store: MetadataStore;
    let setupError: unknown;

    before(async () => {
      try {
        await backend.setup();
        store = await backend.open();
      } catch (err) {
        setupError = err; // reported by every test below, so an unreachable database fails them all
      }
    });

    const it = (name: string, fn: () => Promise<void>): void => {
      void test(name, async () => {
        if (setupError) throw setupError;
        await fn();
      });
    };

    after(async () => {
      await store?.close().catch(() => undefined);
      await backend.teardown();
    });

    it('insert, get, update and delete a record; every column round-trips exactly', async () => {
      const scope = freshScope();
      const job = rec({
        kind: 'harvestJob',
        scope,
        group: 'g1',
        channel: 'c1',
        endpoint: 'e1',
        name: 'job-1',
        status: 'QUEUED',
        createdMs: T + 123,
        expiresMs: T + 15 * 86_400_000,
        dueMs: T + 60_000,
        doc: { text: 'héllo "quoted" \u2603', list: [1, 2.5, null, true], nested: { a: { b: 'c' } }, empty: {} },
      });
      const group = rec({ scope, group: 'g1', createdMs: T });
      assert.equal(await store.getResource(job.arn), undefined);
      await store.insertResource(group);
      await store.insertResource(job);

      const gotJob = await store.getResource(job.arn);
      assert.deepEqual(gotJob, job);
      assert.equal(typeof gotJob?.createdMs, 'number');
      assert.equal(typeof gotJob?.expiresMs, 'number');
      const gotGroup = await store.getResource(group.arn);
      assert.deepEqual(gotGroup, group);
      assert.equal(gotGroup?.channelName, null);
      assert.equal(gotGroup?.endpointName, null);
      assert.equal(gotGroup?.status, null);
      assert.equal(gotGroup?.expiresMs, null);

      const updated: ResourceRecord = { ...job, status: 'CANCELLED', expiresMs: T + 999, dueMs: null, doc: { replaced: true } };
      await store.updateResource(updated);
      assert.deepEqual(await store.getResource(job.arn), updated);
      // Setting a column back to null works too.
      const neverExpires: ResourceRecord = { ...updated, status: null, expiresMs: null };
      await store.updateResource(neverExpires);
      assert.deepEqual(await store.getResource(job.arn), neverExpires);
      assert.deepEqual(await store.getResource(group.arn), group, 'updating one record leaves others alone');

      assert.equal(await store.deleteResource(job.arn), true);
      assert.equal(await store.getResource(job.arn), undefined);
      assert.equal(await store.deleteResource(job.arn), false, 'deleting a missing record returns false');
      assert.deepEqual(await store.getResource(group.arn), group);
    });

    it('findDue: what is due at an instant, in every scope and the given statuses, earliest first, a page at a time; never what is ahead or not pending', async () => {
      const fresh = await backend.openFresh();
      try {
        const a = freshScope('us-east-1');
        const b = freshScope('eu-west-1');
        const job = (scope: Scope, name: string, dueMs: number | null, status = dueMs === null ? 'COMPLETED' : 'QUEUED') =>
          rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name, status, dueMs });
        await insertAll(fresh, [
          job(a, 'ahead', T + 10_000),
          job(a, 'done', null),
          job(b, 'second-b', T - 5_000),
          job(a, 'first', T - 9_000),
          job(a, 'second-a', T - 5_000),
          job(b, 'at-now', T),
          rec({ kind: 'originEndpoint', scope: a, group: 'g', channel: 'c', endpoint: 'e', dueMs: T - 20_000 }),
          // Finished with a due time left (written by a version that did not clear it): not pending.
          { ...job(a, 'stale', T - 30_000), status: 'COMPLETED' },
        ]);
        const ACTIVE = ['QUEUED', 'IN_PROGRESS'];
        const due = async (nowMs: number, limit = 10, after?: { dueMs: number; arn: string }) => names(await fresh.findDue('harvestJob', ACTIVE, nowMs, limit, after));
        // Same due time: by ARN (account b's ARN sorts after a's only by chance of ids, so compare by the records).
        const all = await fresh.findDue('harvestJob', ACTIVE, T, 10);
        assert.deepEqual(
          all.map((r) => [r.name, r.dueMs]),
          [['first', T - 9_000], ...[job(a, 'second-a', T - 5_000), job(b, 'second-b', T - 5_000)].sort((x, y) => (x.arn < y.arn ? -1 : 1)).map((r) => [r.name, T - 5_000]), ['at-now', T]],
        );
        assert.deepEqual(await due(T - 9_001), []);
        assert.deepEqual(await due(T + 10_000), [...names(all), 'ahead']);
        // Pages: each continues after the last record of the one before, ties included.
        const first = await fresh.findDue('harvestJob', ACTIVE, T, 2);
        const last = first[first.length - 1]!;
        const rest = await fresh.findDue('harvestJob', ACTIVE, T, 2, { dueMs: last.dueMs!, arn: last.arn });
        assert.deepEqual([...names(first), ...names(rest)], names(all));
        assert.deepEqual(await due(T, 10, { dueMs: T, arn: all[3]!.arn }), []);
        // A record that is updated carries its new due time (null: no longer pending).
        await fresh.updateResource({ ...all[0]!, status: 'COMPLETED', dueMs: null });
        assert.deepEqual(await due(T), names(all).slice(1));
        assert.deepEqual(await fresh.findDue('harvestJob', [], T, 10), []);

        // Rows with no due time in the given statuses (an earlier version's writes): findUndated only.
        await insertAll(fresh, [job(a, 'undated-queued', null, 'QUEUED'), job(b, 'undated-running', null, 'IN_PROGRESS')]);
        assert.deepEqual((await fresh.findUndated('harvestJob', ACTIVE, 10)).map((r) => r.name).sort(), ['undated-queued', 'undated-running']);
        assert.deepEqual(names(await fresh.findUndated('harvestJob', ['IN_PROGRESS'], 10)), ['undated-running']);
        assert.equal((await fresh.findUndated('harvestJob', ACTIVE, 1)).length, 1);
        assert.deepEqual(await due(T + 10_000), [...names(all).slice(1), 'ahead']);
      } finally {
        await fresh.close();
      }
    });

    it('inserting a second record under an existing ARN is refused and keeps the first', async () => {
      const scope = freshScope();
      const first = rec({ scope, group: 'dup', doc: { v: 1 } });
      await store.insertResource(first);
      await assert.rejects(store.insertResource({ ...first, doc: { v: 2 } }));
      assert.deepEqual(await store.getResource(first.arn), first);
    });

    it('findResources filters by kind, scope (account and region) and parent names', async () => {
      const a = freshScope('us-east-1');
      const otherAccount = freshScope('us-east-1');
      const otherRegion: Scope = { accountId: a.accountId, region: 'eu-west-1' };
      await insertAll(store, [
        rec({ scope: a, group: 'g1' }),
        rec({ scope: a, group: 'g2' }),
        rec({ kind: 'channel', scope: a, group: 'g1', channel: 'c1' }),
        rec({ kind: 'channel', scope: a, group: 'g1', channel: 'c2' }),
        rec({ kind: 'channel', scope: a, group: 'g2', channel: 'c1' }),
        rec({ kind: 'originEndpoint', scope: a, group: 'g1', channel: 'c1', endpoint: 'e1' }),
        rec({ kind: 'originEndpoint', scope: a, group: 'g1', channel: 'c1', endpoint: 'e2' }),
        rec({ kind: 'originEndpoint', scope: a, group: 'g1', channel: 'c2', endpoint: 'e1' }),
        rec({ kind: 'harvestJob', scope: a, group: 'g1', channel: 'c1', endpoint: 'e1', name: 'j1' }),
        rec({ kind: 'harvestJob', scope: a, group: 'g1', channel: 'c1', endpoint: 'e2', name: 'j1' }),
        rec({ kind: 'harvestJob', scope: a, group: 'g1', channel: 'c2', endpoint: 'e1', name: 'j2' }),
        rec({ scope: otherAccount, group: 'g1' }),
        rec({ scope: otherAccount, group: 'g3' }),
        rec({ kind: 'channel', scope: otherAccount, group: 'g1', channel: 'c1' }),
        rec({ scope: otherRegion, group: 'g1' }),
        rec({ scope: otherRegion, group: 'g4' }),
        rec({ kind: 'channel', scope: otherRegion, group: 'g1', channel: 'c9' }),
      ]);

      const find = async (f: Parameters<MetadataOps['findResources']>[0]) => names(await store.findResources(f));
      assert.deepEqual(await find({ kind: 'channelGroup', scope: a }), ['g1', 'g2']);
      assert.deepEqual(await find({ kind: 'channelGroup', scope: otherAccount }), ['g1', 'g3']);
      assert.deepEqual(await find({ kind: 'channelGroup', scope: otherRegion }), ['g1', 'g4']);
      assert.deepEqual(await find({ kind: 'channelGroup', scope: { accountId: a.accountId, region: 'ap-south-1' } }), []);
      assert.deepEqual(await find({ kind: 'channel', scope: a }), ['c1', 'c1', 'c2']);
      assert.deepEqual(await find({ kind: 'channel', scope: a, groupName: 'g1' }), ['c1', 'c2']);
      assert.deepEqual(await find({ kind: 'channel', scope: a, groupName: 'g2' }), ['c1']);
      assert.deepEqual(await find({ kind: 'channel', scope: otherRegion, groupName: 'g1' }), ['c9']);
      assert.deepEqual(await find({ kind: 'channel', scope: a, groupName: 'nope' }), []);
      assert.deepEqual(await find({ kind: 'originEndpoint', scope: a, groupName: 'g1', channelName: 'c1' }), ['e1', 'e2']);
      assert.deepEqual(await find({ kind: 'originEndpoint', scope: a, groupName: 'g1', channelName: 'c2' }), ['e1']);
      assert.deepEqual(await find({ kind: 'originEndpoint', scope: a, groupName: 'g1', channelName: 'c1', name: 'e2' }), ['e2']);
      assert.deepEqual(await find({ kind: 'harvestJob', scope: a, groupName: 'g1' }), ['j1', 'j1', 'j2']);
      assert.deepEqual(await find({ kind: 'harvestJob', scope: a, groupName: 'g1', channelName: 'c1' }), ['j1', 'j1']);
      assert.deepEqual(await find({ kind: 'harvestJob', scope: a, groupName: 'g1', channelName: 'c1', endpointName: 'e2' }), ['j1']);
      assert.deepEqual(await find({ kind: 'harvestJob', scope: a, groupName: 'g1', name: 'j2' }), ['j2']);
      assert.deepEqual(await find({ kind: 'harvestJob', scope: a, groupName: 'g1', channelName: 'c1', name: 'j2' }), []);

      // The full records come back, not just names.
      const [endpoint] = await store.findResources({ kind: 'originEndpoint', scope: a, groupName: 'g1', channelName: 'c2' });
      assert.deepEqual(endpoint, rec({ kind: 'originEndpoint', scope: a, group: 'g1', channel: 'c2', endpoint: 'e1' }));
    });

    it('locateGroups finds the channel groups of a name across every account and region, and nothing else', async () => {
      // Names unique to this test, since locateGroups looks beyond any one scope.
      const g = `loc-g-${randomBytes(4).toString('hex')}`;
      const a = freshScope('us-east-1');
      const b = freshScope('eu-west-1');
      const groupA = rec({ scope: a, group: g });
      const groupB = rec({ scope: b, group: g });
      await insertAll(store, [
        groupA,
        groupB,
        rec({ kind: 'channel', scope: a, group: g, channel: 'live' }),
        rec({ kind: 'originEndpoint', scope: a, group: g, channel: 'live', endpoint: 'hls' }),
        rec({ scope: a, group: `${g}-x` }),
      ]);
      const byArn = (rows: readonly ResourceRecord[]) => [...rows].sort((x, y) => (x.arn < y.arn ? -1 : x.arn > y.arn ? 1 : 0));
      assert.deepEqual(byArn(await store.locateGroups(g)), byArn([groupA, groupB]));
      assert.deepEqual(await store.locateGroups(`${g}-x`), [rec({ scope: a, group: `${g}-x` })]);
      assert.deepEqual(await store.locateGroups(`${g}-missing`), []);
    });

    it('findResources filters by statuses, and liveAtMs hides records whose expiresMs <= liveAtMs', async () => {
      const scope = freshScope();
      const job = (name: string, status: string, expiresMs: number | null) =>
        rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name, status, expiresMs });
      await insertAll(store, [
        job('a-queued', 'QUEUED', null),
        job('b-progress', 'IN_PROGRESS', null),
        job('c-done-old', 'COMPLETED', T - 1),
        job('d-done-now', 'COMPLETED', T),
        job('e-done-later', 'COMPLETED', T + 1),
        job('f-failed-later', 'FAILED', T + 5_000),
        job('g-cancelled', 'CANCELLED', T - 10_000),
      ]);
      const base = { kind: 'harvestJob', scope, groupName: 'g' } as const;
      const find = async (f: Parameters<MetadataOps['findResources']>[0]) => names(await store.findResources(f));

      assert.deepEqual(await find({ ...base, statuses: ['QUEUED', 'IN_PROGRESS'] }), ['a-queued', 'b-progress']);
      assert.deepEqual(await find({ ...base, statuses: ['COMPLETED'] }), ['c-done-old', 'd-done-now', 'e-done-later']);
      assert.deepEqual(await find({ ...base, statuses: ['NOT_A_STATUS'] }), []);
      assert.deepEqual(await find({ ...base, liveAtMs: T }), ['a-queued', 'b-progress', 'e-done-later', 'f-failed-later']);
      assert.deepEqual(await find({ ...base, liveAtMs: T - 1 }), ['a-queued', 'b-progress', 'd-done-now', 'e-done-later', 'f-failed-later']);
      assert.deepEqual(await find({ ...base, liveAtMs: T + 5_000 }), ['a-queued', 'b-progress']);
      assert.deepEqual(await find({ ...base, statuses: ['COMPLETED', 'FAILED'], liveAtMs: T }), ['e-done-later', 'f-failed-later']);
      assert.equal(await store.countResources({ ...base, statuses: ['COMPLETED', 'FAILED'], liveAtMs: T }), 2);
      // Without liveAtMs nothing is hidden.
      assert.equal((await store.findResources(base)).length, 7);
    });

    it('an empty statuses list matches no record, the same on every backend', async () => {
      const scope = freshScope();
      await store.insertResource(rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name: 'j', status: 'QUEUED' }));
      assert.deepEqual(await store.findResources({ kind: 'harvestJob', scope, statuses: [] }), []);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, statuses: [] }), 0);
    });

    it("keyset paging in 'name' order visits every record once, in code-point order", async () => {
      const scope = freshScope();
      // Mixed case, digits, '-' and '_' (the characters resource names allow): code-point order.
      const all = ['B-2', 'B_1', 'a', 'a-b', 'a_b', 'ab', 'Z9', '0x', '9', 'zz', 'A'];
      await insertAll(
        store,
        all.map((n, i) => rec({ kind: 'channel', scope, group: 'g', channel: n, createdMs: T + i })),
      );
      // A channel of another group must never leak into the pages.
      await store.insertResource(rec({ kind: 'channel', scope, group: 'other', channel: 'aa' }));
      const expected = [...all].sort();
      assert.deepEqual(expected, ['0x', '9', 'A', 'B-2', 'B_1', 'Z9', 'a', 'a-b', 'a_b', 'ab', 'zz']);

      const filter = { kind: 'channel', scope, groupName: 'g' } as const;
      assert.deepEqual(names(await store.findResources(filter)), expected, 'no page: everything, name order');
      const pages: string[][] = [];
      let after: { name: string; createdMs: number } | undefined;
      for (;;) {
        const rows = await store.findResources(filter, { order: 'name', limit: 3, ...(after ? { after } : {}) });
        if (rows.length === 0) break;
        pages.push(names(rows));
        const last = rows[rows.length - 1]!;
        after = { name: last.name, createdMs: last.createdMs };
        assert.ok(pages.length < 10, 'paging does not terminate');
      }
      assert.deepEqual(pages, [
        ['0x', '9', 'A'],
        ['B-2', 'B_1', 'Z9'],
        ['a', 'a-b', 'a_b'],
        ['ab', 'zz'],
      ]);
      // 'after' in name order ignores createdMs.
      assert.deepEqual(names(await store.findResources(filter, { order: 'name', limit: 2, after: { name: 'a', createdMs: 0 } })), ['a-b', 'a_b']);
      assert.deepEqual(names(await store.findResources(filter, { order: 'name', limit: 5, after: { name: 'zz', createdMs: T } })), []);
    });

    it("keyset paging in 'newest' order: createdMs descending, then name ascending, across ties", async () => {
      const scope = freshScope();
      const specs: [string, number][] = [
        ['m', T + 5],
        ['b', T + 5],
        ['x', T + 5],
        ['a', T + 9],
        ['q', T + 1],
        ['c', T + 1],
        ['d', T + 3],
        ['k', T + 5],
        ['e', T + 1],
      ];
      await insertAll(
        store,
        specs.map(([n, t]) => rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name: n, createdMs: t, status: 'QUEUED' })),
      );
      const expected = ['a', 'b', 'k', 'm', 'x', 'd', 'c', 'e', 'q'];
      const filter = { kind: 'harvestJob', scope, groupName: 'g' } as const;
      assert.deepEqual(names(await store.findResources(filter, { order: 'newest', limit: 100 })), expected);

      for (const limit of [1, 2, 3, 4]) {
        const seen: string[] = [];
        const sizes: number[] = [];
        let after: { name: string; createdMs: number } | undefined;
        for (;;) {
          const rows = await store.findResources(filter, { order: 'newest', limit, ...(after ? { after } : {}) });
          if (rows.length === 0) break;
          sizes.push(rows.length);
          seen.push(...names(rows));
          const last = rows[rows.length - 1]!;
          after = { name: last.name, createdMs: last.createdMs };
          assert.ok(sizes.length <= 20, 'paging does not terminate');
        }
        assert.deepEqual(seen, expected, `limit ${limit}`);
        const full = Math.floor(expected.length / limit);
        assert.deepEqual(sizes, [...Array<number>(full).fill(limit), ...(expected.length % limit ? [expected.length % limit] : [])], `page sizes at limit ${limit}`);
      }
      // A position inside a tie resumes within the tie.
      assert.deepEqual(names(await store.findResources(filter, { order: 'newest', limit: 3, after: { name: 'k', createdMs: T + 5 } })), ['m', 'x', 'd']);
      // A position that names no stored record still lands between records.
      assert.deepEqual(names(await store.findResources(filter, { order: 'newest', limit: 3, after: { name: 'l', createdMs: T + 5 } })), ['m', 'x', 'd']);
      assert.deepEqual(names(await store.findResources(filter, { order: 'newest', limit: 10, after: { name: 'zzz', createdMs: T + 2 } })), ['c', 'e', 'q']);
      // Paging combines with the other filters.
      assert.deepEqual(
        names(await store.findResources({ ...filter, statuses: ['QUEUED'], liveAtMs: T }, { order: 'newest', limit: 2, after: { name: 'x', createdMs: T + 5 } })),
        ['d', 'c'],
      );
    });

    it('countResources counts exactly what findResources finds', async () => {
      const scope = freshScope();
      const other = freshScope();
      await insertAll(store, [
        rec({ scope, group: 'g1' }),
        rec({ scope, group: 'g2' }),
        rec({ scope, group: 'g3' }),
        rec({ kind: 'channel', scope, group: 'g1', channel: 'c1' }),
        rec({ kind: 'channel', scope, group: 'g1', channel: 'c2' }),
        rec({ kind: 'harvestJob', scope, group: 'g1', channel: 'c1', endpoint: 'e', name: 'j1', status: 'QUEUED' }),
        rec({ kind: 'harvestJob', scope, group: 'g1', channel: 'c1', endpoint: 'e', name: 'j2', status: 'IN_PROGRESS' }),
        rec({ kind: 'harvestJob', scope, group: 'g1', channel: 'c2', endpoint: 'e', name: 'j3', status: 'COMPLETED', expiresMs: T }),
        rec({ scope: other, group: 'g1' }),
      ]);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope }), 3);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope: other }), 1);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope: { ...scope, region: 'eu-west-1' } }), 0);
      assert.equal(await store.countResources({ kind: 'channel', scope, groupName: 'g1' }), 2);
      assert.equal(await store.countResources({ kind: 'channel', scope, groupName: 'g2' }), 0);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1' }), 3);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1', statuses: ['QUEUED', 'IN_PROGRESS'] }), 2);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1', channelName: 'c1' }), 2);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1', liveAtMs: T }), 2);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1', liveAtMs: T - 1 }), 3);
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g1', name: 'j3' }), 1);
      assert.equal(typeof (await store.countResources({ kind: 'channelGroup', scope })), 'number');
    });

    it('idempotency records: put stores, get returns it exactly, a second put returns false and changes nothing', async () => {
      const scope = freshScope();
      const first: IdempotencyRecord = { requestHash: 'hash-1', response: JSON.stringify({ status: 200, body: '{"a":"\u00e9"}' }), createdMs: T + 7 };
      const second: IdempotencyRecord = { requestHash: 'hash-2', response: '{"other":true}', createdMs: T + 8 };
      assert.equal(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok-1'), undefined);
      assert.equal(await store.putIdempotency(scope, 'CreateChannelGroup', 'tok-1', first), true);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok-1'), first);
      assert.equal(await store.putIdempotency(scope, 'CreateChannelGroup', 'tok-1', second), false);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok-1'), first);

      // The key is (account, region, operation, token): each other combination is separate.
      assert.equal(await store.getIdempotency(scope, 'CreateChannel', 'tok-1'), undefined);
      assert.equal(await store.getIdempotency({ ...scope, region: 'eu-west-1' }, 'CreateChannelGroup', 'tok-1'), undefined);
      assert.equal(await store.getIdempotency(freshScope(), 'CreateChannelGroup', 'tok-1'), undefined);
      assert.equal(await store.getIdempotency(scope, 'CreateChannelGroup', 'TOK-1'), undefined);
      assert.equal(await store.putIdempotency(scope, 'CreateChannel', 'tok-1', second), true);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannel', 'tok-1'), second);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok-1'), first);

      // Inside a transaction the same rule holds.
      const inTx = await store.transaction(async (tx) => [
        await tx.putIdempotency(scope, 'CreateChannelGroup', 'tok-1', second),
        await tx.putIdempotency(scope, 'CreateChannelGroup', 'tok-2', second),
        await tx.getIdempotency(scope, 'CreateChannelGroup', 'tok-2'),
      ]);
      assert.deepEqual(inTx, [false, true, second]);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok-2'), second);
    });

    it('a transaction commits all its writes and returns its value', async () => {
      const scope = freshScope();
      const existing = rec({ scope, group: 'keep' });
      const doomed = rec({ scope, group: 'doomed' });
      await insertAll(store, [existing, doomed]);
      const added = rec({ scope, group: 'added' });
      const result = await store.transaction(async (tx) => {
        await tx.insertResource(added);
        await tx.updateResource({ ...existing, doc: { v: 2 } });
        assert.equal(await tx.deleteResource(doomed.arn), true);
        // Reads inside the transaction see its own writes.
        assert.deepEqual(await tx.getResource(added.arn), added);
        assert.equal(await tx.countResources({ kind: 'channelGroup', scope }), 2);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.deepEqual(await store.getResource(added.arn), added);
      assert.deepEqual(await store.getResource(existing.arn), { ...existing, doc: { v: 2 } });
      assert.equal(await store.getResource(doomed.arn), undefined);
    });

    it('a throw inside a transaction rolls back every write and reaches the caller unchanged', async () => {
      const scope = freshScope();
      const existing = rec({ scope, group: 'keep', doc: { v: 1 } });
      const victim = rec({ scope, group: 'victim' });
      await insertAll(store, [existing, victim]);
      const boom = new Error('boom');
      const added = [rec({ scope, group: 'new1' }), rec({ scope, group: 'new2' })];
      await assert.rejects(
        store.transaction(async (tx) => {
          await insertAll(tx, added);
          await tx.updateResource({ ...existing, doc: { v: 2 } });
          await tx.deleteResource(victim.arn);
          await tx.putIdempotency(scope, 'CreateChannelGroup', 'rolled-back', { requestHash: 'h', response: 'r', createdMs: T });
          assert.equal(await tx.countResources({ kind: 'channelGroup', scope }), 3);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await store.getResource(added[0]!.arn), undefined);
      assert.equal(await store.getResource(added[1]!.arn), undefined);
      assert.deepEqual(await store.getResource(existing.arn), existing);
      assert.deepEqual(await store.getResource(victim.arn), victim);
      assert.equal(await store.getIdempotency(scope, 'CreateChannelGroup', 'rolled-back'), undefined);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope }), 2);

      // A failing statement (duplicate ARN) also rolls back what came before it.
      const fresh = rec({ scope, group: 'fresh' });
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertResource(fresh);
          await tx.insertResource(existing);
        }),
      );
      assert.equal(await store.getResource(fresh.arn), undefined);
      // And the store keeps working after both failures.
      await store.transaction((tx) => tx.insertResource(fresh));
      assert.deepEqual(await store.getResource(fresh.arn), fresh);
    });

    it('a transaction begun inside another joins it: an idempotency token and the resource commit or roll back together', async () => {
      // What the API pipeline does: its transaction stores the token, the service's transaction inside it stores the resource.
      const scope = freshScope();
      const token: IdempotencyRecord = { requestHash: 'h', response: '{"status":201}', createdMs: T };
      const created = rec({ scope, group: 'with-token' });
      const boom = new Error('crash before the commit');
      const attempt = (fail: boolean) =>
        store.transaction(async (tx) => {
          await store.transaction((inner) => inner.insertResource(created));
          // The store itself reads through the open transaction and sees the uncommitted resource.
          assert.deepEqual(await store.getResource(created.arn), created);
          assert.equal(await tx.putIdempotency(scope, 'CreateChannelGroup', 'tok', token), true);
          if (fail) throw boom;
        });
      await assert.rejects(within(10_000, attempt(true)), (err) => err === boom);
      assert.equal(await store.getResource(created.arn), undefined, 'the resource rolled back with the token');
      assert.equal(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok'), undefined);
      await within(10_000, attempt(false));
      assert.deepEqual(await store.getResource(created.arn), created);
      assert.deepEqual(await store.getIdempotency(scope, 'CreateChannelGroup', 'tok'), token);

      // An inner transaction that throws rolls back alone; the outer one goes on and commits.
      const lost = rec({ scope, group: 'inner-failed' });
      const kept = rec({ scope, group: 'outer-kept' });
      await within(10_000, store.transaction(async (tx) => {
        await assert.rejects(store.transaction(async (inner) => {
          await inner.insertResource(lost);
          await inner.insertResource(created); // duplicate ARN: the statement fails
        }));
        await tx.insertResource(kept);
      }));
      assert.equal(await store.getResource(lost.arn), undefined);
      assert.deepEqual(await store.getResource(kept.arn), kept);
    });

    it('joinNested: a transaction begun inside joins without a savepoint; if it throws, the outer one rolls back whole even when it catches the error', async () => {
      const scope = freshScope();
      const first = rec({ scope, group: 'flat-first' });
      const inner = rec({ scope, group: 'flat-inner' });
      await within(10_000, store.transaction(async (tx) => {
        await tx.insertResource(first);
        await store.transaction((nested) => nested.insertResource(inner));
        await tx.putIdempotency(scope, 'CreateChannelGroup', 'flat-tok', { requestHash: 'h', response: 'r', createdMs: T });
      }, { joinNested: true }));
      assert.deepEqual(await store.getResource(inner.arn), inner);
      assert.deepEqual(await store.getResource(first.arn), first);

      const kept = rec({ scope, group: 'flat-kept' });
      const lost = rec({ scope, group: 'flat-lost' });
      const boom = new Error('inner failed');
      await assert.rejects(
        within(10_000, store.transaction(async (tx) => {
          await tx.insertResource(kept);
          await assert.rejects(store.transaction(async (nested) => {
            await nested.insertResource(lost);
            throw boom;
          }));
          return 'caught';
        }, { joinNested: true })),
        (err) => err === boom,
      );
      assert.equal(await store.getResource(kept.arn), undefined, 'the outer transaction rolled back with the failed inner one');
      assert.equal(await store.getResource(lost.arn), undefined);
      // The store goes on working after that.
      await store.transaction((tx) => tx.insertResource(kept), { joinNested: true });
      assert.deepEqual(await store.getResource(kept.arn), kept);
    });

    it('getResources returns the records of the ARNs that exist, and nothing for an empty list', async () => {
      const scope = freshScope();
      const group = rec({ scope, group: 'path' });
      const channel = rec({ scope, kind: 'channel', group: 'path', channel: 'ch' });
      await insertAll(store, [group, channel]);
      const missing = rec({ scope, kind: 'originEndpoint', group: 'path', channel: 'ch', endpoint: 'gone' });
      const got = await store.getResources([group.arn, channel.arn, missing.arn]);
      assert.deepEqual([...got].sort((a, b) => (a.arn < b.arn ? -1 : 1)), [channel, group].sort((a, b) => (a.arn < b.arn ? -1 : 1)));
      assert.deepEqual(await store.getResources([]), []);
    });

    it('many concurrent transactions (sharing commits where the store groups them): each keeps or loses only its own writes and gets its own answer', async () => {
      const scope = freshScope();
      const boom = (i: number) => new Error(`fail ${i}`);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 24 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.insertResource(rec({ scope, group: `g-${i}` }));
            if (i % 3 === 1) throw boom(i);
            if (i % 3 === 2) await tx.insertResource(rec({ scope, group: `g-${i}` })); // its own ARN again: the statement fails
            return i;
          }),
        ),
      );
      for (const [i, o] of outcomes.entries()) {
        if (i % 3 === 0) assert.deepEqual(o, { status: 'fulfilled', value: i });
        else assert.equal(o.status, 'rejected', `transaction ${i}`);
        if (i % 3 === 1) assert.equal(((o as PromiseRejectedResult).reason as Error).message, `fail ${i}`);
        assert.equal((await store.getResource(rec({ scope, group: `g-${i}` }).arn)) !== undefined, i % 3 === 0, `g-${i} kept only if its transaction succeeded`);
      }
    });

    it('isolation: two concurrent transactions that count then insert under a quota of 1 leave exactly one record', async () => {
      const scope = freshScope();
      const meet = barrier(2, 500);
      let attempts = 0;
      const create = (name: string) =>
        store.transaction(async (tx) => {
          attempts += 1;
          const n = await tx.countResources({ kind: 'channelGroup', scope });
          await meet(); // both have counted before either inserts (where the store lets them overlap)
          if (n >= 1) throw new QuotaError(`quota of 1 reached (${n})`);
          await tx.insertResource(rec({ scope, group: name }));
          return name;
        });
      const results = await Promise.allSettled([create('first'), create('second')]);
      const ok = results.filter((r): r is PromiseFulfilledResult<string> => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1, `exactly one insert commits: ${JSON.stringify(results.map((r) => r.status === 'fulfilled' ? r.value : String(r.reason)))}`);
      assert.equal(failed.length, 1);
      assert.ok(failed[0]!.reason instanceof QuotaError, `the loser sees the quota, not a database error: ${String(failed[0]!.reason)}`);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope }), 1);
      assert.deepEqual(names(await store.findResources({ kind: 'channelGroup', scope })), [ok[0]!.value]);
      if (backend.name === 'PostgreSQL') {
        // Both counted 0 and both inserted: SERIALIZABLE aborted one, and the driver retried it.
        assert.ok(attempts >= 3, `the losing transaction ran again after a serialisation failure (attempts: ${attempts})`);
      } else {
        assert.equal(attempts, 2);
      }
    });

    it('exclusive transactions take turns: concurrent count-then-insert creates each run once, with no serialisation failure to retry, and see each other', async () => {
      const scope = freshScope();
      let attempts = 0;
      const seen: number[] = [];
      const create = (i: number) =>
        store.transaction(async (tx) => {
          attempts += 1;
          const n = await tx.countResources({ kind: 'harvestJob', scope, groupName: 'g' });
          await tx.insertResource(rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name: `job-${i}`, status: 'QUEUED' }));
          await tx.putIdempotency(scope, 'CreateHarvestJob', `tok-${i}`, { requestHash: 'h', response: 'r', createdMs: T });
          seen.push(n);
        }, { exclusive: true });
      await within(20_000, Promise.all(Array.from({ length: 12 }, (_, i) => create(i))));
      assert.equal(attempts, 12, 'no transaction ran twice');
      // One at a time: each counted the jobs of all those before it.
      assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
      assert.equal(await store.countResources({ kind: 'harvestJob', scope, groupName: 'g' }), 12);
    });

    it('isolation: five concurrent count-then-insert transactions under a quota of 2 leave exactly two', async () => {
      const scope = freshScope();
      const meet = barrier(5, 500);
      const create = (name: string) =>
        store.transaction(async (tx) => {
          const n = await tx.countResources({ kind: 'channel', scope, groupName: 'g' });
          await meet();
          if (n >= 2) throw new QuotaError('quota of 2 reached');
          await tx.insertResource(rec({ kind: 'channel', scope, group: 'g', channel: name }));
          return name;
        });
      const results = await Promise.allSettled(['c1', 'c2', 'c3', 'c4', 'c5'].map(create));
      const reasons = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2, `outcomes: ${reasons.map(String).join('; ')}`);
      assert.equal(reasons.length, 3);
      for (const r of reasons) assert.ok(r instanceof QuotaError, `loser saw ${String(r)}`);
      assert.equal(await store.countResources({ kind: 'channel', scope, groupName: 'g' }), 2);
    });

    it('isolation: two concurrent check-then-insert transactions for the same ARN: one wins, the other sees it exists', async () => {
      const scope = freshScope();
      const meet = barrier(2, 500);
      const record = rec({ scope, group: 'same-name' });
      class Exists extends Error {}
      const create = (doc: unknown) =>
        store.transaction(async (tx) => {
          const seen = await tx.getResource(record.arn);
          await meet();
          if (seen) throw new Exists('already exists');
          await tx.insertResource({ ...record, doc });
          return doc;
        });
      const results = await Promise.allSettled([create({ by: 1 }), create({ by: 2 })]);
      const ok = results.filter((r): r is PromiseFulfilledResult<unknown> => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(failed.length, 1);
      assert.ok(failed[0]!.reason instanceof Exists, `the loser is retried and sees the winner, not a unique violation: ${String(failed[0]!.reason)}`);
      assert.deepEqual((await store.getResource(record.arn))?.doc, ok[0]!.value);
    });

    it('sweep removes expired records and idempotency tokens at least idempotencyTtlMs old, and nothing else', async () => {
      // Instants far below T, so records of the other tests (all at or after T - 10 s) are never swept here.
      const now = 2_000_000;
      const ttl = 500_000;
      const scope = freshScope();
      const job = (name: string, expiresMs: number | null, status = 'COMPLETED') =>
        rec({ kind: 'harvestJob', scope, group: 'g', channel: 'c', endpoint: 'e', name, status, expiresMs, createdMs: 1_000 });
      const gone = [job('expired-long-ago', 1_000), job('expires-exactly-now', now)];
      const kept = [job('expires-later', now + 1), job('never-expires', null, 'QUEUED'), rec({ scope, group: 'g' })];
      await insertAll(store, [...gone, ...kept]);
      const token = (createdMs: number): IdempotencyRecord => ({ requestHash: `h${createdMs}`, response: 'r', createdMs });
      await store.putIdempotency(scope, 'Op', 'older-than-ttl', token(now - ttl - 1));
      await store.putIdempotency(scope, 'Op', 'exactly-ttl-old', token(now - ttl));
      await store.putIdempotency(scope, 'Op', 'younger', token(now - ttl + 1));
      await store.putIdempotency(scope, 'Op', 'fresh', token(now));

      assert.equal(await store.sweep(now, ttl), 4);
      for (const r of gone) assert.equal(await store.getResource(r.arn), undefined, r.name);
      for (const r of kept) assert.deepEqual(await store.getResource(r.arn), r, r.name);
      assert.equal(await store.getIdempotency(scope, 'Op', 'older-than-ttl'), undefined);
      assert.equal(await store.getIdempotency(scope, 'Op', 'exactly-ttl-old'), undefined);
      assert.deepEqual(await store.getIdempotency(scope, 'Op', 'younger'), token(now - ttl + 1));
      assert.deepEqual(await store.getIdempotency(scope, 'Op', 'fresh'), token(now));
      assert.equal(await store.sweep(now, ttl), 0, 'a second sweep at the same instant finds nothing');
      // A swept token can be stored again.
      assert.equal(await store.putIdempotency(scope, 'Op', 'older-than-ttl', token(now)), true);
    });

    it('migrations are idempotent: the same database opens again (also while open) and keeps its data', async () => {
      const scope = freshScope();
      const r = rec({ scope, group: 'survives-reopen' });
      await store.insertResource(r);

      const second = await backend.open();
      try {
        assert.deepEqual(await second.getResource(r.arn), r, 'a second store on the same database sees the data');
        const r2 = rec({ scope, group: 'written-by-second' });
        await second.insertResource(r2);
        assert.deepEqual(await store.getResource(r2.arn), r2, 'and the first sees what the second wrote');
      } finally {
        await second.close();
      }
      // Close and reopen the main store as well.
      await store.close();
      store = await backend.open();
      assert.deepEqual(await store.getResource(r.arn), r);
      assert.equal(await store.countResources({ kind: 'channelGroup', scope }), 2);
      const expectedIds = MIGRATIONS[backend.dialect].map((m) => m.id);
      assert.ok(expectedIds.length >= 1);
      assert.deepEqual(await backend.migrationIds(), expectedIds, 'each migration is recorded once');
    });

    it('migrations: two stores opening the same fresh database at once both succeed', async () => {
      if (backend.name === 'PostgreSQL') {
        // Two pools racing to migrate one brand-new database: the advisory lock serialises them.
        const db = await createPgDatabase();
        try {
          const [s1, s2] = await Promise.all([SqlMetadataStore.open(new PostgresDriver(db.url)), SqlMetadataStore.open(new PostgresDriver(db.url))]);
          const scope = freshScope();
          await s1.insertResource(rec({ scope, group: 'x' }));
          assert.equal(await s2.countResources({ kind: 'channelGroup', scope }), 1);
          await s1.close();
          await s2.close();
          const ids = await pgAdmin(async () => {
            const c = new pg.Client({ connectionString: db.url });
            await c.connect();
            try {
              return (await c.query('SELECT id FROM schema_migrations ORDER BY id')).rows.map((row: { id: number }) => Number(row.id));
            } finally {
              await c.end();
            }
          });
          assert.deepEqual(ids, MIGRATIONS.postgres.map((m) => m.id));
        } finally {
          await dropPgDatabase(db.name);
        }
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'packhouse-store-fresh-'));
        try {
          const file = join(dir, 'packhouse.db');
          const [s1, s2] = await Promise.all([SqlMetadataStore.open(new SqliteDriver(file)), SqlMetadataStore.open(new SqliteDriver(file))]);
          const scope = freshScope();
          await s1.insertResource(rec({ scope, group: 'x' }));
          assert.equal(await s2.countResources({ kind: 'channelGroup', scope }), 1);
          await s1.close();
          await s2.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });

    it('a fresh database starts empty', async () => {
      const fresh = await backend.openFresh();
      try {
        assert.equal(await fresh.countResources({ kind: 'channelGroup', scope: { accountId: '000000000000', region: 'us-east-1' } }), 0);
        assert.equal(await fresh.sweep(T, 0), 0);
      } finally {
        await fresh.close();
      }
    });
  });
}

contract(sqliteBackend());
contract(postgresBackend());
