/**
 * The segment lines of long media playlists, kept so that windows of any start and end are cut
 * from one text rather than rewritten (docs/design/014-manifest-cost.md). A segment's lines depend
 * on that segment and the one before it only (the writer's date tags are placed by the interval's
 * multiples, not counted from the window's start), except for the first segment listed, which
 * always carries its init segment and date and never a discontinuity tag. So the lines of a window
 * are the lines of its first segment, written for it, followed by a slice of one text that lists
 * the rendition's timeline: "start over" viewers who each ask for their own `?start=`, closed
 * windows of any end, and an open window polled as the stream goes on (the new segments are
 * appended to the text) all share it.
 *
 * An entry is found by what the lines depend on (the endpoint, channel and manifest as of their
 * ETags and resets, the rendition, its grouping and options) and is used only as far as the runs
 * it was written from are the runs listed now, segment by segment: a timeline changed under it (a
 * gap filled late, a reset) is compared away, never served. A window starting before the entry's
 * first segment is written up to there and the entry's text follows it. Each node and render
 * thread keeps its own; a miss writes the lines from the runs as before. The text is held as
 * bytes (the lines are ASCII, one byte a character), so a window is two copies into the bytes
 * sent. Bounded by bytes, least recently used first out.
 */
import { runsCount as total, type OutputRun } from '../../media/timeline/model.js';
import { MediaSegmentLines, type SegmentLinesOptions } from '../../media/hls/writer.js';

/** Playlists listing fewer segments are written whole (cheap, and a live window's start moves every poll). */
export const MIN_CACHED_SEGMENTS = 256;

interface Entry {
  /** Writes what follows the last segment listed: its state (date, init segment) is that segment's. */
  readonly writer: MediaSegmentLines;
  /** The segments listed, as runs, in order (not necessarily maximal runs). */
  runs: OutputRun[];
  /** How many segments the runs list. */
  count: number;
  /** The lines as bytes; the first `length` are used. The first segment's own lines are never served. */
  bytes: Buffer;
  length: number;
  /** Where each listed segment's lines end in `bytes`. */
  ends: number[];
  /** Bytes accounted for the entry. */
  chars: number;
}

/** Where segment k of `runs` is: the run's index and the offset in it; the run index is runs.length past the end. */
function locate(runs: readonly OutputRun[], k: number): { ri: number; off: number } {
  let ri = 0;
  while (ri < runs.length && k >= runs[ri]!.count) k -= runs[ri++]!.count;
  return { ri, off: k };
}

/** The index of the segment of sequence number `seq` in `runs`, or -1. */
function indexOfSeq(runs: readonly OutputRun[], seq: number): number {
  let k = 0;
  for (const r of runs) {
    if (seq >= r.first.seq && seq < r.first.seq + r.count) return k + seq - r.first.seq;
    k += r.count;
  }
  return -1;
}

/**
 * How many segments `a` (from its segment `fromA`) and `b` (from `fromB`) list alike: the same
 * sequence number, start, duration, init segment, discontinuity sequence and discontinuity flag (of
 * the first compared segment too unless `anyFirstDiscontinuity`: a window's first segment never
 * carries the tag). Compared a stretch at a time: inside both runs, segments follow by formula.
 */
