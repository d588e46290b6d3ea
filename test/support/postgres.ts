/**
 * Throwaway PostgreSQL databases for tests: a fresh database per suite on the machine's server,
 * or a failure that says how to start the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE = 'postgres://postgres@127.0.0.1:5432';
const PG_ADMIN_URL = `${PG_BASE}/test`;
export const PG_HINT =
  `PostgreSQL is not reachable at ${PG_ADMIN_URL}. Start it with: ` +
  'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

export async function pgAdmin<R>(fn: (c: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`${PG_HINT} (${(err as Error).message})`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createPgDatabase(): Promise<{ name: string; url: string }> {
  const name = `packhouse_test_${randomBytes(6).toString('hex')}`;
  await pgAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  return { name, url: `${PG_BASE}/${name}` };
}

export async function dropPgDatabase(name: string): Promise<void> {
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
