/**
 * Reads an MPEG-TS segment (ISO/IEC 13818-1): PAT -> PMT -> elementary streams, with each stream's
 * codec (RFC 6381, from the first H.264/HEVC SPS, ADTS or AC-3 header), PTS range and duration.
 * Pure and fast: packets are visited once in place; only the first video access unit is copied,
 * to find its SPS. Malformed structure throws MediaParseError with a one-line reason.
 */
import { AAC_SAMPLE_RATES, BitReader, MediaParseError, aacChannels, ac3Channels, avcCodecString, hevcCodecString, skipHevcSubLayers } from './isobmff.js';

export { MediaParseError };

export interface TsStream {
  pid: number;
  /** stream_type from the PMT (13818-1 Table 2-34). */
  streamType: number;
  kind: 'video' | 'audio' | 'other';
  /** avc1.PPCCLL (first SPS), hvc1.… (first HEVC SPS), mp4a.40.N (first ADTS header), ac-3, ec-3. */
  codec?: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** ISO 639 language descriptor of the PMT, when present. */
  language?: string;
  /** Smallest PTS of the stream, 90 kHz, in [0, 2^33). */
  firstPts?: number;
  /**
   * Largest PTS of the stream, 90 kHz, unwrapped against firstPts: it exceeds 2^33 when the
   * segment crosses the 33-bit wrap, so lastPts - firstPts is always the span.
   */
  lastPts?: number;
  /**
   * Seconds from firstPts to the end of the last frame: for video lastPts - firstPts plus one frame
   * (the smallest PTS step, or the SPS timing when there is one frame); for AAC/AC-3 the end of the
   * last audio frame counted in the last PES (a PES often holds several audio frames).
   */
  duration?: number;
}

export interface TsSegmentInfo {
  streams: TsStream[];
  packetCount: number;
}

const PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const PTS_WRAP = 2 ** 33;
const PTS_HALF = 2 ** 32;
/** Give up looking for an SPS after this many bytes of a video stream. */
const SNIFF_LIMIT = 2 * 1024 * 1024;
/** The most bytes of a NAL unit read as an SPS (real ones are well under 1 kB, VUI and HRD included). */
const SPS_READ_LIMIT = 4096;

export type Family = 'avc' | 'hevc' | 'adts' | 'dolby' | undefined;

// ---------------------------------------------------------------------------------------------
// PSI: PAT and PMT sections (13818-1 §2.4.4)

export interface PmtStream {
  pid: number;
  streamType: number;
  kind: TsStream['kind'];
  family: Family;
  carriesPes: boolean;
  language?: string;
}

/** Reassembles PSI sections of one PID across packets (pointer_field, §2.4.4.2). */
export class SectionAssembler {
  private pending: Uint8Array | undefined;
  private pendingLength = 0;

  /** Feeds one packet payload; returns the sections it completes. */
  feed(payload: Uint8Array, unitStart: boolean): Uint8Array[] {
    const done: Uint8Array[] = [];
    let pos = 0;
    if (unitStart) {
      const pointer = payload[0] ?? 0;
      if (this.pending !== undefined) this.append(payload.subarray(1, 1 + pointer), done);
      this.pending = undefined;
      pos = 1 + pointer;
    } else if (this.pending !== undefined) {
      this.append(payload, done);
      return done;
    } else {
      return done;
    }
    // Several sections may follow one another in a packet, until stuffing (0xFF).
    while (pos + 3 <= payload.length && payload[pos] !== 0xff) {
      const length = 3 + ((((payload[pos + 1] ?? 0) & 0x0f) << 8) | (payload[pos + 2] ?? 0));
      if (pos + length <= payload.length) {
        done.push(payload.subarray(pos, pos + length));
        pos += length;
      } else {
        this.pending = new Uint8Array(length);
        this.pendingLength = 0;
        this.append(payload.subarray(pos), done);
        break;
      }
    }
    return done;
  }

  private append(bytes: Uint8Array, done: Uint8Array[]): void {
    const target = this.pending;
    if (target === undefined) return;
    const n = Math.min(bytes.length, target.length - this.pendingLength);
    target.set(bytes.subarray(0, n), this.pendingLength);
    this.pendingLength += n;
    if (this.pendingLength === target.length) {
      done.push(target);
      this.pending = undefined;
    }
  }
}

/** Program map PIDs of a PAT section (§2.4.4.3); program 0 is the network PID. */
function readPat(section: Uint8Array): number[] | undefined {
  if (section[0] !== 0x00 || section.length < 12) return undefined;
  if (((section[5] ?? 0) & 1) === 0) return undefined; // current_next_indicator
  const pids: number[] = [];
  for (let p = 8; p + 4 <= section.length - 4; p += 4) {
    const program = ((section[p] ?? 0) << 8) | (section[p + 1] ?? 0);
    const pid = (((section[p + 2] ?? 0) & 0x1f) << 8) | (section[p + 3] ?? 0);
    if (program !== 0) pids.push(pid);
  }
  return pids;
}

const DOLBY_REGISTRATIONS = new Set(['AC-3', 'EAC3', 'AC-4']);

