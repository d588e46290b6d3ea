/**
 * GET /metrics on the API port. Who may read it (docs/SECURITY.md, "Metrics"):
 * - `--metrics off`: nobody (404);
 * - `--metrics-token T`: whoever sends `Authorization: Bearer T` (in `local` and `public` mode);
 * - `--metrics local` (the default) without a token: clients on this machine only (a loopback peer
 *   and no forwarding header, so a reverse proxy on the same host does not pass it to the world);
 * - `--metrics public` without a token: anyone who reaches the port.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PackhouseMetrics } from './metrics.js';

export type MetricsMode = 'local' | 'public' | 'off';

export interface MetricsAccess {
  readonly mode: MetricsMode;
  readonly token?: string | undefined;
}

function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** Answers a request for /metrics. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: PackhouseMetrics, access: MetricsAccess): void {
  req.resume();
  if (access.mode === 'off') {
    plain(res, 404, 'Metrics are turned off on this server (--metrics off).');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    plain(res, 405, '/metrics answers GET.', { allow: 'GET, HEAD' });
    return;
  }
  if (access.token !== undefined) {
    if (!bearerMatches(req.headers.authorization, access.token)) {
      plain(res, 401, 'Metrics need "Authorization: Bearer <token>" with the token of --metrics-token.', { 'www-authenticate': 'Bearer realm="packhouse-metrics"' });
      return;
    }
  } else if (access.mode === 'local') {
    const forwarded = req.headers['x-forwarded-for'] !== undefined || req.headers['forwarded'] !== undefined;
    if (forwarded || !isLoopbackPeer(req.socket.remoteAddress)) {
      plain(res, 403, 'Metrics are served to clients on this machine only. To scrape from elsewhere, set --metrics-token (and send it as a bearer token) or --metrics public.');
      return;
    }
  }
  metrics.text().then(
    (text) => {
      res.writeHead(200, { 'content-type': metrics.contentType(), 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    () => plain(res, 500, 'The metrics could not be collected.'),
  );
}
