/**
 * The smallest SQL surface the repositories need, so one set of statements serves SQLite and
 * PostgreSQL. Statements use `?` placeholders; a driver rewrites them for its dialect.
 */

export type Row = Record<string, unknown>;

export interface SqlExecutor {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface TransactionOptions {
  readonly exclusive?: boolean;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs fn in one serialisable transaction; retried by the driver when the database asks for it.
   * `exclusive`: it also runs one at a time with every other exclusive transaction, on every node
   * (creates, which check names and quotas and would otherwise abort each other under
   * serialisable isolation); SQLite's transactions already are.
   */
  transaction<R>(fn: (ex: SqlExecutor) => Promise<R>, options?: TransactionOptions): Promise<R>;
  /** Applies the dialect's numbered migrations that have not run yet. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}