function classify(streamType: number, descriptors: Uint8Array): Omit<PmtStream, 'pid' | 'streamType' | 'language'> {
  let registration = '';
  let dolby = false;
  for (let p = 0; p + 2 <= descriptors.length; ) {
    const tag = descriptors[p] ?? 0;
    const length = descriptors[p + 1] ?? 0;
    if (tag === 0x05 && length >= 4) registration = String.fromCharCode(...descriptors.subarray(p + 2, p + 6));
    if (tag === 0x6a || tag === 0x7a) dolby = true; // DVB AC-3 / enhanced AC-3 descriptors (EN 300 468)
    p += 2 + length;
  }
  switch (streamType) {
    case 0x1b:
      return { kind: 'video', family: 'avc', carriesPes: true };
    case 0x24:
      return { kind: 'video', family: 'hevc', carriesPes: true };
    case 0x01:
    case 0x02:
      return { kind: 'video', family: undefined, carriesPes: true };
    case 0x0f:
      return { kind: 'audio', family: 'adts', carriesPes: true };
    case 0x03:
    case 0x04:
    case 0x11:
      return { kind: 'audio', family: undefined, carriesPes: true };
    case 0x81: // ATSC A/52 AC-3
    case 0x87: // ATSC A/52 E-AC-3
      return { kind: 'audio', family: 'dolby', carriesPes: true };
    case 0x05: // private sections
    case 0x0b:
    case 0x0c:
    case 0x0d: // DSM-CC
    case 0x86: // SCTE-35 splice_info sections
      return { kind: 'other', family: undefined, carriesPes: false };
    case 0x06:
      if (dolby || DOLBY_REGISTRATIONS.has(registration)) return { kind: 'audio', family: 'dolby', carriesPes: true };
      if (registration === 'HEVC') return { kind: 'video', family: 'hevc', carriesPes: true };
      return { kind: 'other', family: undefined, carriesPes: true };
    default:
      return { kind: 'other', family: undefined, carriesPes: true };
  }
}

export interface PmtEntry {
  streamType: number;
  pid: number;
  /** The ES_info descriptors (a view of the section). */
  descriptors: Uint8Array;
}

/**
 * The layout of a current PMT section (§2.4.4.8): where the elementary stream loop starts, and its
 * entries; undefined for another table or a section too short to be one.
 */
export function readPmtEntries(section: Uint8Array): { loopStart: number; entries: PmtEntry[] } | undefined {
  if (section[0] !== 0x02 || section.length < 16) return undefined;
  if (((section[5] ?? 0) & 1) === 0) return undefined;
  const programInfoLength = (((section[10] ?? 0) & 0x0f) << 8) | (section[11] ?? 0);
  const entries: PmtEntry[] = [];
  const end = section.length - 4; // CRC_32
  const loopStart = Math.min(end, 12 + programInfoLength);
  for (let p = loopStart; p + 5 <= end; ) {
    const streamType = section[p] ?? 0;
    const pid = (((section[p + 1] ?? 0) & 0x1f) << 8) | (section[p + 2] ?? 0);
    const infoLength = (((section[p + 3] ?? 0) & 0x0f) << 8) | (section[p + 4] ?? 0);
    entries.push({ streamType, pid, descriptors: section.subarray(p + 5, Math.min(end, p + 5 + infoLength)) });
    p += 5 + infoLength;
  }
  return { loopStart, entries };
}

/** Elementary streams of a PMT section (§2.4.4.8). */
function readPmt(section: Uint8Array): PmtStream[] | undefined {
  const layout = readPmtEntries(section);
  if (layout === undefined) return undefined;
  const streams: PmtStream[] = [];
  for (const { streamType, pid, descriptors } of layout.entries) {
    const stream: PmtStream = { pid, streamType, ...classify(streamType, descriptors) };
    for (let q = 0; q + 2 <= descriptors.length; q += 2 + (descriptors[q + 1] ?? 0)) {
      // ISO_639_language_descriptor (§2.6.18)
      if (descriptors[q] === 0x0a && (descriptors[q + 1] ?? 0) >= 3) stream.language = String.fromCharCode(...descriptors.subarray(q + 2, q + 5));
    }
    streams.push(stream);
  }
  return streams;
}

export function payloadStart(buf: Uint8Array, offset: number, index: number): number {
  const afc = ((buf[offset + 3] ?? 0) >> 4) & 3;
  if ((afc & 1) === 0) return offset + PACKET_SIZE; // adaptation field only, no payload
  if ((afc & 2) === 0) return offset + 4;
  const start = offset + 5 + (buf[offset + 4] ?? 0);
  if (start > offset + PACKET_SIZE) throw new MediaParseError(`packet ${index} has an adaptation field longer than the packet`);
  return start;
}

/** First pass: PAT, then the PMTs it names. Stops as soon as every PMT is read. */
export function readProgramTables(buf: Uint8Array, packetCount: number): PmtStream[] {
  return readPrograms(buf, packetCount).streams;
}