function matching(a: readonly OutputRun[], fromA: number, b: readonly OutputRun[], fromB: number, anyFirstDiscontinuity: boolean): number {
  const x = locate(a, fromA);
  const y = locate(b, fromB);
  let n = 0;
  while (x.ri < a.length && y.ri < b.length) {
    const ra = a[x.ri]!;
    const rb = b[y.ri]!;
    const fa = ra.first;
    const fb = rb.first;
    if (fa.seq + x.off !== fb.seq + y.off) break;
    if (fa.startMs + x.off * fa.durationMs !== fb.startMs + y.off * fb.durationMs) break;
    if (fa.durationMs !== fb.durationMs || fa.initId !== fb.initId || fa.discSeq !== fb.discSeq) break;
    if (!(n === 0 && anyFirstDiscontinuity) && (x.off === 0 && fa.discontinuity) !== (y.off === 0 && fb.discontinuity)) break;
    const step = Math.min(ra.count - x.off, rb.count - y.off);
    n += step;
    x.off += step;
    y.off += step;
    if (x.off === ra.count) {
      x.ri++;
      x.off = 0;
    }
    if (y.off === rb.count) {
      y.ri++;
      y.off = 0;
    }
  }
  return n;
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

/** The first k segments of `runs`. */
export function upTo(runs: readonly OutputRun[], k: number): OutputRun[] {
  const out: OutputRun[] = [];
  for (const r of runs) {
    if (k <= 0) break;
    out.push(r.count <= k ? r : { first: r.first, count: k });
    k -= Math.min(k, r.count);
  }
  return out;
}

/** Whether a string is ASCII: its UTF-8 is then one byte a character. */
const ascii = (s: string) => Buffer.byteLength(s) === s.length;

export class PlaylistLinesCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  /**
   * Requests answered from an entry (shared: nothing written but the window's first segment;
   * extended: the segments the entry did not hold written before or after it), and those written
   * afresh.
   */
  readonly counts = { shared: 0, extended: 0, written: 0 };

  constructor(private readonly maxChars: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The segment lines of `runs` under `key` (which must name everything the options depend on) as
   * UTF-8, after `head` and before `tail` (the playlist's other lines: the whole playlist is then
   * one copy), in bytes of their own (they can be handed to another thread). Synchronous: nothing
   * else runs between finding an entry and extending it.
   */
  bytes(key: string, runs: readonly OutputRun[], options: SegmentLinesOptions, head = '', tail = ''): Uint8Array {
    const wanted = total(runs);
    if (wanted === 0) return Buffer.from(head + tail);
    const e = this.entries.get(key);
    if (e) {
      let j = indexOfSeq(e.runs, runs[0]!.first.seq);
      let grew = false;
      if (j < 0 && this.prepend(e, runs, options)) {
        j = 0;
        grew = true;
      }
      if (j >= 0) {
        const n = matching(runs, 0, e.runs, j, true);
        if (n < wanted && j + n === e.count) {
          this.extend(e, after(runs, n));
          grew = true;
        } else if (n < wanted) j = -1;
      } else if (this.disjoint(e, runs) && e.count > wanted) {
        // A window apart from what is held (nothing listed in common): written for itself, and the
        // longer text kept.
        this.counts.written++;
        const writer = new MediaSegmentLines(options);
        writer.append(runs);
        return Buffer.from(head + writer.drain() + tail);
      }
      if (j >= 0) {
        if (grew) {
          this.counts.extended++;
          // An entry holding far more than its share (a channel running on while an open window
          // is polled) lets go of the segments before this window.
          if (e.chars > this.maxChars / 4 && j > 0) {
            this.trimFront(e, j);
            j = 0;
          }
          this.account(key, e);
        } else {
          this.counts.shared++;
          this.touch(key, e);
        }
        return this.window(e, runs, j, wanted, options, head, tail);
      }
      this.drop(key, e);
    }
    const writer = new MediaSegmentLines(options, true);
    writer.append(runs);
    const text = writer.drain();
    this.counts.written++;
    const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
    bytes.write(text);
    if (bytes.length !== text.length || text.length > this.maxChars / 4) return Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]);
    const ends = writer.ends!.slice();
    writer.ends!.length = 0;
    const entry: Entry = { writer, runs: runs.slice(), count: wanted, bytes, length: bytes.length, ends, chars: 0 };
    this.entries.set(key, entry);
    this.account(key, entry);
    // The entry keeps its bytes; the answer gets a copy.
    return this.around(head, bytes.subarray(0, bytes.length), tail);
  }

  /** Whether the window lists none of the entry's segments (by sequence number). */
  private disjoint(e: Entry, runs: readonly OutputRun[]): boolean {
    const last = runs[runs.length - 1]!;
    const held = e.runs[e.runs.length - 1]!;
    return last.first.seq + last.count <= e.runs[0]!.first.seq || runs[0]!.first.seq >= held.first.seq + held.count;
  }

  /** The window's lines: its first segment's, written for it, then the entry's from the next segment on. */
  private window(e: Entry, runs: readonly OutputRun[], j: number, count: number, options: SegmentLinesOptions, head: string, tail: string): Uint8Array {
    const first = new MediaSegmentLines(options);
    first.append([{ first: runs[0]!.first, count: 1 }]);
    return this.around(head + first.drain(), e.bytes.subarray(e.ends[j], e.ends[j + count - 1]), tail);
  }

  /** `before`, `middle` and `after` in one array of bytes of its own. */
  private around(before: string, middle: Uint8Array, after: string): Uint8Array {
    const a = Buffer.byteLength(before);
    const c = Buffer.byteLength(after);
    const out = Buffer.allocUnsafeSlow(a + middle.length + c);
    out.write(before, 0);
    out.set(middle, a);
    out.write(after, a + middle.length);
    return out;
  }

  /**
   * A window starting before the entry's first segment and listing it, alike from there on as far
   * as both go: its segments up to that one are written and put before the entry's lines. False
   * (the entry unchanged) otherwise.
   */
  private prepend(e: Entry, runs: readonly OutputRun[], options: SegmentLinesOptions): boolean {
    const p = indexOfSeq(runs, e.runs[0]!.first.seq);
    if (p <= 0) return false;
    const alike = matching(runs, p, e.runs, 0, false);
    if (alike !== Math.min(total(runs) - p, e.count)) return false;
    // The window's segments up to and including the entry's first (written as a continuation).
    const w = new MediaSegmentLines(options, true);
    w.append(upTo(runs, p + 1));
    const text = w.drain();
    if (!ascii(text)) return false;
    const cut = e.ends[0]!;
    const length = text.length + e.length - cut;
    const bytes = Buffer.allocUnsafeSlow(length + (length >> 3));
    bytes.write(text, 0, 'latin1');
    e.bytes.copy(bytes, text.length, cut, e.length);
    const ends = w.ends!;
    for (let i = 1; i < e.ends.length; i++) ends.push(e.ends[i]! - cut + text.length);
    e.bytes = bytes;
    e.length = length;
    e.ends = ends;
    e.runs = [...upTo(runs, p), ...e.runs];
    e.count += p;
    return true;
  }

  /** Lists `more` after the entry's last segment. */
  private extend(e: Entry, more: readonly OutputRun[]): void {
    const w = e.writer;
    const base = w.length;
    w.append(more);
    const text = w.drain();
    if (!ascii(text)) throw new Error('playlist lines are not ASCII');
    if (e.length + text.length > e.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(e.length + text.length + ((e.length + text.length) >> 2));
      e.bytes.copy(grown, 0, 0, e.length);
      e.bytes = grown;
    }
    e.bytes.write(text, e.length, 'latin1');
    for (const end of w.ends!) e.ends.push(end - base + e.length);
    w.ends!.length = 0;
    e.length += text.length;
    e.runs.push(...more);
    e.count += total(more);
  }

  /** Lets go of the entry's first j segments. */
  private trimFront(e: Entry, j: number): void {
    const cut = e.ends[j - 1]!;
    const length = e.length - cut;
    const bytes = Buffer.allocUnsafeSlow(length + (length >> 3));
    e.bytes.copy(bytes, 0, cut, e.length);
    e.bytes = bytes;
    e.length = length;
    e.ends = e.ends.slice(j).map((x) => x - cut);
    e.runs = after(e.runs, j);
    e.count -= j;
  }

  private touch(k: string, e: Entry): void {
    this.entries.delete(k);
    this.entries.set(k, e);
  }

  /** Charges an entry its bytes and its segment ends (eight bytes each), then evicts. */
  private account(k: string, e: Entry): void {
    const chars = e.bytes.length + 8 * e.ends.length + 64 * e.runs.length + k.length;
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
