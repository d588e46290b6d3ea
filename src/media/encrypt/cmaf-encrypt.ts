/**
 * Common Encryption (ISO/IEC 23001-7) of CMAF init segments and fragments, for the two schemes
 * MediaPackage offers on CMAF endpoints:
 *
 * - `cenc`: AES-128-CTR with an 8-byte IV per sample. Audio samples are encrypted whole. Video
 *   samples use subsample encryption: every NAL unit's length field and header stay clear, and so
 *   do the first bytes of each slice NAL unit up to the point where the rest is a whole number of
 *   16-byte blocks (the layout 23001-7 recommends); non-VCL NAL units (SPS, PPS, SEI, AUD…) stay
 *   clear.
 * - `cbcs`: AES-128-CBC with a 16-byte constant IV given in `tenc` (no per-sample IV). Video uses
 *   the 1:9 pattern (one block encrypted, nine skipped) on each slice NAL unit after its slice
 *   header; the IV restarts at every subsample and a trailing partial block stays clear. Audio
 *   samples are encrypted whole with the pattern off; a trailing partial block stays clear.
 *
 * The init segment gets `encv`/`enca` sample entries carrying `sinf` (`frma`, `schm`, `schi/tenc`)
 * and the `pssh` boxes; each track fragment gets `senc`, `saiz` and `saio`, its `trun` data offsets
 * follow the grown `moof`, and `pssh` boxes go in the `moof` when asked.
 *
 * Pure and deterministic: the same input, key and IV give the same bytes. Input is untrusted: a
 * malformed or inconsistent file is refused with a CmafEncryptError carrying a one-line reason, and
 * nothing is returned half-encrypted (the output is assembled only once every sample is done).
 */
import { createCipheriv } from 'node:crypto';

import { MediaParseError, readBoxes, readFragmentSamples, readInitSegment, type BoxRange, type InitSegmentInfo, type TrackInfo } from '../container/isobmff.js';
import { box, fullBox } from '../package/mp4-writer.js';
import { ParameterSets, sliceHeaderBytes } from './slice-header.js';

export type CmafScheme = 'cenc' | 'cbcs';

export interface CmafTrackEncryption {
  readonly scheme: CmafScheme;
  /** 16 bytes, written as the tenc default_KID. */
  readonly kid: Buffer;
  /** 16-byte AES-128 content key. */
  readonly key: Buffer;
  /**
   * cbcs: the 16-byte constant IV written in tenc. cenc: the 8-byte IV base of this fragment;
   * sample i of the fragment (counted in file order over all its track fragments) uses
   * (base + i) mod 2^64, with per_sample_IV_size 8.
   */
  readonly iv: Buffer;
  /** Complete `pssh` boxes (already serialised) for the init segment, and for fragments when includePsshInFragments. */
  readonly pssh: readonly Buffer[];
  readonly includePsshInFragments: boolean;
}

export class CmafEncryptError extends Error {
  override name = 'CmafEncryptError';
}

// ---------------------------------------------------------------------------------------------
// DRM system ids and pssh

/** DRM system ids (the SystemID of a pssh box, and of a CPIX DRMSystem), as UUID strings. */
export const DRM_SYSTEM_IDS = {
  WIDEVINE: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  PLAYREADY: '9a04f079-9840-4286-ab92-e65be0885f95',
  FAIRPLAY: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  /** W3C Common PSSH box format, used by the ClearKey key system. */
  W3C_COMMON: '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b',
  /** The id MediaPackage uses for CLEAR_KEY_AES_128 (HLS AES-128 key URIs). */
  CLEAR_KEY_AES_128: '3ea8778f-7742-4bf9-b18b-e834b2acbd47',
  IRDETO: '80a6be7e-1448-4c37-9e70-d5aebe04c8d2',
} as const;

/** The 16 bytes of a UUID string (hyphens optional). */
export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new CmafEncryptError(`${JSON.stringify(uuid)} is not a UUID`);
  return Buffer.from(hex, 'hex');
}

/**
 * A `pssh` box (23001-7 §8.1): version 1 listing the KIDs when kids are given, version 0 otherwise.
 */
