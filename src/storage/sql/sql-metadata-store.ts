/**
 * The MetadataStore port over any SqlDriver: every statement the control plane runs is here,
 * written once in SQL both SQLite and PostgreSQL accept.
 *
 * Transactions nest: one begun while another is open in the same async flow joins it as a
 * savepoint, and the store's own reads and writes in that flow go through the open transaction.
 * So the API pipeline can wrap a service's transaction and store the idempotency token in the same
 * commit as the resource (docs/design/001-metadata-store.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IdempotencyRecord, ListPage, MetadataOps, MetadataStore, OutboxEvent, ResourceFilter, ResourceRecord, Scope, TransactionOptions } from '../../domain/ports.js';
import type { Row, SqlDriver, SqlExecutor } from './driver.js';

const COLUMNS = 'arn, kind, account_id, region, group_name, channel_name, endpoint_name, name, status, created_ms, expires_ms, due_ms, doc';

function toRecord<D>(row: Row): ResourceRecord<D> {
  return {
    arn: row['arn'] as string,
    kind: row['kind'] as ResourceRecord['kind'],
    accountId: row['account_id'] as string,
    region: row['region'] as string,
    groupName: row['group_name'] as string,
    channelName: (row['channel_name'] as string | null) ?? null,
    endpointName: (row['endpoint_name'] as string | null) ?? null,
    name: row['name'] as string,
    status: (row['status'] as string | null) ?? null,
    createdMs: Number(row['created_ms']),
    expiresMs: row['expires_ms'] === null || row['expires_ms'] === undefined ? null : Number(row['expires_ms']),
    dueMs: row['due_ms'] === null || row['due_ms'] === undefined ? null : Number(row['due_ms']),
    doc: JSON.parse(row['doc'] as string) as D,
  };
}

/** One placeholder per value, for `IN (…)`. */
const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ');

function values(r: ResourceRecord): unknown[] {
  return [r.arn, r.kind, r.accountId, r.region, r.groupName, r.channelName, r.endpointName, r.name, r.status, r.createdMs, r.expiresMs, r.dueMs ?? null, JSON.stringify(r.doc)];
}

function where(f: ResourceFilter): { sql: string; params: unknown[] } {
  const clauses = ['account_id = ?', 'region = ?', 'kind = ?'];
  const params: unknown[] = [f.scope.accountId, f.scope.region, f.kind];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    clauses.push(`${col} = ?`);
    params.push(v);
  };
  eq('group_name', f.groupName);
  eq('channel_name', f.channelName);
  eq('endpoint_name', f.endpointName);
  eq('name', f.name);
  if (f.statuses) {
    // An empty list matches nothing (and `IN ()` is not valid SQL everywhere).
    clauses.push(f.statuses.length ? `status IN (${marks(f.statuses)})` : '1 = 0');
    params.push(...f.statuses);
  }
  if (f.liveAtMs !== undefined) {
    clauses.push('(expires_ms IS NULL OR expires_ms > ?)');
    params.push(f.liveAtMs);
  }
  return { sql: clauses.join(' AND '), params };
}

class SqlOps implements MetadataOps {
  constructor(private readonly ex: SqlExecutor) {}

  async getResource<D>(arn: string): Promise<ResourceRecord<D> | undefined> {
    const rows = await this.ex.all(`SELECT ${COLUMNS} FROM resources WHERE arn = ?`, [arn]);
    return rows[0] ? toRecord<D>(rows[0]) : undefined;
  }

  async getResources<D>(arns: readonly string[]): Promise<ResourceRecord<D>[]> {
    if (arns.length === 0) return [];
    const rows = await this.ex.all(`SELECT ${COLUMNS} FROM resources WHERE arn IN (${arns.map(() => '?').join(', ')})`, [...arns]);
    return rows.map((r) => toRecord<D>(r));
  }

  async findResources<D>(filter: ResourceFilter, page?: ListPage): Promise<ResourceRecord<D>[]> {
    const w = where(filter);
    let sql = `SELECT ${COLUMNS} FROM resources WHERE ${w.sql}`;
    const params = [...w.params];
    const order = page?.order ?? 'name';
    if (page?.after) {
      if (order === 'name') {
        sql += ' AND name > ?';
        params.push(page.after.name);
      } else {
        sql += ' AND (created_ms < ? OR (created_ms = ? AND name > ?))';
        params.push(page.after.createdMs, page.after.createdMs, page.after.name);
      }
    }
    sql += order === 'name' ? ' ORDER BY name ASC' : ' ORDER BY created_ms DESC, name ASC';
    if (page) {
      sql += ' LIMIT ?';
      params.push(page.limit);
    }
    return (await this.ex.all(sql, params)).map((r) => toRecord<D>(r));
  }

  async countResources(filter: ResourceFilter): Promise<number> {
    const w = where(filter);
    const rows = await this.ex.all(`SELECT COUNT(*) AS n FROM resources WHERE ${w.sql}`, w.params);
    return Number(rows[0]?.['n'] ?? 0);
  }

