/**
 * Repackages one MPEG-TS segment (ISO/IEC 13818-1) into fragmented MP4 for CMAF endpoints: an init
 * segment (one trak per elementary stream) and one fragment (moof + mdat) with every sample of the
 * segment. H.264 and H.265 video become length-prefixed samples (access unit delimiters and
 * parameter sets removed; the parameter sets go to avcC / hvcC; SEI, and so CEA-608/708 captions,
 * stay); AAC loses its ADTS headers (AudioSpecificConfig in esds), one sample per AAC frame;
 * AC-3 / E-AC-3 syncframes become ac-3 / ec-3 samples with dac3 / dec3 from their headers.
 * Timing is the PES PTS/DTS on a 90 kHz timescale, unchanged: tfdt is the first DTS, composition
 * offsets are PTS − DTS, so the output continues the input's media time and tracks stay in sync.
 *
 * Pure and deterministic: the bytes depend on the segment's bytes only. Anything the packager
 * cannot carry or trust (another codec, lost packets, a truncated PES or frame, parameter sets
 * that change inside the segment) throws RepackageError with a one-line reason.
 */
import { AAC_SAMPLE_RATES, BitReader, MediaParseError, aacChannels, ac3Channels, skipHevcSubLayers } from '../container/isobmff.js';
import { PesCollector, nalUnits, readAvcSps, readHevcSps, readProgramTables, unescapeRbsp, type Pes, type PmtStream } from '../container/mpegts.js';
import { writeFragment, writeInitSegment, type AudioTrack, type Sample, type Track, type TrackFragment, type VideoTrack } from './mp4-writer.js';

export class RepackageError extends Error {
  override name = 'RepackageError';
}

export interface CmafSegment {
  /** ftyp + moov; equal bytes for equal codec configurations. */
  readonly init: Buffer;
  /** moof + mdat; empty when asked for without it (`{ media: false }`). */
  readonly media: Buffer;
  /** RFC 6381 codec strings of the tracks, in track order. */
  readonly codecs: readonly string[];
  /** Per track: first decode time, earliest presentation time and summed duration (90 kHz). */
  readonly tracks: readonly { kind: 'video' | 'audio'; baseMediaDecodeTime: number; earliestPresentationTime: number; duration: number; sampleCount: number }[];
}

const PACKET_SIZE = 188;
export const TS_TIMESCALE = 90_000;
const PTS_WRAP = 2 ** 33;
const PTS_HALF = 2 ** 32;

const STREAM_TYPE_NAMES: Record<number, string> = {
  0x01: 'MPEG-1 video',
  0x02: 'MPEG-2 video',
  0x03: 'MPEG-1 audio',
  0x04: 'MPEG-2 audio',
  0x0f: 'AAC (ADTS)',
  0x11: 'AAC (LATM)',
  0x1b: 'H.264',
  0x24: 'H.265',
  0x81: 'AC-3',
  0x87: 'E-AC-3',
};

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timestamps: unwrapped against one reference for every stream of the segment

class Clock33 {
  private reference: number | undefined;
  unwrap(t: number): number {
    if (this.reference === undefined) {
      this.reference = t;
      return t;
    }
    const d = t - this.reference;
    if (d > PTS_HALF) return t - PTS_WRAP;
    if (d < -PTS_HALF) return t + PTS_WRAP;
    return t;
  }
}

interface TimedSample extends Sample {
  dts: number;
}

interface Built {
  track: Omit<VideoTrack, 'trackId'> | Omit<AudioTrack, 'trackId'>;
  codec: string;
  samples: TimedSample[];
}

// ---------------------------------------------------------------------------------------------
// Video: H.264 (ISO/IEC 14496-10) and H.265 (ISO/IEC 23008-2)

