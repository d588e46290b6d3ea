/**
 * SQLite behind the async SqlDriver port (better-sqlite3, WAL, synchronous=FULL so an
 * acknowledged write survives kill -9 and power loss). One connection; statements and
 * transactions are serialised through a queue so an async transaction never interleaves.
 */
import Database from 'better-sqlite3';
import type { Migration, Row, SqlDriver, SqlExecutor } from './driver.js';
import { MIGRATIONS } from './migrations.js';

type Params = readonly unknown[];

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Promise<unknown> = Promise.resolve();

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

  transaction<R>(fn: (ex: SqlExecutor) => Promise<R>): Promise<R> {
    return this.serialise(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
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
