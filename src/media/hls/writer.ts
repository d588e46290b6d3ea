/**
 * Writes HLS multivariant and media playlists (RFC 8216) from the protocol-neutral track and
 * segment model. Pure: the origin (live and time-shifted) and the harvester (VOD) both use it;
 * how URIs are named is the caller's choice.
 */
import { hlsQuoted, manifestUri } from '../manifest-text.js';
import type { OutputSegment, OutputTrack } from '../timeline/model.js';
import { languageTag } from '../language.js';

export interface MultivariantOptions {
  readonly tracks: readonly OutputTrack[];
  /** URI of a track's media playlist. */
  readonly playlistUri: (track: OutputTrack) => string;
  readonly version: number;
}

/** A quoted-string attribute value (§4.2). */
const q = (s: string) => `"${hlsQuoted(s)}"`;
/** A URI attribute value: percent-encoded where a URI may not hold a character, so never a quote or line break. */
const qUri = (uri: string) => `"${manifestUri(uri)}"`;

function codecOf(track: OutputTrack, kind: 'video' | 'audio'): string[] {
  return track.codecs.split(',').filter((c) => (kind === 'audio' ? /^(mp4a|ac-3|ec-3|opus)/.test(c) : !/^(mp4a|ac-3|ec-3|opus)/.test(c)));
}

