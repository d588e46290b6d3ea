// The origin's query grammar (dataplane/origin/query.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childQueryString, parseOriginQuery } from '../../src/dataplane/origin/query.js';
import { DataplaneError } from '../../src/dataplane/channel-locator.js';

const parse = (q: string) => parseOriginQuery(new URLSearchParams(q));
function refused(q: string, reason: RegExp): void {
  assert.throws(() => parse(q), (err: unknown) => err instanceof DataplaneError && err.status === 400 && reason.test(err.message), q);
}

test('time-shift values: epoch seconds or ISO 8601 with a zone; settings win over plain parameters and both are checked', () => {
  const q = parse('start=1764324000&end=2025-11-28T11:00:00%2B01:00&time_delay=10&manifest_window_seconds=30');
  assert.equal(q.start, 1764324000_000);
  assert.equal(q.end, Date.parse('2025-11-28T10:00:00Z'));
  assert.equal(q.timeDelaySeconds, 10);
  assert.equal(q.manifestWindowSeconds, 30);
  assert.equal(parse('aws.manifestsettings=time_delay:5&time_delay=7').timeDelaySeconds, 5);
  refused('aws.manifestsettings=time_delay:5&time_delay=x', /^time_delay="x"/);
  refused('start=0050-01-01', /not a time/);
  refused('start=10000000000000', /not a time/);
  refused('end=%2B2026-01-01T00:00:00Z', /not a time/);
  refused('manifest_window_seconds=0', /from 1 to/);
  refused('manifest_window_seconds=99999999', /from 1 to/);
  refused('_HLS_msn=1&_HLS_msn=2', /_HLS_msn must appear once/);
  refused('_HLS_part=1', /_HLS_msn must appear once/);
  assert.deepEqual(parse('_HLS_msn=5&_HLS_part=0').blocking, { msn: 5, part: 0 });
  assert.equal(parse('_HLS_skip=YES').blocking, undefined);
  refused('_HLS_skip=YES&_HLS_skip=v2', /_HLS_skip is given 2 times/);
});

test('child playlists carry the validated time-shift parameters, sorted, encoded as asked', () => {
  const q = parse('start=2026-11-28T10:00:00%2B01:00&end=1764324000&aws.manifestsettings=time_delay:0&aws.manifestfilter=video_height:1-720&utm=1');
  assert.equal(childQueryString(q, false), '?aws.manifestsettings=time_delay:0&end=1764324000&start=2026-11-28T10:00:00%2B01:00');
  assert.equal(childQueryString(q, true), '?aws.manifestsettings=time_delay%3A0&end=1764324000&start=2026-11-28T10%3A00%3A00%2B01%3A00');
  assert.equal(childQueryString(parse('utm=1'), false), '');
});
