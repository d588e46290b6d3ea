// The render thread of long playlists (src/dataplane/origin/playlist-renderer.ts) runs below the
// process's priority on Linux (--render-thread-nice), and writes the same lines as the main thread.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

import { PlaylistRenderer, type LinesSpec } from '../../src/dataplane/origin/playlist-renderer.js';
import type { OutputRun } from '../../src/media/timeline/model.js';

const runs: OutputRun[] = [
  { first: { seq: 1, startMs: 1_800_000_000_000, durationMs: 4000, mediaTime: 0, mediaDuration: 360_000, discontinuity: false, discSeq: 0, initId: 'aa' }, count: 300 },
];
const spec: LinesSpec = { segmentPrefix: 'segment_v_', segmentSuffix: '.mp4', init: { prefix: 'segment_v_init-', suffix: '.mp4' }, programDateTimeIntervalSeconds: 60 };

/** Each thread of this process with its nice value (field 19 of /proc/self/task/<tid>/stat). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

describe('playlist render thread', { skip: process.platform !== 'linux' && 'per-thread nice values are a Linux facility' }, () => {
  test('runs the given nice steps below the process; the serving thread keeps its priority; the lines are the main thread\'s', async () => {
    const base = getPriority();
    const before = new Set(niceByThread().keys());
    const threaded = new PlaylistRenderer(1 << 22, 1, 7);
    const inline = new PlaylistRenderer(1 << 22, 0);
    try {
      const [a, b] = await Promise.all([threaded.playlist('k', runs, spec, '#EXTM3U\n', '#EXT-X-ENDLIST\n'), inline.playlist('k', runs, spec, '#EXTM3U\n', '#EXT-X-ENDLIST\n')]);
      assert.ok(a.equals(b));
      assert.ok(a.includes('segment_v_300.mp4'));
      assert.ok(a.toString().startsWith('#EXTM3U\n#EXT-X-MAP:') && a.toString().endsWith('segment_v_300.mp4\n#EXT-X-ENDLIST\n'));
      // Several asked at once are made one after the other, each whole.
      const windows = [1, 2, 40, 7].map((from) => [{ first: { ...runs[0]!.first, seq: from, startMs: runs[0]!.first.startMs + (from - 1) * 4000 }, count: 301 - from }]);
      const many = await Promise.all(windows.map((w) => threaded.playlist('k', w, spec, 'H\n', 'T\n')));
      const one = await Promise.all(windows.map((w) => inline.playlist('k', w, spec, 'H\n', 'T\n')));
      for (const [i, m] of many.entries()) assert.ok(m.equals(one[i]!), `window ${i}`);
      const now = niceByThread();
      const added = [...now].filter(([tid]) => !before.has(tid)).map(([, n]) => n);
      assert.ok(added.includes(Math.min(19, base + 7)), `the new threads' nice values: ${added.join(', ')}`);
      assert.equal(now.get(process.pid), base, 'the main thread is not lowered');
    } finally {
      await threaded.close();
      await inline.close();
    }
  });

  test('with 0 nice steps every thread keeps the process\'s priority', async () => {
    const base = getPriority();
    const r = new PlaylistRenderer(1 << 22, 1, 0);
    try {
      await r.playlist('k', runs, spec, '', '');
      assert.deepEqual([...new Set(niceByThread().values())], [base]);
    } finally {
      await r.close();
    }
  });
});

test('while the node takes in a stream, a day-long playlist gives its turn back only after a pause of twice what it took', async () => {
  // A day of 2-second segments; the second request lists the same window, so it is only a copy of
  // held bytes and takes far less than the first, which writes every line.
  const day: OutputRun[] = [{ first: { ...runs[0]!.first, durationMs: 2000, mediaDuration: 180_000 }, count: 43_200 }];
  const r = new PlaylistRenderer(1 << 26, 0);
  try {
    r.ingestSeen();
    const t0 = performance.now();
    let t1 = 0;
    const first = r.playlist('k', day, spec, '', '').then((b) => {
      t1 = performance.now();
      return b;
    });
    const second = r.playlist('k', day, spec, '', '');
    const [a, b] = await Promise.all([first, second]);
    const t2 = performance.now();
    assert.ok(a.equals(b));
    // The second starts PAUSE_FACTOR (2) times the first's making after the first is handed over.
    assert.ok(t2 - t1 >= 1.5 * (t1 - t0), `the second came ${(t2 - t1).toFixed(1)} ms after the first, which took ${(t1 - t0).toFixed(1)} ms`);
  } finally {
    await r.close();
  }
});
