/**
 * Repackages one fMP4/CMAF media segment (with its init segment) into an MPEG-TS segment
 * (ISO/IEC 13818-1) for TS endpoints: PAT and PMT first, then one PES per sample in decode order
 * across tracks. H.264/H.265 samples become Annex B with an access unit delimiter, and the
 * parameter sets of the avcC/hvcC before every keyframe; AAC frames get ADTS headers; AC-3 and
 * E-AC-3 samples (whole syncframes) go as they are, stream type 0x81 / 0x87. PTS/DTS are
 * the fMP4 times (edit list applied, as players of the fMP4 apply it) on the 90 kHz clock, the
 * PCR rides on the first track's PES packets, continuity counters start at 0 in every segment.
 *
 * Pure and deterministic: the same init and media bytes give the same TS bytes. What cannot be
 * carried (another codec, HE-AAC with explicit SBR signalling, a truncated fragment) throws
 * RepackageError with a one-line reason.
 */
import { MediaParseError, readFragmentSamples, readInitSegment, type InitSegmentInfo, type TrackInfo } from '../container/isobmff.js';
import { RepackageError } from './ts-to-cmaf.js';
import { TsWriter, pesPacket, section } from './ts-writer.js';

/** How far the PCR runs ahead of the decode time of the PES it rides on (a decoder buffer's worth). */
const PCR_LEAD = 9000;

// ---------------------------------------------------------------------------------------------
// Codec configuration → in-band headers

interface VideoConfig {
  hevc: boolean;
  lengthSize: number;
  /** Parameter sets in Annex B, to go before every keyframe. */
  parameterSets: Uint8Array;
}

function annexB(nals: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nals.reduce((n, x) => n + 4 + x.length, 0));
  let at = 0;
  for (const nal of nals) {
    out.set([0, 0, 0, 1], at);
    out.set(nal, at + 4);
    at += 4 + nal.length;
  }
  return out;
}

