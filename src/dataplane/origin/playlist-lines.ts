/**
 * The segment lines of long media playlists, kept so that a window is written once and then
 * extended or cut rather than rewritten (docs/design/014-manifest-cost.md). A "start over" viewer
 * polls `?start=` (an open window) every target duration: each poll lists what the last did plus
 * the new segments, so only those are written. A closed window of the same start (any `end`) is a
 * prefix of the same lines.
 *
 * An entry is found by what the lines depend on (the endpoint, channel and manifest as of their
 * ETags, the rendition, its grouping) and the first segment listed, and is used only as far as
 * the runs it was written from are the runs listed now: a timeline that changed under it (a gap
 * filled late, a reset) is compared away, never served. Each node keeps its own; a miss writes the
 * lines from the runs as before. Bounded by characters, least recently used first out.
 */
import type { OutputRun } from '../../media/timeline/model.js';
import { MediaSegmentLines, type SegmentLinesOptions } from '../../media/hls/writer.js';

/** Playlists listing fewer segments are written whole (cheap, and a live window's start moves every poll). */
export const MIN_CACHED_SEGMENTS = 256;

interface Entry {
  lines: MediaSegmentLines;
  /** The runs the lines list, in order. */
  runs: OutputRun[];
  /** Characters accounted for the entry. */
  chars: number;
}

const sameStart = (a: OutputRun, b: OutputRun) =>
  a.first.seq === b.first.seq &&
  a.first.startMs === b.first.startMs &&
  a.first.durationMs === b.first.durationMs &&
  a.first.discontinuity === b.first.discontinuity &&
  a.first.initId === b.first.initId &&
  a.first.discSeq === b.first.discSeq;

/** How many segments from the start `runs` and `held` list alike, and whether `held` lists no more than that. */
function common(runs: readonly OutputRun[], held: readonly OutputRun[]): { segments: number; heldIsPrefix: boolean } {
  let segments = 0;
  for (let i = 0; i < held.length; i++) {
    const h = held[i]!;
    const r = runs[i];
    if (!r || !sameStart(r, h)) return { segments, heldIsPrefix: false };
    segments += Math.min(r.count, h.count);
    if (r.count !== h.count) return { segments, heldIsPrefix: r.count > h.count && i === held.length - 1 };
  }
  return { segments, heldIsPrefix: true };
}

/** The runs after the first `skip` segments of `runs` (the first of them possibly cut). */
function after(runs: readonly OutputRun[], skip: number): OutputRun[] {
  const out: OutputRun[] = [];
  let left = skip;
  for (const r of runs) {
    if (left >= r.count) {
      left -= r.count;
      continue;
    }
    if (left > 0) {
      const f = r.first;
      out.push({ first: { ...f, seq: f.seq + left, startMs: f.startMs + left * f.durationMs, mediaTime: f.mediaTime + left * f.mediaDuration, discontinuity: false }, count: r.count - left });
      left = 0;
    } else out.push(r);
  }
  return out;
}

const total = (runs: readonly OutputRun[]) => runs.reduce((n, r) => n + r.count, 0);

export class PlaylistLinesCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  /** Requests answered from an entry: whole (a prefix) or extended, and those written afresh. */
  readonly counts = { prefix: 0, extended: 0, written: 0 };

  constructor(private readonly maxChars: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The segment lines of `runs` under `key` (which must name everything the options depend on).
   * Synchronous: nothing else runs between finding an entry and extending it.
   */
  lines(key: string, runs: readonly OutputRun[], options: SegmentLinesOptions): string {
    const k = `${key}\u0000${runs[0]?.first.seq ?? ''}`;
    const e = this.entries.get(k);
    const wanted = total(runs);
    if (e) {
      const c = common(runs, e.runs);
      if (c.segments === wanted) {
        this.touch(k, e);
        this.counts.prefix++;
        return e.lines.prefix(wanted);
      }
      if (c.heldIsPrefix && c.segments === e.lines.count) {
        e.lines.append(after(runs, c.segments));
        e.runs = runs.slice();
        this.counts.extended++;
        const text = e.lines.text();
        this.account(k, e, text.length);
        return text;
      }
      this.drop(k, e);
    }
    const lines = new MediaSegmentLines(options, true);
    lines.append(runs);
    const text = lines.text();
    this.counts.written++;
    if (text.length <= this.maxChars / 4) {
      const entry: Entry = { lines, runs: runs.slice(), chars: 0 };
      this.entries.set(k, entry);
      this.account(k, entry, text.length);
    }
    return text;
  }

  private touch(k: string, e: Entry): void {
    this.entries.delete(k);
    this.entries.set(k, e);
  }

  /** Charges an entry its text and its segment ends (two characters' worth each), then evicts. */
  private account(k: string, e: Entry, textChars: number): void {
    const chars = textChars + 2 * e.lines.count + k.length;
    this.chars += chars - e.chars;
    e.chars = chars;
    this.touch(k, e);
    for (const [key, old] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.drop(key, old);
    }
  }

  private drop(k: string, e: Entry): void {
    if (this.entries.get(k) === e) this.entries.delete(k);
    this.chars -= e.chars;
  }
}