export function psshBox(systemId: Buffer, data: Buffer, kids?: readonly Buffer[]): Buffer {
  if (systemId.length !== 16) throw new CmafEncryptError(`a pssh SystemID has 16 bytes, not ${systemId.length}`);
  if (kids === undefined) return fullBox('pssh', 0, 0, systemId, u32(data.length), data);
  for (const kid of kids) if (kid.length !== 16) throw new CmafEncryptError(`a pssh KID has 16 bytes, not ${kid.length}`);
  return fullBox('pssh', 1, 0, systemId, u32(kids.length), ...kids, u32(data.length), data);
}

// ---------------------------------------------------------------------------------------------
// Helpers

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * Runs an encryption: the parsers' MediaParseError and a read past the end of a buffer (which only
 * malformed input can cause) become a CmafEncryptError.
 */
function guarded<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof CmafEncryptError) throw err;
    if (err instanceof MediaParseError) throw new CmafEncryptError(err.message);
    if (err instanceof RangeError) throw new CmafEncryptError('a field runs past the end of the data: the file is truncated or malformed');
    throw err;
  }
}

function checkEncryption(enc: Omit<CmafTrackEncryption, 'key'> & { key?: Buffer }, needKey: boolean): void {
  if (enc.scheme !== 'cenc' && enc.scheme !== 'cbcs') throw new CmafEncryptError(`unknown encryption scheme ${JSON.stringify(enc.scheme)}: cenc or cbcs`);
  if (!Buffer.isBuffer(enc.kid) || enc.kid.length !== 16) throw new CmafEncryptError('the KID must be 16 bytes');
  const ivSize = enc.scheme === 'cenc' ? 8 : 16;
  if (!Buffer.isBuffer(enc.iv) || enc.iv.length !== ivSize) throw new CmafEncryptError(`the ${enc.scheme} IV must be ${ivSize} bytes`);
  if (needKey && (!Buffer.isBuffer(enc.key) || enc.key.length !== 16)) throw new CmafEncryptError('the content key must be 16 bytes (AES-128)');
  for (const p of enc.pssh) {
    if (!Buffer.isBuffer(p) || p.length < 32 || p.readUInt32BE(0) !== p.length || p.toString('latin1', 4, 8) !== 'pssh') {
      throw new CmafEncryptError('a pssh entry is not one complete pssh box');
    }
  }
}

const VIDEO_ENTRIES: ReadonlyMap<string, 'avc' | 'hevc'> = new Map([
  ['avc1', 'avc'],
  ['avc3', 'avc'],
  ['hvc1', 'hevc'],
  ['hev1', 'hevc'],
]);
const AUDIO_ENTRIES: ReadonlySet<string> = new Set(['mp4a', 'ac-3', 'ec-3']);
const SUPPORTED = 'avc1, avc3, hvc1, hev1, mp4a, ac-3 or ec-3';

/** cbcs pattern for video tracks (crypt_byte_block:skip_byte_block). */
const VIDEO_PATTERN = { crypt: 1, skip: 9 } as const;

// ---------------------------------------------------------------------------------------------
// Init segment

function tencBox(enc: Omit<CmafTrackEncryption, 'key'>, video: boolean): Buffer {
  if (enc.scheme === 'cenc') {
    // version 0: reserved(8) reserved(8) default_isProtected default_Per_Sample_IV_Size default_KID
    return fullBox('tenc', 0, 0, u8(0), u8(0), u8(1), u8(8), enc.kid);
  }
  const pattern = video ? (VIDEO_PATTERN.crypt << 4) | VIDEO_PATTERN.skip : 0;
  // version 1: reserved(8), crypt_byte_block(4) skip_byte_block(4), isProtected, Per_Sample_IV_Size 0,
  // default_KID, then the constant IV with its size.
  return fullBox('tenc', 1, 0, u8(0), u8(pattern), u8(1), u8(0), enc.kid, u8(16), enc.iv);
}

function sinfBox(originalFormat: string, enc: Omit<CmafTrackEncryption, 'key'>, video: boolean): Buffer {
  return box(
    'sinf',
    box('frma', Buffer.from(originalFormat, 'latin1')),
    fullBox('schm', 0, 0, Buffer.from(enc.scheme, 'latin1'), u32(0x00010000)),
    box('schi', tencBox(enc, video)),
  );
}

