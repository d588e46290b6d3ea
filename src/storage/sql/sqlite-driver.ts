/**
 * SQLite behind the async SqlDriver port (better-sqlite3, WAL, synchronous=FULL so an
 * acknowledged write survives kill -9 and power loss). One connection; statements and
 * transactions are serialised through a queue so an async transaction never interleaves.
 *
 * Group commit (docs/design/015-group-commit.md): transactions that arrive together share one
 * BEGIN IMMEDIATE ... COMMIT, so one fsync makes all of them durable. Each runs one after another
 * inside its own savepoint, so one that throws (or whose statement fails) rolls back alone and the
 * others go on. None is answered, success or failure, before the shared COMMIT has returned:
 * an acknowledged write is on disk, and no answer rests on another's write that might not be.
 */
import { AsyncResource } from 'node:async_hooks';
import Database from 'better-sqlite3';
import type { Migration, Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver.js';
import { MIGRATIONS } from './migrations.js';

type Params = readonly unknown[];

/** Most transactions one commit carries, so the first of a long queue is not kept waiting. */
const MAX_GROUP = 64;

interface Pending {
  readonly fn: (ex: SqlExecutor) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly err: unknown };

/** Commits and transactions so far: how well writes share commits (read by tests and benchmarks). */
export interface CommitStats {
  readonly transactions: number;
  readonly commits: number;
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Transactions waiting for the next group. */
  private pending: Pending[] = [];
  /** A group is queued (or running) that will take what is pending. */
  private groupQueued = false;
  private stats = { transactions: 0, commits: 0 };

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
  }

  private prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private readonly direct: SqlExecutor = {
    all: async (sql: string, params: Params = []) => this.prepare(sql).all(...params) as Row[],
    run: async (sql: string, params: Params = []) => this.prepare(sql).run(...params).changes,
  };

  /** Runs fn after everything queued before it has finished. */
  private serialise<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: Params): Promise<Row[]> {
    return this.serialise(() => this.direct.all(sql, params));
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.serialise(() => this.direct.run(sql, params));
  }

  /**
   * Queues fn for the next group. Its callback runs in the caller's async context (so
   * AsyncLocalStorage sees the caller), whichever transaction started the group.
   */
  /** Every transaction here is exclusive (one connection, one writer), so options change nothing. */
  transaction<R>(fn: (ex: SqlExecutor) => Promise<R>, _options?: TransactionOptions): Promise<R> {
    // As AsyncResource.bind(fn), without the deprecated property accessors bind() defines on every
    // bound function (about 20 µs per call on Node 20, once per transaction).
    const caller = new AsyncResource('PackhouseSqliteTransaction');
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ fn: (ex) => caller.runInAsyncScope(fn, undefined, ex), resolve: resolve as (v: unknown) => void, reject });
      this.scheduleGroup();
    });
  }

  commitStats(): CommitStats {
    return { ...this.stats };
  }

  /**
   * Takes the connection for a group after the current turn of the event loop, so that the
   * requests whose bytes arrived together (often while the previous group's fsync blocked) share it.
   */
  private scheduleGroup(): void {
    if (this.groupQueued) return;
    this.groupQueued = true;
    setImmediate(() => {
      void this.serialise(() => this.runGroups());
    });
  }

  private async runGroups(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const group = this.pending.splice(0, MAX_GROUP);
        let outcomes: Outcome[];
        try {
          outcomes = await this.runGroup(group);
        } catch (err) {
          // The connection itself failed (a savepoint could not be taken): nothing of the group stays.
          if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
          outcomes = group.map(() => ({ ok: false, err }));
        }
        group.forEach((p, i) => {
          const o = outcomes[i]!;
          if (o.ok) p.resolve(o.value);
          else p.reject(o.err);
        });
      }
    } finally {
      this.groupQueued = false;
      // A transaction queued by the last answers' callbacks while this group was ending.
      if (this.pending.length > 0) this.scheduleGroup();
    }
  }

  /** Undoes the current member's writes alone; false when that failed and the whole transaction was rolled back. */
  private rollbackSavepoint(): boolean {
    try {
      this.db.exec('ROLLBACK TO packhouse_group');
      this.db.exec('RELEASE packhouse_group');
      return true;
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return false;
    }
  }

  /** One BEGIN ... COMMIT around every transaction of the group, each in its own savepoint. */
  private async runGroup(group: readonly Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      return group.map(() => ({ ok: false, err }));
    }
    /** Indexes of the transactions whose writes are in the open transaction, waiting for COMMIT. */
    let committing: number[] = [];
    for (const [i, p] of group.entries()) {
      this.stats.transactions += 1;
      if (!this.db.inTransaction) {
        // An error SQLite answers by rolling back the whole transaction ended the last one.
        try {
          this.db.exec('BEGIN IMMEDIATE');
        } catch (err) {
          outcomes[i] = { ok: false, err };
          continue;
        }
      }
      this.db.exec('SAVEPOINT packhouse_group');
      try {
        const value = await p.fn(this.direct);
        this.db.exec('RELEASE packhouse_group');
        outcomes[i] = { ok: true, value };
        committing.push(i);
      } catch (err) {
        outcomes[i] = { ok: false, err };
        if (this.db.inTransaction && this.rollbackSavepoint()) continue;
        // The whole transaction is gone (e.g. disk full, I/O error), with the writes of those
        // before this one: they fail with the same error, as their own commit would have.
        for (const j of committing) outcomes[j] = { ok: false, err };
        committing = [];
      }
    }
    if (this.db.inTransaction) {
      try {
        this.db.exec('COMMIT');
        this.stats.commits += 1;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        for (const j of committing) outcomes[j] = { ok: false, err };
      }
    }
    return outcomes;
  }

  async migrate(): Promise<void> {
    await this.serialise(async () => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
      const done = new Set((this.db.prepare('SELECT id FROM schema_migrations').all() as { id: number }[]).map((r) => r.id));
      const apply = this.db.transaction((m: Migration) => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (id, name, applied_ms) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
      });
      for (const m of MIGRATIONS.sqlite) if (!done.has(m.id)) apply(m);
    });
  }

  async close(): Promise<void> {
    await this.serialise(async () => this.db.close());
  }
}
