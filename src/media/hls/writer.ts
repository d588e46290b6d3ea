/**
 * Writes HLS multivariant and media playlists (RFC 8216) from the protocol-neutral track and
 * segment model. Pure: the origin (live and time-shifted) and the harvester (VOD) both use it;
 * how URIs are named is the caller's choice.
 */
import { hlsQuoted, manifestUri } from '../manifest-text.js';
import { runSegment, type OutputRun, type OutputSegment, type OutputTrack } from '../timeline/model.js';
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
  /** The segments as runs (model.ts), listed instead of `segments` when given (not with lowLatency). */
  readonly runs?: readonly OutputRun[] | undefined;
  readonly segmentUri: (s: OutputSegment) => string;
  /** When the URI of every segment is `${prefix}${seq}${suffix}`: its parts (no object or call per segment). */
  readonly segmentUriAffixes?: { readonly prefix: string; readonly suffix: string } | undefined;
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
  if (o.runs && ll) throw new Error('a low-latency playlist lists segments, not runs');
  const runs: readonly OutputRun[] = o.runs ?? o.segments.map((first) => ({ first, count: 1 }));
  let target = Math.max(1, o.minTargetDuration ?? 1);
  for (const r of runs) target = Math.max(target, Math.round(r.first.durationMs / 1000));
  const first = runs[0]?.first ?? ll?.tail?.segment;
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
  // The lines are collected as pieces and joined once (a 24-hour playlist lists 43,200 segments).
  const out: string[] = [`${lines.join('\n')}\n`];
  let lastInit: string | undefined;
  let lastKeys: string | undefined;
  let lastPdtMs: number | undefined;
  let expectedMs: number | undefined;
  const interval = o.programDateTimeIntervalSeconds;
  // A URI of characters a URI may hold as they are, and no '%', is written unchanged, digits and all.
  const affixes = o.segmentUriAffixes;
  const plain = affixes !== undefined && /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]*$/.test(affixes.prefix + affixes.suffix);
  const keys = (s: OutputSegment) => {
    const lines = o.keyLines!(s);
    const joined = lines.join('\n');
    if (joined !== lastKeys && !(lastKeys === undefined && joined === '#EXT-X-KEY:METHOD=NONE')) {
      for (const line of lines) out.push(`${line}\n`);
      // A new key applies to the init segment that follows it: EXT-X-MAP is repeated after it.
      lastInit = undefined;
    }
    lastKeys = joined;
  };
  // Every segment but the first of a run: no discontinuity, the run's init segment and duration.
  const listRun = (r: OutputRun, index: number) => {
    const f = r.first;
    const extinf = `#EXTINF:${(f.durationMs / 1000).toFixed(3)},\n`;
    const stepMs = Number((f.durationMs / 1000).toFixed(3)) * 1000;
    for (let i = 0; i < r.count; i++) {
      const startMs = f.startMs + i * f.durationMs;
      const s = i === 0 || !affixes || o.keyLines ? runSegment(r, i) : undefined;
      if (i === 0 && index > 0 && f.discontinuity) out.push('#EXT-X-DISCONTINUITY\n');
      if (o.keyLines) keys(s!);
      if (o.initUri && (i === 0 || lastInit === undefined)) {
        const init = o.initUri(f);
        if (init !== lastInit) {
          out.push(`#EXT-X-MAP:URI=${qUri(init)}\n`);
          lastInit = init;
        }
      }
      // §4.3.2.6: a client carries the date forward by EXTINF, so a segment that does not start where
      // that puts it (a switch of input, a gap) gets its own tag whatever the interval.
      if (interval !== undefined) {
        const drifted = expectedMs !== undefined && Math.abs(startMs - expectedMs) > 1;
        if (lastPdtMs === undefined || (i === 0 && f.discontinuity) || drifted || startMs - lastPdtMs >= interval * 1000) {
          out.push(`#EXT-X-PROGRAM-DATE-TIME:${iso(startMs)}\n`);
          lastPdtMs = startMs;
        }
      }
      if (ll) {
        const parts = ll.parts(s!);
        if (parts) for (const p of parts) out.push(`${partLine(p)}\n`);
      }
      expectedMs = startMs + stepMs;
      if (plain) out.push(`${extinf}${affixes.prefix}${f.seq + i}${affixes.suffix}\n`);
      else out.push(`${extinf}${manifestUri(affixes ? `${affixes.prefix}${f.seq + i}${affixes.suffix}` : o.segmentUri(s!))}\n`);
    }
  };
  let index = 0;
  for (const r of runs) {
    listRun(r, index);
    index += r.count;
  }
  if (ll?.tail) {
    // The segment being built: its parts only (RFC 8216bis §4.4.4.9).
    const s = ll.tail.segment;
    if (index > 0 && s.discontinuity) out.push('#EXT-X-DISCONTINUITY\n');
    if (o.keyLines) keys(s);
    if (o.initUri) {
      const init = o.initUri(s);
      if (init !== lastInit) out.push(`#EXT-X-MAP:URI=${qUri(init)}\n`);
    }
    if (interval !== undefined) {
      const drifted = expectedMs !== undefined && Math.abs(s.startMs - expectedMs) > 1;
      if (lastPdtMs === undefined || s.discontinuity || drifted || s.startMs - lastPdtMs >= interval * 1000) out.push(`#EXT-X-PROGRAM-DATE-TIME:${iso(s.startMs)}\n`);
    }
    for (const p of ll.tail.parts) out.push(`${partLine(p)}\n`);
  }
  const tail: string[] = [];
  if (ll?.preloadHintUri && !o.closed) tail.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${qUri(ll.preloadHintUri)}`);
  if (ll && !o.closed) for (const r of ll.renditionReports ?? []) tail.push(`#EXT-X-RENDITION-REPORT:URI=${qUri(r.uri)},LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  if (o.closed) tail.push('#EXT-X-ENDLIST');
  if (tail.length) out.push(`${tail.join('\n')}\n`);
  return out.join('');
}
