/**
 * One protocol pipeline for every control-plane operation: request id, SigV4, route, parse,
 * validate, idempotency token, handler, serialise, map errors. A pure function of the request
 * (plus the services), so it is testable without an HTTP server.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DependencyError, ERROR_STATUS, ServiceError } from '../domain/errors.js';
import type { Clock, Ids, MetadataOps, MetadataStore, Scope } from '../domain/ports.js';
import type { Services } from '../domain/services/index.js';
import { AuthError, type SigV4Verifier } from './auth/sigv4.js';
import { OPERATIONS, type OperationName } from './generated/model.js';
import { HANDLERS } from './handlers/index.js';
import { precheckCreateHarvestJob } from './handlers/harvest-jobs.js';
import type { Handler } from './handlers/types.js';
import { parseInput } from './protocol/parse.js';
import { matchRoute } from './protocol/router.js';
import { isStorageFull, STORAGE_FULL_MESSAGE } from '../domain/storage-full.js';
import { serializeError, serializeOutput } from './protocol/serialize.js';
import { validateInput } from './protocol/validate.js';

export interface HttpRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface PipelineDeps {
  readonly services: Services;
  readonly store: MetadataStore;
  readonly verifier: SigV4Verifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly logger: Logger;
}

/** Checks run before shape validation, where an operation has a more specific error type. */
const PRECHECKS: Partial<Record<OperationName, (input: Record<string, unknown>) => void>> = {
  CreateHarvestJob: precheckCreateHarvestJob,
};

const TWIN_WAIT_STEPS = 10;
const TWIN_WAIT_MS = 20;

function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.getTime());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The token was stored by a concurrent twin between this request's check and its insert. */
class TwinCommitted extends Error {}

interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class ApiPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async handle(req: HttpRequest): Promise<HttpResponse> {
    const requestId = this.deps.ids.uuid();
    const started = process.hrtime.bigint();
    let operation: OperationName | undefined;
    let response: HttpResponse;
    try {
      const caller = this.deps.verifier.verify(
        { method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, headers: req.headers, body: req.body },
        this.deps.clock.now(),
      );
      const route = matchRoute(req.method, req.rawPath);
      if ('error' in route) {
        response = this.errorResponse(
          route.error === 'method-not-allowed'
            ? { shape: 'MethodNotAllowedException', status: 405, message: `${req.method} is not allowed on ${req.rawPath}.` }
            : { shape: 'UnknownOperationException', status: 404, message: `No MediaPackage v2 operation is served at ${req.method} ${req.rawPath}. Check the endpoint URL and the path.` },
        );
      } else {
        operation = route.operation;
        const scope: Scope = { accountId: caller.accountId, region: caller.region };
        response = await this.run(operation, route.labels, req, scope, requestId);
      }
    } catch (err) {
      response = this.mapError(err, requestId, operation);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.deps.logger.info({ requestId, operation, method: req.method, path: req.rawPath, status: response.status, ms: Math.round(ms * 100) / 100 }, 'api request');
    return { ...response, headers: { ...response.headers, 'x-amzn-RequestId': requestId } };
  }

  private async run(operation: OperationName, labels: Record<string, string>, req: HttpRequest, scope: Scope, requestId: string): Promise<HttpResponse> {
    const input = parseInput(operation, { labels, query: new URLSearchParams(req.rawQuery), headers: req.headers, body: req.body });
    PRECHECKS[operation]?.(input);
    validateInput(operation, input);
    const handler = HANDLERS[operation] as Handler<OperationName>;
    const execute = async (): Promise<HttpResponse> => {
      const output = await handler(input, { scope, requestId, services: this.deps.services });
      return serializeOutput(operation, output);
    };
    const tokenMember = OPERATIONS[operation].idempotencyTokenMember;
    const token = tokenMember ? (input[tokenMember] as string | undefined) : undefined;
    if (!tokenMember || token === undefined) return execute();
    return this.idempotent(operation, scope, token, tokenMember, input, execute);
  }

  /**
   * ClientToken semantics: the same token and request replay the first answer; the same token with
   * another request is IDEMPOTENT_PARAMETER_MISMATCH. The answer is stored in the same transaction
   * as the resource (the service's transaction joins this one), so a crash can never leave a
   * resource without its token. A concurrent twin that lost the race (on PostgreSQL, where twins
   * overlap) finds the winner's answer and replays it.
   */
  private async idempotent(
    operation: OperationName,
    scope: Scope,
    token: string,
    tokenMember: string,
    input: Record<string, unknown>,
    execute: () => Promise<HttpResponse>,
  ): Promise<HttpResponse> {
    const { store, clock } = this.deps;
    const { [tokenMember]: _token, ...rest } = input;
    const requestHash = createHash('sha256').update(canonicalJson(rest)).digest('hex');
    const replay = async (ops: MetadataOps): Promise<HttpResponse | undefined> => {
      const seen = await ops.getIdempotency(scope, operation, token);
      if (!seen) return undefined;
      if (seen.requestHash !== requestHash) {
        throw new ServiceError('ConflictException', `The client token ${token} was already used for a different ${operation} request. Use a new token for a new request.`, { ConflictExceptionType: 'IDEMPOTENT_PARAMETER_MISMATCH' });
      }
      return JSON.parse(seen.response) as StoredResponse;
    };
    try {
      // One transaction, one durable commit: the token is looked up, the handler writes the
      // resource and the token is stored with it. The handler's own transaction joins this one
      // without a savepoint (whatever it throws fails the request as a whole anyway). A retry of a
      // finished request is answered from the lookup and writes nothing.
      return await store.transaction(
        async (tx) => {
          const committed = await replay(tx);
          if (committed) return committed;
          const response = await execute();
          const stored: StoredResponse = { status: response.status, headers: response.headers, body: response.body };
          if (!(await tx.putIdempotency(scope, operation, token, { requestHash, response: JSON.stringify(stored), createdMs: clock.now().getTime() }))) {
            throw new TwinCommitted();
          }
          return response;
        },
        // Exclusive: on PostgreSQL, creates queue for their turn instead of failing serialisation.
        { joinNested: true, exclusive: true },
      );
    } catch (err) {
      const lostRace = err instanceof TwinCommitted || (err instanceof ServiceError && err.fields['ConflictExceptionType'] === 'RESOURCE_ALREADY_EXISTS');
      if (lostRace) {
        // A twin with the same token may have created the resource and be committing: wait briefly, then replay its answer.
        for (let i = 0; i < TWIN_WAIT_STEPS; i++) {
          const twin = await replay(store);
          if (twin) return twin;
          await new Promise((r) => setTimeout(r, TWIN_WAIT_MS));
        }
      }
      if (err instanceof TwinCommitted) {
        throw new ServiceError('ConflictException', `Another ${operation} request with client token ${token} was being processed at the same time. Retry the request.`, { ConflictExceptionType: 'CONFLICTING_OPERATION' });
      }
      throw err;
    }
  }

  private errorResponse(e: { shape: string; status: number; message: string; fields?: Readonly<Record<string, string>> }): HttpResponse {
    return serializeError({ shape: e.shape, message: e.message, fields: e.fields ?? {} }, e.status);
  }

  private mapError(err: unknown, requestId: string, operation: OperationName | undefined): HttpResponse {
    if (err instanceof ServiceError) {
      return this.errorResponse({ shape: err.shape, status: ERROR_STATUS[err.shape], message: err.message, fields: err.fields });
    }
    if (err instanceof AuthError) {
      return this.errorResponse({ shape: err.code, status: err.status, message: err.message });
    }
    if (isStorageFull(err)) {
      // The operator's to fix, and it passes: 503 (which SDKs retry) with the reason.
      this.deps.logger.warn({ err, requestId, operation }, 'request refused: storage full');
      const r = this.errorResponse({ shape: 'InternalServerException', status: 503, message: `${STORAGE_FULL_MESSAGE} (request id ${requestId})` });
      return { ...r, headers: { ...r.headers, 'retry-after': '10' } };
    }
    if (err instanceof DependencyError) {
      this.deps.logger.error({ requestId, operation, dependency: err.dependency, storeOperation: err.operation, timeoutMs: err.timeoutMs, reason: err.message }, 'request failed: a store did not answer');
      // As a full disk: 503 (which SDKs retry), with the store and the call in the message.
      const r = this.errorResponse({
        shape: 'InternalServerException',
        status: 503,
        message: `Packhouse could not complete the request because ${err.message} (request id ${requestId}). Retry; if it persists, check that store.`,
      });
      return { ...r, headers: { ...r.headers, 'retry-after': '1' } };
    }
    this.deps.logger.error({ err, requestId, operation }, 'unexpected error');
    return this.errorResponse({
      shape: 'InternalServerException',
      status: 500,
      message: `Packhouse could not complete the request because of an internal error (request id ${requestId}). Retry; if it persists, report the request id.`,
    });
  }
}