function avcDecoderConfig(spss: readonly Uint8Array[], ppss: readonly Uint8Array[]): Uint8Array {
  const sps = spss[0]!;
  const profile = sps[1] ?? 0;
  const parts: number[] = [1, profile, sps[2] ?? 0, sps[3] ?? 0, 0xff, 0xe0 | spss.length];
  const bytes: Uint8Array[] = [];
  const push = (nal: Uint8Array) => {
    bytes.push(Uint8Array.from([...parts.splice(0), nal.length >> 8, nal.length & 0xff]), nal);
  };
  for (const s of spss) push(s);
  parts.push(ppss.length);
  for (const p of ppss) push(p);
  if (parts.length) bytes.push(Uint8Array.from(parts.splice(0)));
  // 14496-15 §5.3.3.1: the chroma and bit depth fields follow for the high profiles.
  if ([100, 110, 122, 144].includes(profile)) {
    const f = avcChromaAndDepth(unescapeRbsp(sps));
    bytes.push(Uint8Array.from([0xfc | f.chromaFormatIdc, 0xf8 | f.bitDepthLuma8, 0xf8 | f.bitDepthChroma8, 0]));
  }
  return concat(bytes, bytes.reduce((n, b) => n + b.length, 0));
}

function avcChromaAndDepth(rbsp: Uint8Array): { chromaFormatIdc: number; bitDepthLuma8: number; bitDepthChroma8: number } {
  try {
    const bits = new BitReader(rbsp, 4);
    bits.ue();
    const chromaFormatIdc = bits.ue();
    if (chromaFormatIdc === 3) bits.skip(1);
    return { chromaFormatIdc: chromaFormatIdc & 3, bitDepthLuma8: bits.ue() & 7, bitDepthChroma8: bits.ue() & 7 };
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError('the H.264 SPS is truncated');
    throw err;
  }
}

/** hvcC (14496-15 §8.3.3.1) from the VPS, SPS and PPS NAL units. */
function hevcDecoderConfig(vpss: readonly Uint8Array[], spss: readonly Uint8Array[], ppss: readonly Uint8Array[]): Uint8Array {
  const rbsp = unescapeRbsp(spss[0]!);
  let ptl: Uint8Array;
  let maxSubLayersMinus1: number;
  let temporalIdNesting: number;
  let chromaFormatIdc: number;
  let bitDepthLuma8: number;
  let bitDepthChroma8: number;
  try {
    const bits = new BitReader(rbsp, 2);
    bits.skip(4);
    maxSubLayersMinus1 = bits.u(3);
    temporalIdNesting = bits.u(1);
    ptl = rbsp.subarray(3, 15); // general_profile_space … general_level_idc: 12 bytes
    if (ptl.length < 12) throw new MediaParseError('short');
    bits.skip(96);
    skipHevcSubLayers(bits, maxSubLayersMinus1);
    bits.ue(); // sps_seq_parameter_set_id
    chromaFormatIdc = bits.ue();
    if (chromaFormatIdc === 3) bits.skip(1);
    bits.ue();
    bits.ue();
    if (bits.u(1)) {
      bits.ue();
      bits.ue();
      bits.ue();
      bits.ue();
    }
    bitDepthLuma8 = bits.ue();
    bitDepthChroma8 = bits.ue();
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError('the H.265 SPS is truncated');
    throw err;
  }
  const head = Uint8Array.from([
    1,
    ...ptl,
    0xf0, // reserved 1111, min_spatial_segmentation_idc 0
    0x00,
    0xfc, // reserved 111111, parallelismType 0
    0xfc | (chromaFormatIdc & 3),
    0xf8 | (bitDepthLuma8 & 7),
    0xf8 | (bitDepthChroma8 & 7),
    0,
    0, // avgFrameRate
    (((maxSubLayersMinus1 + 1) & 7) << 3) | ((temporalIdNesting & 1) << 2) | 3, // constantFrameRate 0, lengthSizeMinusOne 3
    3, // numOfArrays
  ]);
  const arrays: Uint8Array[] = [head];
  for (const [type, list] of [
    [32, vpss],
    [33, spss],
    [34, ppss],
  ] as const) {
    arrays.push(Uint8Array.from([0x80 | type, list.length >> 8, list.length & 0xff]));
    for (const nal of list) arrays.push(Uint8Array.from([nal.length >> 8, nal.length & 0xff]), nal);
  }
  return concat(arrays, arrays.reduce((n, b) => n + b.length, 0));
}

