/**
 * Reads HLS playlists (RFC 8216) in two stages: text -> lines of tags (with attribute lists) and
 * URIs -> a multivariant or media playlist model. Pure: no I/O, no clock; a malformed playlist
 * throws PlaylistParseError with a one-line reason. Unknown tags are ignored (§6.3.1), so LL-HLS,
 * SCTE-35 and vendor tags pass through the reader without being modelled here.
 */

import { parseIsoDateTime } from '../time.js';

export class PlaylistParseError extends Error {
  override name = 'PlaylistParseError';
  constructor(message: string) {
    // Messages quote the offending text: keep them one short line whatever the input.
    super(message.length > 300 ? `${message.slice(0, 300)}…` : message);
  }
}

export interface Variant {
  uri: string;
  bandwidth: number;
  averageBandwidth?: number;
  codecs?: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
  audio?: string;
  video?: string;
  subtitles?: string;
  closedCaptions?: string;
}

export interface Rendition {
  type: 'AUDIO' | 'VIDEO' | 'SUBTITLES' | 'CLOSED-CAPTIONS';
  groupId: string;
  name: string;
  uri?: string;
  language?: string;
  default: boolean;
  autoselect: boolean;
  channels?: string;
}

export interface MultivariantPlaylist {
  variants: Variant[];
  renditions: Rendition[];
  independentSegments: boolean;
  version?: number;
}

export interface ByteRange {
  length: number;
  offset?: number;
}

export interface MediaSegmentEntry {
  uri: string;
  /** Seconds, from EXTINF. */
  duration: number;
  title?: string;
  /**
   * Epoch milliseconds of the segment's first sample. Taken from an EXT-X-PROGRAM-DATE-TIME tag
   * before this segment (§4.3.2.6), or carried forward from the last such tag by adding the EXTINF
   * durations in between. The tag itself "applies only to the next Media Segment", so the carrying
   * is our inference (as players do); it stops at EXT-X-DISCONTINUITY because the clock may jump
   * there, and restarts at the next tag. Absent before the first tag.
   */
  programDateTime?: number;
  discontinuity: boolean;
  /** EXT-X-BYTERANGE (§4.3.2.2); an omitted offset is resolved from the previous segment. */
  byteRange?: ByteRange;
  /** The EXT-X-MAP in effect for this segment (§4.3.2.5). */
  map?: { uri: string; byteRange?: ByteRange };
}

export interface MediaPlaylist {
  version?: number;
  targetDuration: number;
  mediaSequence: number;
  discontinuitySequence: number;
  endList: boolean;
  playlistType?: 'EVENT' | 'VOD';
  independentSegments: boolean;
  segments: MediaSegmentEntry[];
}

// ---------------------------------------------------------------------------------------------
// Stage 1: lines -> tags and URIs (§4.1)

interface TagLine {
  kind: 'tag';
  /** Line number, 1-based, for error messages. */
  line: number;
  name: string;
  /** Text after the first ':', or undefined when the tag has no value. */
  value: string | undefined;
}

interface UriLine {
  kind: 'uri';
  line: number;
  uri: string;
}

type PlaylistLine = TagLine | UriLine;

/** Tags that only a multivariant playlist may carry (§4.3.4). */
const MULTIVARIANT_TAGS = new Set(['EXT-X-STREAM-INF', 'EXT-X-MEDIA', 'EXT-X-I-FRAME-STREAM-INF', 'EXT-X-SESSION-DATA', 'EXT-X-SESSION-KEY']);
/** Tags that only a media playlist may carry (§4.3.2, §4.3.3). */
const MEDIA_TAGS = new Set(['EXTINF', 'EXT-X-TARGETDURATION', 'EXT-X-MEDIA-SEQUENCE', 'EXT-X-ENDLIST', 'EXT-X-PLAYLIST-TYPE', 'EXT-X-MAP', 'EXT-X-BYTERANGE']);

