/**
 * Reads what the timeline needs from one ingested segment: container, track kind, RFC 6381
 * codecs, timescale, media start time and duration. Pure: bytes in, values out.
 */
import { readInitSegment, readMediaSegment, type TrackInfo } from '../../media/container/isobmff.js';
import { readTsSegment } from '../../media/container/mpegts.js';

export interface SegmentProbe {
  readonly container: 'ts' | 'fmp4';
  readonly kind: 'video' | 'audio' | 'muxed';
  readonly codecs: string;
  readonly timescale: number;
  readonly mediaTime: number;
  readonly mediaDuration: number;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly sampleRate?: number | undefined;
  readonly channels?: number | undefined;
}

const TS_TIMESCALE = 90_000;

function kindOf(kinds: readonly string[]): 'video' | 'audio' | 'muxed' {
  const v = kinds.includes('video');
  const a = kinds.includes('audio');
  if (v && a) return 'muxed';
  if (a) return 'audio';
  return 'video';
}

function probeTs(bytes: Uint8Array): SegmentProbe {
  const { streams } = readTsSegment(bytes);
  const media = streams.filter((s) => s.kind === 'video' || s.kind === 'audio');
  if (media.length === 0) throw new Error('the transport stream has no audio or video elementary stream');
  const main = media.find((s) => s.kind === 'video') ?? media[0]!;
  if (main.firstPts === undefined) throw new Error('no PES packet with a presentation time stamp');
  const video = media.find((s) => s.kind === 'video');
  const audio = media.find((s) => s.kind === 'audio');
  return {
    container: 'ts',
    kind: kindOf(media.map((s) => s.kind)),
    codecs: media.map((s) => s.codec).filter((c): c is string => c !== undefined).join(','),
    timescale: TS_TIMESCALE,
    mediaTime: main.firstPts,
    mediaDuration: Math.round((main.duration ?? 0) * TS_TIMESCALE),
    width: video?.width,
    height: video?.height,
    sampleRate: audio?.sampleRate,
    channels: audio?.channels,
  };
}

function probeFmp4(bytes: Uint8Array, init: Uint8Array): SegmentProbe {
  const info = readInitSegment(init);
  const tracks = info.tracks.filter((t) => t.kind === 'video' || t.kind === 'audio');
  if (tracks.length === 0) throw new Error('the init segment has no audio or video track');
  const main: TrackInfo = tracks.find((t) => t.kind === 'video') ?? tracks[0]!;
  const { fragments, earliestTime } = readMediaSegment(bytes, info);
  const own = fragments.filter((f) => f.trackId === main.trackId);
  if (own.length === 0) throw new Error(`the segment has no fragment of track ${main.trackId}`);
  const video = tracks.find((t) => t.kind === 'video');
  const audio = tracks.find((t) => t.kind === 'audio');
  return {
    container: 'fmp4',
    kind: kindOf(tracks.map((t) => t.kind)),
    codecs: tracks.map((t) => t.codec).join(','),
    timescale: main.timescale,
    // Presentation time (decode time plus composition offset), as a TS segment's PTS and DASH's S@t are.
    mediaTime: earliestTime[main.trackId] ?? Math.min(...own.map((f) => f.baseMediaDecodeTime)),
    mediaDuration: own.reduce((n, f) => n + f.duration, 0),
    width: video?.width,
    height: video?.height,
    sampleRate: audio?.sampleRate,
    channels: audio?.channels,
  };
}

/** Probes a segment; an fMP4 media segment needs its init segment (EXT-X-MAP). */
export function probeSegment(path: string, bytes: Uint8Array, init: Uint8Array | undefined): SegmentProbe {
  if (/\.ts$/i.test(path) || bytes[0] === 0x47) return probeTs(bytes);
  if (init) return probeFmp4(bytes, init);
  throw new Error('an fMP4 media segment needs the init segment named by EXT-X-MAP');
}

/**
 * Checks, on arrival, that a file is media at all: a TS segment is read whole; an fMP4 file must
 * start with an ISO-BMFF box, and an init segment must parse (its media segments are read when
 * they are placed on the timeline, once the playlist names their init segment).
 */
export function validateSegment(path: string, bytes: Uint8Array): void {
  if (/\.ts$/i.test(path) || bytes[0] === 0x47) {
    probeTs(bytes);
    return;
  }
  const type = Buffer.from(bytes.subarray(4, 8)).toString('latin1');
  if (!['ftyp', 'styp', 'moof', 'moov', 'sidx', 'emsg', 'prft', 'free'].includes(type)) {
    throw new Error(`it starts with neither an MPEG-TS sync byte nor an ISO-BMFF box (found "${type.replace(/[^\x20-\x7e]/g, '?')}")`);
  }
  if (type === 'ftyp' || type === 'moov') readInitSegment(bytes);
}