/** The PMT PIDs the PAT names, and the elementary streams of the PMTs found, in PAT order. */
export function readPrograms(buf: Uint8Array, packetCount: number): { pmtPids: number[]; streams: PmtStream[] } {
  let pmtPids: Set<number> | undefined;
  const pmts = new Map<number, PmtStream[]>();
  const assemblers = new Map<number, SectionAssembler>();
  for (let i = 0; i < packetCount; i++) {
    const off = i * PACKET_SIZE;
    const pid = (((buf[off + 1] ?? 0) & 0x1f) << 8) | (buf[off + 2] ?? 0);
    if (pid !== 0 && !(pmtPids?.has(pid) ?? false)) continue;
    const start = payloadStart(buf, off, i);
    if (start >= off + PACKET_SIZE) continue;
    let assembler = assemblers.get(pid);
    if (assembler === undefined) assemblers.set(pid, (assembler = new SectionAssembler()));
    for (const section of assembler.feed(buf.subarray(start, off + PACKET_SIZE), ((buf[off + 1] ?? 0) & 0x40) !== 0)) {
      if (pid === 0) {
        const pids = readPat(section);
        if (pids !== undefined && pmtPids === undefined) pmtPids = new Set(pids);
      } else if (!pmts.has(pid)) {
        const streams = readPmt(section);
        if (streams !== undefined) pmts.set(pid, streams);
      }
    }
    if (pmtPids !== undefined && pmts.size === pmtPids.size) break;
  }
  if (pmtPids === undefined) throw new MediaParseError('no PAT (PID 0) in the segment');
  if (pmtPids.size === 0) throw new MediaParseError('the PAT lists no program');
  const order = [...pmtPids];
  const missing = order.filter((p) => !pmts.has(p));
  if (missing.length === order.length) throw new MediaParseError(`no PMT on PID ${missing.join(', ')} in the segment`);
  return { pmtPids: order, streams: order.flatMap((p) => pmts.get(p) ?? []) };
}

/**
 * The adaptation field of the packet at `offset` without its stuffing: the flags byte and the
 * optional fields they announce (PCR, OPCR, splice countdown, private data, extension), or
 * undefined when there is none or it is only stuffing (§2.4.3.4).
 */
export function adaptationFieldCore(buf: Uint8Array, offset: number, index: number): Uint8Array | undefined {
  const afc = ((buf[offset + 3] ?? 0) >> 4) & 3;
  if ((afc & 2) === 0) return undefined;
  const length = buf[offset + 4] ?? 0;
  if (length === 0) return undefined;
  const start = offset + 5;
  const end = start + length;
  if (end > offset + PACKET_SIZE) throw new MediaParseError(`packet ${index} has an adaptation field longer than the packet`);
  const flags = buf[start] ?? 0;
  if (flags === 0) return undefined;
  let p = start + 1;
  if (flags & 0x10) p += 6; // PCR
  if (flags & 0x08) p += 6; // OPCR
  if (flags & 0x04) p += 1; // splice_countdown
  if (flags & 0x02) p += 1 + (buf[p] ?? 0); // transport_private_data
  if (flags & 0x01) p += 1 + (buf[p] ?? 0); // adaptation_field_extension
  if (p > end) throw new MediaParseError(`packet ${index}: the fields of its adaptation field run past its length`);
  return buf.subarray(start, p);
}

// ---------------------------------------------------------------------------------------------
// H.264 and HEVC parameter sets

/** Removes emulation_prevention_three_byte (H.264 §7.4.1, H.265 §7.4.2). */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  for (let i = 0; i < nal.length; ) {
    // Bytes up to the next zero are copied natively; a run of zeros and what ends it byte by byte.
    const z = nal.indexOf(0, i);
    const stop = z < 0 ? nal.length : z;
    out.set(nal.subarray(i, stop), n);
    n += stop - i;
    i = stop;
    let zeros = 0;
    while (i < nal.length) {
      const byte = nal[i++]!;
      if (zeros >= 2 && byte === 3) {
        zeros = 0;
        continue;
      }
      out[n++] = byte;
      if (byte !== 0) break;
      zeros++;
    }
  }
  return out.subarray(0, n);
}

/** NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01). */
export function* nalUnits(es: Uint8Array): Generator<Uint8Array> {
  for (const [start, end] of nalUnitRanges(es)) yield es.subarray(start, end);
}

/** 00 00 01: it cannot overlap itself, so a search may go on after each match. */
const START_CODE = Buffer.from([0, 0, 1]);

/**
 * Where the NAL units of an Annex B byte stream lie, as [start, end) offsets: from after a start
 * code to the next one, without the zero bytes before it (trailing_zero_8bits, or the leading
 * zero of a 4-byte start code).
 */
export function* nalUnitRanges(es: Uint8Array): Generator<[number, number]> {
  // Start codes found natively (Buffer's substring search over the same memory, no copy): a
  // scan for each 01 byte stopped every few hundred bytes of coded data, start codes are rare.
  const view = Buffer.from(es.buffer, es.byteOffset, es.length);
  let start = -1;
  for (let p = view.indexOf(START_CODE); p >= 0; p = view.indexOf(START_CODE, p + 3)) {
    if (start >= 0) {
      let end = p;
      while (end > start && es[end - 1] === 0) end--;
      yield [start, end];
    }
    start = p + 3;
  }
  if (start >= 0 && start < es.length) yield [start, es.length];
}

export interface VideoFacts {
  codec: string;
  width?: number;
  height?: number;
  /** 90 kHz ticks per frame from VUI timing, when signalled. */
  frameDuration?: number;
}

function skipScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + bits.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