/** Parameter sets of one kind, by id; a second, different one with the same id cannot be carried. */
class ParameterSets {
  private readonly byId = new Map<number, Uint8Array>();
  constructor(private readonly what: string) {}
  add(id: number, nal: Uint8Array): void {
    const had = this.byId.get(id);
    if (had === undefined) this.byId.set(id, nal);
    else if (Buffer.compare(had, nal) !== 0) throw new RepackageError(`the ${this.what} with id ${id} changes within the segment; Packhouse starts a new init segment only between segments`);
  }
  list(): Uint8Array[] {
    return [...this.byId.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
  get size(): number {
    return this.byId.size;
  }
}

function parameterSetId(nal: Uint8Array, what: 'H.264 SPS' | 'H.264 PPS' | 'H.265 VPS' | 'H.265 SPS' | 'H.265 PPS'): number {
  try {
    if (what === 'H.265 SPS') return spsIdHevc(nal);
    const bits = new BitReader(unescapeRbsp(nal.subarray(0, Math.min(nal.length, 64))), what.startsWith('H.265') ? 2 : 1);
    if (what === 'H.265 VPS') return bits.u(4);
    if (what === 'H.264 SPS') bits.skip(24); // profile_idc, constraint flags, level_idc
    return bits.ue();
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError(`a ${what} is truncated`);
    throw err;
  }
}

/** sps_seq_parameter_set_id sits after profile_tier_level, whose length depends on sub-layers. */
function spsIdHevc(nal: Uint8Array): number {
  const bits = new BitReader(unescapeRbsp(nal), 2);
  bits.skip(4);
  const maxSubLayersMinus1 = bits.u(3);
  bits.skip(1 + 96);
  skipHevcSubLayers(bits, maxSubLayersMinus1);
  return bits.ue();
}

function buildVideo(stream: PmtStream, pes: readonly Pes[], clock: Clock33): Built {
  const hevc = stream.family === 'hevc';
  const vps = new ParameterSets('H.265 VPS');
  const sps = new ParameterSets(hevc ? 'H.265 SPS' : 'H.264 SPS');
  const pps = new ParameterSets(hevc ? 'H.265 PPS' : 'H.264 PPS');
  // Access units: a PES with a PTS starts one; a PES without continues the one before.
  const units: { pts: number; dts: number; parts: Uint8Array[]; size: number }[] = [];
  for (const p of pes) {
    if (p.pts !== undefined) {
      const pts = clock.unwrap(p.pts);
      const dts = p.dts === undefined ? pts : clock.unwrap(p.dts);
      if (pts < dts) throw new RepackageError(`PID ${stream.pid}: the PES at packet ${p.packet} presents before it decodes (PTS < DTS)`);
      units.push({ pts, dts, parts: [...p.data], size: p.size });
    } else if (units.length > 0) {
      const u = units[units.length - 1]!;
      u.parts.push(...p.data);
      u.size += p.size;
    }
  }
  const samples: TimedSample[] = [];
  let firstSps: Uint8Array | undefined;
  // NAL units of an access unit without a picture (SEI alone in its PES) go with the next picture.
  let pending: Uint8Array[] = [];
  for (const u of units) {
    const es = concat(u.parts, u.size);
    const data: Uint8Array[] = pending;
    pending = [];
    let sync = false;
    let slices = 0;
    let nals = 0;
    for (const nal of nalUnits(es)) {
      nals++;
      if (nal.length === 0) continue;
      const type = hevc ? ((nal[0] ?? 0) >> 1) & 0x3f : (nal[0] ?? 0) & 0x1f;
      if (hevc) {
        if (type === 35) continue; // AUD
        if (type === 32) {
          vps.add(parameterSetId(nal, 'H.265 VPS'), nal);
          continue;
        }
        if (type === 33) {
          sps.add(parameterSetId(nal, 'H.265 SPS'), nal);
          firstSps ??= nal;
          continue;
        }
        if (type === 34) {
          pps.add(parameterSetId(nal, 'H.265 PPS'), nal);
          continue;
        }
        if (type >= 16 && type <= 23) sync = true;
        if (type < 32) slices++;
      } else {
        if (type === 9) continue; // AUD
        if (type === 7) {
          sps.add(parameterSetId(nal, 'H.264 SPS'), nal);
          firstSps ??= nal;
          continue;
        }
        if (type === 8) {
          pps.add(parameterSetId(nal, 'H.264 PPS'), nal);
          continue;
        }
        if (type === 5) sync = true;
        if (type >= 1 && type <= 5) slices++;
      }
      data.push(Uint8Array.from([(nal.length >>> 24) & 0xff, (nal.length >> 16) & 0xff, (nal.length >> 8) & 0xff, nal.length & 0xff]), nal);
    }
    if (nals === 0 && es.length > 0) throw new RepackageError(`PID ${stream.pid}: a PES holds no NAL unit start code (not an Annex B byte stream)`);
    if (slices === 0) {
      pending = data;
      continue;
    }
    samples.push({ dts: u.dts, compositionOffset: u.pts - u.dts, sync, duration: 0, data });
  }
  if (samples.length === 0) throw new RepackageError(`PID ${stream.pid}: no ${hevc ? 'H.265' : 'H.264'} picture in the segment`);
  if (firstSps === undefined || pps.size === 0 || (hevc && vps.size === 0)) {
    throw new RepackageError(`PID ${stream.pid}: the segment carries no ${hevc ? 'VPS/SPS/PPS' : 'SPS/PPS'}; Packhouse needs the parameter sets in every segment (encoders repeat them before each keyframe)`);
  }
  const facts = hevc ? readHevcSps(unescapeRbsp(firstSps)) : readAvcSps(unescapeRbsp(firstSps));
  if (facts?.width === undefined || facts.height === undefined) throw new RepackageError(`PID ${stream.pid}: the ${hevc ? 'H.265' : 'H.264'} SPS cannot be read`);
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.dts <= samples[i - 1]!.dts) throw new RepackageError(`PID ${stream.pid}: decode times do not increase (picture ${i} of the segment)`);
  }
  const frame = facts.frameDuration !== undefined ? Math.round(facts.frameDuration) : undefined;
  for (let i = 0; i < samples.length; i++) {
    const next = samples[i + 1];
    const prev = samples[i - 1];
    const d = next ? next.dts - samples[i]!.dts : prev ? samples[i]!.dts - prev.dts : (frame ?? 3000);
    (samples[i] as { duration: number }).duration = d;
  }
  const config = hevc ? hevcDecoderConfig(vps.list(), sps.list(), pps.list()) : avcDecoderConfig(sps.list(), pps.list());
  return {
    track: { kind: 'video', timescale: TS_TIMESCALE, sampleEntry: hevc ? 'hvc1' : 'avc1', width: facts.width, height: facts.height, config },
    codec: facts.codec,
    samples,
  };
}

