/**
 * Assertions on the modelled errors the SDK raises: HTTP status, error name, the type fields
 * (ValidationExceptionType, ConflictExceptionType, ResourceTypeNotFound) and, where fixed, the message.
 */
import assert from 'node:assert/strict';

export interface ExpectedError {
  readonly status: number;
  readonly name: string;
  readonly fields?: Readonly<Record<string, string>>;
  readonly message?: string;
}

/** Awaits a call that must fail and checks status, error name, modelled type fields and message. */
export async function expectError(call: Promise<unknown>, expected: ExpectedError): Promise<void> {
  let result: unknown;
  try {
    result = await call;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } } & Record<string, unknown>;
    const info = `${e.name}: ${e.message}`;
    assert.equal(e.$metadata?.httpStatusCode, expected.status, `HTTP status (${info})`);
    assert.equal(e.name, expected.name, `error name (${info})`);
    for (const [k, v] of Object.entries(expected.fields ?? {})) assert.equal(e[k], v, `${k} (${info})`);
    if (expected.message !== undefined) assert.equal(e.message, expected.message);
    return;
  }
  assert.fail(`expected ${expected.name} (${expected.status}), but the call succeeded: ${JSON.stringify(result)}`);
}

export const validation = (type: string): ExpectedError => ({ status: 400, name: 'ValidationException', fields: { ValidationExceptionType: type } });
export const conflict = (type: string): ExpectedError => ({ status: 409, name: 'ConflictException', fields: { ConflictExceptionType: type } });
export const notFound = (type: string, message?: string): ExpectedError => ({
  status: 404,
  name: 'ResourceNotFoundException',
  fields: { ResourceTypeNotFound: type },
  ...(message !== undefined ? { message } : {}),
});
export const quotaExceeded: ExpectedError = { status: 402, name: 'ServiceQuotaExceededException' };
