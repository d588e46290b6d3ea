/**
 * HTTP binding of the data plane: /in/v1/{group}/{1|2}/{channel}/{file} to ingest and
 * /out/v1/{group}/{channel}/{endpoint}/{file} to the origin. Errors are a status and a one-line
 * plain-text reason.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SigV4Verifier } from '../api/auth/sigv4.js';
import { isClientAbort } from '../api/client-abort.js';
import type { Clock } from '../domain/ports.js';
import { DataplaneError } from './channel-locator.js';
import { metrics } from '../metrics/metrics.js';
import { isStorageFull, STORAGE_FULL_MESSAGE } from '../domain/storage-full.js';
import { DependencyError } from '../domain/errors.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { OriginService } from './origin/origin-service.js';
import type { EgressGuard } from './origin/egress-access.js';
import type { RequestFactsReader } from './request-facts.js';

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/**
 * Bytes of a body taken in before anything is decided: requests are listened to from their first
 * moment (a client may send its body and half-close at once, and a request nobody listened to
 * then vanishes), but a body that is not yet wanted is only held up to this much; beyond it the
 * request is paused, so TCP pushes back on the client until the body is wanted or refused.
 */
const EARLY_BYTES = 256 * 1024;

/** A request body, held back until ingest decides whether it wants it (see EARLY_BYTES). */
class PendingBody {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private error: Error | undefined;
  private wanted: { limit: number; hash: ReturnType<typeof createHash> | undefined; sha256: string | undefined; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private dropped = false;

  constructor(private readonly req: IncomingMessage) {
    req.on('data', (c: Buffer) => this.onData(c));
    req.on('end', () => {
      this.ended = true;
      this.settle();
    });
    req.on('error', (e) => {
      this.error = e;
      this.settle();
    });
    req.on('close', () => {
      if (!this.ended && this.error === undefined) {
        this.error = new Error('the client closed the connection before the body was complete');
        this.settle();
      }
    });
  }

  private onData(c: Buffer): void {
    if (this.dropped) return;
    this.size += c.length;
    const w = this.wanted;
    if (w !== undefined && this.size > w.limit) {
      this.refuse(w.limit);
      return;
    }
    this.chunks.push(c);
    w?.hash?.update(c);
    if (w === undefined && this.size >= EARLY_BYTES) this.req.pause();
  }

  private tooLarge(limit: number): DataplaneError {
    return new DataplaneError(413, `The file is larger than ${limit} bytes, the ingest limit for this kind of file.`);
  }

  private refuse(limit: number): void {
    const w = this.wanted;
    this.drop();
    w?.reject(this.tooLarge(limit));
  }

  private settle(): void {
    const w = this.wanted;
    if (w === undefined) return;
    if (this.error !== undefined) {
      this.wanted = undefined;
      w.reject(this.error);
      return;
    }
    if (!this.ended || this.dropped) return;
    this.wanted = undefined;
    if (w.hash !== undefined && w.hash.digest('hex') !== w.sha256) {
      w.reject(new DataplaneError(400, 'The x-amz-content-sha256 value sent with the request does not match the SHA-256 of the body received.'));
      return;
    }
    w.resolve(Buffer.concat(this.chunks));
  }

  /**
   * The body, refused (413) past `limit` bytes: a declared Content-Length over it before a byte
   * more is read. With `sha256` (the hash a signature covers) it is checked as the body arrives.
   */
  read(limit: number, sha256: string | undefined): Promise<Buffer> {
    const declared = this.req.headers['content-length'];
    if ((declared !== undefined && Number(declared) > limit) || this.size > limit) {
      this.drop();
      return Promise.reject(this.tooLarge(limit));
    }
    return new Promise((resolve, reject) => {
      const hash = sha256 === undefined ? undefined : createHash('sha256');
      for (const c of this.chunks) hash?.update(c);
      this.wanted = { limit, hash, sha256, resolve, reject };
      this.settle();
      if (this.wanted !== undefined) this.req.resume();
    });
  }

  /** Forgets what was held and drains the rest unread (never buffered). */
  drop(): void {
    this.dropped = true;
    this.chunks = [];
    this.req.resume();
  }
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
      if (isClientAbort(err, req)) {
        this.logger.info({ method: req.method, path: rawPath }, 'client closed the connection before the request completed');
        res.destroy();
        return;
      }
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
      const status = err instanceof DataplaneError ? err.status : full ? 507 : 500;
      const text = err instanceof DataplaneError ? err.message : full ? STORAGE_FULL_MESSAGE : 'internal error';
      // A body nobody wanted is drained unread (never buffered) so that the answer reaches the client.
      pending?.drop();
      if (!req.complete) req.resume();
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
    // Ingest bodies are listened to at once, and held back (bounded) until they are wanted.
    const pending = rawPath.startsWith('/in/') && req.method !== 'GET' && req.method !== 'HEAD' ? new PendingBody(req) : undefined;
    const run = async () => {
      const parts = decode(rawPath.split('/').slice(1));
      if (parts[0] === 'in' && parts[1] === 'v1' && parts.length >= 6) {
        const [, , groupName, ingestId, channelName, ...file] = parts;
        const method = req.method ?? 'PUT';
        // The payload hash a signature covers, when the headers declare one: checked as the body is read.
        let signedHash: string | undefined;
        const authenticate = (body?: Buffer) => {
          if (body === undefined) {
            const declared = req.headers['x-amz-content-sha256'];
            const presigned = /(^|&)x-amz-signature=/i.test(rawQuery);
            const signed = typeof req.headers.authorization === 'string' || presigned;
            const usable = typeof declared === 'string' && !presigned && (declared === UNSIGNED_PAYLOAD || /^[0-9a-f]{64}$/i.test(declared));
            // Signed over a payload hash it does not declare: only the body can settle it.
            if (signed && !usable) return undefined;
            // Unsigned requests fail here (no signature), before a byte of the body is read.
            const caller = this.verifier.verify({ method, rawPath, rawQuery, headers: req.headers, body: undefined }, this.clock.now());
            if (typeof declared === 'string' && declared !== UNSIGNED_PAYLOAD) signedHash = declared.toLowerCase();
            return caller;
          }
          return this.verifier.verify({ method, rawPath, rawQuery, headers: req.headers, body }, this.clock.now());
        };
        const body = (limit: number) => (pending ? pending.read(limit, signedHash) : Promise.resolve(Buffer.alloc(0)));
        const facts = this.facts.read(req);
        // Long time-shifted playlists give way while this node takes in a stream (playlist-renderer.ts).
        this.origin.lines?.ingestSeen();
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
          // A streamed body of unknown length goes out chunked.
          res.writeHead(r.status, { ...cors, ...r.headers, ...(body.length !== undefined ? { 'content-length': body.length } : {}) });
          if (req.method === 'HEAD') {
            if (!Buffer.isBuffer(body)) body.discard();
            res.end();
            return r.status;
          }
          if (Buffer.isBuffer(body)) {
            res.end(body);
            return r.status;
          }
          // Streamed piece by piece, waiting for the client to take each one.
          res.once('close', () => body.discard());
          for await (const chunk of body.chunks()) {
            if (res.destroyed) return r.status;
            if (!res.write(chunk)) await new Promise<void>((resolve) => {
              const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.on('drain', done);
              res.on('close', done);
            });
          }
          res.end();
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