// ---------------------------------------------------------------------------------------------
// Audio: AAC in ADTS (ISO/IEC 13818-7 §6.2, 14496-3 §1.A.2)

/**
 * An audio stream's PES payloads as one elementary stream (frames may cross PES boundaries), with
 * where each PES begins in it and the PTS that applies from there.
 */
function joinPes(pes: readonly Pes[], clock: Clock33): { es: Uint8Array; marks: { at: number; pts: number | undefined }[] } {
  const marks: { at: number; pts: number | undefined }[] = [];
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (const p of pes) {
    marks.push({ at: total, pts: p.pts === undefined ? undefined : clock.unwrap(p.pts) });
    pieces.push(...p.data);
    total += p.size;
  }
  return { es: concat(pieces, total), marks };
}

/**
 * Times the audio frames of joined PES data (joinPes) in order: a frame's DTS is the PTS of the
 * PES it starts in (the last mark at or before it that carried one) plus the samples of the frames
 * before it since that PTS.
 */
class PesTimer {
  private next = 0;
  private pts: number | undefined;
  private samples = 0;

  constructor(
    private readonly marks: readonly { at: number; pts: number | undefined }[],
    private readonly pid: number,
  ) {}

  /** The DTS of the frame at `pos` of `samples` samples at `sampleRate`; the next frame follows it. */
  dts(pos: number, samples: number, sampleRate: number): number {
    while (this.next < this.marks.length && this.marks[this.next]!.at <= pos) {
      const m = this.marks[this.next++]!;
      if (m.pts !== undefined) {
        this.pts = m.pts;
        this.samples = 0;
      }
    }
    if (this.pts === undefined) throw new RepackageError(`PID ${this.pid}: audio before the first presentation time stamp`);
    const dts = this.pts + Math.round((this.samples * TS_TIMESCALE) / sampleRate);
    this.samples += samples;
    return dts;
  }
}