const AVC_HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** seq_parameter_set_data (H.264 §7.3.2.1.1); the size and timing fields are best effort. */
export function readAvcSps(rbsp: Uint8Array): VideoFacts | undefined {
  if (rbsp.length < 4) return undefined;
  const profileIdc = rbsp[1] ?? 0;
  const facts: VideoFacts = { codec: avcCodecString('avc1', profileIdc, rbsp[2] ?? 0, rbsp[3] ?? 0) };
  try {
    const bits = new BitReader(rbsp, 4);
    bits.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if (AVC_HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = bits.ue();
      if (chromaFormatIdc === 3) separateColourPlane = bits.u(1);
      bits.ue(); // bit_depth_luma_minus8
      bits.ue(); // bit_depth_chroma_minus8
      bits.skip(1); // qpprime_y_zero_transform_bypass_flag
      if (bits.u(1)) {
        for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) if (bits.u(1)) skipScalingList(bits, i < 6 ? 16 : 64);
      }
    }
    bits.ue(); // log2_max_frame_num_minus4
    const pocType = bits.ue();
    if (pocType === 0) bits.ue();
    else if (pocType === 1) {
      bits.skip(1);
      bits.se();
      bits.se();
      const cycle = bits.ue();
      for (let i = 0; i < cycle; i++) bits.se();
    }
    bits.ue(); // max_num_ref_frames
    bits.skip(1); // gaps_in_frame_num_value_allowed_flag
    const widthInMbs = bits.ue() + 1;
    const heightInMapUnits = bits.ue() + 1;
    const frameMbsOnly = bits.u(1);
    if (!frameMbsOnly) bits.skip(1);
    bits.skip(1); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (bits.u(1)) crop = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
    // §7.4.2.1.1: crop units depend on the chroma format (Table 6-1) and frame_mbs_only_flag.
    const chroma = separateColourPlane ? 0 : chromaFormatIdc;
    const cropX = chroma === 0 ? 1 : chroma === 3 ? 1 : 2;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    facts.width = widthInMbs * 16 - cropX * ((crop[0] ?? 0) + (crop[1] ?? 0));
    facts.height = (2 - frameMbsOnly) * heightInMapUnits * 16 - cropY * ((crop[2] ?? 0) + (crop[3] ?? 0));
    if (bits.u(1)) {
      // vui_parameters (Annex E.1.1), up to timing_info.
      if (bits.u(1) && bits.u(8) === 255) bits.skip(32);
      if (bits.u(1)) bits.skip(1);
      if (bits.u(1)) {
        bits.skip(4);
        if (bits.u(1)) bits.skip(24);
      }
      if (bits.u(1)) {
        bits.ue();
        bits.ue();
      }
      if (bits.u(1)) {
        const unitsInTick = bits.u(32);
        const timeScale = bits.u(32);
        if (unitsInTick > 0 && timeScale > 0) facts.frameDuration = (90000 * 2 * unitsInTick) / timeScale;
      }
    }
  } catch (error) {
    if (!(error instanceof MediaParseError)) throw error;
  }
  return facts;
}

/** seq_parameter_set_rbsp (H.265 §7.3.2.2) up to the conformance window, with profile_tier_level (§7.3.3). */
export function readHevcSps(rbsp: Uint8Array): VideoFacts | undefined {
  try {
    const bits = new BitReader(rbsp, 2);
    bits.skip(4); // sps_video_parameter_set_id
    const maxSubLayersMinus1 = bits.u(3);
    bits.skip(1);
    const profileSpace = bits.u(2);
    const tierFlag = bits.u(1);
    const profileIdc = bits.u(5);
    const compatibilityFlags = bits.u(32);
    const constraintBytes = [bits.u(8), bits.u(8), bits.u(8), bits.u(8), bits.u(8), bits.u(8)];
    const levelIdc = bits.u(8);
    const facts: VideoFacts = { codec: hevcCodecString('hvc1', { profileSpace, tierFlag, profileIdc, compatibilityFlags, constraintBytes, levelIdc }) };
    try {
      skipHevcSubLayers(bits, maxSubLayersMinus1);
      bits.ue(); // sps_seq_parameter_set_id
      const chromaFormatIdc = bits.ue();
      if (chromaFormatIdc === 3) bits.skip(1);
      let width = bits.ue();
      let height = bits.ue();
      if (bits.u(1)) {
        // conformance window offsets are in chroma sample units (§7.4.3.2.1)
        const subWidth = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
        const subHeight = chromaFormatIdc === 1 ? 2 : 1;
        width -= subWidth * (bits.ue() + bits.ue());
        height -= subHeight * (bits.ue() + bits.ue());
      }
      facts.width = width;
      facts.height = height;
    } catch (error) {
      if (!(error instanceof MediaParseError)) throw error;
    }
    return facts;
  } catch (error) {
    if (error instanceof MediaParseError) return undefined;
    throw error;
  }
}

function isSps(header: number, family: 'avc' | 'hevc'): boolean {
  return family === 'avc' ? (header & 0x1f) === 7 : ((header >> 1) & 0x3f) === 33;
}

function readSps(nal: Uint8Array, family: 'avc' | 'hevc'): VideoFacts | undefined {
  const rbsp = unescapeRbsp(nal.subarray(0, SPS_READ_LIMIT));
  return family === 'avc' ? readAvcSps(rbsp) : readHevcSps(rbsp);
}

/**
 * Looks for the first SPS in the bytes of a video stream as they arrive, PES by PES. Each byte is
 * searched for start codes once (the bytes are appended to one growing buffer, and a search
 * resumes where the last one ended), so a stream of many small PES packets costs linear time.
 */
class SpsSniffer {
  private buf = new Uint8Array(0);
  private length = 0;
  /** Where the next start-code search begins. */
  private resume = 0;
  /** Start of the NAL unit that the bytes so far do not terminate, if any. */
  private tail: number | undefined;
  /** The first SPS was found (readable or not): nothing more to look for. */
  done = false;

  constructor(private readonly family: 'avc' | 'hevc') {}

  get bytes(): number {
    return this.length;
  }

