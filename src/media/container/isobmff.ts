/**
 * Reads ISO-BMFF / CMAF init and media segments (ISO/IEC 14496-12, codec configuration boxes of
 * 14496-15) into the facts ingest needs: tracks with RFC 6381 codec strings, and per fragment the
 * decode time, duration and sample count. Pure: bytes in, values out. Malformed input throws
 * MediaParseError with a one-line reason; every loop advances by at least one box header.
 *
 * The work is bounded by the bytes given: a parse visits at most MAX_BOXES boxes, a sample count
 * that its trun and mdat cannot hold is an error (every sample has at least one byte of data, and
 * per-sample fields must fit in the trun), and samples without per-sample fields are summed in
 * closed form rather than one by one. A hostile segment therefore costs time linear in its size.
 */

export class MediaParseError extends Error {
  override name = 'MediaParseError';
}

/**
 * Runs a parse; a read past the end of the buffer (DataView's RangeError, which only malformed
 * input can cause) becomes the MediaParseError every caller expects.
 */
function guarded<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof RangeError) throw new MediaParseError('a field runs past the end of the data: the file is truncated or malformed');
    throw err;
  }
}

export interface TrackInfo {
  trackId: number;
  kind: 'video' | 'audio' | 'other';
  /** mdhd timescale: ticks per second of every time of this track. */
  timescale: number;
  /** RFC 6381: avc1.64001f, avc3…, hvc1.1.6.L93.B0, hev1…, mp4a.40.2; the sample entry type otherwise. */
  codec: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** ISO 639-2/T code from mdhd ('und' when unset), or the BCP 47 tag of an elng box. */
  language?: string;
  /**
   * From the edit list (14496-12 §8.6.6), in track ticks: presentation time = media time + editOffset
   * (leading empty edits minus the first edit's media_time). Absent when the track has no edit list.
   * Players such as ffmpeg apply it; HLS players mostly do not.
   */
  editOffset?: number;
  /**
   * The decoder configuration of the sample entry: the avcC or hvcC record's bytes, or the
   * AudioSpecificConfig from esds (AAC). What a repackager needs to rebuild in-band headers.
   */
  decoderConfig?: { readonly kind: 'avcC' | 'hvcC' | 'asc'; readonly bytes: Uint8Array };
}

/** trex (14496-12 §8.8.3): per-track defaults that tfhd may override. */
export interface TrackDefaults {
  trackId: number;
  sampleDescriptionIndex: number;
  sampleDuration: number;
  sampleSize: number;
  sampleFlags: number;
}

export interface InitSegmentInfo {
  tracks: TrackInfo[];
  defaults: TrackDefaults[];
  /** mvhd timescale (edit list durations are in it). */
  movieTimescale: number;
}

export interface FragmentInfo {
  trackId: number;
  /** mfhd sequence_number of the moof holding this track fragment. */
  sequenceNumber: number;
  /** tfdt, in the track timescale. */
  baseMediaDecodeTime: number;
  /** Sum of sample durations, in the track timescale, using trex/tfhd defaults. */
  duration: number;
  sampleCount: number;
  firstSampleIsSync: boolean;
  /** Smallest decode time + composition offset of the fragment's samples (no edit list applied). */
  earliestPresentationTime: number;
  /** Offset of the moof in the buffer. */
  moofOffset: number;
  /** moof + its mdat (up to the end of the first mdat after the moof). */
  byteLength: number;
}

/** sidx (14496-12 §8.16.3), as written; references in order. */
export interface SegmentIndex {
  referenceId: number;
  timescale: number;
  earliestPresentationTime: number;
  firstOffset: number;
  references: { referenceType: 0 | 1; referencedSize: number; subsegmentDuration: number; startsWithSap: boolean }[];
}

export interface MediaSegmentInfo {
  /** Every track fragment, in file order (moof by moof, traf by traf). */
  fragments: FragmentInfo[];
  /** Per track id: the earliest presentation time in the segment, in track ticks, before any edit list. */
  earliestTime: Record<number, number>;
  segmentIndexes: SegmentIndex[];
}

/** What readMediaSegment uses from the init segment: its track ids (checked) and trex defaults. */
export interface InitContext {
  tracks: readonly TrackInfo[];
  defaults?: readonly TrackDefaults[];
}

// ---------------------------------------------------------------------------------------------
// Boxes

interface Box {
  type: string;
  start: number;
  /** First byte after the header. */
  body: number;
  end: number;
}

/**
 * The most boxes one parse visits (every level counted). Real segments hold a few dozen (an LL-HLS
 * segment chunked frame by frame, a few thousand); the bound keeps a file made of tiny boxes from
 * costing memory and time out of proportion to its size.
 */
export const MAX_BOXES = 250_000;

