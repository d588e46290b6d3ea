/**
 * The protocol-neutral output model: tracks and segments with wall-clock and media times. The
 * HLS writer, the DASH writer and the harvest planner all read it; none of them knows where it
 * came from.
 */

export interface OutputTrack {
  /** Stable id used in URIs ($RepresentationID$ in DASH). */
  readonly id: string;
  readonly kind: 'video' | 'audio' | 'muxed';
  readonly container: 'ts' | 'fmp4';
  readonly codecs: string;
  readonly bandwidth: number;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly frameRate?: number | undefined;
  readonly sampleRate?: number | undefined;
  readonly channels?: number | undefined;
  readonly language?: string | undefined;
  readonly timescale: number;
}

export interface OutputSegment {
  readonly seq: number;
  /** Wall-clock start (epoch ms) and duration. */
  readonly startMs: number;
  readonly durationMs: number;
  /** Media time of the first sample and the duration, in the track timescale. */
  readonly mediaTime: number;
  readonly mediaDuration: number;
  readonly discontinuity: boolean;
  /** Discontinuity sequence number (EXT-X-DISCONTINUITY-SEQUENCE of a playlist starting here; DASH period). */
  readonly discSeq?: number | undefined;
  /** Identifies the init segment this media segment needs (fMP4), e.g. its content hash. */
  readonly initId?: string | undefined;
}

/**
 * Output segments that follow each other exactly: segment i of the run is `first` with seq + i,
 * startMs + i·durationMs and mediaTime + i·mediaDuration, and no discontinuity after the first.
 * A writer lists a run without an object per segment.
 */
export interface OutputRun {
  readonly first: OutputSegment;
  readonly count: number;
}

/** Segment i of a run. */
export function runSegment(r: OutputRun, i: number): OutputSegment {
  if (i === 0) return r.first;
  const f = r.first;
  return { ...f, seq: f.seq + i, startMs: f.startMs + i * f.durationMs, mediaTime: f.mediaTime + i * f.mediaDuration, discontinuity: false };
}

/** How many segments runs list. */
export const runsCount = (runs: readonly OutputRun[]): number => runs.reduce((n, r) => n + r.count, 0);

/** Segments as runs of one each. */
export const singleRuns = (segs: readonly OutputSegment[]): OutputRun[] => segs.map((first) => ({ first, count: 1 }));
