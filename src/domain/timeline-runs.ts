/**
 * A rendition's timeline as runs: input segments that follow each other exactly (consecutive
 * seq, each starting where the one before ends, equal wall-clock and media durations, contiguous
 * media time, one init segment, one discontinuity sequence, no discontinuity after the first) are
 * one run, so a day of regular 2-second segments is one record rather than 43,200. The origin
 * groups a window of runs into output segments (output-groups.ts, same rules) without building one
 * object per segment, and the writers list a run of output segments at the cost of its text
 * (docs/design/014-manifest-cost.md). Pure.
 */
import type { OutputRun, OutputSegment } from '../media/timeline/model.js';
import { initIdOf } from '../media/output-naming.js';
import { MAX_SEGMENT_MS } from './timeline-limits.js';
import { firstSeqOf, groupEndMs, groupIndexOf, groupOf, groupSegment, groupSize, type SegmentTiming } from './output-groups.js';

/** What a manifest needs of an input segment, plus which repackagings of it exist. */
export interface TimedSegment extends SegmentTiming {
  readonly hasCmaf: boolean;
  readonly hasTs: boolean;
}

/** Input segments seq … seq+count−1; segment i starts at startMs + i·durationMs at media time mediaTime + i·mediaDuration. */
export interface SegmentRun {
  readonly seq: number;
  readonly count: number;
  readonly startMs: number;
  readonly durationMs: number;
  readonly mediaTime: number;
  readonly mediaDuration: number;
  /** Whether the first segment of the run is a discontinuity (the others never are). */
  readonly discontinuity: boolean;
  readonly discSeq: number;
  readonly initKey: string | undefined;
  readonly hasCmaf: boolean;
  readonly hasTs: boolean;
}

/** Whether segment s continues run r exactly. */
export function continuesRun(r: SegmentRun, s: TimedSegment): boolean {
  const c = r.count;
  return (
    s.seq === r.seq + c &&
    !s.discontinuity &&
    s.durationMs === r.durationMs &&
    s.mediaDuration === r.mediaDuration &&
    s.startMs === r.startMs + c * r.durationMs &&
    s.mediaTime === r.mediaTime + c * r.mediaDuration &&
    (s.discSeq ?? 0) === r.discSeq &&
    s.initKey === r.initKey &&
    s.hasCmaf === r.hasCmaf &&
    s.hasTs === r.hasTs
  );
}

/** Appends segments (ascending seq, after the last run) to runs, in place. */
export function appendToRuns(runs: SegmentRun[], segs: readonly TimedSegment[]): void {
  for (const s of segs) {
    const last = runs[runs.length - 1];
    if (last && continuesRun(last, s)) runs[runs.length - 1] = { ...last, count: last.count + 1 };
    else
      runs.push({
        seq: s.seq,
        count: 1,
        startMs: s.startMs,
        durationMs: s.durationMs,
        mediaTime: s.mediaTime,
        mediaDuration: s.mediaDuration,
        discontinuity: s.discontinuity,
        discSeq: s.discSeq ?? 0,
        initKey: s.initKey,
        hasCmaf: s.hasCmaf,
        hasTs: s.hasTs,
      });
  }
}

/** Segment i of run r. */
export function segmentOfRun(r: SegmentRun, i: number): TimedSegment {
  return {
    seq: r.seq + i,
    startMs: r.startMs + i * r.durationMs,
    durationMs: r.durationMs,
    mediaTime: r.mediaTime + i * r.mediaDuration,
    mediaDuration: r.mediaDuration,
    discontinuity: i === 0 && r.discontinuity,
    discSeq: r.discSeq,
    initKey: r.initKey,
    hasCmaf: r.hasCmaf,
    hasTs: r.hasTs,
  };
}

/** Drops the segments with seq below fromSeq, in place (a new array when anything goes). */
export function runsFromSeq(runs: readonly SegmentRun[], fromSeq: number): SegmentRun[] {
  let i = 0;
  while (i < runs.length && runs[i]!.seq + runs[i]!.count <= fromSeq) i++;
  const out = runs.slice(i);
  const head = out[0];
  if (head && head.seq < fromSeq) {
    const skip = fromSeq - head.seq;
    out[0] = { ...segmentRunAt(head, skip), count: head.count - skip };
  }
  return out;
}