function buildAac(stream: PmtStream, pes: readonly Pes[], clock: Clock33): Built {
  const samples: TimedSample[] = [];
  let config: { objectType: number; rateIndex: number; channelConfig: number } | undefined;
  // ADTS frames may cross PES boundaries: walk the stream as one, each PES marking where its PTS applies.
  const { es, marks } = joinPes(pes, clock);
  const timer = new PesTimer(marks, stream.pid);
  for (let pos = 0; pos < es.length; ) {
    if (es.length - pos < 7) throw new RepackageError(`PID ${stream.pid}: the segment ends inside an ADTS header`);
    const b1 = es[pos + 1] ?? 0;
    if (es[pos] !== 0xff || (b1 & 0xf6) !== 0xf0) throw new RepackageError(`PID ${stream.pid}: no ADTS sync word at byte ${pos} of the audio stream (corrupt or not AAC)`);
    const b2 = es[pos + 2] ?? 0;
    const b3 = es[pos + 3] ?? 0;
    const objectType = (b2 >> 6) + 1;
    const rateIndex = (b2 >> 2) & 0x0f;
    const channelConfig = ((b2 & 1) << 2) | (b3 >> 6);
    const length = ((b3 & 0x03) << 11) | ((es[pos + 4] ?? 0) << 3) | ((es[pos + 5] ?? 0) >> 5);
    const blocks = ((es[pos + 6] ?? 0) & 3) + 1;
    const headerLength = (b1 & 1) === 0 ? 9 : 7; // protection_absent = 0: a CRC follows
    const sampleRate = AAC_SAMPLE_RATES[rateIndex];
    if (sampleRate === undefined) throw new RepackageError(`PID ${stream.pid}: ADTS sampling frequency index ${rateIndex} is reserved`);
    if (channelConfig === 0) throw new RepackageError(`PID ${stream.pid}: AAC with a program config element (channel configuration 0) is not supported`);
    if (blocks !== 1) throw new RepackageError(`PID ${stream.pid}: ADTS frames with ${blocks} raw data blocks are not supported`);
    if (length <= headerLength) throw new RepackageError(`PID ${stream.pid}: an ADTS frame declares ${length} bytes, no more than its header`);
    if (pos + length > es.length) throw new RepackageError(`PID ${stream.pid}: the last ADTS frame is truncated (${es.length - pos} of ${length} bytes)`);
    if (config === undefined) config = { objectType, rateIndex, channelConfig };
    else if (config.objectType !== objectType || config.rateIndex !== rateIndex || config.channelConfig !== channelConfig) {
      throw new RepackageError(`PID ${stream.pid}: the AAC configuration changes within the segment`);
    }
    const dts = timer.dts(pos, 1024, sampleRate);
    samples.push({ dts, compositionOffset: 0, sync: true, duration: 0, data: [es.subarray(pos + headerLength, pos + length)] });
    pos += length;
  }
  if (config === undefined) throw new RepackageError(`PID ${stream.pid}: no AAC frame in the segment`);
  const sampleRate = AAC_SAMPLE_RATES[config.rateIndex]!;
  const nominal = Math.round((1024 * TS_TIMESCALE) / sampleRate);
  for (let i = 0; i < samples.length; i++) {
    const next = samples[i + 1];
    const d = next ? next.dts - samples[i]!.dts : nominal;
    if (d <= 0) throw new RepackageError(`PID ${stream.pid}: audio times do not increase (frame ${i + 1} of the segment)`);
    (samples[i] as { duration: number }).duration = d;
  }
  // AudioSpecificConfig: audioObjectType(5) samplingFrequencyIndex(4) channelConfiguration(4) GASpecificConfig(3 zero bits).
  const asc = Uint8Array.from([(config.objectType << 3) | (config.rateIndex >> 1), ((config.rateIndex & 1) << 7) | (config.channelConfig << 3)]);
  return {
    track: { kind: 'audio', timescale: TS_TIMESCALE, sampleRate, channels: aacChannels(config.channelConfig) ?? 2, sampleEntry: 'mp4a', config: asc },
    codec: `mp4a.40.${config.objectType}`,
    samples,
  };
}

// ---------------------------------------------------------------------------------------------
// Audio: AC-3 and E-AC-3 syncframes (ATSC A/52, ETSI TS 102 366 Annex F for the MP4 sample entries)

/** AC-3 bit rates in kbit/s by frmsizecod / 2 (A/52 Table 5.18). */
const AC3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];

