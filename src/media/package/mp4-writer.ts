/**
 * Writes fragmented MP4 (ISO/IEC 14496-12) for CMAF output: an init segment (ftyp + moov with one
 * trak per track and an mvex) and media fragments (moof + mdat). Pure and deterministic: the same
 * tracks and samples give the same bytes (no creation times, no random ids), which is what lets
 * every node and every harvest serve identical bytes for one URL.
 */

export interface VideoTrack {
  readonly kind: 'video';
  readonly trackId: number;
  readonly timescale: number;
  /** Sample entry type: avc1 (with avcC) or hvc1 (with hvcC). */
  readonly sampleEntry: 'avc1' | 'hvc1';
  readonly width: number;
  readonly height: number;
  /** Body of the avcC / hvcC box (the decoder configuration record). */
  readonly config: Uint8Array;
}

export interface AudioTrack {
  readonly kind: 'audio';
  readonly trackId: number;
  readonly timescale: number;
  readonly sampleRate: number;
  readonly channels: number;
  /** Sample entry type: mp4a (AAC), ac-3 or ec-3 (ETSI TS 102 366 Annex F). */
  readonly sampleEntry: 'mp4a' | 'ac-3' | 'ec-3';
  /** mp4a: the AudioSpecificConfig (14496-3 §1.6.2.1), carried in esds; ac-3 / ec-3: the body of dac3 / dec3. */
  readonly config: Uint8Array;
}

export type Track = VideoTrack | AudioTrack;

export interface Sample {
  /** Decode duration in track ticks. */
  readonly duration: number;
  /** Composition time minus decode time, in track ticks (B-frames); may be negative. */
  readonly compositionOffset: number;
  readonly sync: boolean;
  /** The sample's bytes, in pieces written one after another. */
  readonly data: readonly Uint8Array[];
}

export interface TrackFragment {
  readonly trackId: number;
  /** tfdt: decode time of the first sample, in track ticks. */
  readonly baseMediaDecodeTime: number;
  readonly samples: readonly Sample[];
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000));
  b.writeUInt32BE(n % 0x1_0000_0000, 4);
  return b;
}
const zeros = (n: number) => Buffer.alloc(n);

export function box(type: string, ...parts: readonly Uint8Array[]): Buffer {
  let size = 8;
  for (const p of parts) size += p.length;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...parts], size);
}