/** Run r from its segment i on (one segment long; callers set count). */
function segmentRunAt(r: SegmentRun, i: number): SegmentRun {
  return { ...r, seq: r.seq + i, startMs: r.startMs + i * r.durationMs, mediaTime: r.mediaTime + i * r.mediaDuration, discontinuity: i === 0 && r.discontinuity, count: 1 };
}

/** The segments of runs, one object each (tests, and irregular stretches). */
export function expandRuns(runs: readonly SegmentRun[]): TimedSegment[] {
  const out: TimedSegment[] = [];
  for (const r of runs) for (let i = 0; i < r.count; i++) out.push(segmentOfRun(r, i));
  return out;
}

/** Slices of runs: segments i0 … i1 (inclusive) of run r. */
interface Slice {
  readonly r: SegmentRun;
  readonly i0: number;
  readonly i1: number;
}

/** Smallest integer i ≥ 0 with base + i·step > x (step > 0). */
const firstAbove = (base: number, step: number, x: number) => Math.max(0, Math.floor((x - base) / step) + 1);
/** Smallest integer i ≥ 0 with base + i·step ≥ x. */
const firstAtLeast = (base: number, step: number, x: number) => Math.max(0, Math.ceil((x - base) / step));
/** Largest integer i with base + i·step < x (may be negative). */
const lastBelow = (base: number, step: number, x: number) => Math.ceil((x - base) / step) - 1;

/**
 * The slice of run r whose segments overlap [fromMs, toMs) the way TimelineStore.findSegments
 * selects them (start before toMs, after fromMs − MAX_SEGMENT_MS, ending after fromMs) and start
 * at or after notBeforeMs; undefined when none does.
 */
function windowSlice(r: SegmentRun, fromMs: number, toMs: number, notBeforeMs: number): Slice | undefined {
  const d = r.durationMs;
  if (d <= 0) {
    // Degenerate durations: every segment starts at the same instant.
    const s = r.startMs;
    const ok = s < toMs && s > fromMs - MAX_SEGMENT_MS && s + d > fromMs && s >= notBeforeMs;
    return ok ? { r, i0: 0, i1: r.count - 1 } : undefined;
  }
  const i0 = Math.max(firstAbove(r.startMs, d, fromMs - MAX_SEGMENT_MS), firstAbove(r.startMs + d, d, fromMs), firstAtLeast(r.startMs, d, notBeforeMs));
  const i1 = Math.min(r.count - 1, lastBelow(r.startMs, d, toMs));
  return i0 <= i1 ? { r, i0, i1 } : undefined;
}

/** Segments with seq in [fromSeq, toSeq] starting at or after notBeforeMs, as slices in seq order. */
function seqSlices(runs: readonly SegmentRun[], fromSeq: number, toSeq: number, notBeforeMs: number): Slice[] {
  const out: Slice[] = [];
  if (fromSeq > toSeq) return out;
  // Runs are in seq order: binary search for the first run ending at or after fromSeq.
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (r.seq + r.count - 1 < fromSeq) lo = mid + 1;
    else hi = mid;
  }
  for (let j = lo; j < runs.length; j++) {
    const r = runs[j]!;
    if (r.seq > toSeq) break;
    let i0 = Math.max(0, fromSeq - r.seq);
    const i1 = Math.min(r.count - 1, toSeq - r.seq);
    if (r.durationMs > 0) i0 = Math.max(i0, firstAtLeast(r.startMs, r.durationMs, notBeforeMs));
    else if (r.startMs < notBeforeMs) continue;
    if (i0 <= i1) out.push({ r, i0, i1 });
  }
  return out;
}

/** One listed item of a window: a run of output segments that follow each other exactly, or one group (an irregular stretch). */
export type WindowItem =
  | { readonly kind: 'run'; readonly run: OutputRun; readonly complete: true }
  | { readonly kind: 'group'; readonly run: OutputRun; readonly complete: boolean; readonly endMs: number };

export interface WindowRuns {
  readonly n: number;
  readonly typicalMs: number | undefined;
  /** Listable output segments touching the window, oldest first; only the last may be incomplete. */
  readonly items: readonly WindowItem[];
}

/**
 * What output-groups.ts windowGroups gives for the same rows, as runs of output segments:
 * the input segments overlapping [fromMs, toMs) and starting at or after notBeforeMs, grouped n at
 * a time (n from their median duration), widened by seq to whole groups. Runs of groups that lie
 * inside one run of input segments cost nothing per group; groups that straddle a boundary
 * between runs are built from their pieces by the same groupOf.
 */
