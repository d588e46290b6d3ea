/**
 * Output segments (DATAPLANE.md §4.1, §4.13): every manifest of an endpoint (HLS, LL-HLS, DASH)
 * and every harvest lists output segments made of consecutive input segments grouped N at a time,
 * where N = SegmentDurationSeconds / the rendition's typical input segment duration, rounded to
 * the nearest whole number (at least 1). An output segment is the byte concatenation of its input
 * segments; in LL-HLS each input segment is also one Partial Segment.
 *
 * Numbering is stable without any history: output segment k holds the input segments whose
 * per-rendition sequence numbers (which start at 1) are (k−1)·N+1 … k·N, so the same input always
 * lands in the same output segment however the window slides, and consecutive groups get
 * consecutive numbers. With N = 1, output segment k is input segment k.
 * Two rules keep a group decodable as one file:
 *  - a group is cut at its last discontinuity (or change of init segment) after its first piece:
 *    the pieces before the cut (the tail of the old content, at most N−1 input segments) are left
 *    out, and the group starts with the discontinuity;
 *  - a group whose first piece is missing (the window, retention or a reset begins inside it) and
 *    does not start at such a cut is not listed.
 * A group with input segments of irregular duration is still grouped (stable numbering wins); its
 * duration is the sum of its pieces.
 */
import type { OutputSegment } from '../media/timeline/model.js';
import { initIdOf } from '../media/output-naming.js';
import type { BlobStore, SegmentRecord, TimelineStore } from './ports.js';
import { joinContinuous } from '../media/package/ts-continuity.js';

/** What grouping and the manifests read of an input segment. */
export type SegmentTiming = Pick<SegmentRecord, 'seq' | 'startMs' | 'durationMs' | 'mediaTime' | 'mediaDuration' | 'discontinuity' | 'discSeq' | 'initKey'>;

export interface OutputGroup<S extends SegmentTiming = SegmentRecord> {
  /** Output media sequence number. */
  readonly k: number;
  readonly n: number;
  /** The input segments in it, oldest first (seq firstSeqOf(k, n) + i for part index i). */
  readonly pieces: readonly S[];
  /** Whether its last piece (seq k·n) is there. */
  readonly complete: boolean;
}

/** The median duration of the given input segments, in ms (rounded); undefined without any. */
export function typicalDurationMs(segs: readonly SegmentRecord[]): number | undefined {
  if (segs.length === 0) return undefined;
  const d = segs.map((s) => s.durationMs).sort((a, b) => a - b);
  const mid = Math.floor(d.length / 2);
  return Math.round(d.length % 2 ? d[mid]! : (d[mid - 1]! + d[mid]!) / 2);
}

/** Input segments per output segment: the endpoint's duration over the input's, rounded (DATAPLANE.md §4.1). */
export function groupSize(segmentDurationSeconds: number, typicalMs: number | undefined): number {
  if (!typicalMs || typicalMs <= 0 || !Number.isFinite(segmentDurationSeconds)) return 1;
  return Math.max(1, Math.round((segmentDurationSeconds * 1000) / typicalMs));
}

/** The output segment an input segment (by seq) belongs to. */
export const groupIndexOf = (seq: number, n: number): number => Math.floor((seq - 1) / n) + 1;
/** The seq of the first input segment of output segment k (part 0). */
export const firstSeqOf = (k: number, n: number): number => (k - 1) * n + 1;

const breaks = (prev: SegmentTiming, s: SegmentTiming) => s.discontinuity || s.initKey !== prev.initKey || s.seq !== prev.seq + 1;

/** One group from the input segments of seqs (k−1)·n+1 … k·n that exist (any order); undefined when not listable. */
export function groupOf<S extends SegmentTiming>(k: number, n: number, found: readonly S[]): OutputGroup<S> | undefined {
  const pieces = found.filter((s) => groupIndexOf(s.seq, n) === k).sort((a, b) => a.seq - b.seq);
  if (pieces.length === 0) return undefined;
  let from = 0;
  for (let i = 1; i < pieces.length; i++) if (breaks(pieces[i - 1]!, pieces[i]!)) from = i;
  const kept = pieces.slice(from);
  if (kept[0]!.seq !== firstSeqOf(k, n) && from === 0) return undefined;
  return { k, n, pieces: kept, complete: kept[kept.length - 1]!.seq === firstSeqOf(k, n) + n - 1 };
}

