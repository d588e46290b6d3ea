/**
 * Continuity counters across the pieces of one MPEG-TS output segment (ISO/IEC 13818-1 §2.4.3.3).
 *
 * A TS segment Packhouse writes itself (fMP4 repackaged into TS) starts every PID's
 * continuity_counter at 0, so an output segment made of several such pieces would show a counter
 * jump at each boundary, which decoders take as lost packets. `TsContinuityRewriter` is fed the
 * bytes of one output segment in order, in chunks of any size, and gives them back with every
 * PID's counter carrying on without a jump:
 *
 * - the first packet of a PID keeps its counter (a single piece, or the first piece of a group,
 *   comes out unchanged);
 * - a packet with payload takes the PID's previous counter + 1 (mod 16), except a duplicate (the
 *   same input counter as the PID's previous packet with payload in the same piece), which
 *   repeats the previous output counter, as the standard allows a packet to be sent twice;
 * - a packet without payload (adaptation_field_control '00' or '10') carries the PID's current
 *   counter, not incremented;
 * - null packets (PID 0x1FFF) and anything not starting with the sync byte pass unchanged.
 *
 * Only byte 3 of a packet changes, so the output has exactly the input's length. Pure and
 * deterministic: the output depends on the bytes and the piece boundaries only, never on how the
 * bytes were cut into chunks. Memory is one partial packet plus a counter per PID seen (at most
 * 8192).
 */

export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const NULL_PID = 0x1fff;

interface PidState {
  /** The counter last written for this PID. */
  out: number;
  /** The input counter of this PID's last packet with payload in the current piece, if any. */
  lastIn: number | undefined;
}

export class TsContinuityRewriter {
  private readonly pids = new Map<number, PidState>();
  /** Bytes of a packet cut by the end of a chunk, waiting for the rest. */
  private held: Buffer = Buffer.alloc(0);

  /**
   * Rewrites the complete packets of `chunk` (after any partial packet held from the previous
   * chunk) and returns them; a partial packet at the end is held until the next `push` or
   * `endPiece`. The input is not modified.
   */
  push(chunk: Uint8Array): Buffer {
    const bytes = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : Buffer.from(chunk);
    const whole = bytes.length - (bytes.length % TS_PACKET_SIZE);
    // Copy what is sent (the caller's buffer may be shared, e.g. a cached blob), keep the rest.
    const out = Buffer.from(bytes.subarray(0, whole));
    this.held = Buffer.from(bytes.subarray(whole));
    for (let at = 0; at < whole; at += TS_PACKET_SIZE) this.packet(out, at);
    return out;
  }

  /**
   * Ends one piece (one input segment of the output segment): returns the held partial packet,
   * if any, unchanged (a piece whose length is not a whole number of packets is passed as it
   * is), so the next piece starts on a packet boundary. Counters carry on into the next piece.
   */
  endPiece(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    for (const s of this.pids.values()) s.lastIn = undefined;
    return rest;
  }

  private packet(buf: Buffer, at: number): void {
    if (buf[at] !== SYNC_BYTE) return;
    const pid = ((buf[at + 1]! & 0x1f) << 8) | buf[at + 2]!;
    if (pid === NULL_PID) return;
    const b3 = buf[at + 3]!;
    const cc = b3 & 0x0f;
    const payload = (b3 & 0x10) !== 0;
    const s = this.pids.get(pid);
    if (s === undefined) {
      this.pids.set(pid, { out: cc, lastIn: payload ? cc : undefined });
      return;
    }
    if (payload) {
      if (s.lastIn !== cc) s.out = (s.out + 1) & 0x0f;
      s.lastIn = cc;
    }
    buf[at + 3] = (b3 & 0xf0) | s.out;
  }
}

/** The pieces of one output segment concatenated, with continuous counters (see TsContinuityRewriter). */
export function joinContinuous(pieces: readonly Uint8Array[]): Buffer {
  const w = new TsContinuityRewriter();
  const out: Buffer[] = [];
  for (const p of pieces) out.push(w.push(p), w.endPiece());
  return Buffer.concat(out);
}

/**
 * The pieces of one output segment, each an iterable of chunks, streamed with continuous
 * counters (see TsContinuityRewriter); chunks of no bytes are not yielded.
 */
export async function* streamContinuous(pieces: AsyncIterable<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> | Iterable<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>): AsyncGenerator<Buffer> {
  const w = new TsContinuityRewriter();
  for await (const piece of pieces) {
    for await (const chunk of piece) {
      const out = w.push(chunk);
      if (out.length > 0) yield out;
    }
    const rest = w.endPiece();
    if (rest.length > 0) yield rest;
  }
}