export function windowRuns(runs: readonly SegmentRun[], fromMs: number, toMs: number, segmentDurationSeconds: number, notBeforeMs: number): WindowRuns {
  const inWindow: Slice[] = [];
  for (const r of runs) {
    const s = windowSlice(r, fromMs, toMs, notBeforeMs);
    if (s) inWindow.push(s);
  }
  const typicalMs = medianDuration(inWindow);
  const n = groupSize(segmentDurationSeconds, typicalMs);
  if (inWindow.length === 0) return { n, typicalMs, items: [] };
  const firstSlice = inWindow[0]!;
  const lastSlice = inWindow[inWindow.length - 1]!;
  const firstSeq = firstSlice.r.seq + firstSlice.i0;
  const lastSeq = lastSlice.r.seq + lastSlice.i1;
  const fromSeq = firstSeqOf(groupIndexOf(firstSeq, n), n);
  const toSeq = groupIndexOf(lastSeq, n) * n;
  const slices = [...seqSlices(runs, fromSeq, firstSeq - 1, notBeforeMs), ...inWindow, ...seqSlices(runs, lastSeq + 1, toSeq, notBeforeMs)];
  return { n, typicalMs, items: groupSlices(slices, n) };
}

/** The median duration of the slices' segments, as typicalDurationMs computes it. */
function medianDuration(slices: readonly Slice[]): number | undefined {
  let total = 0;
  for (const s of slices) total += s.i1 - s.i0 + 1;
  if (total === 0) return undefined;
  const byDuration = slices.map((s) => ({ d: s.r.durationMs, c: s.i1 - s.i0 + 1 })).sort((a, b) => a.d - b.d);
  const at = (idx: number) => {
    let seen = 0;
    for (const e of byDuration) {
      seen += e.c;
      if (idx < seen) return e.d;
    }
    return byDuration[byDuration.length - 1]!.d;
  };
  const mid = Math.floor(total / 2);
  return Math.round(total % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2);
}

/** groupSegments over slices (ascending seq): the listable groups, whole runs of them where they lie inside one input run. */
function groupSlices(slices: readonly Slice[], n: number): WindowItem[] {
  const items: WindowItem[] = [];
  let pendK: number | undefined;
  let pend: TimedSegment[] = [];
  // Whether the group being collected is the last group with any piece (groupSegments keeps an incomplete group only then).
  const flush = (isLast: boolean) => {
    if (pendK === undefined) return;
    const g = groupOf(pendK, n, pend);
    pendK = undefined;
    pend = [];
    if (!g || (!g.complete && !isLast)) return;
    items.push({ kind: 'group', run: { first: groupSegment(g), count: 1 }, complete: g.complete, endMs: groupEndMs(g) });
  };
  const collect = (k: number, r: SegmentRun, i0: number, i1: number) => {
    if (pendK !== undefined && pendK !== k) flush(false);
    pendK = k;
    for (let i = i0; i <= i1; i++) pend.push(segmentOfRun(r, i));
  };
  for (const { r, i0, i1 } of slices) {
    const a = r.seq + i0;
    const b = r.seq + i1;
    const kA = groupIndexOf(a, n);
    const kB = groupIndexOf(b, n);
    // Whole groups inside this slice: from the first group starting at or after a to the last ending at or before b.
    const kFirst = firstSeqOf(kA, n) === a ? kA : kA + 1;
    const kLast = kB * n === b ? kB : kB - 1;
    if (kFirst > kLast) {
      // No whole group: pieces of at most two groups.
      for (let k = kA; k <= kB; k++) collect(k, r, Math.max(a, firstSeqOf(k, n)) - r.seq, Math.min(b, k * n) - r.seq);
      continue;
    }
    if (kA < kFirst) collect(kA, r, i0, firstSeqOf(kFirst, n) - 1 - r.seq);
    flush(false);
    const i = firstSeqOf(kFirst, n) - r.seq;
    const first: OutputSegment = {
      seq: kFirst,
      startMs: r.startMs + i * r.durationMs,
      durationMs: n * r.durationMs,
      mediaTime: r.mediaTime + i * r.mediaDuration,
      mediaDuration: n * r.mediaDuration,
      discontinuity: i === 0 && r.discontinuity,
      discSeq: r.discSeq,
      initId: initIdOf(r.initKey),
    };
    items.push({ kind: 'run', run: { first, count: kLast - kFirst + 1 }, complete: true });
    if (kLast < kB) collect(kB, r, kLast * n + 1 - r.seq, i1);
  }
  flush(true);
  return items;
}