interface DolbyFrame {
  eac3: boolean;
  /** Whole syncframe, header included. */
  length: number;
  sampleRate: number;
  /** Audio blocks of 256 samples (AC-3: always 6). */
  blocks: number;
  fscod: number;
  bsid: number;
  bsmod: number;
  acmod: number;
  lfeon: number;
  /** AC-3: frmsizecod / 2. */
  bitRateCode: number;
}

/** The syncinfo and bsi of the syncframe at `pos` (enough of them for dac3 / dec3 and timing). */
function readDolbyFrame(stream: PmtStream, es: Uint8Array, pos: number): DolbyFrame {
  if (es.length - pos < 8) throw new RepackageError(`PID ${stream.pid}: the segment ends inside an AC-3 syncframe header`);
  if (es[pos] !== 0x0b || es[pos + 1] !== 0x77) throw new RepackageError(`PID ${stream.pid}: no AC-3 sync word at byte ${pos} of the audio stream (corrupt or not AC-3/E-AC-3)`);
  const bsid = (es[pos + 5] ?? 0) >> 3;
  const bits = new BitReader(es, pos + 2, Math.min(es.length, pos + 16));
  try {
    if (bsid <= 8) {
      bits.skip(16); // crc1
      const fscod = bits.u(2);
      const frmsizecod = bits.u(6);
      bits.skip(5); // bsid
      const bsmod = bits.u(3);
      const acmod = bits.u(3);
      if ((acmod & 1) !== 0 && acmod !== 1) bits.skip(2); // cmixlev
      if ((acmod & 4) !== 0) bits.skip(2); // surmixlev
      if (acmod === 2) bits.skip(2); // dsurmod
      const lfeon = bits.u(1);
      const kbps = AC3_BITRATES[frmsizecod >> 1];
      const sampleRate = [48000, 44100, 32000][fscod];
      if (kbps === undefined || sampleRate === undefined) throw new RepackageError(`PID ${stream.pid}: an AC-3 syncframe has a reserved sample rate or frame size code`);
      const words = fscod === 0 ? kbps * 2 : fscod === 2 ? kbps * 3 : Math.floor((kbps * 96000) / 44100) + (frmsizecod & 1);
      return { eac3: false, length: words * 2, sampleRate, blocks: 6, fscod, bsid, bsmod, acmod, lfeon, bitRateCode: frmsizecod >> 1 };
    }
    if (bsid < 11 || bsid > 16) throw new RepackageError(`PID ${stream.pid}: an AC-3 syncframe has bsid ${bsid}, neither AC-3 nor E-AC-3`);
    const strmtyp = bits.u(2);
    const substreamId = bits.u(3);
    const frmsiz = bits.u(11);
    const fscod = bits.u(2);
    const code2 = bits.u(2);
    const acmod = bits.u(3);
    const lfeon = bits.u(1);
    if (strmtyp === 1 || substreamId !== 0) {
      throw new RepackageError(`PID ${stream.pid}: E-AC-3 with ${strmtyp === 1 ? 'dependent substreams (more than 5.1 channels)' : 'several independent substreams'} is not supported in CMAF output`);
    }
    if (strmtyp === 3) throw new RepackageError(`PID ${stream.pid}: an E-AC-3 syncframe has the reserved stream type 3`);
    const sampleRate = fscod === 3 ? [24000, 22050, 16000][code2] : [48000, 44100, 32000][fscod];
    if (sampleRate === undefined) throw new RepackageError(`PID ${stream.pid}: an E-AC-3 syncframe has a reserved sample rate code`);
    return { eac3: true, length: (frmsiz + 1) * 2, sampleRate, blocks: fscod === 3 ? 6 : ([1, 2, 3, 6][code2] ?? 6), fscod, bsid, bsmod: 0, acmod, lfeon, bitRateCode: 0 };
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError(`PID ${stream.pid}: the segment ends inside an AC-3 syncframe header`);
    throw err;
  }
}

/**
 * AC-3 and E-AC-3 into ac-3 / ec-3 samples: one AC-3 syncframe a sample; E-AC-3 syncframes
 * gathered until they hold six audio blocks (1536 samples), as TS 102 366 F.3 defines a sample.
 * Each frame is timed from its PES's PTS plus the samples of the frames before it in that PES.
 */