class Bytes {
  readonly view: DataView;
  /** Boxes visited so far by this parse (see MAX_BOXES). */
  private boxes = 0;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** Counts one box against the parse's budget. */
  visitBox(): void {
    if (++this.boxes > MAX_BOXES) throw new MediaParseError(`more than ${MAX_BOXES} boxes: not a media segment Packhouse reads`);
  }
  u8(o: number): number {
    return this.view.getUint8(o);
  }
  u16(o: number): number {
    return this.view.getUint16(o);
  }
  u24(o: number): number {
    return (this.view.getUint8(o) << 16) | this.view.getUint16(o + 1);
  }
  u32(o: number): number {
    return this.view.getUint32(o);
  }
  i32(o: number): number {
    return this.view.getInt32(o);
  }
  u64(o: number): number {
    const hi = this.view.getUint32(o);
    if (hi >= 0x200000) throw new MediaParseError(`64-bit value at offset ${o} exceeds 2^53`);
    return hi * 0x1_0000_0000 + this.view.getUint32(o + 4);
  }
  i64(o: number): number {
    return this.view.getInt32(o) * 0x1_0000_0000 + this.view.getUint32(o + 4);
  }
  fourcc(o: number): string {
    return String.fromCharCode(this.buf[o] ?? 0, this.buf[o + 1] ?? 0, this.buf[o + 2] ?? 0, this.buf[o + 3] ?? 0);
  }
  isFourcc(o: number): boolean {
    for (let i = o; i < o + 4; i++) {
      const c = this.buf[i] ?? 0;
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  }
}

/**
 * The boxes in [start, end). §4.2: size 1 means a 64-bit largesize follows; size 0 means "to the
 * end of the file" and is only accepted at top level. `lenient` ignores a tail shorter than a box
 * header (QuickTime writers pad sample entries with zero terminators).
 */
function boxesIn(b: Bytes, start: number, end: number, where: string, topLevel = false, lenient = false): Box[] {
  const boxes: Box[] = [];
  let pos = start;
  while (pos < end) {
    if (end - pos < 8) {
      if (lenient) break;
      throw new MediaParseError(`truncated box header at offset ${pos} in ${where}: ${end - pos} bytes left`);
    }
    if (!b.isFourcc(pos + 4)) {
      if (lenient) break;
      throw new MediaParseError(topLevel && pos === 0 ? 'not ISO-BMFF: the first bytes are not a box header' : `bytes at offset ${pos} in ${where} are not a box header`);
    }
    const type = b.fourcc(pos + 4);
    let size = b.u32(pos);
    let header = 8;
    if (size === 1) {
      if (end - pos < 16) throw new MediaParseError(`truncated largesize of box ${type} at offset ${pos}`);
      size = b.u64(pos + 8);
      header = 16;
    } else if (size === 0) {
      if (!topLevel) throw new MediaParseError(`box ${type} at offset ${pos} in ${where} has size 0, which only a top-level box may use`);
      size = end - pos;
    }
    if (size < header) throw new MediaParseError(`box ${type} at offset ${pos} declares size ${size}, smaller than its header`);
    if (pos + size > end) throw new MediaParseError(`box ${type} at offset ${pos} is truncated: it declares ${size} bytes but ${end - pos} remain in ${where}`);
    b.visitBox();
    boxes.push({ type, start: pos, body: pos + header, end: pos + size });
    pos += size;
  }
  return boxes;
}

/** A box as readBoxes reports it: its type and where its header, body and end are in the buffer. */
export interface BoxRange {
  readonly type: string;
  readonly start: number;
  /** First byte after the header. */
  readonly body: number;
  readonly end: number;
}

/**
 * The boxes in [start, end) of buf, checked as every parse here checks them (sizes that overrun,
 * headers that are not box headers, size 0 only at top level); for writers that rewrite a file
 * box by box. Malformed input throws MediaParseError.
 */
export function readBoxes(buf: Uint8Array, start: number, end: number, where: string, topLevel = false, lenient = false): BoxRange[] {
  return guarded(() => boxesIn(new Bytes(buf), start, end, where, topLevel, lenient));
}

function child(b: Bytes, parent: Box, type: string): Box | undefined {
  return boxesIn(b, parent.body, parent.end, parent.type).find((x) => x.type === type);
}

function requireChild(b: Bytes, parent: Box, type: string): Box {
  const found = child(b, parent, type);
  if (found === undefined) throw new MediaParseError(`${parent.type} at offset ${parent.start} has no ${type} box`);
  return found;
}

function needBody(box: Box, bytes: number): void {
  if (box.end - box.body < bytes) throw new MediaParseError(`${box.type} at offset ${box.start} is too short: ${box.end - box.body} bytes, ${bytes} needed`);
}

function hex2(n: number, upper = false): string {
  const s = n.toString(16).padStart(2, '0');
  return upper ? s.toUpperCase() : s;
}

// ---------------------------------------------------------------------------------------------
// RFC 6381 codec strings (shared with the MPEG-TS reader, which finds the same fields in an SPS)

/** `avc1.PPCCLL` (RFC 6381 §3.3, 14496-15 §5.4): profile_idc, constraint flags byte, level_idc. */
export function avcCodecString(sampleEntry: string, profileIdc: number, constraintFlags: number, levelIdc: number): string {
  return `${sampleEntry}.${hex2(profileIdc)}${hex2(constraintFlags)}${hex2(levelIdc)}`;
}

/** HEVC general profile_tier_level fields, as in hvcC and the SPS/VPS profile_tier_level(). */
export interface HevcProfileTierLevel {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  compatibilityFlags: number;
  /** The 48 bits of general constraint indicator flags, as 6 bytes. */
  constraintBytes: readonly number[];
  levelIdc: number;
}

/**
 * 14496-15 Annex E.3: `hvc1.[A|B|C]<profile_idc>.<compatibility flags, bit-reversed, hex>.
 * <L|H><level_idc>.<constraint bytes in hex, trailing zero bytes omitted>`.
 */
export function hevcCodecString(sampleEntry: string, ptl: HevcProfileTierLevel): string {
  const space = ['', 'A', 'B', 'C'][ptl.profileSpace] ?? '';
  let reversed = 0;
  for (let i = 0; i < 32; i++) reversed = reversed * 2 + ((ptl.compatibilityFlags >>> i) & 1);
  const bytes = [...ptl.constraintBytes];
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const parts = [sampleEntry, `${space}${ptl.profileIdc}`, reversed.toString(16).toUpperCase(), `${ptl.tierFlag ? 'H' : 'L'}${ptl.levelIdc}`, ...bytes.map((x) => hex2(x, true))];
  return parts.join('.');
}

// ---------------------------------------------------------------------------------------------
// Init segment: moov

interface SampleEntryInfo {
  codec: string;
  decoderConfig?: TrackInfo['decoderConfig'];
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

const VISUAL_ENTRIES = new Set(['avc1', 'avc2', 'avc3', 'avc4', 'hvc1', 'hev1', 'dvh1', 'dvhe', 'dva1', 'dvav', 'av01', 'vp08', 'vp09', 'mp4v', 'encv']);
const AUDIO_ENTRIES = new Set(['mp4a', 'ac-3', 'ec-3', 'ac-4', 'Opus', 'fLaC', 'alac', 'enca', 'mha1', 'mhm1']);

/** ISO/IEC 14496-3 Table 1.18 (samplingFrequencyIndex), shared with ADTS. */
export const AAC_SAMPLE_RATES: readonly number[] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Channels of an AAC channelConfiguration (14496-3 Table 1.19); 0 means "in the program config element". */
export function aacChannels(channelConfiguration: number): number | undefined {
  return [undefined, 1, 2, 3, 4, 5, 6, 8, undefined, undefined, undefined, 7, 8, 24][channelConfiguration];
}

/** Channels of an AC-3 / E-AC-3 acmod (ATSC A/52 Table 5.8) plus the LFE channel. */
export function ac3Channels(acmod: number, lfeon: number): number {
  return ([2, 1, 2, 3, 3, 4, 4, 5][acmod] ?? 0) + lfeon;
}

/** Length of an MPEG-4 descriptor (14496-1 §8.3.3): up to four bytes of 7 bits. */
function readDescriptorHeader(b: Bytes, pos: number, end: number): { tag: number; body: number; end: number } {
  if (pos + 2 > end) throw new MediaParseError(`truncated descriptor at offset ${pos}`);
  const tag = b.u8(pos);
  let size = 0;
  let p = pos + 1;
  for (let i = 0; i < 4; i++) {
    if (p >= end) throw new MediaParseError(`truncated descriptor length at offset ${pos}`);
    const byte = b.u8(p++);
    size = size * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  if (p + size > end) throw new MediaParseError(`descriptor tag ${tag} at offset ${pos} overruns its box`);
  return { tag, body: p, end: p + size };
}

interface AudioConfig {
  sampleRate?: number;
  channels?: number;
}

/**
 * esds (14496-14 §3.3): ES_Descriptor -> DecoderConfigDescriptor (objectTypeIndication) ->
 * DecoderSpecificInfo (AudioSpecificConfig). RFC 6381 §3.3: `mp4a.<OTI hex>[.<audioObjectType>]`.
 */
function readEsds(b: Bytes, esds: Box): AudioConfig & { codec: string; asc?: Uint8Array } {
  const es = readDescriptorHeader(b, esds.body + 4, esds.end);
  if (es.tag !== 0x03) throw new MediaParseError(`esds at offset ${esds.start} does not start with an ES_Descriptor`);
  let p = es.body + 2; // ES_ID
  const flags = b.u8(p++);
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) p += 1 + b.u8(p); // URL
  if (flags & 0x20) p += 2; // OCR_ES_Id
  while (p < es.end) {
    const d = readDescriptorHeader(b, p, es.end);
    if (d.tag === 0x04) {
      const oti = b.u8(d.body);
      if (oti !== 0x40) return { codec: `mp4a.${hex2(oti)}` };
      // DecoderSpecificInfo (tag 5) follows the 13 fixed bytes of DecoderConfigDescriptor.
      for (let q = d.body + 13; q < d.end; ) {
        const dsi = readDescriptorHeader(b, q, d.end);
        if (dsi.tag === 0x05) {
          const asc = readAudioSpecificConfig(b, dsi.body, dsi.end);
          const { objectType, ...rest } = asc;
          return { codec: `mp4a.40.${objectType}`, ...rest, asc: new Uint8Array(b.buf.subarray(dsi.body, dsi.end)) };
        }
        q = dsi.end;
      }
      return { codec: 'mp4a.40' };
    }
    p = d.end;
  }
  throw new MediaParseError(`esds at offset ${esds.start} has no DecoderConfigDescriptor`);
}

/** AudioSpecificConfig (14496-3 §1.6.2.1): audioObjectType, sampling frequency, channels. */
function readAudioSpecificConfig(b: Bytes, start: number, end: number): AudioConfig & { objectType: number } {
  const bits = new BitReader(b.buf, start, end);
  const objectType = bits.u(5);
  const aot = objectType === 31 ? 32 + bits.u(6) : objectType;
  const rate = (): number | undefined => {
    const index = bits.u(4);
    return index === 15 ? bits.u(24) : AAC_SAMPLE_RATES[index];
  };
  let sampleRate = rate();
  let channels = aacChannels(bits.u(4));
  // Explicit SBR (5) / PS (29) signalling: the output runs at the extension sampling frequency,
  // and parametric stereo turns a mono core into two channels.
  if (aot === 5 || aot === 29) {
    sampleRate = rate();
    if (aot === 29 && channels === 1) channels = 2;
  }
  const out: AudioConfig & { objectType: number } = { objectType: aot };
  if (sampleRate !== undefined) out.sampleRate = sampleRate;
  if (channels !== undefined) out.channels = channels;
  return out;
}

function readSampleEntry(b: Bytes, entry: Box, kind: TrackInfo['kind']): SampleEntryInfo {
  let type = entry.type;
  const visual = VISUAL_ENTRIES.has(type) || (kind === 'video' && !AUDIO_ENTRIES.has(type));
  const audio = !visual && (AUDIO_ENTRIES.has(type) || kind === 'audio');
  const info: SampleEntryInfo = { codec: type.trim() };
  let childrenAt = entry.body + 8; // SampleEntry: reserved(6), data_reference_index(2)
  if (visual) {
    needBody(entry, 78);
    info.width = b.u16(entry.body + 24);
    info.height = b.u16(entry.body + 26);
    childrenAt = entry.body + 78;
  } else if (audio) {
    needBody(entry, 28);
    const version = b.u16(entry.body + 8); // QuickTime sound description version; 0 in ISO files
    info.channels = b.u16(entry.body + 16);
    info.sampleRate = b.u32(entry.body + 24) >>> 16;
    childrenAt = entry.body + 28;
    if (version === 1) childrenAt += 16;
    if (version === 2) {
      needBody(entry, 64);
      info.sampleRate = b.view.getFloat64(entry.body + 32);
      info.channels = b.u32(entry.body + 40);
      childrenAt += 36;
    }
  }
  const children = childrenAt < entry.end ? boxesIn(b, childrenAt, entry.end, type, false, true) : [];
  const find = (t: string): Box | undefined => children.find((x) => x.type === t);
  // Protected entries (14496-12 §8.12): the original format is in sinf/frma.
  const sinf = find('sinf');
  if ((type === 'encv' || type === 'enca') && sinf !== undefined) {
    const frma = child(b, sinf, 'frma');
    if (frma !== undefined) {
      needBody(frma, 4);
      type = b.fourcc(frma.body);
      info.codec = type.trim();
    }
  }
  const avcC = find('avcC');
  const hvcC = find('hvcC');
  const esds = find('esds');
  if ((type === 'avc1' || type === 'avc3' || type === 'avc2' || type === 'avc4') && avcC !== undefined) {
    needBody(avcC, 4);
    info.decoderConfig = { kind: 'avcC', bytes: new Uint8Array(b.buf.subarray(avcC.body, avcC.end)) };
    info.codec = avcCodecString(type, b.u8(avcC.body + 1), b.u8(avcC.body + 2), b.u8(avcC.body + 3));
  } else if ((type === 'hvc1' || type === 'hev1') && hvcC !== undefined) {
    needBody(hvcC, 13);
    info.decoderConfig = { kind: 'hvcC', bytes: new Uint8Array(b.buf.subarray(hvcC.body, hvcC.end)) };
    const first = b.u8(hvcC.body + 1);
    info.codec = hevcCodecString(type, {
      profileSpace: first >> 6,
      tierFlag: (first >> 5) & 1,
      profileIdc: first & 0x1f,
      compatibilityFlags: b.u32(hvcC.body + 2),
      constraintBytes: Array.from(b.buf.subarray(hvcC.body + 6, hvcC.body + 12)),
      levelIdc: b.u8(hvcC.body + 12),
    });
  } else if (type === 'mp4a' && esds !== undefined) {
    const config = readEsds(b, esds);
    info.codec = config.codec;
    if (config.asc !== undefined) info.decoderConfig = { kind: 'asc', bytes: config.asc };
    if (config.sampleRate !== undefined) info.sampleRate = config.sampleRate;
    if (config.channels !== undefined) info.channels = config.channels;
  } else if (type === 'ac-3') {
    const dac3 = find('dac3');
    if (dac3 !== undefined) {
      needBody(dac3, 3);
      // dac3 (ETSI TS 102 366 F.4): fscod(2) bsid(5) bsmod(3) acmod(3) lfeon(1) …
      const v = b.u24(dac3.body);
      info.channels = ac3Channels((v >> 11) & 7, (v >> 10) & 1);
    }
  } else if (type === 'ec-3') {
    const dec3 = find('dec3');
    if (dec3 !== undefined) {
      needBody(dec3, 5);
      // dec3 (ETSI TS 102 366 F.6): data_rate(13) num_ind_sub(3), then fscod(2) bsid(5) reserved(1),
      // then asvc(1) bsmod(3) acmod(3) lfeon(1) of the first independent substream: its fourth byte.
      const v = b.u8(dec3.body + 3);
      info.channels = ac3Channels((v >> 1) & 7, v & 1);
    }
  } else if (type === 'vp09') {
    const vpcC = find('vpcC');
    if (vpcC !== undefined) {
      needBody(vpcC, 7);
      const depth = b.u8(vpcC.body + 6) >> 4;
      info.codec = `vp09.${String(b.u8(vpcC.body + 4)).padStart(2, '0')}.${String(b.u8(vpcC.body + 5)).padStart(2, '0')}.${String(depth).padStart(2, '0')}`;
    }
  } else if (type === 'av01') {
    const av1C = find('av1C');
    if (av1C !== undefined) {
      needBody(av1C, 3);
      const p = b.u8(av1C.body + 1);
      const q = b.u8(av1C.body + 2);
      const depth = q & 0x40 ? (q & 0x20 ? 12 : 10) : 8;
      info.codec = `av01.${p >> 5}.${String(p & 0x1f).padStart(2, '0')}${q & 0x80 ? 'H' : 'M'}.${String(depth).padStart(2, '0')}`;
    }
  } else if (type === 'Opus') {
    info.codec = 'opus';
  } else if (type === 'fLaC') {
    info.codec = 'flac';
  }
  return info;
}

const LANGUAGE_UNSET = 0x55c4; // 'und' packed as in mdhd

function readTrak(b: Bytes, trak: Box, movieTimescale: number): TrackInfo {
  const tkhd = requireChild(b, trak, 'tkhd');
  needBody(tkhd, 24);
  const tkhdVersion = b.u8(tkhd.body);
  const trackId = b.u32(tkhd.body + (tkhdVersion === 1 ? 20 : 12));
  const mdia = requireChild(b, trak, 'mdia');
  const mdhd = requireChild(b, mdia, 'mdhd');
  const mdhdVersion = b.u8(mdhd.body);
  needBody(mdhd, mdhdVersion === 1 ? 34 : 22);
  const timescale = b.u32(mdhd.body + (mdhdVersion === 1 ? 20 : 12));
  if (timescale === 0) throw new MediaParseError(`track ${trackId} has a zero timescale`);
  const packedLanguage = b.u16(mdhd.body + (mdhdVersion === 1 ? 32 : 20)) & 0x7fff;
  const hdlr = requireChild(b, mdia, 'hdlr');
  needBody(hdlr, 12);
  const handler = b.fourcc(hdlr.body + 8);
  const kind: TrackInfo['kind'] = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const stbl = requireChild(b, requireChild(b, mdia, 'minf'), 'stbl');
  const stsd = requireChild(b, stbl, 'stsd');
  needBody(stsd, 8);
  const entries = boxesIn(b, stsd.body + 8, stsd.end, 'stsd');
  const first = entries[0];
  if (first === undefined) throw new MediaParseError(`track ${trackId} has no sample entry in stsd`);
  const entry = readSampleEntry(b, first, kind);

  const track: TrackInfo = { trackId, kind, timescale, codec: entry.codec };
  if (entry.decoderConfig !== undefined) track.decoderConfig = entry.decoderConfig;
  if (entry.width !== undefined && kind === 'video') track.width = entry.width;
  if (entry.height !== undefined && kind === 'video') track.height = entry.height;
  if (entry.sampleRate !== undefined && kind === 'audio') track.sampleRate = entry.sampleRate;
  if (entry.channels !== undefined && kind === 'audio') track.channels = entry.channels;
  const elng = child(b, mdia, 'elng');
  if (elng !== undefined && elng.end - elng.body > 5) {
    track.language = new TextDecoder().decode(b.buf.subarray(elng.body + 4, elng.end)).replace(/\0.*$/s, '');
  } else {
    // mdhd language: three 5-bit letters, each stored as the character code minus 0x60.
    const lang = packedLanguage === 0 ? LANGUAGE_UNSET : packedLanguage;
    track.language = String.fromCharCode(((lang >> 10) & 0x1f) + 0x60, ((lang >> 5) & 0x1f) + 0x60, (lang & 0x1f) + 0x60);
  }
  const edts = child(b, trak, 'edts');
  const elst = edts === undefined ? undefined : child(b, edts, 'elst');
  if (elst !== undefined) track.editOffset = readEditOffset(b, elst, timescale, movieTimescale);
  return track;
}

/** elst (14496-12 §8.6.6): leading empty edits delay the track; the first real edit skips media_time. */
function readEditOffset(b: Bytes, elst: Box, timescale: number, movieTimescale: number): number {
  needBody(elst, 8);
  const version = b.u8(elst.body);
  const count = b.u32(elst.body + 4);
  const entrySize = version === 1 ? 20 : 12;
  if (elst.body + 8 + count * entrySize > elst.end) throw new MediaParseError(`elst at offset ${elst.start} is truncated`);
  let empty = 0;
  for (let i = 0; i < count; i++) {
    const p = elst.body + 8 + i * entrySize;
    const segmentDuration = version === 1 ? b.u64(p) : b.u32(p);
    const mediaTime = version === 1 ? b.i64(p + 8) : b.i32(p + 4);
    if (mediaTime === -1) {
      empty += segmentDuration;
      continue;
    }
    return Math.round((empty * timescale) / movieTimescale) - mediaTime;
  }
  return Math.round((empty * timescale) / movieTimescale);
}

function readMoov(b: Bytes, moov: Box): InitSegmentInfo {
  const mvhd = requireChild(b, moov, 'mvhd');
  const mvhdVersion = b.u8(mvhd.body);
  needBody(mvhd, mvhdVersion === 1 ? 24 : 16);
  const movieTimescale = b.u32(mvhd.body + (mvhdVersion === 1 ? 20 : 12)) || 1;
  const children = boxesIn(b, moov.body, moov.end, 'moov');
  const tracks = children.filter((x) => x.type === 'trak').map((trak) => readTrak(b, trak, movieTimescale));
  if (tracks.length === 0) throw new MediaParseError('moov has no trak box');
  const defaults: TrackDefaults[] = [];
  const mvex = children.find((x) => x.type === 'mvex');
  if (mvex !== undefined) {
    for (const trex of boxesIn(b, mvex.body, mvex.end, 'mvex')) {
      if (trex.type !== 'trex') continue;
      needBody(trex, 24);
      defaults.push({
        trackId: b.u32(trex.body + 4),
        sampleDescriptionIndex: b.u32(trex.body + 8),
        sampleDuration: b.u32(trex.body + 12),
        sampleSize: b.u32(trex.body + 16),
        sampleFlags: b.u32(trex.body + 20),
      });
    }
  }
  return { tracks, defaults, movieTimescale };
}

/** Reads an init segment (ftyp + moov): its tracks and their trex defaults. */
export function readInitSegment(buf: Uint8Array): InitSegmentInfo {
  return guarded(() => readInit(buf));
}

function readInit(buf: Uint8Array): InitSegmentInfo {
  const b = new Bytes(buf);
  const top = boxesIn(b, 0, buf.length, 'the file', true);
  const moov = top.find((x) => x.type === 'moov');
  if (moov === undefined) throw new MediaParseError(`no moov box: not an init segment (top-level boxes: ${top.map((x) => x.type).join(', ') || 'none'})`);
  return readMoov(b, moov);
}

// ---------------------------------------------------------------------------------------------
// Media segment: moof/mdat pairs

const SAMPLE_IS_NON_SYNC = 0x00010000; // sample_is_non_sync_sample in sample flags (§8.8.3.1)

/** A track fragment header (§8.8.7): its track, flags, and the optional fields it carries. */
interface Tfhd {
  readonly trackId: number;
  readonly flags: number;
  readonly baseDataOffset: number | undefined;
  readonly sampleDuration: number | undefined;
  readonly sampleSize: number | undefined;
  readonly sampleFlags: number | undefined;
}

/** Reads the tfhd of a traf (optional fields appear in flag order). */
function readTfhd(b: Bytes, traf: Box, children: readonly Box[]): Tfhd {
  const tfhd = children.find((x) => x.type === 'tfhd');
  if (tfhd === undefined) throw new MediaParseError(`traf at offset ${traf.start} has no tfhd`);
  needBody(tfhd, 8);
  const flags = b.u24(tfhd.body + 1);
  let p = tfhd.body + 8;
  const optional = (flag: number, size: number): number | undefined => {
    if ((flags & flag) === 0) return undefined;
    if (p + size > tfhd.end) throw new MediaParseError(`tfhd at offset ${tfhd.start} is truncated`);
    const v = size === 8 ? b.u64(p) : b.u32(p);
    p += size;
    return v;
  };
  const baseDataOffset = optional(0x01, 8);
  optional(0x02, 4); // sample_description_index
  const sampleDuration = optional(0x08, 4);
  const sampleSize = optional(0x10, 4);
  const sampleFlags = optional(0x20, 4);
  return { trackId: b.u32(tfhd.body + 4), flags, baseDataOffset, sampleDuration, sampleSize, sampleFlags };
}

/** How many more samples the mdat of the current moof can hold (each has at least one byte). */
interface SampleRoom {
  left: number;
  readonly mdat: Box;
}

function readTraf(
  b: Bytes,
  traf: Box,
  moof: Box,
  sequenceNumber: number,
  byteLength: number,
  defaultsOf: (trackId: number) => TrackDefaults | undefined,
  previousEnd: (trackId: number) => number | undefined,
  room: SampleRoom,
): FragmentInfo {
  const children = boxesIn(b, traf.body, traf.end, 'traf');
  const tfhd = readTfhd(b, traf, children);
  const trackId = tfhd.trackId;
  const trex = defaultsOf(trackId);
  const defaultDuration = tfhd.sampleDuration ?? trex?.sampleDuration;
  const defaultFlags = tfhd.sampleFlags ?? trex?.sampleFlags;
  const defaultSize = tfhd.sampleSize ?? trex?.sampleSize ?? 0;

  // tfdt (§8.8.12): version 1 carries a 64-bit time.
  const tfdt = children.find((x) => x.type === 'tfdt');
  let baseMediaDecodeTime: number;
  if (tfdt !== undefined) {
    const version = b.u8(tfdt.body);
    needBody(tfdt, version === 1 ? 12 : 8);
    baseMediaDecodeTime = version === 1 ? b.u64(tfdt.body + 4) : b.u32(tfdt.body + 4);
  } else {
    const continued = previousEnd(trackId);
    if (continued === undefined) throw new MediaParseError(`traf for track ${trackId} at offset ${traf.start} has no tfdt, so its decode time is unknown`);
    baseMediaDecodeTime = continued;
  }

  let sampleCount = 0;
  let total = 0;
  let earliest = Number.POSITIVE_INFINITY;
  let firstFlags: number | undefined;
  for (const trun of children) {
    if (trun.type !== 'trun') continue;
    needBody(trun, 8);
    // trun (§8.8.8): sample_count, then optional data_offset and first_sample_flags, then per
    // sample the fields the flags announce, in the order duration, size, flags, composition offset.
    const version = b.u8(trun.body);
    const trunFlags = b.u24(trun.body + 1);
    const count = b.u32(trun.body + 4);
    let q = trun.body + 8;
    if (trunFlags & 0x001) q += 4;
    let firstSampleFlags: number | undefined;
    if (trunFlags & 0x004) {
      if (q + 4 > trun.end) throw new MediaParseError(`trun at offset ${trun.start} is truncated`);
      firstSampleFlags = b.u32(q);
      q += 4;
    }
    const hasDuration = (trunFlags & 0x100) !== 0;
    const hasSize = (trunFlags & 0x200) !== 0;
    const hasFlags = (trunFlags & 0x400) !== 0;
    const hasOffset = (trunFlags & 0x800) !== 0;
    const stride = (hasDuration ? 4 : 0) + (hasSize ? 4 : 0) + (hasFlags ? 4 : 0) + (hasOffset ? 4 : 0);
    if (q + count * stride > trun.end) throw new MediaParseError(`trun at offset ${trun.start} is truncated: ${count} samples need ${count * stride} bytes`);
    // Every sample has data in the mdat: a count the mdat cannot hold is corrupt (or hostile).
    const least = hasSize ? 1 : Math.max(1, defaultSize);
    if (count * least > room.left) {
      throw new MediaParseError(`trun at offset ${trun.start} declares ${count} samples, more than the ${room.mdat.end - room.mdat.body}-byte mdat at offset ${room.mdat.start} can hold`);
    }
    room.left -= count * least;
    if (count > 0 && !hasDuration && defaultDuration === undefined) {
      throw new MediaParseError(`track ${trackId}: sample durations are in neither trun nor tfhd; pass the init segment so its trex defaults apply`);
    }
    if (stride === 0 && count > 0) {
      // No per-sample fields: every sample has the default duration and flags and no composition
      // offset, so the sums need no loop.
      if (sampleCount === 0) firstFlags = firstSampleFlags ?? defaultFlags;
      const presentation = baseMediaDecodeTime + total;
      if (presentation < earliest) earliest = presentation;
      total += count * (defaultDuration ?? 0);
      sampleCount += count;
      continue;
    }
    for (let i = 0; i < count; i++) {
      let sampleDuration = defaultDuration ?? 0;
      if (hasDuration) {
        sampleDuration = b.u32(q);
        q += 4;
      }
      if (hasSize) q += 4;
      let sampleFlags = i === 0 && firstSampleFlags !== undefined ? firstSampleFlags : defaultFlags;
      if (hasFlags) {
        if (!(i === 0 && firstSampleFlags !== undefined)) sampleFlags = b.u32(q);
        q += 4;
      }
      let offset = 0;
      if (hasOffset) {
        offset = version === 0 ? b.u32(q) : b.i32(q);
        q += 4;
      }
      if (sampleCount === 0 && i === 0) firstFlags = sampleFlags;
      const presentation = baseMediaDecodeTime + total + offset;
      if (presentation < earliest) earliest = presentation;
      total += sampleDuration;
    }
    sampleCount += count;
  }
  return {
    trackId,
    sequenceNumber,
    baseMediaDecodeTime,
    duration: total,
    sampleCount,
    // Without any flags (no init segment, none in tfhd/trun) a sample counts as sync: flags of 0.
    firstSampleIsSync: sampleCount > 0 && ((firstFlags ?? 0) & SAMPLE_IS_NON_SYNC) === 0,
    earliestPresentationTime: sampleCount > 0 ? earliest : baseMediaDecodeTime,
    moofOffset: moof.start,
    byteLength,
  };
}

function readSidx(b: Bytes, sidx: Box): SegmentIndex {
  needBody(sidx, 12);
  const version = b.u8(sidx.body);
  const referenceId = b.u32(sidx.body + 4);
  const timescale = b.u32(sidx.body + 8);
  let p = sidx.body + 12;
  needBody(sidx, version === 0 ? 24 : 32);
  const earliestPresentationTime = version === 0 ? b.u32(p) : b.u64(p);
  const firstOffset = version === 0 ? b.u32(p + 4) : b.u64(p + 8);
  p += version === 0 ? 8 : 16;
  const count = b.u16(p + 2);
  p += 4;
  if (p + count * 12 > sidx.end) throw new MediaParseError(`sidx at offset ${sidx.start} is truncated`);
  const references: SegmentIndex['references'] = [];
  for (let i = 0; i < count; i++, p += 12) {
    const word = b.u32(p);
    references.push({ referenceType: (word >>> 31) as 0 | 1, referencedSize: word & 0x7fffffff, subsegmentDuration: b.u32(p + 4), startsWithSap: (b.u8(p + 8) & 0x80) !== 0 });
  }
  return { referenceId, timescale, earliestPresentationTime, firstOffset, references };
}

/**
 * Reads a media segment (styp? sidx* (emsg|prft|free)* (moof mdat)+): every track fragment in order.
 * The init segment supplies trex defaults; a segment that carries its own moov uses that instead.
 */
export function readMediaSegment(buf: Uint8Array, init?: InitContext): MediaSegmentInfo {
  return guarded(() => readMedia(buf, init));
}

function readMedia(buf: Uint8Array, init?: InitContext): MediaSegmentInfo {
  const b = new Bytes(buf);
  const top = boxesIn(b, 0, buf.length, 'the file', true);
  let defaults: readonly TrackDefaults[] = init?.defaults ?? [];
  const ownMoov = top.find((x) => x.type === 'moov');
  if (init === undefined && ownMoov !== undefined) defaults = readMoov(b, ownMoov).defaults;
  const known = new Set(init?.tracks.map((t) => t.trackId) ?? []);
  const defaultsById = new Map<number, TrackDefaults>();
  for (const d of defaults) if (!defaultsById.has(d.trackId)) defaultsById.set(d.trackId, d);
  const defaultsOf = (trackId: number): TrackDefaults | undefined => {
    if (known.size > 0 && !known.has(trackId)) throw new MediaParseError(`a traf refers to track ${trackId}, which the init segment does not have`);
    return defaultsById.get(trackId);
  };

  const fragments: FragmentInfo[] = [];
  const segmentIndexes: SegmentIndex[] = [];
  // Where each track's last fragment ended (for a traf without tfdt).
  const ends = new Map<number, number>();
  const previousEnd = (trackId: number): number | undefined => ends.get(trackId);
  for (let i = 0; i < top.length; i++) {
    const box = top[i]!;
    if (box.type === 'sidx') segmentIndexes.push(readSidx(b, box));
    if (box.type !== 'moof') continue;
    let mdat: Box | undefined;
    for (let j = i + 1; j < top.length && top[j]!.type !== 'moof'; j++) {
      if (top[j]!.type === 'mdat') {
        mdat = top[j];
        break;
      }
    }
    if (mdat === undefined) throw new MediaParseError(`moof at offset ${box.start} is not followed by an mdat`);
    const children = boxesIn(b, box.body, box.end, 'moof');
    const mfhd = children.find((x) => x.type === 'mfhd');
    if (mfhd !== undefined) needBody(mfhd, 8);
    const sequenceNumber = mfhd === undefined ? 0 : b.u32(mfhd.body + 4);
    const room: SampleRoom = { left: mdat.end - mdat.body, mdat };
    for (const traf of children) {
      if (traf.type !== 'traf') continue;
      const f = readTraf(b, traf, box, sequenceNumber, mdat.end - box.start, defaultsOf, previousEnd, room);
      fragments.push(f);
      ends.set(f.trackId, f.baseMediaDecodeTime + f.duration);
    }
  }
  if (fragments.length === 0) throw new MediaParseError(`no moof box: not a media segment (top-level boxes: ${top.map((x) => x.type).join(', ') || 'none'})`);
  const earliestTime: Record<number, number> = {};
  for (const f of fragments) {
    const current = earliestTime[f.trackId];
    if (current === undefined || f.earliestPresentationTime < current) earliestTime[f.trackId] = f.earliestPresentationTime;
  }
  return { fragments, earliestTime, segmentIndexes };
}

/** One sample of a track fragment, with where its bytes are in the buffer. */
export interface FragmentSample {
  readonly duration: number;
  readonly size: number;
  readonly flags: number;
  readonly compositionOffset: number;
  /** Offset of the sample's first byte in the buffer. */
  readonly offset: number;
}

/** The samples of one traf. */
export interface TrackRun {
  readonly trackId: number;
  readonly baseMediaDecodeTime: number;
  readonly samples: readonly FragmentSample[];
}

/**
 * Every sample of every track fragment of a media segment, in file order, with its byte range
 * (14496-12 §8.8.7 and §8.8.8: tfhd base_data_offset or default-base-is-moof, trun data_offset,
 * trex/tfhd defaults). A sample whose bytes lie outside an mdat of the buffer is an error.
 */
export function readFragmentSamples(buf: Uint8Array, init: InitContext): TrackRun[] {
  const b = new Bytes(buf);
  const top = boxesIn(b, 0, buf.length, 'the file', true);
  const mdats = top.filter((x) => x.type === 'mdat');
  const inMdat = (from: number, to: number) => mdats.some((m) => from >= m.body && to <= m.end);
  // Every sample has at least one byte in an mdat, as readMediaSegment also requires: a count the
  // mdats cannot hold is refused before any per-sample work.
  let room = mdats.reduce((n, m) => n + (m.end - m.body), 0);
  const runs: TrackRun[] = [];
  for (const moof of top.filter((x) => x.type === 'moof')) {
    let previousDataEnd = moof.start;
    for (const traf of boxesIn(b, moof.body, moof.end, 'moof').filter((x) => x.type === 'traf')) {
      const children = boxesIn(b, traf.body, traf.end, 'traf');
      const tfhd = readTfhd(b, traf, children);
      const trackId = tfhd.trackId;
      if (!init.tracks.some((t) => t.trackId === trackId)) throw new MediaParseError(`a traf refers to track ${trackId}, which the init segment does not have`);
      const trex = init.defaults?.find((d) => d.trackId === trackId);
      const defaultDuration = tfhd.sampleDuration ?? trex?.sampleDuration ?? 0;
      const defaultSize = tfhd.sampleSize ?? trex?.sampleSize ?? 0;
      const defaultFlags = tfhd.sampleFlags ?? trex?.sampleFlags ?? 0;
      const base = tfhd.baseDataOffset ?? ((tfhd.flags & 0x020000) !== 0 ? moof.start : previousDataEnd);
      const tfdt = children.find((x) => x.type === 'tfdt');
      let baseMediaDecodeTime = 0;
      if (tfdt !== undefined) {
        const version = b.u8(tfdt.body);
        needBody(tfdt, version === 1 ? 12 : 8);
        baseMediaDecodeTime = version === 1 ? b.u64(tfdt.body + 4) : b.u32(tfdt.body + 4);
      } else {
        const prev = [...runs].reverse().find((r) => r.trackId === trackId);
        if (prev === undefined) throw new MediaParseError(`traf for track ${trackId} at offset ${traf.start} has no tfdt, so its decode time is unknown`);
        baseMediaDecodeTime = prev.baseMediaDecodeTime + prev.samples.reduce((n, x) => n + x.duration, 0);
      }
      const samples: FragmentSample[] = [];
      let pos = base;
      for (const trun of children.filter((x) => x.type === 'trun')) {
        needBody(trun, 8);
        const version = b.u8(trun.body);
        const flags = b.u24(trun.body + 1);
        const count = b.u32(trun.body + 4);
        let q = trun.body + 8;
        if (flags & 0x001) {
          needBody(trun, 12);
          pos = base + b.i32(q);
          q += 4;
        }
        let firstSampleFlags: number | undefined;
        if (flags & 0x004) {
          if (q + 4 > trun.end) throw new MediaParseError(`trun at offset ${trun.start} is truncated`);
          firstSampleFlags = b.u32(q);
          q += 4;
        }
        const stride = ((flags >> 8) & 1) * 4 + ((flags >> 9) & 1) * 4 + ((flags >> 10) & 1) * 4 + ((flags >> 11) & 1) * 4;
        if (q + count * stride > trun.end) throw new MediaParseError(`trun at offset ${trun.start} is truncated: ${count} samples need ${count * stride} bytes`);
        if (count > room) throw new MediaParseError(`trun at offset ${trun.start} declares ${count} samples, more than the segment's mdat bytes can hold`);
        room -= count;
        for (let i = 0; i < count; i++) {
          let duration = defaultDuration;
          let size = defaultSize;
          let sampleFlags = i === 0 && firstSampleFlags !== undefined ? firstSampleFlags : defaultFlags;
          let compositionOffset = 0;
          if (flags & 0x100) {
            duration = b.u32(q);
            q += 4;
          }
          if (flags & 0x200) {
            size = b.u32(q);
            q += 4;
          }
          if (flags & 0x400) {
            if (!(i === 0 && firstSampleFlags !== undefined)) sampleFlags = b.u32(q);
            q += 4;
          }
          if (flags & 0x800) {
            compositionOffset = version === 0 ? b.u32(q) : b.i32(q);
            q += 4;
          }
          if (!inMdat(pos, pos + size)) throw new MediaParseError(`sample ${samples.length + 1} of track ${trackId} (bytes ${pos}-${pos + size}) lies outside the mdat: the fragment is truncated or corrupt`);
          samples.push({ duration, size, flags: sampleFlags, compositionOffset, offset: pos });
          pos += size;
        }
      }
      previousDataEnd = pos;
      runs.push({ trackId, baseMediaDecodeTime, samples });
    }
  }
  if (runs.length === 0) throw new MediaParseError(`no moof box: not a media segment (top-level boxes: ${top.map((x) => x.type).join(', ') || 'none'})`);
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Bits (also used by the MPEG-TS reader for SPS and ADTS headers)

/** Reads big-endian bit fields and Exp-Golomb codes (H.264 §9.1) from [start, end). */
export class BitReader {
  private pos: number;
  private readonly endBit: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start * 8;
    this.endBit = end * 8;
  }
  /** Reads n ≤ 32 bits as an unsigned number. */
  u(n: number): number {
    if (this.pos + n > this.endBit) throw new MediaParseError('bit field runs past the end of its data');
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[(this.pos >> 3)] ?? 0;
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
  /** Bits read so far, counted from the start of the buffer. */
  get bitPosition(): number {
    return this.pos;
  }
  skip(n: number): void {
    if (this.pos + n > this.endBit) throw new MediaParseError('bit field runs past the end of its data');
    this.pos += n;
  }
  /** ue(v). */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new MediaParseError('Exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }
  /** se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/**
 * Skips the sub-layer flags and fields of an H.265 profile_tier_level (ITU-T H.265 §7.3.3) that
 * follow its general fields, for the readers of the SPS and VPS.
 */
export function skipHevcSubLayers(bits: BitReader, maxSubLayersMinus1: number): void {
  const subProfile: number[] = [];
  const subLevel: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(bits.u(1));
    subLevel.push(bits.u(1));
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) bits.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i]) bits.skip(88);
    if (subLevel[i]) bits.skip(8);
  }
}
