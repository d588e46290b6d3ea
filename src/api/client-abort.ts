/**
 * A client that goes away mid-request (a closed connection, a cancelled upload) is normal traffic,
 * not a server fault: it is logged at info level, without a stack, and nothing is sent back.
 */
import type { IncomingMessage } from 'node:http';

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** True when `err` is the request stream failing because the client closed the connection. */
export function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined && ABORT_CODES.has(code)) return true;
  return e?.message === 'aborted' || (req.destroyed && !req.complete);
}

/** Rejects `reject` when the connection closes before the request body ended (no 'error' in some Node versions). */
export function rejectOnEarlyClose(req: IncomingMessage, reject: (err: Error) => void): void {
  req.on('close', () => {
    if (!req.complete) reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  });
}
