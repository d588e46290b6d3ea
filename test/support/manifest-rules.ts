/**
 * Conformance checks for the manifests Packhouse writes, independent of src/:
 *
 * - `mpdSchemaErrors`: an MPD against the DASH MPD schema (test/fixtures/dash-schema/, see the
 *   README there) with Debian's `xmllint` (libxml2-utils).
 * - `hlsErrors`: an HLS playlist against the rules of RFC 8216 and its second edition draft
 *   (draft-pantos-hls-rfc8216bis, for LL-HLS) for the tags Packhouse writes: syntax of tags and
 *   attribute lists, attribute value formats, required attributes, which tags may appear where
 *   and how often, EXT-X-VERSION against the features used, target duration, part target and
 *   hold-back rules, EXT-X-MAP in effect for every fMP4 segment. A checker written for the tests
 *   from the documents' MUST (and a few SHOULD, marked) statements; section numbers are given
 *   with each rule (RFC 8216 unless "bis").
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './server.js';

export const MPD_SCHEMA = join(ROOT, 'test', 'fixtures', 'dash-schema', 'packhouse-mpd.xsd');

/** xmllint's complaints about an MPD (empty when it validates). */
export async function mpdSchemaErrors(xml: string): Promise<string[]> {
  const child = spawn('xmllint', ['--noout', '--nonet', '--schema', MPD_SCHEMA, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  child.stdin.on('error', () => undefined);
  child.stdin.end(xml);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code === 0) return [];
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/ validates$/.test(l));
  return lines.length ? lines : [`xmllint exited with ${code}`];
}

/** Throws with every problem (and the manifest) unless the MPD validates. */
export async function assertValidMpd(xml: string, what: string): Promise<void> {
  const errors = await mpdSchemaErrors(xml);
  if (errors.length) throw new Error(`${what} does not validate against the DASH MPD schema:\n${errors.join('\n')}\n--- MPD ---\n${xml}`);
}

/** Throws with every problem (and the playlist) unless the playlist follows the rules. */
export function assertValidPlaylist(text: string, what: string): void {
  const errors = hlsErrors(text);
  if (errors.length) throw new Error(`${what} breaks RFC 8216 rules:\n${errors.join('\n')}\n--- playlist ---\n${text}`);
}

// ---------------------------------------------------------------------------------------------
// HLS

type ValueType = 'int' | 'hex' | 'float' | 'sfloat' | 'quoted' | 'enum' | 'resolution';

interface TagSpec {
  /** media: Media Playlist only; multivariant: Multivariant Playlist only; both: either. */
  readonly where: 'media' | 'multivariant' | 'both';
  /** A tag that may appear once per playlist (§4.3.3, §4.3.5, §4.3.1.2). */
  readonly once?: boolean;
  /** A media segment tag: applies to the next segment (§4.3.2). */
  readonly segment?: boolean;
  /** 'attrs': attribute list; 'none': no value; 'value': a value of its own (checked by hand). */
  readonly form: 'attrs' | 'none' | 'value';
  readonly attrs?: Readonly<Record<string, ValueType>>;
  readonly required?: readonly string[];
  /** Enumerated values allowed for an attribute. */
  readonly enums?: Readonly<Record<string, readonly string[]>>;
}

