/**
 * When a create wakes the harvest runner: a scheduling pass at once for a job already due (its
 * window has ended), none for a job whose window is still ahead (a pass now could not find it;
 * the runner's poll picks it up once it is due).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HarvestRunner, type HarvestRunnerDeps } from '../../src/domain/harvest/harvest-runner.js';
import type { MetadataStore } from '../../src/domain/ports.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const turn = () => new Promise((r) => setImmediate(r));

function runner(): { runner: HarvestRunner; passes: () => number } {
  let passes = 0;
  const store = {
    findUndated: async () => [],
    findDue: async () => {
      passes += 1;
      return [];
    },
  } as unknown as MetadataStore;
  const deps = {
    store,
    clock: { now: () => new Date(NOW) },
    ids: { uuid: () => 'owner', etag: () => 'etag' },
    logger: { info() {}, warn() {}, error() {} },
    settings: { concurrency: 2, leaseMs: 30_000, settleMs: 0, pollMs: 500, retentionMs: 86_400_000, webhooks: [], writeAttempts: 1, writeParallelism: 1 },
  } as unknown as HarvestRunnerDeps;
  return { runner: new HarvestRunner(deps), passes: () => passes };
}

test('a job whose window is still ahead wakes no scheduling pass', async () => {
  const r = runner();
  r.runner.wake(NOW + 60_000);
  r.runner.wake(NOW + 1);
  await turn();
  await turn();
  assert.equal(r.passes(), 0);
});

test('a job already due (or one without a due time) wakes a pass at once', async () => {
  for (const due of [NOW, NOW - 60_000, undefined]) {
    const r = runner();
    r.runner.wake(due);
    await turn();
    await turn();
    assert.equal(r.passes(), 1, `due ${due}`);
  }
});

test('a stopped runner wakes for nothing', async () => {
  const r = runner();
  await r.runner.stop();
  r.runner.wake(NOW - 1);
  await turn();
  await turn();
  assert.equal(r.passes(), 0);
});