/** Where the child boxes of a sample entry begin (14496-12 §8.5.2, QuickTime sound versions 1 and 2). */
function sampleEntryChildren(buf: Buffer, entry: BoxRange, video: boolean): number {
  if (video) return entry.body + 78;
  if (entry.end - entry.body < 28) return entry.body + 28;
  const version = buf.readUInt16BE(entry.body + 8);
  return entry.body + 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
}

function encryptSampleEntry(buf: Buffer, entry: BoxRange, enc: Omit<CmafTrackEncryption, 'key'>): Buffer {
  const type = entry.type;
  if (type === 'encv' || type === 'enca') throw new CmafEncryptError(`the init segment is already encrypted (sample entry ${type})`);
  const video = VIDEO_ENTRIES.has(type);
  if (!video && !AUDIO_ENTRIES.has(type)) throw new CmafEncryptError(`sample entry ${JSON.stringify(type)} cannot be encrypted: only ${SUPPORTED}`);
  const childrenAt = sampleEntryChildren(buf, entry, video);
  if (childrenAt > entry.end) throw new CmafEncryptError(`sample entry ${type} at offset ${entry.start} is too short`);
  const children = readBoxes(buf, childrenAt, entry.end, type, false, true);
  const childrenEnd = children.length === 0 ? childrenAt : children[children.length - 1]!.end;
  return box(video ? 'encv' : 'enca', buf.subarray(entry.body, childrenEnd), sinfBox(type, enc, video), buf.subarray(childrenEnd, entry.end));
}

/** Rebuilds `container`, replacing the child boxes on `path` (all of them where several match) by `leaf`. */
function rewritePath(buf: Buffer, container: BoxRange, path: readonly string[], leaf: (b: BoxRange) => Buffer, append: readonly Buffer[] = []): Buffer {
  const [next, ...rest] = path;
  let found = false;
  const parts = readBoxes(buf, container.body, container.end, container.type).map((k) => {
    if (k.type !== next) return buf.subarray(k.start, k.end);
    found = true;
    return rest.length > 0 ? rewritePath(buf, k, rest, leaf) : leaf(k);
  });
  if (!found) throw new CmafEncryptError(`${container.type} at offset ${container.start} has no ${next} box`);
  return box(container.type, ...parts, ...append);
}

/**
 * The clear init segment made encrypted: avc1/avc3/hvc1/hev1/mp4a/ac-3/ec-3 sample entries become
 * encv/enca with sinf (frma, schm, schi/tenc), and the pssh boxes are appended to moov. Every
 * track is encrypted with the one KID. Deterministic.
 */