  append(part: Uint8Array): void {
    if (this.length + part.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.length + part.length, this.buf.length * 2, 4096));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(part, this.length);
    this.length += part.length;
  }

  /** Scans the bytes appended since the last call; the facts of the first SPS once it is complete. */
  scan(final: boolean): VideoFacts | undefined {
    const es = this.buf;
    let i = this.resume;
    for (; i + 2 < this.length; i++) {
      if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
      if (this.tail !== undefined) {
        let end = i;
        while (end > this.tail && es[end - 1] === 0) end--;
        const facts = this.examine(this.tail, end);
        if (this.done) return facts;
      }
      this.tail = i + 3;
      i += 2;
    }
    this.resume = Math.max(i, this.resume);
    // The end of a PES ends its last NAL unit as far as this reader knows (as a player would).
    if (final && this.tail !== undefined && this.tail < this.length) {
      const header = es[this.tail] ?? 0;
      if (isSps(header, this.family)) {
        const facts = readSps(es.subarray(this.tail, this.length), this.family);
        if (facts !== undefined) {
          this.done = true;
          return facts;
        }
      }
    }
    return undefined;
  }

  private examine(start: number, end: number): VideoFacts | undefined {
    if (end <= start || !isSps(this.buf[start] ?? 0, this.family)) return undefined;
    this.done = true;
    return readSps(this.buf.subarray(start, end), this.family);
  }
}

// ---------------------------------------------------------------------------------------------
// Audio frame headers: ADTS (13818-7 §6.2), AC-3 and E-AC-3 (ATSC A/52 §5.3, Annex E)

export interface AudioFrame {
  /** Whole frame length in bytes, header included. */
  length: number;
  /** ADTS: 7, or 9 with the CRC (protection_absent 0); AC-3/E-AC-3: 0 (their CRC is inside the frame). */
  headerLength: number;
  /** Samples per frame; 0 for frames that add no time (E-AC-3 dependent substreams). */
  samples: number;
  sampleRate: number;
  channels?: number;
  codec: string;
}

const ADTS_HEADER = 7;
const DOLBY_HEADER = 8;

/** The fixed and variable ADTS header (13818-7 §6.2) in h[0..7), or undefined when it is not one. */
export function readAdtsHeader(h: Uint8Array): AudioFrame | undefined {
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0] = h;
  if (b0 !== 0xff || (b1 & 0xf6) !== 0xf0) return undefined; // syncword, layer 00
  const sampleRate = AAC_SAMPLE_RATES[(b2 >> 2) & 0x0f];
  if (sampleRate === undefined) return undefined;
  const length = ((b3 & 0x03) << 11) | (b4 << 3) | (b5 >> 5);
  const frame: AudioFrame = { length, headerLength: (b1 & 1) === 1 ? 7 : 9, samples: 1024 * ((b6 & 3) + 1), sampleRate, codec: `mp4a.40.${(b2 >> 6) + 1}` };
  const channels = aacChannels(((b2 & 1) << 2) | (b3 >> 6));
  if (channels !== undefined) frame.channels = channels;
  return frame;
}

/** AC-3 frame sizes in 16-bit words (A/52 Table 5.18), from the bit rate of frmsizecod / 2. */
const AC3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];

/** An AC-3 or E-AC-3 syncframe header in h[0..8), or undefined when it is not one. */
export function readDolbyHeader(h: Uint8Array): AudioFrame | undefined {
  if (h[0] !== 0x0b || h[1] !== 0x77) return undefined;
  const bsid = (h[5] ?? 0) >> 3;
  if (bsid <= 10) {
    // AC-3 syncinfo + bsi: fscod(2) frmsizecod(6) | bsid(5) bsmod(3) | acmod(3) …
    const fscod = (h[4] ?? 0) >> 6;
    const frmsizecod = (h[4] ?? 0) & 0x3f;
    const bitrate = AC3_BITRATES[frmsizecod >> 1];
    const sampleRate = [48000, 44100, 32000][fscod];
    if (bitrate === undefined || sampleRate === undefined) return undefined;
    const words = fscod === 0 ? bitrate * 2 : fscod === 2 ? bitrate * 3 : Math.floor((bitrate * 96000) / 44100) + (frmsizecod & 1);
    const bits = new BitReader(h, 6, DOLBY_HEADER);
    const acmod = bits.u(3);
    if ((acmod & 1) !== 0 && acmod !== 1) bits.skip(2); // cmixlev
    if ((acmod & 4) !== 0) bits.skip(2); // surmixlev
    if (acmod === 2) bits.skip(2); // dsurmod
    return { length: words * 2, headerLength: 0, samples: 1536, sampleRate, channels: ac3Channels(acmod, bits.u(1)), codec: 'ac-3' };
  }
  if (bsid > 16) return undefined;
  // E-AC-3 (Annex E.2.2): strmtyp(2) substreamid(3) frmsiz(11) | fscod(2) numblkscod(2) acmod(3) lfeon(1)
  const strmtyp = (h[2] ?? 0) >> 6;
  const substreamId = ((h[2] ?? 0) >> 3) & 7;
  const length = ((((h[2] ?? 0) & 7) << 8) | (h[3] ?? 0)) * 2 + 2;
  const fscod = (h[4] ?? 0) >> 6;
  const code2 = ((h[4] ?? 0) >> 4) & 3;
  const sampleRate = fscod === 3 ? [24000, 22050, 16000][code2] : [48000, 44100, 32000][fscod];
  if (sampleRate === undefined) return undefined;
  const independent = strmtyp !== 1 && substreamId === 0;
  const samples = fscod === 3 ? 1536 : ([1, 2, 3, 6][code2] ?? 6) * 256;
  return { length, headerLength: 0, samples: independent ? samples : 0, sampleRate, channels: ac3Channels(((h[4] ?? 0) >> 1) & 7, (h[4] ?? 0) & 1), codec: 'ec-3' };
}