export function fullBox(type: string, version: number, flags: number, ...parts: readonly Uint8Array[]): Buffer {
  return box(type, u8(version), Buffer.from([(flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]), ...parts);
}

/** An MPEG-4 descriptor (14496-1 §8.3.3) with a four-byte length, as most writers emit it. */
function descriptor(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  return Buffer.concat([Buffer.from([tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f]), body]);
}

const UNITY_MATRIX = Buffer.concat([u32(0x00010000), u32(0), u32(0), u32(0), u32(0x00010000), u32(0), u32(0), u32(0), u32(0x40000000)]);

// ---------------------------------------------------------------------------------------------
// Init segment

function sampleEntry(t: Track): Buffer {
  if (t.kind === 'video') {
    return box(
      t.sampleEntry,
      zeros(6),
      u16(1), // data_reference_index
      zeros(16), // pre_defined, reserved, pre_defined[3]
      u16(t.width),
      u16(t.height),
      u32(0x00480000), // 72 dpi
      u32(0x00480000),
      u32(0),
      u16(1), // frame_count
      zeros(32), // compressorname
      u16(0x0018), // depth
      u16(0xffff), // pre_defined = -1
      box(t.sampleEntry === 'avc1' ? 'avcC' : 'hvcC', t.config),
    );
  }
  const audioEntry = (...config: Buffer[]) =>
    box(t.sampleEntry, zeros(6), u16(1), zeros(8), u16(t.channels), u16(16), zeros(4), u32(t.sampleRate < 0x10000 ? t.sampleRate * 0x10000 : 0), ...config);
  if (t.sampleEntry === 'ac-3') return audioEntry(box('dac3', t.config));
  if (t.sampleEntry === 'ec-3') return audioEntry(box('dec3', t.config));
  const esds = fullBox(
    'esds',
    0,
    0,
    descriptor(
      0x03, // ES_Descriptor
      u16(t.trackId),
      u8(0),
      descriptor(
        0x04, // DecoderConfigDescriptor: AAC (0x40), AudioStream (5), upStream 0, reserved 1
        u8(0x40),
        u8((0x05 << 2) | 1),
        Buffer.from([0, 0, 0]), // bufferSizeDB
        u32(0), // maxBitrate
        u32(0), // avgBitrate
        descriptor(0x05, t.config),
      ),
      descriptor(0x06, u8(0x02)), // SLConfigDescriptor: predefined MP4
    ),
  );
  return audioEntry(esds);
}

function trak(t: Track): Buffer {
  const video = t.kind === 'video';
  const tkhd = fullBox(
    'tkhd',
    0,
    0x000003, // enabled, in movie
    u32(0),
    u32(0),
    u32(t.trackId),
    u32(0),
    u32(0), // duration: unknown (fragmented)
    zeros(8),
    u16(0), // layer
    u16(0), // alternate_group
    u16(video ? 0 : 0x0100), // volume
    u16(0),
    UNITY_MATRIX,
    u32(video ? t.width * 0x10000 : 0),
    u32(video ? t.height * 0x10000 : 0),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(t.timescale), u32(0), u16(0x55c4 /* und */), u16(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from(video ? 'vide' : 'soun', 'latin1'), zeros(12), Buffer.from(video ? 'VideoHandler\0' : 'SoundHandler\0', 'latin1'));
  const mediaHeader = video ? fullBox('vmhd', 0, 1, zeros(8)) : fullBox('smhd', 0, 0, zeros(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), sampleEntry(t)),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

/** ftyp + moov for the tracks (in order); CMAF brand `cmfc` when there is one track. */
export function writeInitSegment(tracks: readonly Track[]): Buffer {
  const brands = ['iso6', ...(tracks.length === 1 ? ['cmfc'] : []), 'dash', 'mp41'];
  const ftyp = box('ftyp', Buffer.from('iso6', 'latin1'), u32(0), ...brands.map((b) => Buffer.from(b, 'latin1')));
  const nextTrackId = Math.max(...tracks.map((t) => t.trackId)) + 1;
  const mvhd = fullBox('mvhd', 0, 0, u32(0), u32(0), u32(1000), u32(0), u32(0x00010000), u16(0x0100), zeros(10), UNITY_MATRIX, zeros(24), u32(nextTrackId));
  // trex defaults are never relied on: every trun carries durations, sizes and (video) flags.
  const mvex = box('mvex', ...tracks.map((t) => fullBox('trex', 0, 0, u32(t.trackId), u32(1), u32(0), u32(0), u32(t.kind === 'audio' ? SYNC_FLAGS : NON_SYNC_FLAGS))));
  return Buffer.concat([ftyp, box('moov', mvhd, ...tracks.map(trak), mvex)]);
}

// ---------------------------------------------------------------------------------------------
// Media fragment

/** sample_depends_on = 2 (an I picture); sync. */
const SYNC_FLAGS = 0x02000000;
/** sample_depends_on = 1, sample_is_non_sync_sample. */
const NON_SYNC_FLAGS = 0x01010000;

const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTO = 0x000800;

function sampleSize(s: Sample): number {
  let n = 0;
  for (const d of s.data) n += d.length;
  return n;
}

function trun(f: TrackFragment, dataOffset: number): Buffer {
  const withCto = f.samples.some((s) => s.compositionOffset !== 0);
  const negative = f.samples.some((s) => s.compositionOffset < 0);
  // Every sample carries its duration, size and flags: nothing is left to trex or tfhd defaults.
  let flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS;
  if (withCto) flags |= TRUN_CTO;
  const parts: Buffer[] = [u32(f.samples.length), i32(dataOffset)];
  for (const s of f.samples) {
    parts.push(u32(s.duration), u32(sampleSize(s)), u32(s.sync ? SYNC_FLAGS : NON_SYNC_FLAGS));
    if (withCto) parts.push(negative ? i32(s.compositionOffset) : u32(s.compositionOffset));
  }
  return fullBox('trun', negative ? 1 : 0, flags, Buffer.concat(parts));
}

/** moof + mdat: one traf per track fragment, the mdat holding each track's samples in turn. */
export function writeFragment(sequenceNumber: number, fragments: readonly TrackFragment[]): Buffer {
  // The moof's size does not depend on the data offsets, so build it once with zeros to measure.
  const build = (offsets: readonly number[]) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(sequenceNumber)),
      ...fragments.map((f, i) => box('traf', fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, u32(f.trackId)), fullBox('tfdt', 1, 0, u64(f.baseMediaDecodeTime)), trun(f, offsets[i] ?? 0))),
    );
  const moofSize = build(fragments.map(() => 0)).length;
  const offsets: number[] = [];
  let at = moofSize + 8;
  for (const f of fragments) {
    offsets.push(at);
    for (const s of f.samples) at += sampleSize(s);
  }
  const data: Uint8Array[] = [];
  for (const f of fragments) for (const s of f.samples) data.push(...s.data);
  return Buffer.concat([build(offsets), box('mdat', ...data)]);
}