function videoConfig(t: TrackInfo): VideoConfig {
  const c = t.decoderConfig;
  const bad = () => new RepackageError(`track ${t.trackId}: its ${c?.kind ?? 'decoder configuration'} record is truncated`);
  if (c?.kind === 'avcC') {
    const b = c.bytes;
    if (b.length < 7) throw bad();
    const nals: Uint8Array[] = [];
    let p = 5;
    for (const countMask of [0x1f, 0xff]) {
      const count = (b[p++] ?? 0) & countMask;
      for (let i = 0; i < count; i++) {
        const len = ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0);
        if (p + 2 + len > b.length) throw bad();
        nals.push(b.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
    }
    return { hevc: false, lengthSize: ((b[4] ?? 3) & 3) + 1, parameterSets: annexB(nals) };
  }
  if (c?.kind === 'hvcC') {
    const b = c.bytes;
    if (b.length < 23) throw bad();
    const nals: Uint8Array[] = [];
    let p = 23;
    const arrays = b[22] ?? 0;
    for (let a = 0; a < arrays; a++) {
      if (p + 3 > b.length) throw bad();
      const count = ((b[p + 1] ?? 0) << 8) | (b[p + 2] ?? 0);
      p += 3;
      for (let i = 0; i < count; i++) {
        const len = ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0);
        if (p + 2 + len > b.length) throw bad();
        nals.push(b.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
    }
    return { hevc: true, lengthSize: ((b[21] ?? 3) & 3) + 1, parameterSets: annexB(nals) };
  }
  throw new RepackageError(`track ${t.trackId} (${t.codec}) has no avcC/hvcC: Packhouse repackages H.264 and H.265 video into TS (avc3/hev1 with in-band parameter sets are not supported)`);
}

interface AudioConfig {
  profile: number;
  rateIndex: number;
  channelConfig: number;
}

function aacConfig(t: TrackInfo): AudioConfig {
  const asc = t.decoderConfig?.kind === 'asc' ? t.decoderConfig.bytes : undefined;
  if (asc === undefined || asc.length < 2) throw new RepackageError(`track ${t.trackId} (${t.codec}) is not AAC with an AudioSpecificConfig: Packhouse repackages AAC, AC-3 and E-AC-3 audio into TS`);
  const objectType = (asc[0]! >> 3) & 0x1f;
  const rateIndex = ((asc[0]! & 7) << 1) | (asc[1]! >> 7);
  const channelConfig = (asc[1]! >> 3) & 0x0f;
  if (objectType < 1 || objectType > 4) throw new RepackageError(`track ${t.trackId}: AAC object type ${objectType} (${objectType === 5 || objectType === 29 ? 'HE-AAC with explicit signalling' : 'not AAC Main/LC/SSR/LTP'}) cannot be framed in ADTS`);
  if (rateIndex === 15) throw new RepackageError(`track ${t.trackId}: an explicit AAC sampling frequency cannot be framed in ADTS`);
  if (channelConfig === 0) throw new RepackageError(`track ${t.trackId}: AAC with a program config element (channel configuration 0) is not supported`);
  return { profile: objectType - 1, rateIndex, channelConfig };
}

function adtsHeader(c: AudioConfig, payloadLength: number): Uint8Array {
  const len = payloadLength + 7;
  if (len > 0x1fff) throw new RepackageError(`an AAC frame of ${payloadLength} bytes is too long for ADTS`);
  return Uint8Array.from([0xff, 0xf1, (c.profile << 6) | (c.rateIndex << 2) | (c.channelConfig >> 2), ((c.channelConfig & 3) << 6) | (len >> 11), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]);
}

function registration(format: string): number[] {
  return [0x05, 4, ...Buffer.from(format, 'latin1')];
}

interface Stream {
  t: TrackInfo;
  pid: number;
  streamType: number;
  streamId: number;
  /** ES_info descriptors of the PMT. */
  descriptors: number[];
  video?: VideoConfig;
  audio?: AudioConfig;
  dolby?: boolean;
}

// ---------------------------------------------------------------------------------------------

interface Unit {
  track: number;
  dts: number;
  pts: number;
  payload: Uint8Array[];
  size: number;
  sync: boolean;
}

export interface TsOutput {
  readonly bytes: Buffer;
  /** RFC 6381 codecs of the streams, in PMT order. */
  readonly codecs: readonly string[];
}

/** Repackages an fMP4 media segment with its init segment into an MPEG-TS segment. */
export function repackageFmp4(initBytes: Uint8Array, media: Uint8Array): TsOutput {
  let init: InitSegmentInfo;
  let runs: ReturnType<typeof readFragmentSamples>;
  try {
    init = readInitSegment(initBytes);
    runs = readFragmentSamples(media, init);
  } catch (err) {
    if (err instanceof MediaParseError) throw new RepackageError(err.message);
    throw err;
  }
  const tracks = init.tracks.filter((t) => t.kind === 'video' || t.kind === 'audio');
  if (tracks.length === 0) throw new RepackageError('the init segment has no audio or video track');
  // Video first (it carries the PCR), then audio, each in init order.
  tracks.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1));
  const streams = tracks.map((t, i): Stream => {
    if (t.kind === 'video') {
      const v = videoConfig(t);
      return { t, pid: 0x100 + i, streamType: v.hevc ? 0x24 : 0x1b, streamId: 0xe0 + i, descriptors: [], video: v };
    }
    // AC-3 / E-AC-3 as ffmpeg writes them: private_stream_1, stream type 0x81 / 0x87 (ATSC A/52) with the
    // registration descriptor (13818-1 §2.6.8) naming the format.
    if (t.codec === 'ac-3') return { t, pid: 0x100 + i, streamType: 0x81, streamId: 0xbd, descriptors: registration('AC-3'), dolby: true };
    if (t.codec === 'ec-3') return { t, pid: 0x100 + i, streamType: 0x87, streamId: 0xbd, descriptors: registration('EAC3'), dolby: true };
    return { t, pid: 0x100 + i, streamType: 0x0f, streamId: 0xc0 + i, descriptors: [], audio: aacConfig(t) };
  });
  const units: Unit[] = [];
  for (const run of runs) {
    const si = streams.findIndex((s) => s.t.trackId === run.trackId);
    if (si < 0) continue;
    const s = streams[si]!;
    const scale = (x: number) => Math.round((x * 90000) / s.t.timescale);
    let dts = run.baseMediaDecodeTime;
    for (const sample of run.samples) {
      const data = media.subarray(sample.offset, sample.offset + sample.size);
      const sync = (sample.flags & 0x00010000) === 0;
      const presentation = dts + sample.compositionOffset + (s.t.editOffset ?? 0);
      const unit: Unit = { track: si, dts: scale(dts + (s.t.editOffset ?? 0)), pts: scale(presentation), payload: [], size: 0, sync };
      if (s.video) {
        const aud = s.video.hevc ? Uint8Array.from([0, 0, 0, 1, 0x46, 0x01, 0x50]) : Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0]);
        unit.payload.push(aud);
        if (sync) unit.payload.push(s.video.parameterSets);
        const ls = s.video.lengthSize;
        for (let p = 0; p < data.length; ) {
          if (p + ls > data.length) throw new RepackageError(`track ${s.t.trackId}: a sample ends inside a NAL unit length`);
          let len = 0;
          for (let k = 0; k < ls; k++) len = len * 256 + data[p + k]!;
          if (p + ls + len > data.length) throw new RepackageError(`track ${s.t.trackId}: a NAL unit runs past the end of its sample`);
          const nal = data.subarray(p + ls, p + ls + len);
          const type = s.video.hevc ? (nal[0]! >> 1) & 0x3f : nal[0]! & 0x1f;
          // The sample's own delimiters would repeat ours.
          if (!(s.video.hevc ? type === 35 : type === 9)) unit.payload.push(Uint8Array.from([0, 0, 0, 1]), nal);
          p += ls + len;
        }
      } else if (s.audio) {
        unit.payload.push(adtsHeader(s.audio, data.length), data);
      } else {
        // Syncframes as they are: an ac-3 / ec-3 sample is one or more whole syncframes.
        if (data[0] !== 0x0b || data[1] !== 0x77) throw new RepackageError(`track ${s.t.trackId} (${s.t.codec}): a sample does not start with an AC-3 sync word`);
        unit.payload.push(data);
      }
      unit.size = unit.payload.reduce((n, x) => n + x.length, 0);
      units.push(unit);
      dts += sample.duration;
    }
  }
  if (units.length === 0) throw new RepackageError('the fragment holds no sample');
  // Decode order across tracks; ties keep track order (video first).
  units.sort((a, b) => a.dts - b.dts || a.track - b.track);
  const w = new TsWriter();
  w.psi(0, section([0x00, 0xb0, 0, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0 | (0x1000 >> 8), 0x1000 & 0xff]));
  const pcrPid = streams[0]!.pid;
  const pmt = [0x02, 0xb0, 0, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0x00];
  for (const s of streams) pmt.push(s.streamType, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0, s.descriptors.length, ...s.descriptors);
  w.psi(0x1000, section(pmt));
  for (const u of units) {
    const s = streams[u.track]!;
    const pcr = u.track === 0 ? Math.max(0, u.dts - PCR_LEAD) : undefined;
    w.pes(s.pid, pesPacket(s.streamId, u.pts, u.dts, u.payload, u.size, s.video === undefined), pcr, u.sync && s.video !== undefined);
  }
  return { bytes: w.bytes(), codecs: streams.map((s) => s.t.codec) };
}
