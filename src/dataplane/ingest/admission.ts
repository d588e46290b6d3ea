/**
 * What an ingest request must satisfy before anything is stored: a short, safe file name, and
 * program date-times near the server's clock. Pure.
 */
import { DataplaneError } from '../channel-locator.js';

/**
 * The longest path accepted below the channel, in bytes. Files are stored under their name (plus a
 * temporary suffix while written) and a rendition's folder is named after its playlist, so this
 * keeps every name well inside the 255 bytes a file system allows.
 */
export const MAX_INGEST_PATH_BYTES = 128;

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * Throws 400 unless the path is one file name of letters, digits, "_", "-" and ".", at most
 * MAX_INGEST_PATH_BYTES long. An input's playlists and segments sit side by side: a file in a
 * folder below it would never be read, so it is refused rather than stored (unbounded) for nothing.
 */
export function checkIngestPath(path: string): void {
  if (path.length > MAX_INGEST_PATH_BYTES) {
    throw new DataplaneError(400, `The ingest file name is ${Buffer.byteLength(path)} bytes long; Packhouse accepts at most ${MAX_INGEST_PATH_BYTES} (folders included).`);
  }
  if (path.includes('/')) {
    throw new DataplaneError(400, `"${path}" is in a folder: Packhouse reads an ingest input's playlists and segments side by side, directly below /in/v1/{group}/{1|2}/{channel}/.`);
  }
  if (!NAME_RE.test(path) || path === '..' || path === '.') {
    throw new DataplaneError(400, `"${path}" is not an ingest file name: use letters, digits, "_", "-" and ".".`);
  }
}

/** Why a media time is implausible (too far from the server's clock), or undefined when it is not. */
export function implausibleTime(ms: number, nowMs: number, maxSkewMs: number): string | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return 'is not a valid time';
  const off = ms - nowMs;
  if (Math.abs(off) <= maxSkewMs) return undefined;
  const hours = Math.abs(off) / 3_600_000;
  const amount = hours >= 48 ? `${Math.round(hours / 24)} days` : `${hours.toFixed(1)} hours`;
  return `(${new Date(ms).toISOString()}) is ${amount} ${off > 0 ? 'ahead of' : 'behind'} the server's clock; Packhouse accepts times within ${maxSkewMs / 3_600_000} hours of it`;
}
