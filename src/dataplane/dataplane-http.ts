/**
 * HTTP binding of the data plane: /in/v1/{group}/{1|2}/{channel}/{file} to ingest and
 * /out/v1/{group}/{channel}/{endpoint}/{file} to the origin. Errors are a status and a one-line
 * plain-text reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SigV4Verifier } from '../api/auth/sigv4.js';
import type { Clock } from '../domain/ports.js';
import { DataplaneError } from './channel-locator.js';
import { metrics } from '../metrics/metrics.js';
import { isStorageFull, STORAGE_FULL_MESSAGE } from '../domain/storage-full.js';
import { DependencyError } from '../domain/errors.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { OriginService } from './origin/origin-service.js';
import type { EgressGuard } from './origin/egress-access.js';
import type { RequestFactsReader } from './request-facts.js';

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new TooLarge());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decode(parts: string[]): string[] {
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    throw new DataplaneError(400, 'The path is not valid percent-encoding.');
  }
}

export class Dataplane {
  constructor(
    private readonly ingest: IngestService,
    private readonly origin: OriginService,
    private readonly maxIngestBytes: number,
    private readonly logger: Logger,
    /** Checks SigV4 on ingest to channels that have a resource policy. */
    private readonly verifier: SigV4Verifier,
    private readonly clock: Clock,
    /** Enforces origin endpoint policies on egress. */
    private readonly egress: EgressGuard,
    /** What policy conditions may ask about a request (client address, TLS, headers, time). */
    private readonly facts: RequestFactsReader,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, rawPath: string, rawQuery: string): void {
    const cors: Record<string, string> = { 'access-control-allow-origin': typeof req.headers.origin === 'string' ? req.headers.origin : '*' };
    const fail = (err: unknown) => {
      if (err instanceof DependencyError) {
        // A store did not answer in time (or at all): say which, and that a retry may succeed.
        this.logger.error({ path: rawPath, dependency: err.dependency, operation: err.operation, timeoutMs: err.timeoutMs, reason: err.message }, 'data plane request failed: a store did not answer');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const body = `Packhouse could not answer because ${err.message}. Try again.\n`;
        res.writeHead(503, { ...cors, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'retry-after': '1' });
        res.end(body);
        return;
      }
      const full = isStorageFull(err);
      const status = err instanceof DataplaneError ? err.status : err instanceof TooLarge ? 413 : full ? 507 : 500;
      const text =
        err instanceof DataplaneError
          ? err.message
          : err instanceof TooLarge
            ? `The file is larger than ${this.maxIngestBytes} bytes, the ingest limit.`
            : full
              ? STORAGE_FULL_MESSAGE
              : 'internal error';
      if (full) this.logger.warn({ err, path: rawPath }, 'data plane request refused: storage full');
      else if (status >= 500) this.logger.error({ err, path: rawPath }, 'data plane request failed');
      else this.logger.debug({ path: rawPath, status, reason: text }, 'data plane request refused');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = `${text}\n`;
      res.writeHead(status, { ...cors, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...(full ? { 'retry-after': '10' } : {}) });
      res.end(body);
    };
    const run = async () => {
      const parts = decode(rawPath.split('/').slice(1));
      if (parts[0] === 'in' && parts[1] === 'v1' && parts.length >= 6) {
        const [, , groupName, ingestId, channelName, ...file] = parts;
        const body = req.method === 'DELETE' ? Buffer.alloc(0) : await readBody(req, this.maxIngestBytes);
        const method = req.method ?? 'PUT';
        const authenticate = () => this.verifier.verify({ method, rawPath, rawQuery, headers: req.headers, body }, this.clock.now());
        const facts = this.facts.read(req);
        const status = await metrics.ingestRequest(() => this.ingest.receive({ method, groupName: groupName!, ingestId: ingestId!, channelName: channelName!, path: file.join('/'), body, authenticate, facts }));
        res.writeHead(status, { 'content-length': 0 });
        res.end();
        return;
      }
      if (parts[0] === 'out' && parts[1] === 'v1' && parts.length === 6) {
        req.resume();
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new DataplaneError(405, 'The origin answers GET and HEAD.');
        const [, , groupName, channelName, endpointName, file] = parts;
        const method = req.method;
        const query = new URLSearchParams(rawQuery);
        const signed = req.headers.authorization !== undefined || query.has('X-Amz-Signature') || query.has('X-Amz-Credential');
        const authenticate = () => this.verifier.verify({ method, rawPath, rawQuery, headers: req.headers, body: Buffer.alloc(0) }, this.clock.now());
        const facts = this.facts.read(req);
        const authorize = (endpoint: Parameters<EgressGuard['check']>[0]) => this.egress.check(endpoint, { method, facts, headers: req.headers, signed, authenticate });
        const kind = /\.(m3u8|mpd)$/i.test(file!) ? 'manifest' : 'segment';
        await metrics.egressRequest(kind, async () => {
          const r = await this.origin.serve({ groupName: groupName!, channelName: channelName!, endpointName: endpointName!, file: file!, query, authorize });
          const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
          res.writeHead(r.status, { ...cors, ...r.headers, 'content-length': body.length });
          res.end(req.method === 'HEAD' ? undefined : body);
          return r.status;
        });
        return;
      }
      req.resume();
      throw new DataplaneError(404, 'Data-plane URLs are /in/v1/{group}/{1|2}/{channel}/{file} (ingest) and /out/v1/{group}/{channel}/{endpoint}/{file} (origin).');
    };
    run().catch(fail);
  }
}