// ---------------------------------------------------------------------------------------------
// Per-stream state while walking the packets

class StreamState {
  readonly info: TsStream;
  // PTS bookkeeping, unwrapped against the first PTS seen
  private reference: number | undefined;
  minPts = Number.POSITIVE_INFINITY;
  maxPts = Number.NEGATIVE_INFINITY;
  private readonly videoPts: number[] = [];
  // current PES
  inPes = false;
  private header: Uint8Array | undefined;
  private headerLength = 0;
  private pesPts: number | undefined;
  private pesSamples = 0;
  private audioEnd = Number.NEGATIVE_INFINITY;
  private expectedPts: number | undefined;
  // video bytes, searched for the first SPS until it is found (or SNIFF_LIMIT bytes went by)
  private sniff: SpsSniffer | undefined;
  private frameDuration: number | undefined;
  // audio frame scanner
  private skip = 0;
  private readonly frameHeader = new Uint8Array(DOLBY_HEADER);
  private frameHeaderLength = 0;

  constructor(private readonly stream: PmtStream) {
    this.info = { pid: stream.pid, streamType: stream.streamType, kind: stream.kind };
    if (stream.language !== undefined) this.info.language = stream.language;
    if (stream.family === 'avc' || stream.family === 'hevc') this.sniff = new SpsSniffer(stream.family);
  }

  /** A packet with payload_unit_start_indicator: a new PES begins at buf[start]. */
  startPes(buf: Uint8Array, start: number, end: number): void {
    this.endPes();
    this.inPes = true;
    this.header = undefined;
    this.continueHeader(buf, start, end);
  }

  /** A packet continuing the current PES. */
  continuePes(buf: Uint8Array, start: number, end: number): void {
    if (!this.inPes) return;
    if (this.header !== undefined) this.continueHeader(buf, start, end);
    else this.payload(buf, start, end);
  }

  private continueHeader(buf: Uint8Array, start: number, end: number): void {
    // The PES header is almost always inside the first packet; when it is not, gather it.
    let bytes = buf.subarray(start, end);
    if (this.header !== undefined) {
      const joined = new Uint8Array(this.headerLength + bytes.length);
      joined.set(this.header.subarray(0, this.headerLength));
      joined.set(bytes, this.headerLength);
      bytes = joined;
    }
    const consumed = this.readPesHeader(bytes);
    if (consumed === undefined) {
      if (bytes.length > 300) {
        this.inPes = false; // not a PES header
        return;
      }
      this.header = bytes; // a view of the packet, or the joined copy: both stay valid
      this.headerLength = bytes.length;
      return;
    }
    this.header = undefined;
    if (consumed < 0) {
      this.inPes = false;
      return;
    }
    const fromPacket = consumed - (bytes.length - (end - start));
    if (fromPacket < end - start) this.payload(buf, start + Math.max(0, fromPacket), end);
  }

  /**
   * PES_packet header (§2.4.3.6): returns the header length, undefined when more bytes are needed,
   * or -1 when the bytes are not a PES start.
   */
  private readPesHeader(h: Uint8Array): number | undefined {
    if (h.length < 9) return undefined;
    if (h[0] !== 0 || h[1] !== 0 || h[2] !== 1) return -1;
    const streamId = h[3] ?? 0;
    this.pesSamples = 0;
    this.pesPts = undefined;
    // program_stream_map, padding, private_stream_2, ECM, EMM, directory, DSMCC, H.222.1 type E
    if ([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xff, 0xf2, 0xf8].includes(streamId)) return 6;
    const length = 9 + (h[8] ?? 0);
    if (h.length < length) return undefined;
    if (((h[7] ?? 0) & 0x80) !== 0) this.pesPts = this.unwrap(readTimestamp(h, 9));
    else if (this.info.kind === 'audio') this.pesPts = this.expectedPts;
    if (this.pesPts !== undefined) {
      if (this.pesPts < this.minPts) this.minPts = this.pesPts;
      if (this.pesPts > this.maxPts) this.maxPts = this.pesPts;
      if (this.info.kind === 'video' && ((h[7] ?? 0) & 0x80) !== 0) this.videoPts.push(this.pesPts);
    }
    return length;
  }

  private unwrap(pts: number): number {
    if (this.reference === undefined) {
      this.reference = pts;
      return pts;
    }
    const delta = pts - this.reference;
    if (delta > PTS_HALF) return pts - PTS_WRAP;
    if (delta < -PTS_HALF) return pts + PTS_WRAP;
    return pts;
  }

  private payload(buf: Uint8Array, start: number, end: number): void {
    if (this.sniff !== undefined) {
      if (this.sniff.bytes + (end - start) > SNIFF_LIMIT) this.sniff = undefined;
      else this.sniff.append(buf.subarray(start, end));
      return;
    }
    if (this.stream.family === 'adts' || this.stream.family === 'dolby') this.scanAudio(buf, start, end);
  }

