/**
 * Encryption of MPEG-TS segments for HLS TS endpoints.
 *
 * - AES-128 (`#EXT-X-KEY:METHOD=AES-128`, RFC 8216 §4.3.2.4): the whole segment is AES-128-CBC
 *   with PKCS#7 padding, streamed over the chunks that make up one output segment.
 * - SAMPLE-AES (`#EXT-X-KEY:METHOD=SAMPLE-AES`): each chunk is re-muxed with its H.264 slices and
 *   AAC, AC-3 and E-AC-3 frames encrypted as Apple's "MPEG-2 Stream Encryption Format for HTTP Live Streaming"
 *   says (see sampleAesChunk).
 *
 * Pure: no I/O, no logging (keys never leave these functions). Bad arguments throw TsEncryptError
 * with a one-line reason.
 */
import { createCipheriv } from 'node:crypto';

import { MediaParseError } from '../container/isobmff.js';
import { PesCollector, SectionAssembler, adaptationFieldCore, nalUnitRanges, payloadStart, readAdtsHeader, readDolbyHeader, readPmtEntries, readPrograms, unescapeRbsp, type PesPacketUse } from '../container/mpegts.js';
import { packetRoom, section, tsPacket } from '../package/ts-writer.js';

export class TsEncryptError extends Error {
  override name = 'TsEncryptError';
}

const BLOCK = 16;

function checkKeyAndIv(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== BLOCK) throw new TsEncryptError(`an AES-128 key is 16 bytes, not ${key.length}`);
  if (iv.length !== BLOCK) throw new TsEncryptError(`an AES-128 initialization vector is 16 bytes, not ${iv.length}`);
}

/**
 * Whole-segment AES-128-CBC with PKCS#7 padding (HLS METHOD=AES-128) over the chunks of one output
 * segment, streamed: what is held at any time is one chunk and the cipher's partial block.
 */
export async function* aes128Stream(chunks: AsyncIterable<Buffer>, key: Buffer, iv: Buffer): AsyncIterable<Buffer> {
  checkKeyAndIv(key, iv);
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  for await (const chunk of chunks) {
    const out = cipher.update(chunk);
    if (out.length > 0) yield out;
  }
  yield cipher.final();
}

/** Size of the encrypted segment for a clear size (PKCS#7 always adds 1..16 bytes). */
export function aes128Length(clearLength: number): number {
  if (!Number.isSafeInteger(clearLength) || clearLength < 0) throw new TsEncryptError(`a segment length must be a non-negative integer, not ${clearLength}`);
  return (Math.floor(clearLength / BLOCK) + 1) * BLOCK;
}

/**
 * The HLS IV used when EXT-X-KEY has no IV attribute (RFC 8216 §5.2): the media sequence number
 * of the segment as a 128-bit big-endian integer.
 */
export function sequenceIv(mediaSequence: number): Buffer {
  if (!Number.isSafeInteger(mediaSequence) || mediaSequence < 0) throw new TsEncryptError(`a media sequence number must be a non-negative integer, not ${mediaSequence}`);
  const iv = Buffer.alloc(BLOCK);
  iv.writeBigUInt64BE(BigInt(mediaSequence), 8);
  return iv;
}

// ---------------------------------------------------------------------------------------------
// SAMPLE-AES: HLS sample encryption of MPEG-TS (Apple, "MPEG-2 Stream Encryption Format for HTTP
// Live Streaming"). The segment is re-muxed: the PES packets of H.264 and AAC streams are rebuilt
// with their samples encrypted, in the packets that carried them (adaptation fields, and so PCRs,
// stay where they were), and each PMT announces the encrypted stream types.

const PACKET = 188;
const NO_BYTES = new Uint8Array(0);
/** Stream types of sample-encrypted H.264, AAC, AC-3 and E-AC-3 (Apple's format, §3). */
const SAMPLE_AES_TYPES = new Set([0xdb, 0xcf, 0xc1, 0xc2]);

