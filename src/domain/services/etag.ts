/**
 * Optimistic concurrency: a request that names an ETag (x-amzn-update-if-match) only applies to
 * the version it names.
 */
import { ConflictError } from '../errors.js';

export function checkEtag(expected: string | undefined, current: string, what: string): void {
  if (expected === undefined || expected === current) return;
  throw new ConflictError(
    'CONFLICTING_OPERATION',
    `The ${what} was changed since you read it: the ETag you sent (${expected}) is not its current ETag. Get the ${what} again and retry with its current ETag.`,
  );
}