/** §4.4.6: one EXT-X-STREAM-INF per video (or muxed) track; audio-only tracks become an audio group. */
export function writeMultivariant(o: MultivariantOptions): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${o.version}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  const audio = o.tracks.filter((t) => t.kind === 'audio');
  const video = o.tracks.filter((t) => t.kind !== 'audio');
  const group = 'audio_0';
  // §4.3.4.1.1: the members of a group have different NAMEs; a language two renditions share is
  // told apart by the rendition id.
  const baseName = (t: OutputTrack) => languageTag(t.language) ?? t.id;
  const name = (t: OutputTrack) => (audio.filter((o) => baseName(o) === baseName(t)).length > 1 ? `${baseName(t)} (${t.id})` : baseName(t));
  audio.forEach((t, i) => {
    const attrs = [
      'TYPE=AUDIO',
      `GROUP-ID=${q(group)}`,
      `NAME=${q(name(t))}`,
      `LANGUAGE=${q(languageTag(t.language) ?? 'und')}`,
      i === 0 ? 'DEFAULT=YES' : 'DEFAULT=NO',
      'AUTOSELECT=YES',
      ...(t.channels !== undefined ? [`CHANNELS=${q(String(t.channels))}`] : []),
      `URI=${qUri(o.playlistUri(t))}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  });
  const audioBandwidth = Math.max(0, ...audio.map((t) => t.bandwidth));
  const audioCodecs = audio[0] ? codecOf(audio[0], 'audio') : [];
  const variants = video.length ? video : audio;
  for (const t of variants) {
    const withAudio = t.kind === 'video' && audio.length > 0;
    const codecs = [...t.codecs.split(',').filter(Boolean), ...(withAudio ? audioCodecs : [])];
    const attrs = [
      `BANDWIDTH=${t.bandwidth + (withAudio ? audioBandwidth : 0)}`,
      ...(t.width && t.height ? [`RESOLUTION=${t.width}x${t.height}`] : []),
      ...(t.frameRate ? [`FRAME-RATE=${t.frameRate.toFixed(3)}`] : []),
      `CODECS=${q([...new Set(codecs)].join(','))}`,
      ...(audio.length > 0 && t.kind !== 'muxed' ? [`AUDIO=${q(group)}`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, manifestUri(o.playlistUri(t)));
  }
  return `${lines.join('\n')}\n`;
}

export interface MediaPlaylistOptions {
  readonly track: OutputTrack;
  readonly segments: readonly OutputSegment[];
  readonly segmentUri: (s: OutputSegment) => string;
  readonly initUri?: ((s: OutputSegment) => string) | undefined;
  readonly version: number;
  /** VOD: closed with EXT-X-ENDLIST and EXT-X-PLAYLIST-TYPE:VOD. */
  readonly closed: boolean;
  /** Emit EXT-X-PROGRAM-DATE-TIME every this many seconds (and at every discontinuity); undefined = never. */
  readonly programDateTimeIntervalSeconds?: number | undefined;
  readonly discontinuitySequence?: number | undefined;
  readonly startTag?: { readonly timeOffset: number; readonly precise: boolean } | undefined;
  /** Extra lines before the segments (e.g. server-control for LL-HLS). */
  readonly headerExtra?: readonly string[] | undefined;
  /** EXT-X-TARGETDURATION is at least this (LL-HLS: the output segment duration, also while only parts exist). */
  readonly minTargetDuration?: number | undefined;
  /** LL-HLS (RFC 8216bis §4.4.4.9, §4.4.5.2, §4.4.5.3, §4.4.3.7, §4.4.3.8): parts, preload hint, server control. */
  readonly lowLatency?: LowLatencyOptions | undefined;
  /**
   * Encryption (§4.4.4.4): the EXT-X-KEY lines that apply to a segment; written before the first
   * segment and again wherever they change (a new key period). METHOD=NONE alone at the start is
   * left out.
   */
  readonly keyLines?: ((s: OutputSegment) => readonly string[]) | undefined;
}

export interface PartialSegment {
  readonly durationMs: number;
  readonly uri: string;
  readonly independent: boolean;
}

export interface LowLatencyOptions {
  /** PART-TARGET in seconds; PART-HOLD-BACK is three times it. */
  readonly partTargetSeconds: number;
  /** The parts of a listed (complete) segment, or undefined to list none for it (older segments). */
  readonly parts: (s: OutputSegment) => readonly PartialSegment[] | undefined;
  /** The segment still being built: listed only as its parts, after the last complete segment. */
  readonly tail?: { readonly segment: OutputSegment; readonly parts: readonly PartialSegment[] } | undefined;
  /** URI of the next part expected (EXT-X-PRELOAD-HINT). */
  readonly preloadHintUri?: string | undefined;
  /** Where the other renditions' playlists end (EXT-X-RENDITION-REPORT). */
  readonly renditionReports?: readonly RenditionReport[] | undefined;
}

export interface RenditionReport {
  /** The rendition's media playlist, relative to this one. */
  readonly uri: string;
  readonly lastMsn: number;
  readonly lastPart: number;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

function partLine(p: PartialSegment): string {
  return `#EXT-X-PART:DURATION=${secs(p.durationMs)},URI=${qUri(p.uri)}${p.independent ? ',INDEPENDENT=YES' : ''}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** §4.4.3 and §4.4.4: the media playlist of one track over the given segments. */
export function writeMediaPlaylist(o: MediaPlaylistOptions): string {
  const ll = o.lowLatency;
  const target = Math.max(1, o.minTargetDuration ?? 1, ...o.segments.map((s) => Math.round(s.durationMs / 1000)));
  const first = o.segments[0] ?? ll?.tail?.segment;
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${o.version}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.seq ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${o.discontinuitySequence ?? first?.discSeq ?? 0}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (o.closed) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  // §4.2 signed-decimal-floating-point: fixed digits, never exponent notation (1e-7).
  if (o.startTag) lines.push(`#EXT-X-START:TIME-OFFSET=${Number(o.startTag.timeOffset.toFixed(3))}${o.startTag.precise ? ',PRECISE=YES' : ''}`);
  if (ll) {
    lines.push(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(3 * ll.partTargetSeconds).toFixed(3)}`);
    lines.push(`#EXT-X-PART-INF:PART-TARGET=${ll.partTargetSeconds.toFixed(3)}`);
  }
  if (o.headerExtra) lines.push(...o.headerExtra);
  let lastInit: string | undefined;
  let lastKeys: string | undefined;
  let lastPdtMs: number | undefined;
  let expectedMs: number | undefined;
  const all = ll?.tail ? [...o.segments, ll.tail.segment] : o.segments;
  all.forEach((s, i) => {
    if (i > 0 && s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (o.keyLines) {
      const keys = o.keyLines(s);
      const joined = keys.join('\n');
      if (joined !== lastKeys && !(lastKeys === undefined && joined === '#EXT-X-KEY:METHOD=NONE')) {
        lines.push(...keys);
        // A new key applies to the init segment that follows it: EXT-X-MAP is repeated after it.
        lastInit = undefined;
      }
      lastKeys = joined;
    }
    if (o.initUri) {
      const init = o.initUri(s);
      if (init !== lastInit) {
        lines.push(`#EXT-X-MAP:URI=${qUri(init)}`);
        lastInit = init;
      }
    }
    const interval = o.programDateTimeIntervalSeconds;
    // §4.3.2.6: a client carries the date forward by EXTINF, so a segment that does not start where
    // that puts it (a switch of input, a gap) gets its own tag whatever the interval.
    const drifted = expectedMs !== undefined && Math.abs(s.startMs - expectedMs) > 1;
    if (interval !== undefined && (lastPdtMs === undefined || s.discontinuity || drifted || s.startMs - lastPdtMs >= interval * 1000)) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${iso(s.startMs)}`);
      lastPdtMs = s.startMs;
    }
    if (ll && i === o.segments.length) {
      // The segment being built: its parts only (RFC 8216bis §4.4.4.9).
      lines.push(...ll.tail!.parts.map(partLine));
      return;
    }
    if (ll) lines.push(...(ll.parts(s) ?? []).map(partLine));
    expectedMs = s.startMs + Number((s.durationMs / 1000).toFixed(3)) * 1000;
    lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(3)},`, manifestUri(o.segmentUri(s)));
  });
  if (ll?.preloadHintUri && !o.closed) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${qUri(ll.preloadHintUri)}`);
  if (ll && !o.closed) for (const r of ll.renditionReports ?? []) lines.push(`#EXT-X-RENDITION-REPORT:URI=${qUri(r.uri)},LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  if (o.closed) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