const TAGS: Readonly<Record<string, TagSpec>> = {
  EXTM3U: { where: 'both', form: 'none' },
  'EXT-X-VERSION': { where: 'both', once: true, form: 'value' },
  'EXT-X-INDEPENDENT-SEGMENTS': { where: 'both', once: true, form: 'none' },
  'EXT-X-START': { where: 'both', once: true, form: 'attrs', attrs: { 'TIME-OFFSET': 'sfloat', PRECISE: 'enum' }, required: ['TIME-OFFSET'], enums: { PRECISE: ['YES', 'NO'] } },
  // §4.3.2 Media Segment tags.
  EXTINF: { where: 'media', segment: true, form: 'value' },
  'EXT-X-BYTERANGE': { where: 'media', segment: true, form: 'value' },
  'EXT-X-DISCONTINUITY': { where: 'media', segment: true, form: 'none' },
  'EXT-X-KEY': {
    where: 'media',
    segment: true,
    form: 'attrs',
    attrs: { METHOD: 'enum', URI: 'quoted', IV: 'hex', KEYFORMAT: 'quoted', KEYFORMATVERSIONS: 'quoted' },
    required: ['METHOD'],
    enums: { METHOD: ['NONE', 'AES-128', 'SAMPLE-AES', 'SAMPLE-AES-CTR'] },
  },
  'EXT-X-MAP': { where: 'media', segment: true, form: 'attrs', attrs: { URI: 'quoted', BYTERANGE: 'quoted' }, required: ['URI'] },
  'EXT-X-PROGRAM-DATE-TIME': { where: 'media', segment: true, form: 'value' },
  'EXT-X-GAP': { where: 'media', segment: true, form: 'none' },
  // bis §4.4.4.9.
  'EXT-X-PART': {
    where: 'media',
    segment: true,
    form: 'attrs',
    attrs: { URI: 'quoted', DURATION: 'float', INDEPENDENT: 'enum', BYTERANGE: 'quoted', GAP: 'enum' },
    required: ['URI', 'DURATION'],
    enums: { INDEPENDENT: ['YES'], GAP: ['YES'] },
  },
  // §4.3.3 Media Playlist tags.
  'EXT-X-TARGETDURATION': { where: 'media', once: true, form: 'value' },
  'EXT-X-MEDIA-SEQUENCE': { where: 'media', once: true, form: 'value' },
  'EXT-X-DISCONTINUITY-SEQUENCE': { where: 'media', once: true, form: 'value' },
  'EXT-X-ENDLIST': { where: 'media', once: true, form: 'none' },
  'EXT-X-PLAYLIST-TYPE': { where: 'media', once: true, form: 'value' },
  'EXT-X-I-FRAMES-ONLY': { where: 'media', once: true, form: 'none' },
  // bis §4.4.3.7, §4.4.3.8.
  'EXT-X-PART-INF': { where: 'media', once: true, form: 'attrs', attrs: { 'PART-TARGET': 'float' }, required: ['PART-TARGET'] },
  'EXT-X-SERVER-CONTROL': {
    where: 'media',
    once: true,
    form: 'attrs',
    attrs: { 'CAN-SKIP-UNTIL': 'float', 'CAN-SKIP-DATERANGES': 'enum', 'HOLD-BACK': 'float', 'PART-HOLD-BACK': 'float', 'CAN-BLOCK-RELOAD': 'enum' },
    enums: { 'CAN-SKIP-DATERANGES': ['YES'], 'CAN-BLOCK-RELOAD': ['YES'] },
  },
  // bis §4.4.5.3, §4.4.5.4 (Media Metadata tags).
  'EXT-X-PRELOAD-HINT': {
    where: 'media',
    form: 'attrs',
    attrs: { TYPE: 'enum', URI: 'quoted', 'BYTERANGE-START': 'int', 'BYTERANGE-LENGTH': 'int' },
    required: ['TYPE', 'URI'],
    enums: { TYPE: ['PART', 'MAP'] },
  },
  'EXT-X-RENDITION-REPORT': { where: 'media', form: 'attrs', attrs: { URI: 'quoted', 'LAST-MSN': 'int', 'LAST-PART': 'int' }, required: ['URI'] },
  // §4.3.4 Multivariant Playlist tags.
  // §4.3.4.5: the attributes of EXT-X-KEY, METHOD never NONE.
  'EXT-X-SESSION-KEY': {
    where: 'multivariant',
    form: 'attrs',
    attrs: { METHOD: 'enum', URI: 'quoted', IV: 'hex', KEYFORMAT: 'quoted', KEYFORMATVERSIONS: 'quoted' },
    required: ['METHOD', 'URI'],
    enums: { METHOD: ['AES-128', 'SAMPLE-AES', 'SAMPLE-AES-CTR'] },
  },
  'EXT-X-MEDIA': {
    where: 'multivariant',
    form: 'attrs',
    attrs: {
      TYPE: 'enum',
      URI: 'quoted',
      'GROUP-ID': 'quoted',
      LANGUAGE: 'quoted',
      'ASSOC-LANGUAGE': 'quoted',
      NAME: 'quoted',
      'STABLE-RENDITION-ID': 'quoted',
      DEFAULT: 'enum',
      AUTOSELECT: 'enum',
      FORCED: 'enum',
      'INSTREAM-ID': 'quoted',
      CHARACTERISTICS: 'quoted',
      CHANNELS: 'quoted',
    },
    required: ['TYPE', 'GROUP-ID', 'NAME'],
    enums: { TYPE: ['AUDIO', 'VIDEO', 'SUBTITLES', 'CLOSED-CAPTIONS'], DEFAULT: ['YES', 'NO'], AUTOSELECT: ['YES', 'NO'], FORCED: ['YES', 'NO'] },
  },
  'EXT-X-STREAM-INF': {
    where: 'multivariant',
    form: 'attrs',
    attrs: {
      BANDWIDTH: 'int',
      'AVERAGE-BANDWIDTH': 'int',
      SCORE: 'float',
      CODECS: 'quoted',
      'SUPPLEMENTAL-CODECS': 'quoted',
      RESOLUTION: 'resolution',
      'FRAME-RATE': 'float',
      'HDCP-LEVEL': 'enum',
      'ALLOWED-CPC': 'quoted',
      'VIDEO-RANGE': 'enum',
      'STABLE-VARIANT-ID': 'quoted',
      AUDIO: 'quoted',
      VIDEO: 'quoted',
      SUBTITLES: 'quoted',
      'CLOSED-CAPTIONS': 'quoted',
      'PATHWAY-ID': 'quoted',
    },
    required: ['BANDWIDTH'],
    enums: { 'HDCP-LEVEL': ['TYPE-0', 'TYPE-1', 'NONE'], 'VIDEO-RANGE': ['SDR', 'HLG', 'PQ'] },
  },
};