export function encryptInit(init: Buffer, enc: Omit<CmafTrackEncryption, 'key'>): Buffer {
  checkEncryption(enc, false);
  return guarded(() => {
    readInitSegment(init); // the same checks every reader of an init segment makes
    const top = readBoxes(init, 0, init.length, 'the init segment', true);
    const stsd = (s: BoxRange): Buffer => {
      if (s.end - s.body < 8) throw new CmafEncryptError(`stsd at offset ${s.start} is too short`);
      const entries = readBoxes(init, s.body + 8, s.end, 'stsd');
      if (entries.length === 0) throw new CmafEncryptError(`stsd at offset ${s.start} has no sample entry`);
      return box('stsd', init.subarray(s.body, s.body + 8), ...entries.map((e) => encryptSampleEntry(init, e, enc)));
    };
    return Buffer.concat(
      top.map((b) => {
        if (b.type !== 'moov') return init.subarray(b.start, b.end);
        return rewritePath(init, b, ['trak', 'mdia', 'minf', 'stbl', 'stsd'], stsd, enc.pssh);
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Samples

interface TrackPlan {
  readonly trackId: number;
  readonly codec: 'avc' | 'hevc' | 'audio';
  /** NAL unit length field size (video). */
  readonly nalLengthSize: number;
  /** Parameter sets seen so far (cbcs video needs them to find where slice headers end). */
  readonly params: ParameterSets | undefined;
}

function planTrack(track: TrackInfo, scheme: CmafScheme): TrackPlan {
  const entry = track.codec.split('.')[0] ?? '';
  const codec = VIDEO_ENTRIES.get(entry) ?? (AUDIO_ENTRIES.has(entry) ? 'audio' : undefined);
  if (codec === undefined) throw new CmafEncryptError(`track ${track.trackId} has sample entry ${JSON.stringify(entry)}, which cannot be encrypted: only ${SUPPORTED}`);
  if (codec === 'audio') return { trackId: track.trackId, codec, nalLengthSize: 0, params: undefined };
  const config = track.decoderConfig;
  if (config === undefined || config.kind !== (codec === 'avc' ? 'avcC' : 'hvcC')) throw new CmafEncryptError(`track ${track.trackId} (${entry}) has no ${codec === 'avc' ? 'avcC' : 'hvcC'} box`);
  const at = codec === 'avc' ? 4 : 21;
  if (config.bytes.length <= at) throw new CmafEncryptError(`the ${config.kind} of track ${track.trackId} is too short`);
  const nalLengthSize = (config.bytes[at]! & 3) + 1;
  if (nalLengthSize === 3) throw new CmafEncryptError(`the ${config.kind} of track ${track.trackId} declares 3-byte NAL lengths, which 14496-15 does not allow`);
  const params = scheme === 'cbcs' ? ParameterSets.fromConfig(codec, config.bytes) : undefined;
  return { trackId: track.trackId, codec, nalLengthSize, params };
}

/** The most subsamples whose auxiliary information still fits the one-byte sizes of saiz. */
const MAX_INFO_SIZE = 255;

/** Subsample entries (clear bytes, protected bytes) of one video sample (23001-7 §9.5.2.3). */
function videoSubsamples(data: Buffer, start: number, size: number, plan: TrackPlan, scheme: CmafScheme, where: () => string): number[] {
  const out: number[] = [];
  const emit = (clear: number, prot: number) => {
    // BytesOfClearData is 16 bits: longer clear runs take several entries.
    while (clear > 0xffff) {
      out.push(0xffff, 0);
      clear -= 0xffff;
    }
    out.push(clear, prot);
  };
  const L = plan.nalLengthSize;
  const avc = plan.codec === 'avc';
  const headerSize = avc ? 1 : 2;
  const end = start + size;
  let pending = 0; // clear bytes not yet put in an entry
  let p = start;
  while (p < end) {
    if (end - p < L) throw new CmafEncryptError(`${where()}: a NAL unit length field runs past the end of the sample`);
    const len = data.readUIntBE(p, L);
    const total = L + len;
    if (len > end - p - L) throw new CmafEncryptError(`${where()}: a NAL unit of ${len} bytes runs past the end of the sample`);
    if (len < headerSize) {
      pending += total;
      p += total;
      continue;
    }
    const type = avc ? data[p + L]! & 0x1f : (data[p + L]! >> 1) & 0x3f;
    // Slices: H.264 types 1-5; H.265 types 0-9 and 16-21 (the reserved VCL types stay clear).
    const vcl = avc ? type >= 1 && type <= 5 : type <= 9 || (type >= 16 && type <= 21);
    if (vcl && avc && scheme === 'cbcs' && type >= 2 && type <= 4) {
      throw new CmafEncryptError(`${where()}: H.264 data partitioning (NAL unit type ${type}) cannot be encrypted with cbcs`);
    }
    const nal = data.subarray(p + L, p + total);
    if (!vcl) {
      plan.params?.learn(plan.codec as 'avc' | 'hevc', nal);
      pending += total;
      p += total;
      continue;
    }
    let clear = L + headerSize;
    if (scheme === 'cbcs') {
      // The slice header stays clear: the protected range begins at the first byte it does not touch.
      clear = L + sliceHeaderBytes(plan.codec as 'avc' | 'hevc', nal, plan.params!);
    }
    let prot = total - clear;
    if (scheme === 'cenc') {
      // Whole blocks only: the leading remainder stays clear.
      const rest = prot % 16;
      clear += rest;
      prot -= rest;
    } else if (prot < 16) {
      prot = 0; // nothing the pattern would encrypt
    }
    if (prot <= 0) {
      pending += total;
    } else {
      emit(pending + clear, prot);
      pending = 0;
    }
    p += total;
  }
  if (pending > 0 || out.length === 0) emit(pending, 0);
  return out;
}

function ctrIv(base: bigint, index: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE((base + BigInt(index)) & 0xffff_ffff_ffff_ffffn, 0);
  return iv;
}

/**
 * Encrypts one sample in place in `data` and returns its auxiliary information (the senc entry:
 * IV, then subsample count and entries when there are subsamples).
 */
function encryptSample(data: Buffer, start: number, size: number, plan: TrackPlan, enc: CmafTrackEncryption, ivBase: bigint, index: number, where: () => string): Buffer {
  const sample = data.subarray(start, start + size);
  if (enc.scheme === 'cenc') {
    const iv = ctrIv(ivBase, index);
    const cipher = createCipheriv('aes-128-ctr', enc.key, iv);
    if (plan.codec === 'audio') {
      cipher.update(sample).copy(sample);
      return iv.subarray(0, 8);
    }
    const subs = videoSubsamples(data, start, size, plan, 'cenc', where);
    let p = 0;
    for (let i = 0; i < subs.length; i += 2) {
      p += subs[i]!;
      const prot = subs[i + 1]!;
      if (prot > 0) cipher.update(sample.subarray(p, p + prot)).copy(sample, p);
      p += prot;
    }
    return auxInfo(iv.subarray(0, 8), subs, where);
  }
  // cbcs
  if (plan.codec === 'audio') {
    const whole = size - (size % 16);
    if (whole > 0) cbc(enc, sample.subarray(0, whole));
    return Buffer.alloc(0);
  }
  const subs = videoSubsamples(data, start, size, plan, 'cbcs', where);
  let p = 0;
  for (let i = 0; i < subs.length; i += 2) {
    p += subs[i]!;
    const prot = subs[i + 1]!;
    if (prot > 0) patternEncrypt(enc, sample.subarray(p, p + prot));
    p += prot;
  }
  return auxInfo(Buffer.alloc(0), subs, where);
}

function auxInfo(iv: Buffer, subs: readonly number[], where: () => string): Buffer {
  const count = subs.length / 2;
  const size = iv.length + 2 + 6 * count;
  if (size > MAX_INFO_SIZE) throw new CmafEncryptError(`${where()}: ${count} subsamples need ${size} bytes of sample auxiliary information, more than saiz can describe (${MAX_INFO_SIZE})`);
  const out = Buffer.alloc(size);
  iv.copy(out, 0);
  out.writeUInt16BE(count, iv.length);
  for (let i = 0; i < count; i++) {
    out.writeUInt16BE(subs[2 * i]!, iv.length + 2 + 6 * i);
    out.writeUInt32BE(subs[2 * i + 1]!, iv.length + 4 + 6 * i);
  }
  return out;
}

/** AES-128-CBC of whole blocks in place, starting from the constant IV. */
function cbc(enc: CmafTrackEncryption, blocks: Buffer): void {
  const cipher = createCipheriv('aes-128-cbc', enc.key, enc.iv).setAutoPadding(false);
  cipher.update(blocks).copy(blocks);
}

/**
 * The 1:9 pattern over one protected range (23001-7 §9.6): the encrypted blocks form one CBC chain
 * that starts from the constant IV, so they are gathered, encrypted together and put back.
 */
function patternEncrypt(enc: CmafTrackEncryption, range: Buffer): void {
  const { crypt, skip } = VIDEO_PATTERN;
  const picked: Buffer[] = [];
  for (let p = 0; range.length - p >= 16 * crypt; p += 16 * (crypt + skip)) picked.push(range.subarray(p, p + 16 * crypt));
  if (picked.length === 0) return;
  const joined = Buffer.concat(picked);
  cbc(enc, joined);
  let q = 0;
  for (const block of picked) {
    joined.copy(block, 0, q, q + block.length);
    q += block.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Fragments

/** A place in a built box where a 32-bit value is written once the layout is known. */
interface Patch {
  readonly buf: Buffer;
  readonly at: number;
  readonly value: (starts: ReadonlyMap<Buffer, number>, moofSize: number) => number;
}

/** tfhd (14496-12 §8.8.7) without base_data_offset and with default-base-is-moof set. */
function rewriteTfhd(buf: Buffer, tfhd: BoxRange): Buffer {
  if (tfhd.end - tfhd.body < 8) throw new CmafEncryptError(`tfhd at offset ${tfhd.start} is too short`);
  const version = buf[tfhd.body]!;
  const flags = buf.readUIntBE(tfhd.body + 1, 3);
  const rest = tfhd.body + 8 + (flags & 0x01 ? 8 : 0);
  if (rest > tfhd.end) throw new CmafEncryptError(`tfhd at offset ${tfhd.start} is truncated`);
  return fullBox('tfhd', version, (flags & ~0x01) | 0x020000, buf.subarray(tfhd.body + 4, tfhd.body + 8), buf.subarray(rest, tfhd.end));
}

/**
 * The track fragments of one moof with their samples encrypted in `body` (a copy of the mdat's
 * payload), and the rebuilt moof.
 */
function encryptMoof(
  frag: Buffer,
  moof: BoxRange,
  mdat: BoxRange,
  between: number,
  runs: ReturnType<typeof readFragmentSamples>,
  nextRun: { i: number; sample: number },
  plans: (trackId: number) => TrackPlan,
  enc: CmafTrackEncryption,
  ivBase: bigint,
): { moof: Buffer; body: Buffer } {
  const body = Buffer.from(frag.subarray(mdat.body, mdat.end));
  const children = readBoxes(frag, moof.body, moof.end, 'moof');
  const patches: Patch[] = [];
  const trafs: Buffer[][] = [];
  // Every sample of this moof must lie in its mdat, and no two may share bytes (each is encrypted once).
  const ranges: [number, number][] = [];
  for (const traf of children.filter((c) => c.type === 'traf')) {
    const run = runs[nextRun.i++];
    const kids = readBoxes(frag, traf.body, traf.end, 'traf');
    const tfhd = kids.find((k) => k.type === 'tfhd');
    if (run === undefined || tfhd === undefined || frag.readUInt32BE(tfhd.body + 4) !== run.trackId) throw new CmafEncryptError(`traf at offset ${traf.start} does not match the fragment's sample table`);
    for (const k of kids) {
      if (k.type === 'senc' || k.type === 'saiz' || k.type === 'saio') throw new CmafEncryptError(`traf at offset ${traf.start} already has a ${k.type} box: the fragment is already encrypted`);
    }
    const plan = plans(run.trackId);
    const aux: Buffer[] = [];
    for (let s = 0; s < run.samples.length; s++) {
      const sample = run.samples[s]!;
      if (sample.offset < mdat.body || sample.offset + sample.size > mdat.end) {
        throw new CmafEncryptError(`sample ${s + 1} of track ${run.trackId} lies outside the mdat that follows its moof at offset ${moof.start}`);
      }
      ranges.push([sample.offset, sample.offset + sample.size]);
      const where = () => `sample ${s + 1} of track ${run.trackId} in the moof at offset ${moof.start}`;
      aux.push(encryptSample(body, sample.offset - mdat.body, sample.size, plan, enc, ivBase, nextRun.sample++, where));
    }

    const kidsOut: Buffer[] = [];
    let sampleAt = 0;
    for (const k of kids) {
      if (k.type === 'tfhd') {
        kidsOut.push(rewriteTfhd(frag, k));
      } else if (k.type === 'trun') {
        if (k.end - k.body < 8) throw new CmafEncryptError(`trun at offset ${k.start} is too short`);
        const version = frag[k.body]!;
        const flags = frag.readUIntBE(k.body + 1, 3);
        const count = frag.readUInt32BE(k.body + 4);
        let q = k.body + 8 + (flags & 0x001 ? 4 : 0);
        const firstFlags = flags & 0x004 ? frag.subarray(q, (q += 4)) : Buffer.alloc(0);
        const stride = 4 * (((flags >> 8) & 1) + ((flags >> 9) & 1) + ((flags >> 10) & 1) + ((flags >> 11) & 1));
        if (q + count * stride > k.end) throw new CmafEncryptError(`trun at offset ${k.start} is truncated`);
        const first = run.samples[sampleAt];
        const inBody = count > 0 && first !== undefined ? first.offset - mdat.body : 0;
        sampleAt += count;
        const trun = fullBox('trun', version, flags | 0x001, u32(count), u32(0), firstFlags, frag.subarray(q, q + count * stride));
        // data_offset, from the moof (default-base-is-moof) to the trun's first sample.
        patches.push({ buf: trun, at: 16, value: (_, moofSize) => moofSize + between + (mdat.body - mdat.start) + inBody });
        kidsOut.push(trun);
      } else {
        kidsOut.push(frag.subarray(k.start, k.end));
      }
    }
    if (sampleAt !== run.samples.length) throw new CmafEncryptError(`traf at offset ${traf.start} does not match the fragment's sample table`);

    // saiz (§8.7.8), saio (§8.7.9) pointing at the first entry in senc (23001-7 §7.2).
    const sizes = aux.map((a) => a.length);
    const same = sizes.every((n) => n === sizes[0]) && sizes.length > 0 && sizes[0]! > 0;
    const saiz = fullBox('saiz', 0, 0, u8(same ? sizes[0]! : 0), u32(aux.length), same ? Buffer.alloc(0) : Buffer.from(sizes));
    const senc = fullBox('senc', 0, plan.codec !== 'audio' ? 0x2 : 0, u32(aux.length), ...aux);
    const saio = fullBox('saio', 0, 0, u32(1), u32(0));
    patches.push({ buf: saio, at: 16, value: (starts) => starts.get(senc)! + 16 });
    kidsOut.push(saiz, saio, senc);
    trafs.push(kidsOut);
  }

  // Assemble the moof: mfhd, the pssh boxes if asked, then the other children in order.
  const pieces: Buffer[] = [];
  const starts = new Map<Buffer, number>();
  let size = 8;
  const put = (b: Buffer) => {
    starts.set(b, size);
    pieces.push(b);
    size += b.length;
  };
  let t = 0;
  let psshDone = !enc.includePsshInFragments;
  for (const c of children) {
    if (c.type === 'traf') {
      const g = trafs[t++]!;
      const head = Buffer.alloc(8);
      head.writeUInt32BE(8 + g.reduce((n, b) => n + b.length, 0));
      head.write('traf', 4, 'latin1');
      put(head);
      g.forEach(put);
    } else {
      put(frag.subarray(c.start, c.end));
    }
    if (c.type === 'mfhd' && !psshDone) {
      enc.pssh.forEach(put);
      psshDone = true;
    }
  }
  if (!psshDone) enc.pssh.forEach(put);
  for (const p of patches) {
    const v = p.value(starts, size);
    if (v > 0x7fffffff) throw new CmafEncryptError(`moof at offset ${moof.start}: an offset does not fit 32 bits`);
    p.buf.writeUInt32BE(v, p.at);
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size);
  head.write('moof', 4, 'latin1');
  // Overlapping samples would be encrypted twice: refuse them.
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw new CmafEncryptError(`two samples of the moof at offset ${moof.start} share bytes of the mdat`);
  }
  return { moof: Buffer.concat([head, ...pieces], size), body };
}

/**
 * Rewrites a copy of a sidx (14496-12 §8.16.3) so that its first_offset and referenced sizes
 * describe the same boxes after they moved.
 */
function rewriteSidx(buf: Buffer, sidx: BoxRange, copy: Buffer, moved: (at: number) => number, newStart: number): void {
  const body = sidx.body - sidx.start;
  if (sidx.end - sidx.body < 12) throw new CmafEncryptError(`sidx at offset ${sidx.start} is too short`);
  const version = buf[sidx.body]!;
  const offsetAt = body + (version === 0 ? 16 : 20);
  const countAt = body + (version === 0 ? 22 : 30);
  if (countAt + 2 > copy.length) throw new CmafEncryptError(`sidx at offset ${sidx.start} is truncated`);
  const firstOffset = version === 0 ? copy.readUInt32BE(offsetAt) : Number(copy.readBigUInt64BE(offsetAt));
  const count = copy.readUInt16BE(countAt);
  if (countAt + 2 + 12 * count > copy.length) throw new CmafEncryptError(`sidx at offset ${sidx.start} is truncated`);
  let at = sidx.end + firstOffset;
  const newFirst = moved(at) - (newStart + copy.length);
  if (version === 0) copy.writeUInt32BE(newFirst, offsetAt);
  else copy.writeBigUInt64BE(BigInt(newFirst), offsetAt);
  for (let i = 0; i < count; i++) {
    const p = countAt + 2 + 12 * i;
    const word = copy.readUInt32BE(p);
    const size = word & 0x7fffffff;
    const newSize = moved(at + size) - moved(at);
    if (newSize > 0x7fffffff) throw new CmafEncryptError(`sidx at offset ${sidx.start}: a referenced size does not fit 31 bits`);
    copy.writeUInt32BE(((word & 0x80000000) | newSize) >>> 0, p);
    at += size;
  }
}

/**
 * One clear CMAF fragment (styp? then one or more moof + mdat pairs, each moof's samples in the
 * mdat that follows it) made encrypted: senc/saiz/saio in every traf, trun data offsets moved with
 * the moof, pssh boxes in each moof when includePsshInFragments. `init` is the CLEAR init segment
 * (track ids, sample entry types, NAL length size, parameter sets). Deterministic.
 */
export function encryptFragment(fragment: Buffer, init: Buffer, enc: CmafTrackEncryption): Buffer {
  checkEncryption(enc, true);
  return guarded(() => {
    const info: InitSegmentInfo = readInitSegment(init);
    const plans = new Map<number, TrackPlan>();
    const planOf = (trackId: number): TrackPlan => {
      let plan = plans.get(trackId);
      if (plan === undefined) {
        const track = info.tracks.find((t) => t.trackId === trackId);
        if (track === undefined) throw new CmafEncryptError(`a traf refers to track ${trackId}, which the init segment does not have`);
        plan = planTrack(track, enc.scheme);
        plans.set(trackId, plan);
      }
      return plan;
    };
    const runs = readFragmentSamples(fragment, info);
    const top = readBoxes(fragment, 0, fragment.length, 'the fragment', true);
    const ivBase = enc.scheme === 'cenc' ? enc.iv.readBigUInt64BE(0) : 0n;
    const next = { i: 0, sample: 0 };
    const out: Buffer[] = [];
    const newStart: number[] = []; // per top-level box, where it starts in the output
    let length = 0;
    const emit = (...bufs: Buffer[]) => {
      for (const x of bufs) {
        out.push(x);
        length += x.length;
      }
    };
    const bodies = new Map<number, Buffer>(); // mdat index → encrypted payload
    const sidxes: { box: BoxRange; copy: Buffer }[] = [];
    for (let i = 0; i < top.length; i++) {
      const b = top[i]!;
      newStart.push(length);
      if (b.type === 'moof') {
        let j = i + 1;
        while (j < top.length && top[j]!.type !== 'mdat' && top[j]!.type !== 'moof') j++;
        const mdat = top[j];
        if (mdat === undefined || mdat.type !== 'mdat') throw new CmafEncryptError(`moof at offset ${b.start} is not followed by an mdat`);
        const r = encryptMoof(fragment, b, mdat, mdat.start - b.end, runs, next, planOf, enc, ivBase);
        bodies.set(j, r.body);
        emit(r.moof);
      } else if (b.type === 'mdat') {
        const body = bodies.get(i);
        if (body === undefined) throw new CmafEncryptError(`mdat at offset ${b.start} follows no moof`);
        emit(fragment.subarray(b.start, b.body), body);
      } else if (b.type === 'sidx') {
        const copy = Buffer.from(fragment.subarray(b.start, b.end));
        sidxes.push({ box: b, copy });
        emit(copy);
      } else if (b.type === 'moov' || b.type === 'ssix' || b.type === 'senc') {
        throw new CmafEncryptError(`a ${b.type} box at offset ${b.start}: only styp, sidx, moof/mdat pairs and metadata boxes are encrypted as a fragment`);
      } else {
        emit(fragment.subarray(b.start, b.end));
      }
    }
    // A sidx indexes byte ranges, which the grown moofs moved: its offsets and sizes follow them.
    const indexAt = new Map(top.map((x, i) => [x.start, i]));
    const moved = (at: number): number => {
      if (at === fragment.length) return length;
      const i = indexAt.get(at);
      if (i === undefined) throw new CmafEncryptError(`a sidx reference starts or ends at offset ${at}, which is not a box boundary`);
      return newStart[i]!;
    };
    for (const { box: sidx, copy } of sidxes) rewriteSidx(fragment, sidx, copy, moved, newStart[top.indexOf(sidx)]!);
    if (next.i !== runs.length) throw new CmafEncryptError('the fragment has track fragments outside any moof');
    return Buffer.concat(out, length);
  });
}
