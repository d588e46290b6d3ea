/**
 * PostgreSQL behind the async SqlDriver port, for several Packhouse nodes sharing one database.
 * Transactions run SERIALIZABLE and are retried on serialisation failures, so quota and
 * uniqueness checks hold across nodes. Migrations run under an advisory lock.
 *
 * Every outbound call is bounded by `timeoutMs`: getting a connection from the pool (or opening
 * one), each statement on the server (statement_timeout) and, as a backstop for a server that no
 * longer answers at all, on the client (query_timeout). A call past its bound fails with a
 * DependencyError, and its connection is discarded rather than returned to the pool.
 */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver.js';
import { MIGRATIONS } from './migrations.js';
import { DependencyError } from '../../domain/errors.js';

type Params = readonly unknown[];
const RETRYABLE = new Set(['40001', '40P01']);
const MIGRATION_LOCK = 7_204_911;
/**
 * Taken by exclusive transactions (creates with a ClientToken, which all write a token). It
 * conflicts with itself and with the sweep's deletes of old tokens, never with readers.
 */
const EXCLUSIVE_LOCK = 'LOCK TABLE idempotency_tokens IN SHARE ROW EXCLUSIVE MODE';

/** Rewrites `?` placeholders to `$1..$n` (the statements here never hold a literal `?`). */
export function toPostgres(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export const DEFAULT_DATABASE_TIMEOUT_MS = 10_000;

/** Whether pg failed because a bound ran out (statement_timeout, query_timeout, connect or pool wait). */
function isTimeout(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '57014' || /Query read timeout|timeout exceeded when trying to connect|connection timeout/i.test(e.message ?? '');
}

/** The statement's verb and first table, for a log line ("SELECT … FROM segments"). */
function describe(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  const table = /\b(?:FROM|INTO|UPDATE)\s+(\w+)/i.exec(sql)?.[1];
  return table ? `${verb} ${table}` : verb;
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly ex: SqlExecutor;
  private readonly timeoutMs: number;

  constructor(connectionString: string, options: { timeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS;
    const t = this.timeoutMs;
    this.pool = new pg.Pool({
      connectionString,
      max: 10,
      connectionTimeoutMillis: t,
      statement_timeout: t,
      // The client gives up a little after the server would have, when the server is gone.
      query_timeout: t + 1000,
      // A transaction left open by a node that vanished mid-way frees its locks.
      idle_in_transaction_session_timeout: Math.max(30_000, 3 * t),
    });
    // An idle connection the server dropped: pg reports it here; the pool replaces it.
    this.pool.on('error', () => undefined);
    this.ex = this.executor(this.pool);
  }

  /** A timeout as a DependencyError naming the database and the statement; other errors unchanged. */
  private wrap(err: unknown, operation: string): unknown {
    return isTimeout(err) ? new DependencyError('the database', operation, this.timeoutMs) : err;
  }

  private executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
    const query = async (sql: string, params: Params) => {
      try {
        return await client.query(toPostgres(sql), [...params]);
      } catch (err) {
        throw this.wrap(err, describe(sql));
      }
    };
    return {
      all: async (sql: string, params: Params = []) => (await query(sql, params)).rows as Row[],
      run: async (sql: string, params: Params = []) => (await query(sql, params)).rowCount ?? 0,
    };
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.wrap(err, 'connect');
    }
  }

  all(sql: string, params?: Params): Promise<Row[]> {
    return this.ex.all(sql, params);
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.ex.run(sql, params);
  }

  async transaction<R>(fn: (ex: SqlExecutor) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect();
      const ex = this.executor(client);
      let broken: Error | undefined;
      try {
        // Exclusive: the lock is taken in the same round trip as BEGIN and before the transaction's
        // snapshot (LOCK needs none), so a create waits for the one before it to commit and then
        // sees its rows, instead of running beside it and failing serialisation.
        await ex.run(options.exclusive ? `BEGIN ISOLATION LEVEL SERIALIZABLE; ${EXCLUSIVE_LOCK}` : 'BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await fn(ex);
        await ex.run('COMMIT');
        return result;
      } catch (err) {
        // A connection that timed out may still be busy: it is discarded, not rolled back and reused.
        if (err instanceof DependencyError) broken = err;
        else await client.query('ROLLBACK').catch(() => undefined);
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 10) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
          continue;
        }
        throw err;
      } finally {
        client.release(broken);
      }
    }
  }

  async migrate(): Promise<void> {
    const client = await this.connect();
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