// §4.2 attribute value formats.
const VALUE: Record<ValueType, RegExp> = {
  int: /^\d{1,20}$/,
  hex: /^0[xX][0-9A-Fa-f]+$/,
  float: /^\d+(\.\d+)?$/,
  sfloat: /^-?\d+(\.\d+)?$/,
  quoted: /^"[^"\r\n]*"$/,
  enum: /^[^",\s]+$/,
  resolution: /^\d+x\d+$/,
};

/** §4.2: AttributeName=AttributeValue pairs separated by commas; null on a syntax error. */
function parseAttributeList(text: string): { name: string; raw: string }[] | null {
  const out: { name: string; raw: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const m = /^([A-Z0-9-]+)=/.exec(text.slice(i));
    if (!m) return null;
    i += m[0].length;
    let raw: string;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return null;
      raw = text.slice(i, end + 1);
    } else {
      const end = text.indexOf(',', i);
      raw = text.slice(i, end < 0 ? text.length : end);
    }
    out.push({ name: m[1]!, raw });
    i += raw.length;
    if (i < text.length) {
      if (text[i] !== ',') return null;
      i++;
      if (i === text.length) return null;
    }
  }
  return out;
}

const unquote = (v: string) => (v.startsWith('"') ? v.slice(1, -1) : v);
// §4.3.2.6: date-time with time zone (and optional fraction), ISO 8601 as in RFC 3339.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
// RFC 5646 language tag (the shape, not the registry).
const LANGUAGE = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

interface Line {
  readonly n: number;
  readonly text: string;
}

interface ParsedTag {
  readonly line: Line;
  readonly name: string;
  readonly value: string | undefined;
  readonly attrs: Map<string, string>;
}

