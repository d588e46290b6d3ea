/**
 * The pure parts of harvest readiness: when an input counts as stalled, how close to the edge of
 * the startover window a waiting job runs anyway, and how `packhouse jobs` words what a job waits for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renditionAlive, stallAfterMs, startoverMarginMs } from '../../src/domain/harvest/readiness.js';
import { waitingText } from '../../src/jobs-command.js';

test('an input is stalled after three target durations without a segment, never sooner than 6 s', () => {
  assert.equal(stallAfterMs({ durationMs: 2000 }), 6000);
  assert.equal(stallAfterMs({ durationMs: 1000 }), 6000);
  assert.equal(stallAfterMs({ durationMs: 6006 }), 21_000, 'target duration is the segment duration rounded up');
  assert.equal(renditionAlive({ updatedMs: 10_000 }, { durationMs: 2000 }, 16_000), true);
  assert.equal(renditionAlive({ updatedMs: 10_000 }, { durationMs: 2000 }, 16_001), false);
});

test('a waiting job runs a tenth of the startover window (2 to 30 s) before its start would leave it', () => {
  assert.equal(startoverMarginMs(60_000), 6_000);
  assert.equal(startoverMarginMs(10_000), 2_000);
  assert.equal(startoverMarginMs(3_600_000), 30_000);
});

test('packhouse jobs says what a QUEUED job waits for', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(waitingText({ due: false, waitingFor: 'end-time', untilMs: now + 4500 }, now), 'waiting for its end time (2026-01-01T00:00:04.500Z, in 5 s)');
  assert.equal(
    waitingText({ due: false, waitingFor: 'late-content', arrivedUpToMs: now - 3000 }, now),
    'waiting for late content: the input is live but has not reached the end time yet; content has arrived up to 2025-12-31T23:59:57.000Z',
  );
  assert.equal(waitingText({ due: false, waitingFor: 'settle', untilMs: now + 10_000 }, now), 'waiting for late content: the input stopped; runs with what there is in 10 s');
  assert.equal(waitingText({ due: true, rule: 'whole' }, now), 'due: starts at the next scheduling pass');
});
