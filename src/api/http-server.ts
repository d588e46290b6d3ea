/**
 * The HTTP front door: one node:http server on one port. Control-plane requests go to the API
 * pipeline; data-plane paths (/in/, /out/) are reserved for ingest and origin. Bodies are read
 * whole (the control plane's are small) with a size limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ApiPipeline, HttpResponse } from './pipeline.js';
import type { Dataplane } from '../dataplane/dataplane-http.js';
import { metrics } from '../metrics/metrics.js';
import { serveMetrics, type MetricsAccess } from '../metrics/metrics-endpoint.js';
import { isClientAbort, rejectOnEarlyClose } from './client-abort.js';

const MAX_API_BODY = 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    rejectOnEarlyClose(req, reject);
  });
}

function send(res: ServerResponse, r: HttpResponse): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

function plain(res: ServerResponse, status: number, text: string): void {
  send(res, { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${text}\n` });
}

export function createRequestListener(pipeline: ApiPipeline, dataplane: Dataplane, logger: Logger, metricsAccess: MetricsAccess = { mode: 'local' }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    const rawQuery = q >= 0 ? url.slice(q + 1) : '';
    if (rawPath === '/_packhouse/health') {
      plain(res, 200, 'ok');
      return;
    }
    if (rawPath === '/metrics') {
      serveMetrics(req, res, metrics, metricsAccess);
      return;
    }
    if (rawPath.startsWith('/in/') || rawPath.startsWith('/out/')) {
      dataplane.handle(req, res, rawPath, rawQuery);
      return;
    }
    readBody(req, MAX_API_BODY)
      .then((body) => pipeline.handle({ method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers, body }))
      .then((r) => send(res, r))
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) {
          plain(res, 413, `The request body is larger than ${MAX_API_BODY} bytes, the control plane's limit.`);
          return;
        }
        if (isClientAbort(err, req)) {
          logger.info({ method: req.method, path: rawPath }, 'client closed the connection before the request completed');
          res.destroy();
          return;
        }
        logger.error({ err }, 'request failed before the pipeline');
        if (!res.headersSent) plain(res, 500, 'internal error');
        else res.destroy();
      });
  };
}