function splitLines(text: string): string[] {
  // §4.1: lines end in LF or CR LF. A UTF-8 byte order mark is tolerated (and stripped).
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split('\n');
}

function readLines(text: string): PlaylistLine[] {
  const raw = splitLines(text);
  // §4.1: "The EXTM3U tag ... MUST be the first line of every Media Playlist and every Master Playlist."
  const first = (raw[0] ?? '').trimEnd();
  if (first !== '#EXTM3U') throw new PlaylistParseError('not an HLS playlist: the first line is not #EXTM3U');
  const lines: PlaylistLine[] = [];
  for (let i = 1; i < raw.length; i++) {
    const line = (raw[i] ?? '').trim();
    if (line === '') continue; // §4.1: blank lines are ignored
    if (line.startsWith('#')) {
      if (!line.startsWith('#EXT')) continue; // §4.1: other lines beginning with '#' are comments
      const colon = line.indexOf(':');
      lines.push(colon < 0 ? { kind: 'tag', line: i + 1, name: line.slice(1), value: undefined } : { kind: 'tag', line: i + 1, name: line.slice(1, colon), value: line.slice(colon + 1) });
    } else {
      lines.push({ kind: 'uri', line: i + 1, uri: line });
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Attribute lists (§4.2)

interface RawAttribute {
  value: string;
  quoted: boolean;
}

class Attributes {
  constructor(
    private readonly tag: TagLine,
    private readonly values: ReadonlyMap<string, RawAttribute>,
  ) {}

  private fail(reason: string): never {
    throw new PlaylistParseError(`line ${this.tag.line}: ${this.tag.name} ${reason}`);
  }

  /** For attributes that are a quoted-string or an enumerated-string such as NONE. */
  quotedOrEnumerated(name: string): string | undefined {
    return this.values.get(name)?.value;
  }

  quoted(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (!v.quoted) this.fail(`attribute ${name} must be a quoted-string`);
    return v.value;
  }

  enumerated(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (v.quoted) this.fail(`attribute ${name} must not be quoted`);
    return v.value;
  }

  /** decimal-integer (§4.2): digits only. */
  integer(name: string): number | undefined {
    const v = this.enumerated(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) this.fail(`attribute ${name} is not a decimal-integer: ${v}`);
    return Number(v);
  }

  /** decimal-floating-point (§4.2): digits with an optional fraction. */
  float(name: string): number | undefined {
    const v = this.enumerated(name);
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d*)?$/.test(v)) this.fail(`attribute ${name} is not a decimal-floating-point: ${v}`);
    return Number(v);
  }

  /** decimal-resolution (§4.2): WIDTHxHEIGHT. */
  resolution(name: string): { width: number; height: number } | undefined {
    const v = this.enumerated(name);
    if (v === undefined) return undefined;
    const m = /^(\d+)x(\d+)$/.exec(v);
    if (!m) this.fail(`attribute ${name} is not a decimal-resolution: ${v}`);
    return { width: Number(m[1]), height: Number(m[2]) };
  }

  /** YES/NO enumerated strings used by EXT-X-MEDIA (§4.3.4.1). */
  yesNo(name: string): boolean {
    const v = this.enumerated(name);
    if (v === undefined || v === 'NO') return false;
    if (v === 'YES') return true;
    return this.fail(`attribute ${name} must be YES or NO, not ${v}`);
  }

  required<T>(name: string, value: T | undefined): T {
    if (value === undefined) this.fail(`lacks the required attribute ${name}`);
    return value;
  }
}

/**
 * Splits `NAME=value,NAME="quoted, with commas"` into its attributes (§4.2). Quoted strings run to
 * the next double quote, so commas inside them are kept.
 */
function parseAttributeList(tag: TagLine): Attributes {
  const text = tag.value ?? '';
  const values = new Map<string, RawAttribute>();
  const fail = (reason: string): never => {
    throw new PlaylistParseError(`line ${tag.line}: ${tag.name} has a malformed attribute list: ${reason}`);
  };
  let pos = 0;
  while (pos < text.length) {
    const eq = text.indexOf('=', pos);
    if (eq < 0) fail(`"${text.slice(pos)}" has no '='`);
    const name = text.slice(pos, eq).trim();
    if (!/^[A-Z0-9-]+$/.test(name)) fail(`"${name}" is not an attribute name`);
    let value: RawAttribute;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      if (close < 0) fail(`the quoted value of ${name} is not closed`);
      value = { value: text.slice(eq + 2, close), quoted: true };
      // Skip whitespace in place (no copy of the rest of the line: a long list stays linear).
      pos = close + 1;
      while (pos < text.length && /\s/.test(text[pos]!)) pos++;
      if (pos < text.length && text[pos] !== ',') fail(`unexpected text after the quoted value of ${name}`);
      if (pos < text.length) pos++;
    } else {
      const comma = text.indexOf(',', eq + 1);
      const end = comma < 0 ? text.length : comma;
      value = { value: text.slice(eq + 1, end).trim(), quoted: false };
      pos = comma < 0 ? text.length : comma + 1;
    }
    // §4.2: "A given AttributeName MUST NOT appear more than once in a given attribute-list."
    if (values.has(name)) fail(`${name} appears more than once`);
    values.set(name, value);
  }
  return new Attributes(tag, values);
}

