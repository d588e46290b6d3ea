/**
 * The render thread of playlist-renderer.ts: keeps a segment lines cache and answers each request
 * (key, runs, spec) with the lines' text as UTF-8 bytes, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { OutputRun } from '../../media/timeline/model.js';
import { PlaylistLinesCache } from './playlist-lines.js';
import { linesOptions, type LinesSpec } from './playlist-renderer.js';

const cache = new PlaylistLinesCache((workerData as { cacheChars: number }).cacheChars);

parentPort!.on('message', (m: { id: number; key: string; runs: OutputRun[]; spec: LinesSpec } | { stats: true }) => {
  if ('stats' in m) {
    parentPort!.postMessage({ stats: { ...cache.counts } });
    return;
  }
  const text = cache.lines(m.key, m.runs, linesOptions(m.spec));
  // Bytes of their own (not a slice of Buffer's shared pool), handed over rather than copied.
  const bytes = new Uint8Array(Buffer.byteLength(text));
  Buffer.from(bytes.buffer).write(text);
  parentPort!.postMessage({ id: m.id, bytes }, [bytes.buffer]);
});
