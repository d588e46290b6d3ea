/**
 * Domain errors as data: each carries the model's error shape name and, where the model has one,
 * its type code. The API layer maps them once to status, x-amzn-ErrorType and body; nothing here
 * knows about HTTP.
 */

export type ErrorShape =
  | 'ValidationException'
  | 'AccessDeniedException'
  | 'ServiceQuotaExceededException'
  | 'ResourceNotFoundException'
  | 'ConflictException'
  | 'ThrottlingException'
  | 'InternalServerException';

export type ResourceType = 'CHANNEL_GROUP' | 'CHANNEL' | 'ORIGIN_ENDPOINT' | 'HARVEST_JOB';
export type ConflictType =
  | 'RESOURCE_IN_USE'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'IDEMPOTENT_PARAMETER_MISMATCH'
  | 'CONFLICTING_OPERATION';

/** Base class of every error a request may be answered with. */
export class ServiceError extends Error {
  constructor(
    readonly shape: ErrorShape,
    message: string,
    /** Extra modelled body members, e.g. { ValidationExceptionType: 'MEMBER_MISSING' }. */
    readonly fields: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = shape;
  }
}

export class ValidationError extends ServiceError {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super('ValidationException', message, { ValidationExceptionType: type });
  }
}

export class NotFoundError extends ServiceError {
  constructor(
    readonly resourceType: ResourceType,
    message: string,
  ) {
    super('ResourceNotFoundException', message, { ResourceTypeNotFound: resourceType });
  }
}

export class ConflictError extends ServiceError {
  constructor(
    readonly type: ConflictType,
    message: string,
  ) {
    super('ConflictException', message, { ConflictExceptionType: type });
  }
}

export class QuotaExceededError extends ServiceError {
  constructor(message: string) {
    super('ServiceQuotaExceededException', message);
  }
}

export class AccessDeniedError extends ServiceError {
  constructor(message: string) {
    super('AccessDeniedException', message);
  }
}

/** HTTP status of each modelled error shape (model `smithy.api#httpError`; ValidationException has none: 400). */
export const ERROR_STATUS: Readonly<Record<ErrorShape, number>> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ServiceQuotaExceededException: 402,
  ResourceNotFoundException: 404,
  ConflictException: 409,
  ThrottlingException: 429,
  InternalServerException: 500,
};

/**
 * A store Packhouse depends on (the database, the S3 segment store, the harvest destination) did
 * not answer within its configured bound, or could not be reached. Requests end with a 5xx that
 * says which store and what was asked; nothing waits on it for longer than the bound.
 */
export class DependencyError extends Error {
  constructor(
    /** Which store, in words: "the database", "the S3 segment store". */
    readonly dependency: string,
    /** What was asked of it, e.g. "GetObject segments/media/…/init-….mp4". */
    readonly operation: string,
    /** The bound that was exceeded, in ms; undefined when the store failed otherwise. */
    readonly timeoutMs: number | undefined,
    readonly detail?: string,
  ) {
    super(
      timeoutMs !== undefined
        ? `${dependency} did not answer within ${timeoutMs / 1000} s (${operation})`
        : `${dependency} could not be reached (${operation}${detail ? `: ${detail}` : ''})`,
    );
    this.name = 'DependencyError';
  }
}