// ---------------------------------------------------------------------------------------------
// Shared value readers

function tagInteger(tag: TagLine): number {
  const v = (tag.value ?? '').trim();
  if (!/^\d+$/.test(v)) throw new PlaylistParseError(`line ${tag.line}: ${tag.name} needs a decimal-integer, not "${v}"`);
  return Number(v);
}

/**
 * §4.3.2.6: date-time-msec is an ISO/IEC 8601 date-time; "If no time zone is indicated, the client
 * SHOULD treat the time zone as UTC." Accepts `Z`, `±hh:mm`, `±hhmm` (what ffmpeg writes) and `±hh`.
 */
export function parseDateTime(text: string): number | undefined {
  return parseIsoDateTime(text, { zoneOptional: true });
}

/** `<n>[@<o>]` (§4.3.2.2, and the BYTERANGE attribute of EXT-X-MAP, §4.3.2.5). */
function parseByteRange(text: string, where: string): ByteRange {
  const m = /^(\d+)(?:@(\d+))?$/.exec(text.trim());
  if (!m) throw new PlaylistParseError(`${where}: "${text}" is not a byte range <n>[@<o>]`);
  return m[2] === undefined ? { length: Number(m[1]) } : { length: Number(m[1]), offset: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------------
// Stage 2: tags -> model

/**
 * True when the text is a multivariant (master) playlist: it carries a tag only those may carry
 * (§4.3.4). A playlist with neither kind of tag counts as a media playlist.
 */
export function isMultivariant(text: string): boolean {
  for (const line of splitLines(text)) {
    if (!line.startsWith('#EXT')) continue;
    const colon = line.indexOf(':');
    const name = (colon < 0 ? line.slice(1) : line.slice(1, colon)).trimEnd();
    if (MULTIVARIANT_TAGS.has(name)) return true;
    if (MEDIA_TAGS.has(name)) return false;
  }
  return false;
}

const RENDITION_TYPES = new Set<Rendition['type']>(['AUDIO', 'VIDEO', 'SUBTITLES', 'CLOSED-CAPTIONS']);

function parseRendition(tag: TagLine): Rendition {
  // §4.3.4.1 EXT-X-MEDIA: TYPE, GROUP-ID and NAME are REQUIRED.
  const a = parseAttributeList(tag);
  const type = a.required('TYPE', a.enumerated('TYPE'));
  if (!RENDITION_TYPES.has(type as Rendition['type'])) throw new PlaylistParseError(`line ${tag.line}: EXT-X-MEDIA TYPE ${type} is not AUDIO, VIDEO, SUBTITLES or CLOSED-CAPTIONS`);
  const rendition: Rendition = {
    type: type as Rendition['type'],
    groupId: a.required('GROUP-ID', a.quoted('GROUP-ID')),
    name: a.required('NAME', a.quoted('NAME')),
    default: a.yesNo('DEFAULT'),
    autoselect: a.yesNo('AUTOSELECT'),
  };
  const uri = a.quoted('URI');
  // §4.3.4.1: "If the TYPE is CLOSED-CAPTIONS, the URI attribute MUST NOT be present."
  if (uri !== undefined && rendition.type === 'CLOSED-CAPTIONS') throw new PlaylistParseError(`line ${tag.line}: EXT-X-MEDIA of TYPE CLOSED-CAPTIONS must not have a URI`);
  if (uri !== undefined) rendition.uri = uri;
  const language = a.quoted('LANGUAGE');
  if (language !== undefined) rendition.language = language;
  const channels = a.quoted('CHANNELS');
  if (channels !== undefined) rendition.channels = channels;
  return rendition;
}

function parseVariant(tag: TagLine, uri: string): Variant {
  // §4.3.4.2 EXT-X-STREAM-INF: BANDWIDTH is REQUIRED; the URI line follows the tag.
  const a = parseAttributeList(tag);
  const variant: Variant = { uri, bandwidth: a.required('BANDWIDTH', a.integer('BANDWIDTH')) };
  const averageBandwidth = a.integer('AVERAGE-BANDWIDTH');
  if (averageBandwidth !== undefined) variant.averageBandwidth = averageBandwidth;
  const codecs = a.quoted('CODECS');
  if (codecs !== undefined) variant.codecs = codecs;
  const resolution = a.resolution('RESOLUTION');
  if (resolution !== undefined) variant.resolution = resolution;
  const frameRate = a.float('FRAME-RATE');
  if (frameRate !== undefined) variant.frameRate = frameRate;
  const audio = a.quoted('AUDIO');
  if (audio !== undefined) variant.audio = audio;
  const video = a.quoted('VIDEO');
  if (video !== undefined) variant.video = video;
  const subtitles = a.quoted('SUBTITLES');
  if (subtitles !== undefined) variant.subtitles = subtitles;
  // §4.3.4.2.1: CLOSED-CAPTIONS is a quoted-string or the enumerated-string NONE.
  const closedCaptions = a.quotedOrEnumerated('CLOSED-CAPTIONS');
  if (closedCaptions !== undefined) variant.closedCaptions = closedCaptions;
  return variant;
}

export function parseMultivariantPlaylist(text: string): MultivariantPlaylist {
  const lines = readLines(text);
  const playlist: MultivariantPlaylist = { variants: [], renditions: [], independentSegments: false };
  let pendingStreamInf: TagLine | undefined;
  for (const line of lines) {
    if (line.kind === 'uri') {
      // §4.3.4.2: a URI line is only meaningful right after EXT-X-STREAM-INF.
      if (pendingStreamInf === undefined) throw new PlaylistParseError(`line ${line.line}: URI "${line.uri}" does not follow an EXT-X-STREAM-INF tag`);
      playlist.variants.push(parseVariant(pendingStreamInf, line.uri));
      pendingStreamInf = undefined;
      continue;
    }
    if (MEDIA_TAGS.has(line.name)) throw new PlaylistParseError(`line ${line.line}: ${line.name} belongs in a media playlist, not a multivariant playlist`);
    switch (line.name) {
      case 'EXT-X-VERSION':
        playlist.version = tagInteger(line);
        break;
      case 'EXT-X-INDEPENDENT-SEGMENTS':
        playlist.independentSegments = true;
        break;
      case 'EXT-X-MEDIA':
        playlist.renditions.push(parseRendition(line));
        break;
      case 'EXT-X-STREAM-INF':
        if (pendingStreamInf !== undefined) throw new PlaylistParseError(`line ${pendingStreamInf.line}: EXT-X-STREAM-INF is not followed by a URI`);
        pendingStreamInf = line;
        break;
      default:
        break; // §6.3.1: unknown tags are ignored
    }
  }
  if (pendingStreamInf !== undefined) throw new PlaylistParseError(`line ${pendingStreamInf.line}: EXT-X-STREAM-INF is not followed by a URI`);
  return playlist;
}

interface PendingSegment {
  line: number;
  duration: number;
  title?: string;
  discontinuity: boolean;
  byteRange?: ByteRange;
  programDateTime?: number;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = readLines(text);
  let targetDuration: number | undefined;
  const playlist: Omit<MediaPlaylist, 'targetDuration'> = { mediaSequence: 0, discontinuitySequence: 0, endList: false, independentSegments: false, segments: [] };
  let pending: PendingSegment | undefined;
  let discontinuity = false;
  let byteRange: { range: ByteRange; line: number } | undefined;
  let programDateTime: number | undefined;
  let map: MediaSegmentEntry['map'];
  // Clock carried from the last PDT tag: its value plus the sum of durations since, in whole
  // microseconds so that a long run of 1.001 s segments does not drift with float rounding.
  let clock: { anchorMs: number; elapsedUs: number } | undefined;

  for (const line of lines) {
    if (line.kind === 'uri') {
      // §4.3.2.1: "This tag [EXTINF] is REQUIRED for each Media Segment."
      if (pending === undefined) throw new PlaylistParseError(`line ${line.line}: URI "${line.uri}" has no EXTINF before it`);
      const segment: MediaSegmentEntry = { uri: line.uri, duration: pending.duration, discontinuity: pending.discontinuity };
      if (pending.title !== undefined) segment.title = pending.title;
      if (pending.byteRange !== undefined) {
        const range = pending.byteRange;
        if (range.offset === undefined) {
          // §4.3.2.2: without @o the sub-range starts right after the previous segment's sub-range,
          // which MUST be of the same resource, "or the Media Segment is undefined and the client
          // MUST fail to parse the Playlist".
          const previous = playlist.segments[playlist.segments.length - 1];
          if (previous?.byteRange?.offset === undefined || previous.uri !== line.uri) {
            throw new PlaylistParseError(`line ${line.line}: EXT-X-BYTERANGE without an offset does not follow a sub-range of the same resource`);
          }
          segment.byteRange = { length: range.length, offset: previous.byteRange.offset + previous.byteRange.length };
        } else {
          segment.byteRange = range;
        }
      }
      if (pending.discontinuity) clock = undefined;
      if (pending.programDateTime !== undefined) clock = { anchorMs: pending.programDateTime, elapsedUs: 0 };
      if (clock !== undefined) {
        segment.programDateTime = clock.anchorMs + clock.elapsedUs / 1000;
        clock.elapsedUs += Math.round(pending.duration * 1_000_000);
      }
      if (map !== undefined) segment.map = map;
      playlist.segments.push(segment);
      pending = undefined;
      continue;
    }
    if (MULTIVARIANT_TAGS.has(line.name)) throw new PlaylistParseError(`line ${line.line}: ${line.name} belongs in a multivariant playlist, not a media playlist`);
    switch (line.name) {
      case 'EXT-X-VERSION':
        playlist.version = tagInteger(line);
        break;
      case 'EXT-X-TARGETDURATION': // §4.3.3.1
        targetDuration = tagInteger(line);
        break;
      case 'EXT-X-MEDIA-SEQUENCE': // §4.3.3.2
        playlist.mediaSequence = tagInteger(line);
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE': // §4.3.3.3
        playlist.discontinuitySequence = tagInteger(line);
        break;
      case 'EXT-X-ENDLIST': // §4.3.3.4
        playlist.endList = true;
        break;
      case 'EXT-X-PLAYLIST-TYPE': {
        // §4.3.3.5
        const type = (line.value ?? '').trim();
        if (type !== 'EVENT' && type !== 'VOD') throw new PlaylistParseError(`line ${line.line}: EXT-X-PLAYLIST-TYPE must be EVENT or VOD, not "${type}"`);
        playlist.playlistType = type;
        break;
      }
      case 'EXT-X-INDEPENDENT-SEGMENTS': // §4.3.5.1
        playlist.independentSegments = true;
        break;
      case 'EXTINF': {
        // §4.3.2.1: #EXTINF:<duration>,[<title>]. Some encoders drop the comma when there is no
        // title; that is accepted.
        if (pending !== undefined) throw new PlaylistParseError(`line ${pending.line}: EXTINF is not followed by a URI`);
        const value = line.value ?? '';
        const comma = value.indexOf(',');
        const durationText = (comma < 0 ? value : value.slice(0, comma)).trim();
        if (!/^\d+(\.\d*)?$/.test(durationText)) throw new PlaylistParseError(`line ${line.line}: EXTINF duration "${durationText}" is not a decimal number`);
        pending = { line: line.line, duration: Number(durationText), discontinuity };
        const title = comma < 0 ? '' : value.slice(comma + 1).trim();
        if (title !== '') pending.title = title;
        if (byteRange !== undefined) pending.byteRange = byteRange.range;
        if (programDateTime !== undefined) pending.programDateTime = programDateTime;
        discontinuity = false;
        byteRange = undefined;
        programDateTime = undefined;
        break;
      }
      // Tags that describe the next segment may come before or after its EXTINF (ffmpeg writes
      // EXT-X-PROGRAM-DATE-TIME after EXTINF); both orders attach them to the next URI.
      case 'EXT-X-BYTERANGE': {
        const range = parseByteRange(line.value ?? '', `line ${line.line}: EXT-X-BYTERANGE`);
        if (pending !== undefined) pending.byteRange = range;
        else byteRange = { range, line: line.line };
        break;
      }
      case 'EXT-X-DISCONTINUITY': // §4.3.2.3
        if (pending !== undefined) pending.discontinuity = true;
        else discontinuity = true;
        break;
      case 'EXT-X-PROGRAM-DATE-TIME': {
        // §4.3.2.6
        const ms = parseDateTime(line.value ?? '');
        if (ms === undefined) throw new PlaylistParseError(`line ${line.line}: EXT-X-PROGRAM-DATE-TIME "${line.value ?? ''}" is not an ISO 8601 date-time`);
        if (pending !== undefined) pending.programDateTime = ms;
        else programDateTime = ms;
        break;
      }
      case 'EXT-X-MAP': {
        // §4.3.2.5: URI is REQUIRED; it applies to every segment after it until the next EXT-X-MAP.
        const a = parseAttributeList(line);
        const uri = a.required('URI', a.quoted('URI'));
        const range = a.quoted('BYTERANGE');
        map = range === undefined ? { uri } : { uri, byteRange: parseByteRange(range, `line ${line.line}: EXT-X-MAP BYTERANGE`) };
        break;
      }
      default:
        break; // §6.3.1: unknown tags are ignored
    }
  }
  if (pending !== undefined) throw new PlaylistParseError(`line ${pending.line}: EXTINF is not followed by a URI`);
  if (byteRange !== undefined) throw new PlaylistParseError(`line ${byteRange.line}: EXT-X-BYTERANGE is not followed by a segment`);
  // §4.3.3.1: "The EXT-X-TARGETDURATION tag is REQUIRED."
  if (targetDuration === undefined) throw new PlaylistParseError('media playlist lacks the required EXT-X-TARGETDURATION tag');
  return { ...playlist, targetDuration };
}
