/**
 * PostgreSQL behind the async SqlDriver port, for several Packhouse nodes sharing one database.
 * Transactions run SERIALIZABLE and are retried on serialisation failures, so quota and
 * uniqueness checks hold across nodes. Migrations run under an advisory lock.
 */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor } from './driver.js';
import { MIGRATIONS } from './migrations.js';

type Params = readonly unknown[];
const RETRYABLE = new Set(['40001', '40P01']);
const MIGRATION_LOCK = 7_204_911;

/** Rewrites `?` placeholders to `$1..$n` (the statements here never hold a literal `?`). */
export function toPostgres(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    all: async (sql: string, params: Params = []) => (await client.query(toPostgres(sql), [...params])).rows as Row[],
    run: async (sql: string, params: Params = []) => (await client.query(toPostgres(sql), [...params])).rowCount ?? 0,
  };
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly ex: SqlExecutor;

  constructor(connectionString: string) {
    this.pool = new pg.Pool({ connectionString, max: 10 });
    this.ex = executor(this.pool);
  }

  all(sql: string, params?: Params): Promise<Row[]> {
    return this.ex.all(sql, params);
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.ex.run(sql, params);
  }

  async transaction<R>(fn: (ex: SqlExecutor) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 10) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
          continue;
        }
        throw err;
      } finally {
        client.release();
      }
    }
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)');
      const done = new Set((await client.query('SELECT id FROM schema_migrations')).rows.map((r: { id: number }) => r.id));
      for (const m of MIGRATIONS.postgres) {
        if (done.has(m.id)) continue;
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id, name, applied_ms) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
        await client.query('COMMIT');
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
