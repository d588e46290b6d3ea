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