  /** Counts audio frames by walking their headers; the bytes between headers are skipped unread. */
  private scanAudio(buf: Uint8Array, start: number, end: number): void {
    const adts = this.stream.family === 'adts';
    const size = adts ? ADTS_HEADER : DOLBY_HEADER;
    const h = this.frameHeader;
    let i = start;
    while (i < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - i);
        this.skip -= n;
        i += n;
        continue;
      }
      h[this.frameHeaderLength++] = buf[i++] ?? 0;
      if (this.frameHeaderLength === 1 && h[0] !== (adts ? 0xff : 0x0b)) {
        this.frameHeaderLength = 0;
        continue;
      }
      if (this.frameHeaderLength < size) continue;
      const frame = adts ? readAdtsHeader(h) : readDolbyHeader(h);
      if (frame === undefined || frame.length < size) {
        h.copyWithin(0, 1, size); // resynchronise one byte further
        this.frameHeaderLength = size - 1;
        continue;
      }
      if (this.info.codec === undefined) {
        this.info.codec = frame.codec;
        this.info.sampleRate = frame.sampleRate;
        if (frame.channels !== undefined) this.info.channels = frame.channels;
      }
      this.pesSamples += frame.samples;
      this.skip = frame.length - size;
      this.frameHeaderLength = 0;
    }
  }

  /** Closes the current PES: audio end time, and a look for the SPS in the video bytes so far. */
  endPes(): void {
    if (!this.inPes) return;
    this.inPes = false;
    if (this.info.kind === 'audio' && this.pesPts !== undefined && this.info.sampleRate !== undefined) {
      const end = this.pesPts + (this.pesSamples * 90000) / this.info.sampleRate;
      if (end > this.audioEnd) this.audioEnd = end;
      this.expectedPts = end;
    }
    if (this.sniff !== undefined && this.sniff.bytes > 0) {
      const facts = this.sniff.scan(true);
      if (facts !== undefined) {
        this.info.codec = facts.codec;
        if (facts.width !== undefined) this.info.width = facts.width;
        if (facts.height !== undefined) this.info.height = facts.height;
        this.frameDuration = facts.frameDuration;
      }
      if (this.sniff.done) this.sniff = undefined;
    }
  }

  finish(): TsStream {
    this.endPes();
    const info = this.info;
    if (this.minPts === Number.POSITIVE_INFINITY) return info;
    // Keep firstPts in [0, 2^33) when the earliest PTS came from before a wrap.
    const shift = this.minPts < 0 ? PTS_WRAP : 0;
    info.firstPts = this.minPts + shift;
    info.lastPts = this.maxPts + shift;
    if (info.kind === 'video') {
      const sorted = [...new Set(this.videoPts)].sort((a, b) => a - b);
      let step = Number.POSITIVE_INFINITY;
      for (let i = 1; i < sorted.length; i++) step = Math.min(step, (sorted[i] ?? 0) - (sorted[i - 1] ?? 0));
      const frame = Number.isFinite(step) ? step : this.frameDuration;
      info.duration = (this.maxPts - this.minPts + (frame ?? 0)) / 90000;
    } else if (info.kind === 'audio' && Number.isFinite(this.audioEnd)) {
      info.duration = (this.audioEnd - this.minPts) / 90000;
    }
    return info;
  }
}

/** 33-bit PTS/DTS (§2.4.3.7): 3 + 15 + 15 bits separated by marker bits. */
export function readTimestamp(h: Uint8Array, at: number): number {
  const b0 = h[at] ?? 0;
  const b1 = h[at + 1] ?? 0;
  const b2 = h[at + 2] ?? 0;
  const b3 = h[at + 3] ?? 0;
  const b4 = h[at + 4] ?? 0;
  return ((b0 >> 1) & 7) * 2 ** 30 + ((b1 << 7) | (b2 >> 1)) * 2 ** 15 + ((b3 << 7) | (b4 >> 1));
}

// ---------------------------------------------------------------------------------------------
// PES collection: the payload of each PES of one PID, checked (continuity, lengths, headers)

export interface Pes {
  pts?: number;
  dts?: number;
  /** The PES header (start code to the end of PES_header_data), a view or a copy. */
  header: Uint8Array;
  /** Payload pieces (views into the segment). */
  data: Uint8Array[];
  size: number;
  /** PES_packet_length − header, when the header gave one (0: unbounded video PES). */
  expected?: number;
  /** Packet index where it started, for messages. */
  packet: number;
  /** Indices of the packets that carried its bytes (header and payload), in order. */
  packets: number[];
}

/** What PesCollector.packet made of one packet. */
export type PesPacketUse = 'pes' | 'duplicate' | 'before-first-pes' | 'no-payload';

/**
 * Gathers the PES packets of one PID from its transport packets (13818-1 §2.4.3). Throws
 * MediaParseError with a one-line reason for lost packets (continuity counter), a payload unit
 * that is not a PES, a header that never ends, or a PES whose payload differs from its length.
 */
export class PesCollector {
  readonly pes: Pes[] = [];
  private current: Pes | undefined;
  private header: Uint8Array | undefined;
  private cc = -1;

  constructor(private readonly pid: number) {}