/** The listable groups of a run of input segments, oldest first; only the last may be incomplete. */
export function groupSegments(segs: readonly SegmentRecord[], n: number): OutputGroup[] {
  const byK = new Map<number, SegmentRecord[]>();
  for (const s of segs) {
    const k = groupIndexOf(s.seq, n);
    const list = byK.get(k);
    if (list) list.push(s);
    else byK.set(k, [s]);
  }
  const ks = [...byK.keys()].sort((a, b) => a - b);
  const out: OutputGroup[] = [];
  ks.forEach((k, i) => {
    const g = groupOf(k, n, byK.get(k)!);
    if (!g) return;
    if (!g.complete && i !== ks.length - 1) return;
    out.push(g);
  });
  return out;
}

/** Wall-clock end of a group (epoch ms). */
export function groupEndMs(g: OutputGroup<SegmentTiming>): number {
  const last = g.pieces[g.pieces.length - 1]!;
  return last.startMs + last.durationMs;
}

/** The protocol-neutral output segment of a group. */
export function groupSegment(g: OutputGroup<SegmentTiming>): OutputSegment {
  const first = g.pieces[0]!;
  return {
    seq: g.k,
    startMs: first.startMs,
    durationMs: g.pieces.reduce((t, p) => t + p.durationMs, 0),
    mediaTime: first.mediaTime,
    mediaDuration: g.pieces.reduce((t, p) => t + p.mediaDuration, 0),
    discontinuity: first.discontinuity,
    discSeq: first.discSeq,
    initId: initIdOf(first.initKey),
  };
}

export interface WindowGroups {
  readonly n: number;
  /** Median input segment duration of the window (ms), when it holds any. */
  readonly typicalMs: number | undefined;
  /** Listable groups touching the window, oldest first; only the last may be incomplete. */
  readonly groups: readonly OutputGroup[];
}

/**
 * The groups of a rendition that hold an input segment overlapping [fromMs, toMs): the window's
 * input segments, widened by sequence number to whole groups. `visible` hides input segments (a
 * reset, a clip start) before grouping.
 */
export async function windowGroups(
  timeline: TimelineStore,
  channelArn: string,
  rendition: string,
  fromMs: number,
  toMs: number,
  segmentDurationSeconds: number,
  visible: (s: SegmentRecord) => boolean = () => true,
): Promise<WindowGroups> {
  const inWindow = (await timeline.findSegments(channelArn, rendition, fromMs, toMs)).filter(visible);
  const typicalMs = typicalDurationMs(inWindow);
  const n = groupSize(segmentDurationSeconds, typicalMs);
  if (inWindow.length === 0) return { n, typicalMs, groups: [] };
  const first = inWindow[0]!;
  const last = inWindow[inWindow.length - 1]!;
  const fromSeq = firstSeqOf(groupIndexOf(first.seq, n), n);
  const toSeq = groupIndexOf(last.seq, n) * n;
  const before = fromSeq < first.seq ? (await timeline.segmentsBySeq(channelArn, rendition, fromSeq, first.seq - 1)).filter(visible) : [];
  const after = toSeq > last.seq ? (await timeline.segmentsBySeq(channelArn, rendition, last.seq + 1, toSeq)).filter(visible) : [];
  return { n, typicalMs, groups: groupSegments([...before, ...inWindow, ...after], n) };
}

/** An output segment's bytes: its input segments end to end (repackaged TS with its continuity counters carried on); undefined when any of them is gone. */
export async function groupBytes(blobs: BlobStore, keys: readonly string[], tsContinuity = false): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  for (const k of keys) {
    const b = await blobs.get(k);
    if (!b) return undefined;
    parts.push(b);
  }
  if (parts.length === 1) return parts[0];
  return tsContinuity ? joinContinuous(parts) : Buffer.concat(parts);
}