function buildDolby(stream: PmtStream, pes: readonly Pes[], clock: Clock33): Built {
  const { es, marks } = joinPes(pes, clock);
  const samples: (TimedSample & { data: Uint8Array[]; blocks: number })[] = [];
  let first: DolbyFrame | undefined;
  let dataRate = 0;
  const timer = new PesTimer(marks, stream.pid);
  for (let pos = 0; pos < es.length; ) {
    const f = readDolbyFrame(stream, es, pos);
    if (pos + f.length > es.length) throw new RepackageError(`PID ${stream.pid}: the last ${f.eac3 ? 'E-AC-3' : 'AC-3'} syncframe is truncated (${es.length - pos} of ${f.length} bytes)`);
    if (first === undefined) first = f;
    else if (first.eac3 !== f.eac3 || first.sampleRate !== f.sampleRate || first.acmod !== f.acmod || first.lfeon !== f.lfeon || first.bsid !== f.bsid || first.bsmod !== f.bsmod || first.bitRateCode !== f.bitRateCode) {
      throw new RepackageError(`PID ${stream.pid}: the ${first.eac3 ? 'E-AC-3' : 'AC-3'} configuration changes within the segment`);
    }
    const dts = timer.dts(pos, f.blocks * 256, f.sampleRate);
    if (f.eac3) dataRate = Math.max(dataRate, Math.floor((f.length * 8 * f.sampleRate) / (f.blocks * 256) / 1000));
    const frame = es.subarray(pos, pos + f.length);
    const open = samples[samples.length - 1];
    if (f.eac3 && open !== undefined && open.blocks < 6) {
      open.data.push(frame);
      open.blocks += f.blocks;
    } else {
      samples.push({ dts, compositionOffset: 0, sync: true, duration: 0, data: [frame], blocks: f.blocks });
    }
    pos += f.length;
  }
  if (first === undefined) throw new RepackageError(`PID ${stream.pid}: no AC-3 syncframe in the segment`);
  const nominal = Math.round((1536 * TS_TIMESCALE) / first.sampleRate);
  for (let i = 0; i < samples.length; i++) {
    const next = samples[i + 1];
    const d = next ? next.dts - samples[i]!.dts : nominal;
    if (d <= 0) throw new RepackageError(`PID ${stream.pid}: audio times do not increase (frame ${i + 1} of the segment)`);
    (samples[i] as { duration: number }).duration = d;
  }
  const f = first;
  // dac3 (F.4): fscod(2) bsid(5) bsmod(3) acmod(3) lfeon(1) bit_rate_code(5) reserved(5).
  // dec3 (F.6): data_rate(13) num_ind_sub(3) = 0, then for the one independent substream
  // fscod(2) bsid(5) reserved(1) asvc(1) bsmod(3) acmod(3) lfeon(1) reserved(3) num_dep_sub(4) = 0 reserved(1).
  const config = f.eac3
    ? Uint8Array.from([dataRate >> 5, (dataRate & 0x1f) << 3, (f.fscod << 6) | (f.bsid << 1), (f.bsmod << 4) | (f.acmod << 1) | f.lfeon, 0])
    : Uint8Array.from([(f.fscod << 6) | (f.bsid << 1) | (f.bsmod >> 2), ((f.bsmod & 3) << 6) | (f.acmod << 3) | (f.lfeon << 2) | (f.bitRateCode >> 3), (f.bitRateCode & 7) << 5]);
  return {
    track: { kind: 'audio', timescale: TS_TIMESCALE, sampleRate: f.sampleRate, channels: ac3Channels(f.acmod, f.lfeon), sampleEntry: f.eac3 ? 'ec-3' : 'ac-3', config },
    codec: f.eac3 ? 'ec-3' : 'ac-3',
    samples: samples.map(({ blocks: _blocks, ...sample }) => sample),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Repackages a TS segment. Elementary streams other than audio and video (SCTE-35, ID3 timed
 * metadata, private data) are left out; an audio or video stream of another codec is an error,
 * as silently dropping a track would change what viewers get.
 */
/**
 * With `{ media: false }` the fragment is not written: the init segment, codecs, track times and
 * refusals are those of a full repackaging (ingest of a channel without a CMAF endpoint).
 */
export function repackageTs(input: Uint8Array, options: { readonly media?: boolean } = {}): CmafSegment {
  // Read through a plain Uint8Array view of the same memory: the reader takes a view per packet
  // and per NAL unit, and a Buffer's subarray (a Buffer too) costs more to make than a plain one.
  const buf = Buffer.isBuffer(input) ? new Uint8Array(input.buffer, input.byteOffset, input.length) : input;
  if (buf.length === 0 || buf.length % PACKET_SIZE !== 0) throw new RepackageError(`the segment is ${buf.length} bytes, not a whole number of 188-byte MPEG-TS packets`);
  const packetCount = buf.length / PACKET_SIZE;
  let tables: PmtStream[];
  try {
    tables = readProgramTables(buf, packetCount);
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError(err.message);
    throw err;
  }
  const media = tables.filter((s) => s.kind === 'video' || s.kind === 'audio');
  if (media.length === 0) throw new RepackageError('the segment has no audio or video stream');
  for (const s of media) {
    if (s.family !== 'avc' && s.family !== 'hevc' && s.family !== 'adts' && s.family !== 'dolby') {
      const name = STREAM_TYPE_NAMES[s.streamType] ?? `stream type 0x${s.streamType.toString(16).padStart(2, '0')}`;
      throw new RepackageError(`PID ${s.pid} carries ${name}, which Packhouse cannot carry into CMAF (it repackages H.264, H.265, AAC, AC-3 and E-AC-3)`);
    }
  }
  const collectors = new Map<number, PesCollector>();
  for (const s of media) if (!collectors.has(s.pid)) collectors.set(s.pid, new PesCollector(s.pid));
  for (let i = 0, off = 0; i < packetCount; i++, off += PACKET_SIZE) {
    if (buf[off] !== 0x47) throw new RepackageError(`packet ${i} does not start with the sync byte 0x47`);
    const b1 = buf[off + 1] ?? 0;
    const c = collectors.get(((b1 & 0x1f) << 8) | (buf[off + 2] ?? 0));
    if (c === undefined) continue;
    if ((b1 & 0x80) !== 0) throw new RepackageError(`packet ${i} has the transport error indicator set`);
    try {
      c.packet(buf, off, i);
    } catch (err) {
      if (err instanceof MediaParseError) throw new RepackageError(err.message);
      throw err;
    }
  }
  const clock = new Clock33();
  const built: Built[] = [];
  const seen = new Set<number>();
  for (const s of media) {
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    const c = collectors.get(s.pid)!;
    try {
      c.close();
    } catch (err) {
      if (err instanceof MediaParseError) throw new RepackageError(err.message);
      throw err;
    }
    if (c.pes.length === 0) throw new RepackageError(`PID ${s.pid} (listed in the PMT) has no PES packet in the segment`);
    built.push(s.family === 'adts' ? buildAac(s, c.pes, clock) : s.family === 'dolby' ? buildDolby(s, c.pes, clock) : buildVideo(s, c.pes, clock));
  }
  // Times of a segment that crosses the 33-bit wrap are unwrapped around its first time stamp; keep them non-negative.
  const lowest = Math.min(...built.map((b) => b.samples[0]!.dts));
  const shift = lowest < 0 ? PTS_WRAP : 0;
  const tracks: Track[] = built.map((b, i) => ({ ...b.track, trackId: i + 1 }));
  const fragments: TrackFragment[] = built.map((b, i) => ({ trackId: i + 1, baseMediaDecodeTime: b.samples[0]!.dts + shift, samples: b.samples }));
  const main = built.find((b) => b.track.kind === 'video') ?? built[0]!;
  // mfhd sequence numbers only need to increase from fragment to fragment: derived from the decode time
  // (10 ms units), so that they follow from the segment's own bytes.
  const sequenceNumber = (Math.floor((main.samples[0]!.dts + shift) / 900) % 0xffff_ffff) + 1;
  return {
    init: writeInitSegment(tracks),
    media: options.media === false ? Buffer.alloc(0) : writeFragment(sequenceNumber, fragments),
    codecs: built.map((b) => b.codec),
    tracks: built.map((b) => ({
      kind: b.track.kind,
      baseMediaDecodeTime: b.samples[0]!.dts + shift,
      earliestPresentationTime: Math.min(...b.samples.map((s) => s.dts + s.compositionOffset)) + shift,
      duration: b.samples.reduce((n, s) => n + s.duration, 0),
      sampleCount: b.samples.length,
    })),
  };
}