  async locateGroups<D>(groupName: string): Promise<ResourceRecord<D>[]> {
    const rows = await this.ex.all(`SELECT ${COLUMNS} FROM resources WHERE group_name = ? AND kind = 'channelGroup' ORDER BY created_ms, arn`, [groupName]);
    return rows.map((r) => toRecord<D>(r));
  }

  async findByStatus<D>(kind: ResourceRecord['kind'], statuses: readonly string[], limit: number, order: 'oldest' | 'newest' = 'oldest'): Promise<ResourceRecord<D>[]> {
    if (statuses.length === 0) return [];
    const rows = await this.ex.all(
      `SELECT ${COLUMNS} FROM resources WHERE kind = ? AND status IN (${marks(statuses)}) ORDER BY ${order === 'oldest' ? 'created_ms, arn' : 'created_ms DESC, arn DESC'} LIMIT ?`,
      [kind, ...statuses, limit],
    );
    return rows.map((r) => toRecord<D>(r));
  }

  async findDue<D>(
    kind: ResourceRecord['kind'],
    statuses: readonly string[],
    nowMs: number,
    limit: number,
    after?: { readonly dueMs: number; readonly arn: string },
  ): Promise<ResourceRecord<D>[]> {
    if (statuses.length === 0) return [];
    // A page after `after`: later due, or as due with a later ARN.
    const page = after ? ' AND (due_ms > ? OR (due_ms = ? AND arn > ?))' : '';
    const rows = await this.ex.all(`SELECT ${COLUMNS} FROM resources WHERE kind = ? AND due_ms <= ?${page} AND status IN (${marks(statuses)}) ORDER BY due_ms, arn LIMIT ?`, [
      kind,
      nowMs,
      ...(after ? [after.dueMs, after.dueMs, after.arn] : []),
      ...statuses,
      limit,
    ]);
    return rows.map((r) => toRecord<D>(r));
  }

  async findUndated<D>(kind: ResourceRecord['kind'], statuses: readonly string[], limit: number): Promise<ResourceRecord<D>[]> {
    if (statuses.length === 0) return [];
    const rows = await this.ex.all(
      `SELECT ${COLUMNS} FROM resources WHERE kind = ? AND due_ms IS NULL AND status IN (${marks(statuses)}) ORDER BY arn LIMIT ?`,
      [kind, ...statuses, limit],
    );
    return rows.map((r) => toRecord<D>(r));
  }

