/**
 * Writing MPEG-TS (ISO/IEC 13818-1): PSI sections with their CRC, 188-byte transport packets, PES
 * packets, and a packetizer that numbers continuity counters per PID. Shared by the fMP4 → TS
 * repackager and the TS encryption.
 */

const PACKET = 188;
const PTS_WRAP = 2 ** 33;

// ---------------------------------------------------------------------------------------------
// CRC-32/MPEG-2 (13818-1 Annex A) for PSI sections

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** A PSI section from its bytes from table_id on: section_length is filled in and the CRC appended. */
export function section(body: ArrayLike<number>): Uint8Array {
  // section_length covers what follows it plus the CRC.
  const s = Uint8Array.from(body);
  const length = s.length - 3 + 4;
  s[1] = (s[1]! & 0xf0) | ((length >> 8) & 0x0f);
  s[2] = length & 0xff;
  const crc = crc32(s);
  const out = new Uint8Array(s.length + 4);
  out.set(s);
  out.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], s.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Packets

/** Payload bytes a packet holds with an adaptation field of `af` (its bytes after the length byte). */
export function packetRoom(af: Uint8Array | readonly number[] | undefined): number {
  return 184 - (af === undefined ? 0 : 1 + af.length);
}

/**
 * One transport packet: header, the adaptation field `af` (flags and fields, without the length
 * byte) when given, then `payload`; a payload shorter than the room is preceded by stuffing in the
 * adaptation field, so that it ends the packet (an empty payload makes an adaptation-only packet).
 */
export function tsPacket(pid: number, unitStart: boolean, cc: number, af: Uint8Array | readonly number[] | undefined, payload: Uint8Array): Uint8Array {
  const room = packetRoom(af);
  if (payload.length > room) throw new RangeError(`a payload of ${payload.length} bytes does not fit in a packet with room for ${room}`);
  const extra = room - payload.length;
  const p = new Uint8Array(PACKET);
  let at = 4;
  let withAf = af !== undefined;
  if (af !== undefined) {
    p[at++] = af.length + extra;
    p.set(af, at);
    at += af.length;
    p.fill(0xff, at, at + extra);
    at += extra;
  } else if (extra > 0) {
    withAf = true;
    p[at++] = extra - 1;
    if (extra > 1) {
      p[at++] = 0x00; // no flags
      p.fill(0xff, at, at + extra - 2);
      at += extra - 2;
    }
  }
  const afc = (withAf ? 0x20 : 0) | (payload.length > 0 ? 0x10 : 0);
  p[0] = 0x47;
  p[1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  p[3] = afc | (cc & 0x0f);
  p.set(payload, at);
  return p;
}

/** Packetizer numbering continuity counters per PID from 0. */
export class TsWriter {
  private readonly packets: Uint8Array[] = [];
  private readonly cc = new Map<number, number>();

  /** One PSI section in one packet (pointer_field 0, 0xFF stuffing). */
  psi(pid: number, sec: Uint8Array): void {
    const p = new Uint8Array(PACKET).fill(0xff);
    p.set([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10 | this.next(pid), 0]);
    p.set(sec, 5);
    this.packets.push(p);
  }

  /** A PES over as many packets as it needs; the first may carry a PCR (27 MHz: base × 300). */
  pes(pid: number, pes: Uint8Array, pcrBase: number | undefined, randomAccess: boolean): void {
    for (let pos = 0, first = true; pos < pes.length; first = false) {
      // The adaptation field after its length byte: flags (+ PCR) on the first packet when asked.
      let af: number[] | undefined;
      if (first && (pcrBase !== undefined || randomAccess)) {
        af = [(randomAccess ? 0x40 : 0) | (pcrBase !== undefined ? 0x10 : 0)];
        if (pcrBase !== undefined) {
          const b = pcrBase % PTS_WRAP;
          af.push(Math.floor(b / 2 ** 25) & 0xff, Math.floor(b / 2 ** 17) & 0xff, Math.floor(b / 2 ** 9) & 0xff, Math.floor(b / 2) & 0xff, ((b & 1) << 7) | 0x7e, 0);
        }
      }
      const n = Math.min(packetRoom(af), pes.length - pos);
      this.packets.push(tsPacket(pid, first, this.next(pid), af, pes.subarray(pos, pos + n)));
      pos += n;
    }
  }

  private next(pid: number): number {
    const c = this.cc.get(pid) ?? 0;
    this.cc.set(pid, (c + 1) & 0x0f);
    return c;
  }

  bytes(): Buffer {
    return Buffer.concat(this.packets);
  }
}

// ---------------------------------------------------------------------------------------------
// PES

function timestamp(prefix: number, t: number): number[] {
  const v = ((t % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
  const hi = Math.floor(v / 2 ** 30) & 7;
  const mid = Math.floor(v / 2 ** 15) & 0x7fff;
  const lo = v & 0x7fff;
  return [(prefix << 4) | (hi << 1) | 1, mid >> 7, ((mid & 0x7f) << 1) | 1, lo >> 7, ((lo & 0x7f) << 1) | 1];
}

/** A PES packet with PTS (and DTS when it differs); PES_packet_length 0 unless `bounded` and it fits. */
export function pesPacket(streamId: number, pts: number, dts: number, payload: readonly Uint8Array[], size: number, bounded: boolean): Uint8Array {
  const withDts = dts !== pts;
  const header = [0, 0, 1, streamId, 0, 0, 0x84, withDts ? 0xc0 : 0x80, withDts ? 10 : 5, ...timestamp(withDts ? 3 : 2, pts), ...(withDts ? timestamp(1, dts) : [])];
  const length = header.length - 6 + size;
  if (bounded && length <= 0xffff) {
    header[4] = length >> 8;
    header[5] = length & 0xff;
  }
  const out = new Uint8Array(header.length + size);
  out.set(header);
  let at = header.length;
  for (const p of payload) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