const CLEAR_NAMES: Record<number, string> = {
  0x01: 'MPEG-1 video',
  0x02: 'MPEG-2 video',
  0x03: 'MPEG-1 audio',
  0x04: 'MPEG-2 audio',
  0x11: 'AAC in LATM',
  0x24: 'H.265',
  0x81: 'AC-3',
  0x87: 'E-AC-3',
};

interface Target {
  pid: number;
  scheme: 'avc' | 'aac' | 'dolby';
  /** The encrypted stream type (Dolby: 0xc1 or 0xc2 once the first frame tells AC-3 from E-AC-3). */
  streamType: number;
  collector: PesCollector;
  /** The ES_info descriptors Apple's format adds, once known (audio: from the first frame). */
  descriptors?: Uint8Array;
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** private_data_indicator_descriptor (13818-1 §2.6.28). */
function privateDataIndicator(fourcc: string): number[] {
  return [0x0f, 4, ...ascii(fourcc)];
}

/**
 * registration_descriptor 'apad' carrying the audio setup information of an ADTS stream (Apple's
 * format §2.3.4): audio_type 'zaac', priming 0 (unknown here), version 1, and the
 * AudioSpecificConfig the ADTS header implies.
 */
function aacSetupDescriptor(adts: Uint8Array): number[] {
  const objectType = ((adts[2] ?? 0) >> 6) + 1;
  const rateIndex = ((adts[2] ?? 0) >> 2) & 0x0f;
  const channels = (((adts[2] ?? 0) & 1) << 2) | ((adts[3] ?? 0) >> 6);
  const asc = [(objectType << 3) | (rateIndex >> 1), ((rateIndex & 1) << 7) | (channels << 3)];
  const setup = [...ascii('zaac'), 0, 0, 1, asc.length, ...asc];
  return [0x05, 4 + setup.length, ...ascii('apad'), ...setup];
}

/**
 * The private data indicator and 'apad' registration descriptors of an AC-3 or E-AC-3 stream from
 * its first syncframe (Apple's format §2.3.4): AC-3 setup data is the first 10 bytes of the frame;
 * E-AC-3's is an EC3SpecificBox payload (ETSI TS 102 366 Annex F.6) for its one independent substream.
 */
function dolbySetup(frame: Uint8Array, where: string): { streamType: number; descriptors: Uint8Array } {
  const header = readDolbyHeader(frame.subarray(0, 8));
  if (header === undefined || frame.length < 10) throw new TsEncryptError(`${where}: the PES payload does not begin with an AC-3/E-AC-3 syncframe`);
  if (header.codec === 'ac-3') {
    const setup = [...ascii('zac3'), 0, 0, 1, 10, ...frame.subarray(0, 10)];
    return { streamType: 0xc1, descriptors: Uint8Array.from([...privateDataIndicator('ac3d'), 0x05, 4 + setup.length, ...ascii('apad'), ...setup]) };
  }
  const fscod = (frame[4] ?? 0) >> 6;
  if (fscod === 3) throw new TsEncryptError(`${where}: E-AC-3 at a reduced sampling rate cannot be described in the audio setup information`);
  const blocks = [1, 2, 3, 6][((frame[4] ?? 0) >> 4) & 3] ?? 6;
  const dataRate = Math.floor((header.length * 8 * header.sampleRate) / (256 * blocks) / 1000) & 0x1fff;
  const bsid = (frame[5] ?? 0) >> 3;
  const acmod = ((frame[4] ?? 0) >> 1) & 7;
  const lfeon = (frame[4] ?? 0) & 1;
  // data_rate(13) num_ind_sub(3) | fscod(2) bsid(5) reserved(1) | asvc(1) bsmod(3) acmod(3) lfeon(1) | reserved(3) num_dep_sub(4) reserved(1)
  const dec3 = [dataRate >> 5, (dataRate & 0x1f) << 3, (fscod << 6) | (bsid << 1), (acmod << 1) | lfeon, 0];
  const setup = [...ascii('zec3'), 0, 0, 1, dec3.length, ...dec3];
  return { streamType: 0xc2, descriptors: Uint8Array.from([...privateDataIndicator('ec3d'), 0x05, 4 + setup.length, ...ascii('apad'), ...setup]) };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The CBC chain of one NAL unit or audio frame: `blocks` 16-byte blocks at the given offsets of `data`, encrypted in place. */
function cbcInPlace(data: Uint8Array, offsets: readonly number[], key: Uint8Array, iv: Uint8Array): void {
  if (offsets.length === 0) return;
  const gathered = Buffer.allocUnsafe(offsets.length * BLOCK);
  offsets.forEach((o, k) => gathered.set(data.subarray(o, o + BLOCK), k * BLOCK));
  const cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  const encrypted = cipher.update(gathered);
  offsets.forEach((o, k) => data.set(encrypted.subarray(k * BLOCK, (k + 1) * BLOCK), o));
}

/**
 * Whether the bytes hold 00 00 followed by 00..03, or end with 00: where emulation prevention is
 * needed (or, in an escaped NAL unit, may be present). Zero bytes are found natively.
 */
function hasZeroRun(bytes: Uint8Array): boolean {
  for (let j = bytes.indexOf(0); j >= 0; j = bytes.indexOf(0, j + 1)) {
    if (j === bytes.length - 1) return true;
    if (bytes[j + 1] === 0 && (j + 2 === bytes.length || (bytes[j + 2] ?? 0) <= 3)) return true;
  }
  return false;
}

/** Inserts emulation_prevention_three_byte wherever 00 00 is followed by 00..03, and after a final 00 (H.264 §7.4.1). */
function escapeNal(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(raw.length + (raw.length >> 1) + 2);
  let n = 0;
  for (let i = 0; i < raw.length; ) {
    // Bytes up to the next zero are copied natively; a run of zeros and what ends it byte by byte.
    const z = raw.indexOf(0, i);
    const stop = z < 0 ? raw.length : z;
    out.set(raw.subarray(i, stop), n);
    n += stop - i;
    i = stop;
    let zeros = 0;
    while (i < raw.length) {
      const b = raw[i++]!;
      if (zeros >= 2 && b <= 3) {
        out[n++] = 3;
        zeros = 0;
      }
      out[n++] = b;
      if (b !== 0) break;
      zeros++;
    }
  }
  if (n > 0 && out[n - 1] === 0) out[n++] = 3;
  return out.subarray(0, n);
}

/**
 * An encrypted H.264 slice NAL unit (Apple's format §2.2): on the NAL unit without its emulation
 * prevention bytes, 32 bytes clear (the NAL header and the start of the slice header), then of
 * every ten 16-byte blocks the first encrypted, as long as more than 16 bytes remain; CBC chained
 * over the encrypted blocks from `iv`; emulation prevention re-inserted over the result.
 */
function encryptSliceNal(nal: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  // A fresh copy, encrypted in place. Compressed slices rarely hold 00 00: the byte loops run only when they do.
  const raw = hasZeroRun(nal) ? unescapeRbsp(nal) : nal.slice();
  if (raw.length <= 48) return nal;
  const offsets: number[] = [];
  for (let p = 32; p < raw.length; ) {
    if (raw.length - p > BLOCK) {
      offsets.push(p);
      p += BLOCK;
    }
    p += Math.min(144, raw.length - p);
  }
  cbcInPlace(raw, offsets, key, iv);
  return hasZeroRun(raw) ? escapeNal(raw) : raw;
}

/** The payload of an H.264 PES with its slice NAL units (types 1 and 5) encrypted; everything else as it was. */
function encryptAvcPayload(es: Uint8Array, key: Uint8Array, iv: Uint8Array, where: string): Uint8Array {
  if (es.length === 0) return es;
  const startCode = es[0] === 0 && es[1] === 0 && (es[2] === 1 || (es[2] === 0 && es[3] === 1));
  if (!startCode) throw new TsEncryptError(`${where}: the H.264 PES payload does not begin with a start code (a NAL unit split across PES packets cannot be encrypted)`);
  const parts: Uint8Array[] = [];
  let copied = 0;
  for (const [start, end] of nalUnitRanges(es)) {
    const type = (es[start] ?? 0) & 0x1f;
    if ((type !== 1 && type !== 5) || end - start <= 48) continue;
    parts.push(es.subarray(copied, start), encryptSliceNal(es.subarray(start, end), key, iv));
    copied = end;
  }
  if (copied === 0) return es;
  parts.push(es.subarray(copied));
  return concatBytes(parts);
}

/**
 * The payload of an AAC PES, whole ADTS frames, each encrypted (Apple's format §2.3.2): header
 * (with its CRC) and 16 bytes clear, then the whole 16-byte blocks that follow in CBC from `iv`,
 * the remainder clear.
 */
function encryptAdtsPayload(es: Uint8Array, key: Uint8Array, iv: Uint8Array, where: string): Uint8Array {
  const out = es.slice();
  for (let p = 0; p < es.length; ) {
    const frame = es.length - p >= 7 ? readAdtsHeader(es.subarray(p, p + 7)) : undefined;
    if (frame === undefined) throw new TsEncryptError(`${where}: byte ${p} of the PES payload is not the start of an ADTS frame`);
    if (frame.length < frame.headerLength || p + frame.length > es.length) throw new TsEncryptError(`${where}: an ADTS frame of ${frame.length} bytes at byte ${p} runs past the end of its PES (${es.length} bytes)`);
    const first = p + frame.headerLength + BLOCK;
    const blocks = Math.floor((frame.length - frame.headerLength - BLOCK) / BLOCK);
    if (blocks > 0) cbcInPlace(out, Array.from({ length: blocks }, (_, k) => first + k * BLOCK), key, iv);
    p += frame.length;
  }
  return out;
}

/**
 * The payload of an AC-3 or E-AC-3 PES, whole syncframes, each encrypted (Apple's format §2.3.3):
 * 16 bytes clear, then the whole 16-byte blocks that follow in CBC from `iv`, the remainder clear.
 * E-AC-3 with dependent or several independent substreams is refused (its setup information would
 * need their channel maps).
 */
function encryptDolbyPayload(es: Uint8Array, key: Uint8Array, iv: Uint8Array, where: string): Uint8Array {
  const out = es.slice();
  for (let p = 0; p < es.length; ) {
    const frame = es.length - p >= 8 ? readDolbyHeader(es.subarray(p, p + 8)) : undefined;
    if (frame === undefined) throw new TsEncryptError(`${where}: byte ${p} of the PES payload is not the start of an AC-3/E-AC-3 syncframe`);
    if (frame.length < 8 || p + frame.length > es.length) throw new TsEncryptError(`${where}: a syncframe of ${frame.length} bytes at byte ${p} runs past the end of its PES (${es.length} bytes)`);
    if (frame.codec === 'ec-3' && ((es[p + 2] ?? 0) & 0xf8) !== 0) throw new TsEncryptError(`${where}: E-AC-3 with dependent or several independent substreams is not sample-encrypted by Packhouse`);
    const blocks = Math.floor((frame.length - BLOCK) / BLOCK);
    if (blocks > 0) cbcInPlace(out, Array.from({ length: blocks }, (_, k) => p + BLOCK + k * BLOCK), key, iv);
    p += frame.length;
  }
  return out;
}

/** The PMT section with the encrypted streams' types and descriptors (Apple's format §3). */
function rewritePmt(sec: Uint8Array, targets: Map<number, Target>, clearTypes: Map<number, number>, packet: number): Uint8Array {
  const layout = readPmtEntries(sec);
  if (layout === undefined) return sec;
  const body: number[] = Array.from(sec.subarray(0, layout.loopStart));
  for (const e of layout.entries) {
    if (clearTypes.has(e.pid) && clearTypes.get(e.pid) !== e.streamType) {
      throw new TsEncryptError(`the PMT at packet ${packet} gives PID ${e.pid} stream type 0x${e.streamType.toString(16)}, another than the PMT read first: a chunk must keep its streams`);
    }
    const t = targets.get(e.pid);
    let streamType = e.streamType;
    let descriptors: ArrayLike<number> = e.descriptors;
    if (t !== undefined) {
      streamType = t.streamType;
      const kept: number[] = [];
      // Registration and private data indicator descriptors are replaced by Apple's.
      for (let q = 0; q + 2 <= e.descriptors.length; q += 2 + (e.descriptors[q + 1] ?? 0)) {
        const tag = e.descriptors[q] ?? 0;
        if (tag !== 0x05 && tag !== 0x0f) kept.push(...e.descriptors.subarray(q, q + 2 + (e.descriptors[q + 1] ?? 0)));
      }
      descriptors = [...kept, ...(t.descriptors ?? [])];
    }
    body.push(streamType, 0xe0 | (e.pid >> 8), e.pid & 0xff, 0xf0 | ((descriptors.length >> 8) & 0x0f), descriptors.length & 0xff, ...Array.from(descriptors));
  }
  return section(body);
}

/**
 * Lays a rebuilt PES into the packets that carried the original: each keeps its adaptation field
 * (PCR, random access, discontinuity) without stuffing and takes as many bytes as fit; packets left
 * over keep only an adaptation field worth keeping, and bytes left over go into packets after the
 * last. Continuity counters are set later.
 */
function layPes(pid: number, bytes: Uint8Array, slots: readonly number[], buf: Uint8Array, placed: Map<number, Uint8Array[]>): void {
  let pos = 0;
  slots.forEach((index, k) => {
    const af = adaptationFieldCore(buf, index * PACKET, index);
    const out: Uint8Array[] = [];
    const n = Math.min(packetRoom(af), bytes.length - pos);
    if (n > 0) {
      out.push(tsPacket(pid, pos === 0, 0, af, bytes.subarray(pos, pos + n)));
      pos += n;
    } else if (af !== undefined && ((af[0] ?? 0) & 0x9f) !== 0) {
      out.push(tsPacket(pid, false, 0, af, NO_BYTES)); // a PCR, OPCR, discontinuity or private data: kept
    }
    if (k === slots.length - 1) {
      while (pos < bytes.length) {
        const m = Math.min(184, bytes.length - pos);
        out.push(tsPacket(pid, pos === 0, 0, undefined, bytes.subarray(pos, pos + m)));
        pos += m;
      }
    }
    placed.set(index, out);
  });
}

/**
 * One MPEG-TS chunk (whole packets, with its PAT and PMT anywhere in it) re-muxed with HLS sample
 * encryption (METHOD=SAMPLE-AES): H.264 slice NAL units and AAC, AC-3 and E-AC-3 frames encrypted,
 * CBC restarting from `iv` at each NAL unit and frame, and PMT stream types 0xdb (H.264), 0xcf
 * (AAC), 0xc1 (AC-3), 0xc2 (E-AC-3) with the private data indicator ('zavc', 'aacd', 'ac3d',
 * 'ec3d') and, for audio, the 'apad' registration with the audio setup information.
 * Other streams (ID3, SCTE-35, private data) pass unchanged. Deterministic: the same bytes, key
 * and IV give the same output. Continuity counters of the rewritten PIDs run without a gap from
 * the chunk's first counter of that PID.
 *
 * Refused with TsEncryptError: H.265 (Apple's format does not define it), E-AC-3 with dependent
 * substreams or at a reduced sampling rate, MPEG audio/video, a stream already sample-encrypted;
 * and any structure that cannot be
 * encrypted whole: a chunk without PAT/PMT, truncated or lost packets, a PES longer or shorter than
 * its header says, a chunk that begins inside a PES, an audio PES that is not whole frames, an
 * H.264 PES that does not begin with a start code, a rewritten PMT that no longer fits one packet.
 */
export function sampleAesChunk(ts: Buffer, key: Buffer, iv: Buffer): Buffer {
  checkKeyAndIv(key, iv);
  try {
    // Plain typed-array views from here on: slicing a Buffer costs far more.
    return remuxSampleAes(new Uint8Array(ts.buffer, ts.byteOffset, ts.length), key, iv);
  } catch (err) {
    if (err instanceof MediaParseError) throw new TsEncryptError(err.message);
    throw err;
  }
}

function remuxSampleAes(buf: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  if (buf.length === 0 || buf.length % PACKET !== 0) throw new TsEncryptError(`the chunk is ${buf.length} bytes, not a whole number of 188-byte MPEG-TS packets`);
  const count = buf.length / PACKET;
  for (let i = 0; i < count; i++) {
    if (buf[i * PACKET] !== 0x47) throw new TsEncryptError(`packet ${i} (offset ${i * PACKET}) does not start with the sync byte 0x47`);
  }
  const { pmtPids, streams } = readPrograms(buf, count);
  const targets = new Map<number, Target>();
  const clearTypes = new Map<number, number>();
  for (const s of streams) {
    if (clearTypes.has(s.pid)) continue;
    clearTypes.set(s.pid, s.streamType);
    const hex = `0x${s.streamType.toString(16).padStart(2, '0')}`;
    if (SAMPLE_AES_TYPES.has(s.streamType)) throw new TsEncryptError(`PID ${s.pid} is already sample-encrypted (stream type ${hex})`);
    if (s.family === 'avc') targets.set(s.pid, { pid: s.pid, scheme: 'avc', streamType: 0xdb, collector: new PesCollector(s.pid), descriptors: Uint8Array.from(privateDataIndicator('zavc')) });
    else if (s.family === 'adts') targets.set(s.pid, { pid: s.pid, scheme: 'aac', streamType: 0xcf, collector: new PesCollector(s.pid) });
    else if (s.family === 'hevc') throw new TsEncryptError(`PID ${s.pid} carries H.265, which HLS sample encryption of MPEG-TS does not define (it covers H.264, AAC, AC-3 and E-AC-3)`);
    else if (s.family === 'dolby') targets.set(s.pid, { pid: s.pid, scheme: 'dolby', streamType: 0, collector: new PesCollector(s.pid) });
    else if (s.kind !== 'other') throw new TsEncryptError(`PID ${s.pid} carries ${CLEAR_NAMES[s.streamType] ?? `stream type ${hex}`}, which HLS sample encryption does not cover`);
  }
  if (targets.size === 0) throw new TsEncryptError('the chunk has no H.264, AAC, AC-3 or E-AC-3 stream to encrypt');
  for (const pid of pmtPids) if (targets.has(pid)) throw new TsEncryptError(`PID ${pid} is named both as a PMT and as an elementary stream`);

  // Pass 1: the PES packets of the streams to encrypt.
  const uses = new Array<PesPacketUse | undefined>(count);
  for (let i = 0; i < count; i++) {
    const off = i * PACKET;
    const b1 = buf[off + 1] ?? 0;
    const t = targets.get(((b1 & 0x1f) << 8) | (buf[off + 2] ?? 0));
    if (t === undefined) continue;
    if ((b1 & 0x80) !== 0) throw new TsEncryptError(`packet ${i} has the transport error indicator set`);
    const use = t.collector.packet(buf, off, i);
    if (use === 'before-first-pes') throw new TsEncryptError(`PID ${t.pid}: packet ${i} continues a PES that began before the chunk`);
    uses[i] = use;
  }

  // The encrypted PES packets, laid into the packets of the originals.
  const placed = new Map<number, Uint8Array[]>();
  for (const t of targets.values()) {
    t.collector.close();
    for (const pes of t.collector.pes) {
      const where = `PID ${t.pid}: the PES at packet ${pes.packet}`;
      const payload = concatBytes(pes.data);
      const encrypted = t.scheme === 'avc' ? encryptAvcPayload(payload, key, iv, where) : t.scheme === 'aac' ? encryptAdtsPayload(payload, key, iv, where) : encryptDolbyPayload(payload, key, iv, where);
      if (t.descriptors === undefined && payload.length > 0) {
        if (t.scheme === 'aac') t.descriptors = Uint8Array.from([...privateDataIndicator('aacd'), ...aacSetupDescriptor(payload)]);
        else Object.assign(t, dolbySetup(payload, where));
      } else if (t.scheme === 'dolby' && payload.length > 0 && dolbySetup(payload, where).streamType !== t.streamType) {
        throw new TsEncryptError(`${where}: the stream changes between AC-3 and E-AC-3`);
      }
      const header = pes.header.slice();
      if (header[4] !== 0 || header[5] !== 0) {
        const length = header.length - 6 + encrypted.length;
        if (length <= 0xffff) {
          header[4] = length >> 8;
          header[5] = length & 0xff;
        } else if (t.scheme === 'avc') {
          header[4] = header[5] = 0; // unbounded, as video PES may be
        } else throw new TsEncryptError(`${where} grows past the 65535 bytes a PES can declare`);
      }
      layPes(t.pid, concatBytes([header, encrypted]), pes.packets, buf, placed);
    }
    if (t.descriptors === undefined) throw new TsEncryptError(`PID ${t.pid} (${t.scheme === 'aac' ? 'AAC' : 'AC-3/E-AC-3'}) has no frame in the chunk to take its audio setup from`);
  }

  // Pass 2: the output, packet by packet; continuity counters of rewritten PIDs renumbered.
  const out: Uint8Array[] = [];
  const pmtSet = new Set(pmtPids);
  const assemblers = new Map<number, SectionAssembler>();
  const counters = new Map<number, { next: number; last: number }>();
  const emit = (pid: number, p: Uint8Array, firstCc: number) => {
    const c = counters.get(pid) ?? { next: firstCc, last: firstCc };
    if ((p[3]! & 0x10) !== 0) {
      c.last = c.next;
      c.next = (c.next + 1) & 0x0f;
    }
    p[3] = (p[3]! & 0xf0) | c.last;
    counters.set(pid, c);
    out.push(p);
  };
  for (let i = 0; i < count; i++) {
    const off = i * PACKET;
    const b1 = buf[off + 1] ?? 0;
    const pid = ((b1 & 0x1f) << 8) | (buf[off + 2] ?? 0);
    const cc = (buf[off + 3] ?? 0) & 0x0f;
    const original = buf.subarray(off, off + PACKET);
    if (targets.has(pid)) {
      const laid = placed.get(i);
      if (laid !== undefined) for (const p of laid) emit(pid, p, cc);
      else if (uses[i] === 'no-payload') emit(pid, original.slice(), cc);
      // else a duplicate packet: left out
    } else if (pmtSet.has(pid)) {
      let assembler = assemblers.get(pid);
      if (assembler === undefined) assemblers.set(pid, (assembler = new SectionAssembler()));
      const start = payloadStart(buf, off, i);
      if (start >= off + PACKET) continue;
      for (const sec of assembler.feed(buf.subarray(start, off + PACKET), (b1 & 0x40) !== 0)) {
        const rewritten = rewritePmt(sec, targets, clearTypes, i);
        if (rewritten.length > 183) throw new TsEncryptError(`the PMT on PID ${pid} would take ${rewritten.length} bytes with the encryption descriptors, more than the one packet HLS sample encryption allows`);
        emit(pid, tsPacket(pid, true, 0, undefined, Buffer.concat([Buffer.of(0), rewritten, Buffer.alloc(183 - rewritten.length, 0xff)])), cc);
      }
    } else {
      out.push(original);
    }
  }
  return Buffer.concat(out);
}
