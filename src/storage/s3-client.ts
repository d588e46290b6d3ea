/**
 * One S3 client configuration for every S3-compatible store Packhouse talks to (harvest output,
 * live segments): path-style addressing when an endpoint is given, the AWS default credential
 * chain unless keys are configured, three attempts per request, and a bound on every request
 * (connecting, and any pause while waiting for or reading an answer).
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { DependencyError } from '../domain/errors.js';

export interface S3Connection {
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Bound on one S3 call, in ms (see withDeadline); default 10 s. */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_S3_TIMEOUT_MS = 10_000;

export function s3ClientFor(o: S3Connection): S3Client {
  const timeoutMs = o.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  const config: S3ClientConfig = {
    region: o.region,
    maxAttempts: 3,
    // A connection that cannot be made, or a socket silent this long, fails the attempt.
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  };
  if (o.endpoint) {
    config.endpoint = o.endpoint;
    config.forcePathStyle = true;
  }
  if (o.credentials) config.credentials = { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey };
  return new S3Client(config);
}

/**
 * Runs one S3 call (request and reading its body) under a deadline: past `timeoutMs` the call is
 * aborted (its socket closed, so nothing leaks) and a DependencyError naming the store and the
 * operation is thrown. An outer signal (a cancelled harvest) aborts it as well.
 */
export async function withDeadline<T>(
  what: { readonly dependency: string; readonly operation: string; readonly timeoutMs: number },
  fn: (signal: AbortSignal) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onOuter = () => ac.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DependencyError(what.dependency, what.operation, what.timeoutMs);
      ac.abort(err);
      reject(err);
    }, what.timeoutMs);
  });
  try {
    return await Promise.race([fn(ac.signal), deadline]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}
