/**
 * The render thread of playlist-renderer.ts: keeps a segment lines cache and answers each request
 * (key, runs, spec, and the playlist's head and tail) with the playlist as UTF-8 bytes, in order.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { OutputRun } from '../../media/timeline/model.js';
import { PlaylistLinesCache } from './playlist-lines.js';
import { linesOptions, type LinesSpec } from './playlist-renderer.js';

const data = workerData as { cacheChars: number; nice: number };

// On Linux a thread has its own nice value, and setpriority(PRIO_PROCESS, 0) sets the calling
// thread's only; elsewhere it would lower the whole process, so the thread is left as it is.
if (data.nice > 0 && process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + data.nice));
  } catch {
    // Not allowed here (a sandbox): the thread keeps the process's priority.
  }
}

const cache = new PlaylistLinesCache(data.cacheChars);

parentPort!.on('message', (m: { id: number; key: string; runs: OutputRun[]; spec: LinesSpec; head: string; tail: string } | { stats: true }) => {
  if ('stats' in m) {
    parentPort!.postMessage({ stats: { ...cache.counts } });
    return;
  }
  let bytes = cache.bytes(m.key, m.runs, linesOptions(m.spec), m.head, m.tail);
  // Handed over rather than copied: bytes of their own (never a slice of Buffer's shared pool).
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = new Uint8Array(bytes);
  parentPort!.postMessage({ id: m.id, bytes }, [bytes.buffer as ArrayBuffer]);
});