  packet(buf: Uint8Array, off: number, index: number): PesPacketUse {
    const b3 = buf[off + 3] ?? 0;
    const hasPayload = (b3 & 0x10) !== 0;
    const cc = b3 & 0x0f;
    const afc = (b3 >> 4) & 3;
    const discontinuityIndicator = (afc & 2) !== 0 && (buf[off + 4] ?? 0) > 0 && ((buf[off + 5] ?? 0) & 0x80) !== 0;
    if (hasPayload) {
      if (this.cc >= 0 && !discontinuityIndicator) {
        if (cc === this.cc) return 'duplicate'; // a duplicate packet (13818-1 §2.4.3.3): ignore it
        if (cc !== ((this.cc + 1) & 0x0f)) {
          throw new MediaParseError(`packets of PID ${this.pid} are missing before packet ${index} (continuity counter ${this.cc} then ${cc})`);
        }
      }
      this.cc = cc;
    }
    const start = payloadStart(buf, off, index);
    if (start >= off + PACKET_SIZE) return 'no-payload';
    const payload = buf.subarray(start, off + PACKET_SIZE);
    if (((buf[off + 1] ?? 0) & 0x40) !== 0) {
      this.close();
      this.current = { header: payload.subarray(0, 0), data: [], size: 0, packet: index, packets: [index] };
      this.header = undefined;
      this.headerBytes(payload);
      return 'pes';
    }
    if (this.current === undefined) return 'before-first-pes'; // the end of a PES that began before these bytes
    this.current.packets.push(index);
    if (this.header !== undefined) this.headerBytes(payload);
    else this.add(payload);
    return 'pes';
  }

  private headerBytes(bytes: Uint8Array): void {
    const pes = this.current!;
    const h = this.header === undefined ? bytes : Buffer.concat([this.header, bytes]);
    if (h.length < 9 || h.length < 9 + (h[8] ?? 0)) {
      if (h.length > 400) throw new MediaParseError(`PID ${this.pid}: the PES header starting at packet ${pes.packet} never ends`);
      this.header = h;
      return;
    }
    this.header = undefined;
    if (h[0] !== 0 || h[1] !== 0 || h[2] !== 1) throw new MediaParseError(`PID ${this.pid}: packet ${pes.packet} starts a payload unit that is not a PES packet`);
    const length = ((h[4] ?? 0) << 8) | (h[5] ?? 0);
    const flags = h[7] ?? 0;
    const headerLength = 9 + (h[8] ?? 0);
    if ((flags & 0x80) !== 0) {
      if (headerLength < 14) throw new MediaParseError(`PID ${this.pid}: the PES header at packet ${pes.packet} is too short for its PTS`);
      pes.pts = readTimestamp(h, 9);
      if ((flags & 0x40) !== 0) {
        if (headerLength < 19) throw new MediaParseError(`PID ${this.pid}: the PES header at packet ${pes.packet} is too short for its DTS`);
        pes.dts = readTimestamp(h, 14);
      }
    }
    if (length > 0) {
      if (length + 6 < headerLength) throw new MediaParseError(`PID ${this.pid}: the PES at packet ${pes.packet} is shorter than its header`);
      pes.expected = length + 6 - headerLength;
    }
    pes.header = h.subarray(0, headerLength);
    this.add(h.subarray(headerLength));
  }

  private add(bytes: Uint8Array): void {
    const pes = this.current!;
    if (bytes.length === 0) return;
    pes.data.push(bytes);
    pes.size += bytes.length;
  }

  close(): void {
    const pes = this.current;
    this.current = undefined;
    if (pes === undefined) return;
    if (this.header !== undefined) throw new MediaParseError(`PID ${this.pid}: the segment ends inside the PES header that starts at packet ${pes.packet}`);
    if (pes.expected !== undefined && pes.size !== pes.expected) {
      // Transport packets pad a PES with 0xFF only in adaptation fields, never in the payload.
      throw new MediaParseError(`PID ${this.pid}: the PES at packet ${pes.packet} has ${pes.size} payload bytes but declares ${pes.expected} (truncated or corrupt)`);
    }
    this.pes.push(pes);
  }
}

// ---------------------------------------------------------------------------------------------

/** Reads one MPEG-TS segment: its elementary streams in PMT order, and the packet count. */
export function readTsSegment(buf: Uint8Array): TsSegmentInfo {
  if (buf.length === 0) throw new MediaParseError('empty segment: no MPEG-TS packets');
  if (buf.length % PACKET_SIZE !== 0) throw new MediaParseError(`length ${buf.length} is not a multiple of the 188-byte MPEG-TS packet size`);
  const packetCount = buf.length / PACKET_SIZE;
  for (let i = 0; i < packetCount; i++) {
    if (buf[i * PACKET_SIZE] !== SYNC_BYTE) throw new MediaParseError(`packet ${i} (offset ${i * PACKET_SIZE}) does not start with the sync byte 0x47`);
  }
  const tables = readProgramTables(buf, packetCount);
  const byPid: (StreamState | undefined)[] = new Array<StreamState | undefined>(8192);
  const states: StreamState[] = [];
  for (const stream of tables) {
    if (byPid[stream.pid] !== undefined) continue;
    const state = new StreamState(stream);
    states.push(state);
    if (stream.carriesPes) byPid[stream.pid] = state;
  }
  for (let i = 0, off = 0; i < packetCount; i++, off += PACKET_SIZE) {
    const b1 = buf[off + 1] ?? 0;
    const state = byPid[((b1 & 0x1f) << 8) | (buf[off + 2] ?? 0)];
    if (state === undefined || (b1 & 0x80) !== 0) continue; // not ours, or transport_error_indicator
    const start = payloadStart(buf, off, i);
    if (start >= off + PACKET_SIZE) continue;
    if ((b1 & 0x40) !== 0) state.startPes(buf, start, off + PACKET_SIZE);
    else state.continuePes(buf, start, off + PACKET_SIZE);
  }
  return { streams: states.map((s) => s.finish()), packetCount };
}
