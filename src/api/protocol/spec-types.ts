/**
 * The vocabulary of the generated wire tables (src/api/generated/model.ts): operations, shapes and
 * members as the router, parser, validator and serializer read them. Pure type declarations; the
 * values come only from scripts/codegen.ts.
 */

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH' | 'HEAD';

/** Where a member travels on the wire (Smithy httpLabel / httpQuery / httpHeader / unbound). */
export type MemberLocation = 'label' | 'query' | 'header' | 'body';

/** Smithy `timestampFormat` values. Without a trait, JSON bodies use epoch-seconds. */
export type TimestampFormat = 'epoch-seconds' | 'date-time' | 'http-date';

/** Inclusive bounds of a `length` or `range` trait; either side may be absent. */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

/** A JSON value as it may appear in a `default` trait. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A value slot: a structure member, a list member, a map key or a map value. Constraints are the
 * effective ones: the slot's own traits merged over its target's (the slot's trait wins).
 */
export interface ElementSpec {
  /** Short shape name (no namespace) or a prelude type such as `String`, `Integer`, `Timestamp`. */
  readonly target: string;
  readonly length?: Bounds;
  readonly range?: Bounds;
  readonly pattern?: string;
  readonly timestampFormat?: TimestampFormat;
}

export interface MemberSpec extends ElementSpec {
  readonly required: boolean;
  readonly location: MemberLocation;
  /** Label name, query key, lower-cased header name, or JSON key (jsonName, else the member name). */
  readonly wireName: string;
  readonly default?: JsonValue;
  readonly idempotencyToken?: boolean;
}

export interface StructureShape {
  readonly type: 'structure';
  readonly members: Readonly<Record<string, MemberSpec>>;
  /** Set on error structures (`smithy.api#error`). */
  readonly error?: 'client' | 'server';
  readonly httpError?: number;
}

export interface UnionShape {
  readonly type: 'union';
  readonly members: Readonly<Record<string, MemberSpec>>;
}

export interface ListShape {
  readonly type: 'list';
  readonly member: ElementSpec;
  readonly length?: Bounds;
}

export interface MapShape {
  readonly type: 'map';
  readonly key: ElementSpec;
  readonly value: ElementSpec;
  readonly length?: Bounds;
}

export interface StringShape {
  readonly type: 'string';
  readonly length?: Bounds;
  readonly pattern?: string;
  /** Allowed values of an enum (Smithy `enum` shapes), in model order. */
  readonly enum?: readonly string[];
}

export interface IntegerShape {
  readonly type: 'byte' | 'short' | 'integer' | 'long';
  readonly range?: Bounds;
}

export interface FloatShape {
  readonly type: 'float' | 'double';
  readonly range?: Bounds;
}

export interface TimestampShape {
  readonly type: 'timestamp';
  readonly timestampFormat?: TimestampFormat;
}

export interface BlobShape {
  readonly type: 'blob';
  readonly length?: Bounds;
}

export interface SimpleShape {
  readonly type: 'boolean' | 'document';
}

export type ShapeSpec =
  | StructureShape
  | UnionShape
  | ListShape
  | MapShape
  | StringShape
  | IntegerShape
  | FloatShape
  | TimestampShape
  | BlobShape
  | SimpleShape;

/** Member names of the `smithy.api#paginated` trait. */
export interface PaginationSpec {
  readonly inputToken: string;
  readonly outputToken: string;
  readonly items: string;
  readonly pageSize: string;
}

export interface OperationSpec {
  readonly name: string;
  readonly method: HttpMethod;
  /** URI pattern as modelled, e.g. `/channelGroup/{ChannelGroupName}/channel/{ChannelName}/`. */
  readonly uri: string;
  readonly successCode: number;
  /** Input and output structure names (keys of SHAPES). */
  readonly input: string;
  readonly output: string;
  readonly errors: readonly string[];
  readonly idempotent: boolean;
  readonly readonly: boolean;
  readonly idempotencyTokenMember?: string;
  readonly paginated?: PaginationSpec;
}
