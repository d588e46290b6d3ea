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
  /** EXT-X-SESSION-KEY lines (§4.3.4.5), written after the header. */
  readonly sessionKeyLines?: readonly string[] | undefined;
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
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${o.version}`, '#EXT-X-INDEPENDENT-SEGMENTS', ...(o.sessionKeyLines ?? [])];
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
  /**
   * Emit EXT-X-PROGRAM-DATE-TIME on the first segment starting in each multiple of this many
   * seconds since the epoch (and on the first listed, at every discontinuity and gap); undefined = never.
   */
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

/** The runs a playlist lists: `runs`, or `segments` as runs of one. */
const runsOf = (o: MediaPlaylistOptions): readonly OutputRun[] => o.runs ?? o.segments.map((first) => ({ first, count: 1 }));

/** §4.4.3: the lines before the segments, for the runs listed. */
export function mediaPlaylistHead(o: MediaPlaylistOptions, runs: readonly OutputRun[] = runsOf(o)): string {
  const ll = o.lowLatency;
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
  return `${lines.join('\n')}\n`;
}

/** The lines after the segments: the preload hint and rendition reports (LL-HLS), EXT-X-ENDLIST. */
export function mediaPlaylistTail(o: MediaPlaylistOptions): string {
  const ll = o.lowLatency;
  const tail: string[] = [];
  if (ll?.preloadHintUri && !o.closed) tail.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${qUri(ll.preloadHintUri)}`);
  if (ll && !o.closed) for (const r of ll.renditionReports ?? []) tail.push(`#EXT-X-RENDITION-REPORT:URI=${qUri(r.uri)},LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  if (o.closed) tail.push('#EXT-X-ENDLIST');
  return tail.length ? `${tail.join('\n')}\n` : '';
}

/** What the segment lines depend on besides the runs (a MediaPlaylistOptions is one). */
export type SegmentLinesOptions = Pick<MediaPlaylistOptions, 'segmentUri' | 'segmentUriAffixes' | 'initUri' | 'programDateTimeIntervalSeconds' | 'keyLines' | 'lowLatency'>;

/**
 * The segment lines of a media playlist (§4.4.4), written run after run and resumable: runs
 * appended later continue the text exactly as if they had been listed with the first ones (the
 * program date-time interval, the init segment and key lines carry on). With `trackEnds`, where
 * each listed segment's lines end is kept, so the lines of any first k segments are a prefix of
 * the text: a long window's playlist is written once and then extended or cut, not rewritten.
 */
export class MediaSegmentLines {
  /** Pieces written since the text was last joined. */
  private readonly pending: string[] = [];
  private chars = 0;
  private flat = '';
  /** Segments listed so far. */
  count = 0;
  /** With trackEnds: the text's length after each listed segment. */
  readonly ends: number[] | undefined;
  private lastInit: string | undefined;
  private lastKeys: string | undefined;
  /** The start of the segment listed last (undefined before the first). */
  private prevStartMs: number | undefined;
  private expectedMs: number | undefined;
  private readonly plain: boolean;

  constructor(
    private readonly o: SegmentLinesOptions,
    trackEnds = false,
  ) {
    this.ends = trackEnds ? [] : undefined;
    // A URI of characters a URI may hold as they are, and no '%', is written unchanged, digits and all.
    const affixes = o.segmentUriAffixes;
    this.plain = affixes !== undefined && /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]*$/.test(affixes.prefix + affixes.suffix);
  }

  private push(piece: string): void {
    this.pending.push(piece);
    this.chars += piece.length;
  }

  /** The text so far. */
  text(): string {
    if (this.pending.length > 0) {
      this.flat += this.pending.join('');
      this.pending.length = 0;
    }
    return this.flat;
  }

  /** Characters written so far (what `ends` counts). */
  get length(): number {
    return this.chars;
  }

  /**
   * The text written since the last drain, handed over rather than kept: a caller that holds the
   * text elsewhere (as bytes) goes on appending with only the writer's state kept here. Not to be
   * mixed with text() or prefix().
   */
  drain(): string {
    const piece = this.pending.join('');
    this.pending.length = 0;
    return piece;
  }

  /** The text of the first k segments listed. */
  prefix(k: number): string {
    if (k >= this.count) return this.text();
    if (!this.ends) throw new Error('segment ends are not tracked');
    return k <= 0 ? '' : this.text().slice(0, this.ends[k - 1]);
  }

  private keys(s: OutputSegment): void {
    const lines = this.o.keyLines!(s);
    const joined = lines.join('\n');
    if (joined !== this.lastKeys && !(this.lastKeys === undefined && joined === '#EXT-X-KEY:METHOD=NONE')) {
      for (const line of lines) this.push(`${line}\n`);
      // A new key applies to the init segment that follows it: EXT-X-MAP is repeated after it.
      this.lastInit = undefined;
    }
    this.lastKeys = joined;
  }

  /**
   * Whether a segment starting at `startMs` gets an EXT-X-PROGRAM-DATE-TIME tag: the first segment
   * listed, one after a discontinuity, and (§4.3.2.6: a client carries the date forward by EXTINF)
   * one that does not start where that puts it (a switch of input, a gap); otherwise the first
   * segment starting in a new multiple of the interval since the epoch. The tag of a segment past
   * the first thus depends on that segment and the one before it only, never on where the window
   * starts: the lines of windows of any start are slices of one text (playlist-lines.ts), and a
   * live playlist's tags stay on the same segments as its window slides.
   */
  private dated(startMs: number, interval: number, discontinuity: boolean): boolean {
    const prev = this.prevStartMs;
    if (prev === undefined || discontinuity) return true;
    if (Math.abs(startMs - this.expectedMs!) > 1) return true;
    const ms = interval * 1000;
    return Math.floor(startMs / ms) !== Math.floor(prev / ms);
  }

  /**
   * Lists the runs after those listed. A run continuing the last one listed (its first segment
   * follows on, without a discontinuity: a run that has grown) is listed as its continuation.
   */
  append(runs: readonly OutputRun[]): void {
    for (const r of runs) this.listRun(r);
  }

  /** Every segment but the first of a run: no discontinuity, the run's init segment and duration. */
  private listRun(r: OutputRun): void {
    const o = this.o;
    const ll = o.lowLatency;
    const affixes = o.segmentUriAffixes;
    const interval = o.programDateTimeIntervalSeconds;
    const f = r.first;
    const extinf = `#EXTINF:${(f.durationMs / 1000).toFixed(3)},\n`;
    const stepMs = Number((f.durationMs / 1000).toFixed(3)) * 1000;
    for (let i = 0; i < r.count; i++) {
      const startMs = f.startMs + i * f.durationMs;
      const s = i === 0 || !affixes || o.keyLines ? runSegment(r, i) : undefined;
      if (i === 0 && this.count > 0 && f.discontinuity) this.push('#EXT-X-DISCONTINUITY\n');
      if (o.keyLines) this.keys(s!);
      // With key lines, a segment may need another init segment than the run's first (CMAF key rotation: one per key period).
      if (o.initUri && (i === 0 || this.lastInit === undefined || o.keyLines)) {
        const init = o.initUri(s ?? f);
        if (init !== this.lastInit) {
          this.push(`#EXT-X-MAP:URI=${qUri(init)}\n`);
          this.lastInit = init;
        }
      }
      if (interval !== undefined && this.dated(startMs, interval, i === 0 && f.discontinuity)) this.push(`#EXT-X-PROGRAM-DATE-TIME:${iso(startMs)}\n`);
      this.prevStartMs = startMs;
      if (ll) {
        const parts = ll.parts(s!);
        if (parts) for (const p of parts) this.push(`${partLine(p)}\n`);
      }
      this.expectedMs = startMs + stepMs;
      if (this.plain) this.push(`${extinf}${affixes!.prefix}${f.seq + i}${affixes!.suffix}\n`);
      else this.push(`${extinf}${manifestUri(affixes ? `${affixes.prefix}${f.seq + i}${affixes.suffix}` : o.segmentUri(s!))}\n`);
      this.count++;
      this.ends?.push(this.chars);
    }
  }

  /** The segment being built (LL-HLS): its parts only (RFC 8216bis §4.4.4.9). */
  appendPartialTail(s: OutputSegment, parts: readonly PartialSegment[]): void {
    const o = this.o;
    const interval = o.programDateTimeIntervalSeconds;
    if (this.count > 0 && s.discontinuity) this.push('#EXT-X-DISCONTINUITY\n');
    if (o.keyLines) this.keys(s);
    if (o.initUri) {
      const init = o.initUri(s);
      if (init !== this.lastInit) this.push(`#EXT-X-MAP:URI=${qUri(init)}\n`);
    }
    if (interval !== undefined && this.dated(s.startMs, interval, this.count > 0 && s.discontinuity)) this.push(`#EXT-X-PROGRAM-DATE-TIME:${iso(s.startMs)}\n`);
    for (const p of parts) this.push(`${partLine(p)}\n`);
  }
}

/** §4.4.3 and §4.4.4: the media playlist of one track over the given segments. */
export function writeMediaPlaylist(o: MediaPlaylistOptions): string {
  const ll = o.lowLatency;
  if (o.runs && ll) throw new Error('a low-latency playlist lists segments, not runs');
  const runs = runsOf(o);
  const lines = new MediaSegmentLines(o);
  lines.append(runs);
  if (ll?.tail) lines.appendPartialTail(ll.tail.segment, ll.tail.parts);
  return mediaPlaylistHead(o, runs) + lines.text() + mediaPlaylistTail(o);
}