  async enqueueEvents(events: readonly OutboxEvent[]): Promise<void> {
    for (const e of events) {
      await this.ex.run('INSERT INTO event_outbox (id, target, payload, attempts, next_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [e.id, e.target, e.payload, e.attempts, e.nextMs]);
    }
  }

  async insertResource(record: ResourceRecord): Promise<void> {
    await this.ex.run(`INSERT INTO resources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, values(record));
  }

  async updateResource(record: ResourceRecord): Promise<void> {
    const [arn, ...rest] = values(record);
    await this.ex.run(
      'UPDATE resources SET kind = ?, account_id = ?, region = ?, group_name = ?, channel_name = ?, endpoint_name = ?, name = ?, status = ?, created_ms = ?, expires_ms = ?, due_ms = ?, doc = ? WHERE arn = ?',
      [...rest, arn],
    );
  }

  /**
   * Deletes a resource and, in the same transaction, the content keys of origin endpoints at or
   * under its ARN (an endpoint's own; a channel's or group's, should any be left): keys outlive
   * nothing they were fetched for, and an endpoint created again under the same name asks its
   * provider afresh.
   */
  async deleteResource(arn: string): Promise<boolean> {
    const under = `${arn}/`;
    await this.ex.run('DELETE FROM content_keys WHERE endpoint_arn = ? OR substr(endpoint_arn, 1, ?) = ?', [arn, under.length, under]);
    return (await this.ex.run('DELETE FROM resources WHERE arn = ?', [arn])) > 0;
  }

  async getIdempotency(scope: Scope, operation: string, token: string): Promise<IdempotencyRecord | undefined> {
    const rows = await this.ex.all(
      'SELECT request_hash, response, created_ms FROM idempotency_tokens WHERE account_id = ? AND region = ? AND operation = ? AND token = ?',
      [scope.accountId, scope.region, operation, token],
    );
    const row = rows[0];
    return row ? { requestHash: row['request_hash'] as string, response: row['response'] as string, createdMs: Number(row['created_ms']) } : undefined;
  }

  async putIdempotency(scope: Scope, operation: string, token: string, record: IdempotencyRecord): Promise<boolean> {
    const changed = await this.ex.run(
      'INSERT INTO idempotency_tokens (account_id, region, operation, token, request_hash, response, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [scope.accountId, scope.region, operation, token, record.requestHash, record.response, record.createdMs],
    );
    return changed > 0;
  }
}

/** The transaction open in this async flow; `open` turns false at its end (work it started may outlive it). */
interface OpenTransaction {
  readonly ex: SqlExecutor;
  open: boolean;
  savepoints: number;
  /** Nested transactions join without a savepoint (the `joinNested` option). */
  readonly flat: boolean;
  /** In a flat transaction: the error a nested one threw, which forbids the commit. */
  failed?: { readonly err: unknown };
}

/** Statements go to the transaction open in the caller's async flow, else straight to the driver. */
function routed(driver: SqlDriver, current: AsyncLocalStorage<OpenTransaction>): SqlExecutor {
  const target = (): SqlExecutor => {
    const tx = current.getStore();
    return tx?.open ? tx.ex : driver;
  };
  return {
    all: (sql, params) => target().all(sql, params),
    run: (sql, params) => target().run(sql, params),
  };
}

export class SqlMetadataStore extends SqlOps implements MetadataStore {
  private readonly current: AsyncLocalStorage<OpenTransaction>;

  constructor(
    private readonly driver: SqlDriver,
    current = new AsyncLocalStorage<OpenTransaction>(),
  ) {
    super(routed(driver, current));
    this.current = current;
  }

  static async open(driver: SqlDriver): Promise<SqlMetadataStore> {
    await driver.migrate();
    return new SqlMetadataStore(driver);
  }

  transaction<R>(fn: (tx: MetadataOps) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
    const outer = this.current.getStore();
    if (outer?.open) return outer.flat ? this.join(outer, fn) : this.savepoint(outer, fn);
    return this.driver.transaction(async (ex) => {
      // A fresh context per attempt (PostgreSQL retries fn on serialisation failures).
      const tx: OpenTransaction = { ex, open: true, savepoints: 0, flat: options.joinNested === true };
      try {
        const result = await this.current.run(tx, () => fn(new SqlOps(ex)));
        // A nested transaction failed without a savepoint to undo it alone: nothing of this one may commit.
        if (tx.failed) throw tx.failed.err;
        return result;
      } finally {
        tx.open = false;
      }
    }, { exclusive: options.exclusive === true });
  }

  /** A transaction inside a flat one: its statements are the outer one's; if fn throws, the outer one cannot commit. */
  private async join<R>(outer: OpenTransaction, fn: (tx: MetadataOps) => Promise<R>): Promise<R> {
    try {
      return await fn(new SqlOps(outer.ex));
    } catch (err) {
      outer.failed ??= { err };
      throw err;
    }
  }

  /** A transaction inside another: its writes commit with the outer one, or roll back alone when fn throws. */
  private async savepoint<R>(outer: OpenTransaction, fn: (tx: MetadataOps) => Promise<R>): Promise<R> {
    const name = `packhouse_sp${++outer.savepoints}`;
    await outer.ex.run(`SAVEPOINT ${name}`);
    let result: R;
    try {
      result = await fn(new SqlOps(outer.ex));
    } catch (err) {
      // On PostgreSQL a failed statement aborts the transaction until this rollback.
      await outer.ex.run(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      await outer.ex.run(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
      throw err;
    }
    await outer.ex.run(`RELEASE SAVEPOINT ${name}`);
    return result;
  }

  async sweep(nowMs: number, idempotencyTtlMs: number): Promise<number> {
    const jobs = await this.driver.run('DELETE FROM resources WHERE expires_ms IS NOT NULL AND expires_ms <= ?', [nowMs]);
    const tokens = await this.driver.run('DELETE FROM idempotency_tokens WHERE created_ms <= ?', [nowMs - idempotencyTtlMs]);
    return jobs + tokens;
  }

  async getContentKeys(id: string): Promise<string | undefined> {
    const rows = await this.driver.all('SELECT doc FROM content_keys WHERE id = ?', [id]);
    return rows[0] ? (rows[0]['doc'] as string) : undefined;
  }

  async putContentKeys(id: string, endpointArn: string, doc: string, nowMs: number): Promise<string> {
    await this.driver.run('INSERT INTO content_keys (id, endpoint_arn, doc, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [id, endpointArn, doc, nowMs]);
    return (await this.getContentKeys(id)) ?? doc;
  }

  async dueEvents(nowMs: number, limit: number): Promise<OutboxEvent[]> {
    const rows = await this.driver.all('SELECT id, target, payload, attempts, next_ms FROM event_outbox WHERE delivered_ms IS NULL AND next_ms <= ? ORDER BY next_ms LIMIT ?', [nowMs, limit]);
    return rows.map((r) => ({ id: r['id'] as string, target: r['target'] as string, payload: r['payload'] as string, attempts: Number(r['attempts']), nextMs: Number(r['next_ms']) }));
  }

  async markEventDelivered(id: string, target: string, nowMs: number): Promise<void> {
    await this.driver.run('UPDATE event_outbox SET delivered_ms = ?, attempts = attempts + 1 WHERE id = ? AND target = ?', [nowMs, id, target]);
  }

  async markEventFailed(id: string, target: string, attempts: number, nextMs: number, error: string): Promise<void> {
    await this.driver.run('UPDATE event_outbox SET attempts = ?, next_ms = ?, last_error = ? WHERE id = ? AND target = ?', [attempts, nextMs, error.slice(0, 500), id, target]);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
