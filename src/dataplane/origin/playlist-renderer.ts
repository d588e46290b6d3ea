/**
 * Writes the segment lines of long media playlists away from the event loop that serves requests
 * and takes in ingest (docs/design/014-manifest-cost.md). A 24-hour playlist is 43,200 segments,
 * 1.8 MB of text: written on the main thread, a few viewers asking for such windows back to back
 * keep it busy, and an encoder's uploads and the live playlists wait behind them. With a render
 * thread the main thread only passes the runs (a few objects) and takes back the text.
 *
 * Each thread keeps a segment lines cache (playlist-lines.ts), and a key always goes to the same
 * thread, so a window of a rendition already written is cut from its text there. Without a thread (`--render-threads 0`) the same cache and
 * writer run on the main thread. A thread that fails is replaced, and the requests it held are
 * written on the main thread; the answer is the same text either way.
 *
 * On Linux the threads run `nice` steps below the process (`--render-thread-nice`, 10 by
 * default): on a machine whose cores are all busy, the kernel gives the serving thread (ingest,
 * live playlists, segments) the cores first, and a long time-shifted playlist waits instead.
 */
import { Worker } from 'node:worker_threads';
import { runsCount, type OutputRun } from '../../media/timeline/model.js';
import type { SegmentLinesOptions } from '../../media/hls/writer.js';
import { PlaylistLinesCache } from './playlist-lines.js';

/** What the segment lines depend on besides the runs, as plain data (it crosses to the thread). */
export interface LinesSpec {
  /** Segment URIs are `${prefix}${seq}${suffix}`. */
  readonly segmentPrefix: string;
  readonly segmentSuffix: string;
  /** fMP4: init segment URIs are `${prefix}${initId ?? '0'}${suffix}`; TS: none. */
  readonly init?: { readonly prefix: string; readonly suffix: string } | undefined;
  readonly programDateTimeIntervalSeconds?: number | undefined;
}

export function linesOptions(spec: LinesSpec): SegmentLinesOptions {
  const { segmentPrefix: prefix, segmentSuffix: suffix, init } = spec;
  return {
    segmentUri: (s) => `${prefix}${s.seq}${suffix}`,
    segmentUriAffixes: { prefix, suffix },
    initUri: init ? (s) => `${init.prefix}${s.initId ?? '0'}${init.suffix}` : undefined,
    programDateTimeIntervalSeconds: spec.programDateTimeIntervalSeconds,
  };
}

/** Segments of the long playlists made at once (about 360 KB): a day's playlist goes alone. */
export const TURN_SEGMENTS = 8192;

/**
 * While the node takes in a stream: after a playlist of TURN_SEGMENTS or more is handed to its
 * socket, its room is given back after this many times what it took (a shorter one's: in
 * proportion to its segments). A day's playlists then keep to about a third of the serving
 * thread's time whatever the machine: the render thread runs below the serving thread's priority,
 * so when the cores are short a playlist takes longer, and the pause with it.
 */
export const PAUSE_FACTOR = 2;

/** How long after an ingest request long playlists keep to their share (an encoder sends every segment duration). */
export const INGEST_RECENT_MS = 5000;

export type LinesCounts = PlaylistLinesCache['counts'];

interface Pending {
  readonly resolve: (text: Buffer) => void;
  readonly fallback: () => void;
}

export class PlaylistRenderer {
  private readonly local: PlaylistLinesCache;
  private readonly workers: (Worker | undefined)[];
  private readonly pending = new Map<number, Pending & { readonly thread: number }>();
  private nextId = 1;
  private closed = false;
  /** Threads that failed; past a few, lines are written on the main thread only. */
  private failures = 0;
  private readonly statsWaiters: ((c: LinesCounts) => void)[] = [];
  /** Playlists waiting for their turn (see playlist()), and the segments of those being made. */
  private readonly queue: { readonly segments: number; readonly run: () => Promise<void> }[] = [];
  private making = 0;
  /** When this node last received an ingest request (performance.now()). */
  private ingestMs = -Infinity;

  constructor(
    private readonly cacheChars: number,
    private readonly threads: number,
    private readonly nice = 0,
  ) {
    this.local = new PlaylistLinesCache(cacheChars);
    this.workers = Array.from({ length: threads }, () => undefined);
  }

  /** Whether lines are written on a render thread. */
  get threaded(): boolean {
    return this.threads > 0 && this.failures < 3 && !this.closed;
  }

