// Group commit on SQLite (src/storage/sql/sqlite-driver.ts): transactions that arrive together
// share one COMMIT, each keeps or loses only its own writes, and none is answered before the shared
// COMMIT is on disk (checked from a second connection, which sees only committed data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDriver } from '../../src/storage/sql/sqlite-driver.js';

test('SQLite group commit: concurrent transactions share one commit, fail alone, and are answered only once committed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'packhouse-group-'));
  const file = join(dir, 'packhouse.db');
  const driver = new SqliteDriver(file);
  t.after(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await driver.run('CREATE TABLE items (id TEXT PRIMARY KEY)');
  const other = new Database(file, { readonly: true });
  t.after(() => other.close());
  const committed = (id: string) => other.prepare('SELECT 1 FROM items WHERE id = ?').get(id) !== undefined;
  const context = new AsyncLocalStorage<number>();

  const before = driver.commitStats();
  const answeredWhileOthersUncommitted: string[] = [];
  const all = Array.from({ length: 24 }, (_, i) => i);
  const outcomes = await Promise.allSettled(
    all.map((i) =>
      context.run(i, () =>
        driver
          .transaction(async (ex) => {
            // The callback runs in its caller's async context, whichever transaction began the group.
            assert.equal(context.getStore(), i);
            await ex.run('INSERT INTO items (id) VALUES (?)', [`ok-${i}`]);
            if (i % 3 === 1) throw new Error(`fail ${i}`);
            if (i % 3 === 2) await ex.run('INSERT INTO items (id) VALUES (?)', [`ok-${i}`]); // duplicate key
            return i;
          })
          .finally(() => {
            // Success or failure, the answer comes after the group's commit: every kept write is visible elsewhere.
            for (const j of all) if (j % 3 === 0 && !committed(`ok-${j}`)) answeredWhileOthersUncommitted.push(`${i} before ${j}`);
          }),
      ),
    ),
  );
  assert.deepEqual(answeredWhileOthersUncommitted, []);
  for (const i of all) {
    const o = outcomes[i]!;
    if (i % 3 === 0) assert.deepEqual(o, { status: 'fulfilled', value: i });
    else assert.equal(o.status, 'rejected', `transaction ${i}`);
    if (i % 3 === 1) assert.equal(((o as PromiseRejectedResult).reason as Error).message, `fail ${i}`);
    assert.equal(committed(`ok-${i}`), i % 3 === 0, `ok-${i} kept only if its transaction succeeded`);
  }
  const after = driver.commitStats();
  assert.equal(after.transactions - before.transactions, 24);
  assert.equal(after.commits - before.commits, 1, 'the 24 transactions that arrived together shared one commit');

  // A lone transaction still commits, and statements outside transactions see its write.
  assert.equal(await driver.transaction(async (ex) => ex.run('INSERT INTO items (id) VALUES (?)', ['lone'])), 1);
  assert.equal(committed('lone'), true);
  assert.equal(driver.commitStats().commits - after.commits, 1);
});
