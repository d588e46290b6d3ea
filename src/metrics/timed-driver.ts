/** A SqlDriver that reports the time of every statement and transaction to the metrics. */
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from '../storage/sql/driver.js';
import type { PackhouseMetrics } from './metrics.js';

export class TimedDriver implements SqlDriver {
  readonly dialect: SqlDriver['dialect'];

  constructor(
    private readonly inner: SqlDriver,
    private readonly metrics: PackhouseMetrics,
  ) {
    this.dialect = inner.dialect;
  }

  all(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.metrics.database('statement', () => this.inner.all(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.metrics.database('statement', () => this.inner.run(sql, params));
  }

  transaction<R>(fn: (ex: SqlExecutor) => Promise<R>, options?: TransactionOptions): Promise<R> {
    return this.metrics.database('transaction', () => this.inner.transaction(fn, options));
  }

  migrate(): Promise<void> {
    return this.inner.migrate();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