  /**
   * A long media playlist: `head`, the segment lines of `runs` (see PlaylistLinesCache.bytes) and
   * `tail`, as UTF-8; `key` names everything `spec` and the lines depend on. A thread assembles
   * them and hands the bytes over without a copy.
   *
   * Made a few at a time: while playlists of TURN_SEGMENTS segments in all are being made, the
   * next waits until one is done and the event loop has taken in what arrived meanwhile (and,
   * while the node takes in a stream, a pause: PAUSE_FACTOR). A window of a day is now a slice of
   * held text, so eight viewers asking back to back would otherwise put eight 1.8 MB answers into
   * every turn of the loop and keep both cores busy with sending and taking them, and an
   * encoder's upload, which takes a dozen turns, would wait behind all of them
   * (docs/design/014-manifest-cost.md).
   */
  playlist(key: string, runs: readonly OutputRun[], spec: LinesSpec, head: string, tail: string): Promise<Buffer> {
    const segments = runsCount(runs);
    return new Promise<Buffer>((resolve) => {
      this.queue.push({ segments, run: () => this.render(key, runs, spec, head, tail).then(resolve) });
      this.next();
    });
  }

  /** An ingest request arrived: long playlists keep to their share for a while (see PAUSE_FACTOR). */
  ingestSeen(): void {
    this.ingestMs = performance.now();
  }

  /** Starts the playlists queued while there is room; each one done makes room on the next turn. */
  private next(): void {
    for (;;) {
      const job = this.queue[0];
      if (!job || (this.making > 0 && this.making + job.segments > TURN_SEGMENTS)) return;
      this.queue.shift();
      this.making += job.segments;
      const started = performance.now();
      void job.run().finally(() =>
        setImmediate(() => {
          // By now the answer is with the socket. While the node takes in a stream, its room is
          // given back after PAUSE_FACTOR times what it took (less for a shorter playlist), so
          // long playlists keep to a share of the time.
          setTimeout(
            () => {
              this.making -= job.segments;
              this.next();
            },
            performance.now() - this.ingestMs < INGEST_RECENT_MS ? PAUSE_FACTOR * Math.min(1, job.segments / TURN_SEGMENTS) * (performance.now() - started) : 0,
          );
        }),
      );
    }
  }

  private render(key: string, runs: readonly OutputRun[], spec: LinesSpec, head: string, tail: string): Promise<Buffer> {
    const inline = () => {
      const b = this.local.bytes(key, runs, linesOptions(spec), head, tail);
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    };
    if (!this.threaded) return Promise.resolve(inline());
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
    const thread = h % this.threads;
    const w = this.thread(thread);
    const id = this.nextId++;
    return new Promise<Buffer>((resolve) => {
      this.pending.set(id, { resolve, fallback: () => resolve(inline()), thread });
      w.postMessage({ id, key, runs, spec, head, tail });
    });
  }

  /** The caches' counts, summed over the main thread's and the render threads'. */
  async counts(): Promise<LinesCounts> {
    const sum = { ...this.local.counts };
    for (const w of this.workers) {
      if (!w) continue;
      const c = await new Promise<LinesCounts>((resolve) => {
        this.statsWaiters.push(resolve);
        w.postMessage({ stats: true });
      });
      sum.shared += c.shared;
      sum.extended += c.extended;
      sum.written += c.written;
    }
    return sum;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers.splice(0);
    this.failPending();
    await Promise.all(ws.flatMap((w) => (w ? [w.terminate()] : [])));
  }

  private thread(i: number): Worker {
    const have = this.workers[i];
    if (have) return have;
    // Each thread gets its share of the memory.
    const w = new Worker(new URL('./playlist-thread.js', import.meta.url), { workerData: { cacheChars: this.cacheChars / this.threads, nice: this.nice } });
    // The thread never keeps the process alive.
    w.unref();
    w.on('message', (m: { id?: number; bytes?: Uint8Array; stats?: LinesCounts }) => {
      if (m.stats) {
        this.statsWaiters.shift()?.(m.stats);
        return;
      }
      const p = this.pending.get(m.id!);
      if (!p) return;
      this.pending.delete(m.id!);
      const b = m.bytes!;
      p.resolve(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    });
    const lost = () => {
      if (this.workers[i] !== w) return;
      this.workers[i] = undefined;
      if (!this.closed) this.failures++;
      this.failPending(i);
    };
    w.on('error', lost);
    w.on('exit', lost);
    this.workers[i] = w;
    return w;
  }

  /** Requests a lost thread (or, without `thread`, any thread) held are written here instead. */
  private failPending(thread?: number): void {
    for (const [id, p] of [...this.pending]) {
      if (thread !== undefined && p.thread !== thread) continue;
      this.pending.delete(id);
      p.fallback();
    }
    for (const s of this.statsWaiters.splice(0)) s({ shared: 0, extended: 0, written: 0 });
  }
}
