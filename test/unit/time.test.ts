// Calendar dates to instants for every four-digit year (media/time.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_INSTANT_MS, MIN_INSTANT_MS, parseIsoDateTime, utcMs } from '../../src/media/time.js';

test('utcMs names the year it is given, 0000 to 9999, and refuses impossible fields', () => {
  for (const y of [0, 1, 50, 99, 100, 1899, 1900, 1970, 2026, 9999]) {
    assert.equal(new Date(utcMs(y, 3, 1)!).getUTCFullYear(), y, `year ${y}`);
  }
  assert.equal(utcMs(0, 1, 1), MIN_INSTANT_MS);
  assert.equal(utcMs(9999, 12, 31, 23, 59, 59, 999), MAX_INSTANT_MS);
  assert.equal(new Date(MIN_INSTANT_MS).toISOString(), '0000-01-01T00:00:00.000Z');
  assert.equal(new Date(MAX_INSTANT_MS).toISOString(), '9999-12-31T23:59:59.999Z');
  assert.equal(utcMs(2024, 2, 29), Date.parse('2024-02-29T00:00:00Z'));
  assert.equal(utcMs(0, 2, 29), Date.parse('0000-02-29T00:00:00Z'));
  for (const bad of [[1900, 2, 29], [2023, 2, 29], [2024, 4, 31], [2024, 13, 1], [2024, 0, 1], [2024, 1, 0], [10000, 1, 1], [-1, 1, 1]] as const) {
    assert.equal(utcMs(bad[0], bad[1], bad[2]), undefined, bad.join('-'));
  }
  assert.equal(utcMs(2024, 1, 1, 24), undefined);
  assert.equal(utcMs(2024, 1, 1, 0, 60), undefined);
});

test('parseIsoDateTime reads zones and fractions, needs a zone unless told otherwise, and keeps years 0000-0099', () => {
  assert.equal(parseIsoDateTime('2026-11-28T10:00:00Z'), Date.parse('2026-11-28T10:00:00Z'));
  assert.equal(parseIsoDateTime('2026-11-28T11:00:00.250+01:00'), Date.parse('2026-11-28T10:00:00.250Z'));
  assert.equal(parseIsoDateTime('2026-11-28T05:00:00-0500'), Date.parse('2026-11-28T10:00:00Z'));
  assert.equal(parseIsoDateTime('2026-11-28T10:00Z'), Date.parse('2026-11-28T10:00:00Z'));
  assert.equal(parseIsoDateTime('0050-01-01T00:00:00Z'), Date.parse('0050-01-01T00:00:00Z'));
  assert.equal(parseIsoDateTime('2026-11-28T10:00:00'), undefined);
  assert.equal(parseIsoDateTime('2026-11-28T10:00:00', { zoneOptional: true }), Date.parse('2026-11-28T10:00:00Z'));
  for (const bad of ['yesterday', '2026-11-28', '2026-02-30T00:00:00Z', '2026-11-28T10:00:00+24:00', '26-11-28T10:00:00Z', '2026-11-28T10:00:00Z\nX', '1/2/50', ' x 5']) {
    assert.equal(parseIsoDateTime(bad), undefined, JSON.stringify(bad));
  }
});