/** Every rule the playlist breaks, one line each with its line number (empty when none). */
export function hlsErrors(text: string): string[] {
  const errors: string[] = [];
  const err = (line: Line | undefined, msg: string) => errors.push(`${line ? `line ${line.n}: ` : ''}${msg}`);
  // §4.1: UTF-8 without BOM and without control characters other than CR and LF.
  if (text.startsWith('\uFEFF')) err(undefined, 'the playlist starts with a byte order mark (§4.1)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(text)) err(undefined, 'control characters other than CR and LF (§4.1)');
  const lines: Line[] = text
    .split(/\r?\n/)
    .map((t, i) => ({ n: i + 1, text: t }))
    .filter((l) => l.text.trim() !== '');
  if (lines[0]?.text !== '#EXTM3U') {
    err(lines[0], 'the first line must be #EXTM3U (§4.3.1.1)');
    return errors;
  }
  for (const l of lines) if (l.text !== l.text.trim()) err(l, 'leading or trailing white space (§4.1: white space only where a tag allows it)');

  // Tags (lines starting #EXT), URIs (lines not starting #); other # lines are comments (§4.1).
  const tags: ParsedTag[] = [];
  const items: ({ kind: 'tag'; tag: ParsedTag } | { kind: 'uri'; line: Line })[] = [];
  for (const l of lines) {
    if (!l.text.startsWith('#')) {
      items.push({ kind: 'uri', line: l });
      continue;
    }
    if (!l.text.startsWith('#EXT')) continue;
    const colon = l.text.indexOf(':');
    const name = l.text.slice(1, colon < 0 ? undefined : colon);
    const value = colon < 0 ? undefined : l.text.slice(colon + 1);
    const spec = TAGS[name];
    const tag: ParsedTag = { line: l, name, value, attrs: new Map() };
    if (spec) {
      if (spec.form === 'none' && value !== undefined) err(l, `#${name} takes no value`);
      if (spec.form !== 'none' && value === undefined) err(l, `#${name} needs a value`);
      if (spec.form === 'attrs' && value !== undefined) {
        const list = parseAttributeList(value);
        if (!list) err(l, `#${name}: malformed attribute list (§4.2)`);
        for (const { name: a, raw } of list ?? []) {
          if (tag.attrs.has(a)) err(l, `#${name}: attribute ${a} appears twice (§4.2)`);
          tag.attrs.set(a, raw);
          const type = spec.attrs?.[a];
          if (type === undefined) continue; // unknown attributes are ignored by clients (§4.2)
          if (!VALUE[type].test(raw)) err(l, `#${name}: ${a}=${raw} is not a ${type} value (§4.2)`);
          const allowed = spec.enums?.[a];
          if (allowed && !allowed.includes(raw)) err(l, `#${name}: ${a}=${raw} is not one of ${allowed.join(', ')}`);
        }
        for (const r of spec.required ?? []) if (!tag.attrs.has(r)) err(l, `#${name} lacks its required attribute ${r}`);
      }
    }
    tags.push(tag);
    items.push({ kind: 'tag', tag });
  }

  const named = (n: string) => tags.filter((t) => t.name === n);
  const has = (n: string) => tags.some((t) => t.name === n);
  const isMultivariant = has('EXT-X-STREAM-INF') || has('EXT-X-MEDIA') || has('EXT-X-I-FRAME-STREAM-INF');
  const isMedia = tags.some((t) => TAGS[t.name]?.where === 'media');
  // §4.1, §6.3.4: a playlist is one or the other, never both.
  if (isMultivariant && isMedia) err(undefined, 'the playlist mixes Multivariant Playlist tags and Media Playlist tags (§4.1)');
  for (const t of tags) {
    const spec = TAGS[t.name];
    if (spec?.once && named(t.name).length > 1 && named(t.name)[0] !== t) err(t.line, `#${t.name} appears more than once (§4.3.3)`);
  }

  // EXT-X-VERSION (§4.3.1.2) and what the features used require (§7; bis §8).
  let version = 1;
  const v = named('EXT-X-VERSION')[0];
  if (v) {
    if (!/^\d+$/.test(v.value ?? '')) err(v.line, `#EXT-X-VERSION:${v.value ?? ''} is not a decimal-integer`);
    else version = Number(v.value);
  }
  const need = (min: number, line: Line, why: string) => {
    if (version < min) err(line, `${why} needs EXT-X-VERSION ${min} or higher, the playlist says ${version} (§7)`);
  };

  if (isMultivariant) checkMultivariant(items, tags, err, need);
  else checkMedia(items, tags, err, need);
  return errors;
}

type Err = (line: Line | undefined, msg: string) => void;
type Need = (min: number, line: Line, why: string) => void;

function checkMultivariant(items: readonly ({ kind: 'tag'; tag: ParsedTag } | { kind: 'uri'; line: Line })[], tags: readonly ParsedTag[], err: Err, need: Need): void {
  const sessionKeys = new Set<string>();
  for (const k of tags.filter((t) => t.name === 'EXT-X-SESSION-KEY')) {
    // §4.3.4.5: never two with the same METHOD, URI, IV, KEYFORMAT and KEYFORMATVERSIONS.
    const id = JSON.stringify(['METHOD', 'URI', 'IV', 'KEYFORMAT', 'KEYFORMATVERSIONS'].map((a) => k.attrs.get(a)));
    if (sessionKeys.has(id)) err(k.line, 'two EXT-X-SESSION-KEY tags with the same METHOD, URI, IV, KEYFORMAT and KEYFORMATVERSIONS (§4.3.4.5)');
    sessionKeys.add(id);
    if (k.attrs.has('IV')) need(2, k.line, 'EXT-X-SESSION-KEY with IV');
    if (k.attrs.has('KEYFORMAT') || k.attrs.has('KEYFORMATVERSIONS')) need(5, k.line, 'EXT-X-SESSION-KEY with KEYFORMAT or KEYFORMATVERSIONS');
    if (k.attrs.get('METHOD') === 'SAMPLE-AES') need(5, k.line, 'METHOD=SAMPLE-AES');
  }
  const media = tags.filter((t) => t.name === 'EXT-X-MEDIA');
  const groups = new Map<string, ParsedTag[]>();
  for (const m of media) {
    const a = (k: string) => (m.attrs.has(k) ? unquote(m.attrs.get(k)!) : undefined);
    const type = a('TYPE');
    const key = `${type}/${a('GROUP-ID')}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
    // §4.3.4.1: URI must not be present with CLOSED-CAPTIONS; INSTREAM-ID only there.
    if (type === 'CLOSED-CAPTIONS' && m.attrs.has('URI')) err(m.line, 'EXT-X-MEDIA: a CLOSED-CAPTIONS rendition has no URI (§4.3.4.1)');
    if (type === 'CLOSED-CAPTIONS' && !m.attrs.has('INSTREAM-ID')) err(m.line, 'EXT-X-MEDIA: a CLOSED-CAPTIONS rendition needs INSTREAM-ID (§4.3.4.1)');
    if (type !== 'CLOSED-CAPTIONS' && m.attrs.has('INSTREAM-ID')) err(m.line, 'EXT-X-MEDIA: INSTREAM-ID is only for CLOSED-CAPTIONS (§4.3.4.1)');
    if (a('DEFAULT') === 'YES' && m.attrs.has('AUTOSELECT') && a('AUTOSELECT') !== 'YES') err(m.line, 'EXT-X-MEDIA: DEFAULT=YES needs AUTOSELECT=YES (§4.3.4.1)');
    if (m.attrs.has('FORCED') && type !== 'SUBTITLES') err(m.line, 'EXT-X-MEDIA: FORCED is only for SUBTITLES (§4.3.4.1)');
    const lang = a('LANGUAGE');
    if (lang !== undefined && !LANGUAGE.test(lang)) err(m.line, `EXT-X-MEDIA: LANGUAGE "${lang}" is not an RFC 5646 language tag (§4.3.4.1)`);
    // §4.3.4.1: CHANNELS is a slash-separated list whose first parameter is a decimal-integer count.
    const ch = a('CHANNELS');
    if (ch !== undefined && !/^\d+(\/[^/]*)*$/.test(ch)) err(m.line, `EXT-X-MEDIA: CHANNELS "${ch}" does not start with a channel count (§4.3.4.1)`);
    if (a('INSTREAM-ID')?.startsWith('SERVICE')) need(7, m.line, 'INSTREAM-ID SERVICE values');
  }
  for (const [key, list] of groups) {
    // §4.3.4.1.1: every member of a group has a different NAME; at most one DEFAULT=YES (SHOULD).
    const names = list.map((m) => m.attrs.get('NAME'));
    if (new Set(names).size !== names.length) err(list[0]!.line, `rendition group ${key}: two members share a NAME (§4.3.4.1.1)`);
    if (list.filter((m) => m.attrs.get('DEFAULT') === 'YES').length > 1) err(list[0]!.line, `rendition group ${key}: more than one DEFAULT=YES (§4.3.4.1.1, SHOULD)`);
  }
  items.forEach((item, i) => {
    if (item.kind !== 'tag' || item.tag.name !== 'EXT-X-STREAM-INF') return;
    const t = item.tag;
    // §4.3.4.2: the URI line follows directly (no other tag in between is sensible).
    const next = items[i + 1];
    if (next?.kind !== 'uri') err(t.line, 'EXT-X-STREAM-INF is not followed by the URI of its playlist (§4.3.4.2)');
    if (!t.attrs.has('CODECS')) err(t.line, 'EXT-X-STREAM-INF without CODECS (§4.3.4.2, SHOULD)');
    for (const [attr, type] of [
      ['AUDIO', 'AUDIO'],
      ['VIDEO', 'VIDEO'],
      ['SUBTITLES', 'SUBTITLES'],
    ] as const) {
      const g = t.attrs.get(attr);
      if (g !== undefined && !groups.has(`${type}/${unquote(g)}`)) err(t.line, `EXT-X-STREAM-INF: ${attr}=${g} names no EXT-X-MEDIA group of TYPE=${type} (§4.3.4.2)`);
    }
  });
  for (const item of items) {
    if (item.kind !== 'uri') continue;
    const before = items[items.indexOf(item) - 1];
    if (before?.kind !== 'tag' || before.tag.name !== 'EXT-X-STREAM-INF') err(item.line, `URI ${item.line.text} does not follow an EXT-X-STREAM-INF (§4.3.4.2)`);
  }
}

function checkMedia(items: readonly ({ kind: 'tag'; tag: ParsedTag } | { kind: 'uri'; line: Line })[], tags: readonly ParsedTag[], err: Err, need: Need): void {
  const first = (n: string) => tags.find((t) => t.name === n);
  const td = first('EXT-X-TARGETDURATION');
  let target = Number.NaN;
  // §4.3.3.1: required, a decimal-integer number of seconds.
  if (!td) err(undefined, 'no EXT-X-TARGETDURATION (§4.3.3.1: required)');
  else if (!/^\d+$/.test(td.value ?? '')) err(td.line, `EXT-X-TARGETDURATION:${td.value ?? ''} is not a decimal-integer`);
  else target = Number(td.value);
  for (const n of ['EXT-X-MEDIA-SEQUENCE', 'EXT-X-DISCONTINUITY-SEQUENCE']) {
    const t = first(n);
    if (t && !/^\d+$/.test(t.value ?? '')) err(t.line, `#${n}:${t.value ?? ''} is not a decimal-integer`);
  }
  const pt = first('EXT-X-PLAYLIST-TYPE');
  if (pt && pt.value !== 'VOD' && pt.value !== 'EVENT') err(pt.line, `EXT-X-PLAYLIST-TYPE:${pt.value ?? ''} is neither VOD nor EVENT (§4.3.3.5)`);
  const iframes = Boolean(first('EXT-X-I-FRAMES-ONLY'));

  // Walk the segments: the tags before each URI apply to it (§4.3.2).
  let pending: ParsedTag[] = [];
  let mapInEffect: ParsedTag | undefined;
  let segments = 0;
  let sawDiscontinuity = false;
  const partInf = first('EXT-X-PART-INF');
  const partTarget = partInf?.attrs.has('PART-TARGET') ? Number(partInf.attrs.get('PART-TARGET')) : Number.NaN;
  const preloads = new Map<string, ParsedTag>();
  /** Parts listed since the last complete segment (bis §4.4.4.9). */
  let parts: ParsedTag[] = [];
  const checkParts = (list: readonly ParsedTag[], complete: boolean) => {
    list.forEach((p, i) => {
      const d = Number(p.attrs.get('DURATION'));
      // bis §4.4.3.7 and §4.4.4.9: no part lasts longer than the Part Target Duration; every part but
      // an independent one or the last of its parent segment lasts at least 85% of it.
      if (d > partTarget) err(p.line, `EXT-X-PART DURATION=${d} exceeds PART-TARGET=${partTarget} (bis §4.4.4.9)`);
      const lastOfParent = complete && i === list.length - 1;
      if (d < 0.85 * partTarget && p.attrs.get('INDEPENDENT') !== 'YES' && !lastOfParent) err(p.line, `EXT-X-PART DURATION=${d} is under 85% of PART-TARGET=${partTarget} (bis §4.4.4.9)`);
    });
  };
  items.forEach((item) => {
    if (item.kind === 'tag') {
      const t = item.tag;
      if (t.name === 'EXT-X-MEDIA-SEQUENCE' || t.name === 'EXT-X-DISCONTINUITY-SEQUENCE') {
        // §4.3.3.2, §4.3.3.3: before the first segment (and before any EXT-X-DISCONTINUITY).
        if (segments > 0 || parts.length > 0) err(t.line, `#${t.name} after the first media segment (§4.3.3.2, §4.3.3.3)`);
        if (t.name === 'EXT-X-DISCONTINUITY-SEQUENCE' && sawDiscontinuity) err(t.line, 'EXT-X-DISCONTINUITY-SEQUENCE after an EXT-X-DISCONTINUITY (§4.3.3.3)');
      }
      if (t.name === 'EXT-X-DISCONTINUITY') sawDiscontinuity = true;
      if (t.name === 'EXT-X-MAP') {
        mapInEffect = t;
        need(iframes ? 5 : 6, t.line, iframes ? 'EXT-X-MAP' : 'EXT-X-MAP in a Media Playlist without EXT-X-I-FRAMES-ONLY');
      }
      if (t.name === 'EXT-X-BYTERANGE') need(4, t.line, 'EXT-X-BYTERANGE');
      if (t.name === 'EXT-X-I-FRAMES-ONLY') need(4, t.line, 'EXT-X-I-FRAMES-ONLY');
      if (t.name === 'EXT-X-KEY') {
        if (t.attrs.has('IV')) need(2, t.line, 'EXT-X-KEY with IV');
        if (t.attrs.has('KEYFORMAT') || t.attrs.has('KEYFORMATVERSIONS')) need(5, t.line, 'EXT-X-KEY with KEYFORMAT or KEYFORMATVERSIONS');
        if (t.attrs.get('METHOD') === 'SAMPLE-AES') need(5, t.line, 'METHOD=SAMPLE-AES');
        if (t.attrs.get('METHOD') !== 'NONE' && !t.attrs.has('URI')) err(t.line, 'EXT-X-KEY without URI (§4.3.2.4: required unless METHOD=NONE)');
        if (t.attrs.get('METHOD') === 'NONE' && (t.attrs.has('URI') || t.attrs.has('IV') || t.attrs.has('KEYFORMAT'))) err(t.line, 'EXT-X-KEY METHOD=NONE with other attributes (§4.3.2.4)');
      }
      if (t.name === 'EXT-X-PROGRAM-DATE-TIME' && !DATE_TIME.test(t.value ?? '')) err(t.line, `EXT-X-PROGRAM-DATE-TIME:${t.value ?? ''} is not an ISO 8601 date-time with a time zone (§4.3.2.6)`);
      if (t.name === 'EXTINF') {
        // §4.3.2.1: #EXTINF:<duration>,[<title>]; integer durations below version 3.
        const m = /^(\d+(?:\.\d+)?),(.*)$/.exec(t.value ?? '');
        if (!m) err(t.line, `#EXTINF:${t.value ?? ''} is not <duration>,[<title>] (§4.3.2.1)`);
        else {
          if (m[1]!.includes('.')) need(3, t.line, 'a decimal-floating-point EXTINF duration');
          // §4.3.3.1: every EXTINF, rounded to the nearest integer, at most the target duration.
          if (Math.round(Number(m[1])) > target) err(t.line, `EXTINF ${m[1]} s rounds above EXT-X-TARGETDURATION ${target} (§4.3.3.1)`);
        }
        if (pending.some((p) => p.name === 'EXTINF')) err(t.line, 'two EXTINF tags for one segment (§4.3.2.1)');
      }
      if (t.name === 'EXT-X-PART') {
        if (!partInf) err(t.line, 'EXT-X-PART in a playlist without EXT-X-PART-INF (bis §4.4.3.7)');
        parts.push(t);
      }
      if (t.name === 'EXT-X-PRELOAD-HINT') {
        const type = t.attrs.get('TYPE') ?? '';
        if (preloads.has(type)) err(t.line, `two EXT-X-PRELOAD-HINT tags with TYPE=${type} (bis §4.4.5.3)`);
        preloads.set(type, t);
      }
      if (t.name === 'EXT-X-RENDITION-REPORT' && partInf && !t.attrs.has('LAST-PART')) err(t.line, 'EXT-X-RENDITION-REPORT without LAST-PART in a playlist with parts (bis §4.4.5.4)');
      if (TAGS[t.name]?.segment) pending.push(t);
      return;
    }
    // A media segment URI: EXTINF is required (§4.3.2.1).
    const l = item.line;
    if (!pending.some((p) => p.name === 'EXTINF')) err(l, `segment ${l.text} has no EXTINF (§4.3.2.1)`);
    // §4.3.2.5 (bis §4.4.4.5): every fMP4 segment has an EXT-X-MAP applied to it.
    if (/\.(mp4|m4s|m4a|m4v|cmf[vat])(\?|$)/i.test(l.text) && !mapInEffect) err(l, `fMP4 segment ${l.text} without an EXT-X-MAP in effect (§3.3, §4.3.2.5)`);
    if (parts.length) checkParts(parts, true);
    parts = [];
    pending = [];
    segments++;
  });
  if (parts.length) checkParts(parts, false);
  if (pending.some((p) => p.name === 'EXTINF')) err(pending.find((p) => p.name === 'EXTINF')!.line, 'EXTINF at the end of the playlist without a segment URI (§4.3.2.1)');
  if (partInf) {
    // bis §4.4.3.8: PART-HOLD-BACK is required with parts, at least twice PART-TARGET (three times SHOULD).
    const sc = first('EXT-X-SERVER-CONTROL');
    const phb = sc?.attrs.get('PART-HOLD-BACK');
    if (phb === undefined) err(partInf.line, 'EXT-X-PART-INF without EXT-X-SERVER-CONTROL:PART-HOLD-BACK (bis §4.4.3.8)');
    else if (Number(phb) < 2 * partTarget) err(sc!.line, `PART-HOLD-BACK=${phb} is less than twice PART-TARGET=${partTarget} (bis §4.4.3.8)`);
    else if (Number(phb) < 3 * partTarget) err(sc!.line, `PART-HOLD-BACK=${phb} is less than three times PART-TARGET=${partTarget} (bis §4.4.3.8, SHOULD)`);
  }
  const sc = first('EXT-X-SERVER-CONTROL');
  const hb = sc?.attrs.get('HOLD-BACK');
  if (hb !== undefined && Number(hb) < 3 * target) err(sc!.line, `HOLD-BACK=${hb} is less than three target durations (bis §4.4.3.8)`);
}
