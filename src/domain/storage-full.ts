/**
 * "The disk is full" from any store Packhouse writes to: the file system (ENOSPC, EDQUOT),
 * SQLite (SQLITE_FULL) or PostgreSQL (53100 disk_full). Such a failure is the operator's to fix
 * and passes once space returns, so callers answer it as "insufficient storage, retry later"
 * with a reason, never as an internal error.
 */

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);

export function isStorageFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
  }
  return false;
}

export const STORAGE_FULL_MESSAGE =
  "Packhouse's storage is full (no space left on the device holding the data directory or the database), so nothing was stored. Free space and send the request again.";
