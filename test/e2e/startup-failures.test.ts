/**
 * A start that cannot succeed ends with one line on stderr saying what is wrong and what to do,
 * and a non-zero exit (no stack trace): a port in use (API or built-in S3), a data directory that
 * cannot be created, a PostgreSQL database that is missing or unreachable. `packhouse jobs` does not
 * create a database in a folder that does not exist.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { BIN, ROOT, startExpectingFailure, tempDir } from '../support/server.js';
import { PG_BASE } from '../support/postgres.js';

function assertOneLine(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code 1; stderr: ${r.stderr}`);
  assert.ok(r.stderr.startsWith('packhouse: '), r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

describe('start-up failures are one line and a non-zero exit', () => {
  let busy: Server;
  let busyPort: number;
  let dir: string;
  before(async () => {
    dir = tempDir('packhouse-startup-');
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => busy.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the API port is in use', async () => {
    const r = await startExpectingFailure(['--port', String(busyPort), '--s3-port', '0', '--data-dir', join(dir, 'api')]);
    assertOneLine(r, new RegExp(`127\\.0\\.0\\.1:${busyPort}.*already in use.*--port \\(PACKHOUSE_PORT\\)`));
  });

  test('the built-in S3 port is in use', async () => {
    const r = await startExpectingFailure(['--port', '0', '--s3-port', String(busyPort), '--data-dir', join(dir, 's3')]);
    assertOneLine(r, new RegExp(`built-in S3 endpoint cannot listen on 127\\.0\\.0\\.1:${busyPort}.*already in use.*--s3-port \\(PACKHOUSE_S3_PORT\\)`));
  });

  test('the data directory cannot be created (a file is in the way)', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = await startExpectingFailure(['--port', '0', '--s3-port', '0', '--data-dir', join(file, 'data')]);
    assertOneLine(r, /--data-dir .*a-file\/data: cannot create or open the data directory \(a file is in the way of the folder\).*--data-dir \(PACKHOUSE_DATA_DIR\)/);
  });

  test('the PostgreSQL database does not exist', async () => {
    const r = await startExpectingFailure(['--port', '0', '--s3-port', '0', '--data-dir', join(dir, 'pg1'), '--database-url', `${PG_BASE}/packhouse_no_such_database`]);
    assertOneLine(r, /PostgreSQL has no database "packhouse_no_such_database" on 127\.0\.0\.1:5432.*Create it.*--database-url/);
  });

  test('PostgreSQL cannot be reached', async () => {
    // The busy port accepts TCP but speaks no PostgreSQL; a closed port refuses: use one just closed.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const r = await startExpectingFailure(['--port', '0', '--s3-port', '0', '--data-dir', join(dir, 'pg2'), '--database-url', `postgres://postgres@127.0.0.1:${port}/packhouse`]);
    assertOneLine(r, new RegExp(`PostgreSQL cannot be reached for database "packhouse" on 127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*--database-url`));
  });

  test('packhouse jobs --data-dir <missing folder> says so and creates nothing', () => {
    const missing = join(dir, 'no-such-folder');
    const run = spawnSync(process.execPath, [BIN, 'jobs', '--data-dir', missing], { cwd: ROOT, encoding: 'utf8' });
    assertOneLine({ code: run.status, stderr: run.stderr }, /--data-dir .*no-such-folder does not exist/);
    assert.equal(existsSync(missing), false, 'no folder (and no empty database) was created');
  });
});
