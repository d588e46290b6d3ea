/**
 * Encryption of MPEG-TS segments for HLS TS endpoints.
 *
 * - AES-128 (`#EXT-X-KEY:METHOD=AES-128`, RFC 8216 §4.3.2.4): the whole segment is AES-128-CBC
 *   with PKCS#7 padding, streamed over the chunks that make up one output segment.
 *
 * Pure: no I/O, no logging (keys never leave these functions). Bad arguments throw TsEncryptError
 * with a one-line reason.
 */
import { createCipheriv } from 'node:crypto';

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
