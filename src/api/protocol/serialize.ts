/**
 * Turns an operation's output object into the restJson1 response (status, headers, body) using the
 * generated shapes: wire names (jsonName, API.md §1.5), epoch-second timestamps (§1.4), 204 bodies
 * (§1.3); and renders error responses (§4.2). Only modelled members are written, so callers may
 * pass domain objects carrying extra fields.
 */

import { OPERATIONS, SHAPES, type OperationName } from '../generated/model.js';
import type { ElementSpec, MemberSpec, TimestampFormat } from './spec-types.js';

export interface WireResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What serializeError needs of an error; ServiceError (domain/errors.ts) satisfies it. */
export interface WireError {
  readonly shape: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string>>;
}

function asDate(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(Math.round(v * 1000));
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  }
  return undefined;
}

function formatTimestamp(v: unknown, format: TimestampFormat): string | number | undefined {
  const d = asDate(v);
  if (d === undefined) return undefined;
  if (format === 'date-time') return d.toISOString();
  if (format === 'http-date') return d.toUTCString();
  return d.getTime() / 1000;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** The JSON form of a value in a slot, or undefined to omit it. */
function toJson(v: unknown, el: ElementSpec): unknown {
  if (v === undefined || v === null) return undefined;
  const shape = SHAPES[el.target];
  switch (shape?.type) {
    case 'structure':
    case 'union':
      return isRecord(v) ? structureToJson(v, shape.members) : undefined;
    case 'list':
      return Array.isArray(v) ? v.map((x) => toJson(x, shape.member)).filter((x) => x !== undefined) : undefined;
    case 'map':
      if (!isRecord(v)) return undefined;
      return Object.fromEntries(
        Object.entries(v)
          .map(([k, x]) => [k, toJson(x, shape.value)] as const)
          .filter(([, x]) => x !== undefined),
      );
    case 'timestamp':
      return formatTimestamp(v, el.timestampFormat ?? shape.timestampFormat ?? 'epoch-seconds');
    default:
      return v;
  }
}

function structureToJson(v: Record<string, unknown>, members: Readonly<Record<string, MemberSpec>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(members)) {
    if (member.location !== 'body') continue;
    const json = toJson(v[name], member);
    if (json !== undefined) out[member.wireName] = json;
  }
  return out;
}

function headerText(v: unknown, member: MemberSpec): string | undefined {
  if (v === undefined || v === null) return undefined;
  const shape = SHAPES[member.target];
  if (shape?.type === 'timestamp') {
    const t = formatTimestamp(v, member.timestampFormat ?? shape.timestampFormat ?? 'http-date');
    return t === undefined ? undefined : String(t);
  }
  return Array.isArray(v) ? v.map(scalarText).join(', ') : scalarText(v);
}

function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The success response of `operation`. `output` may carry fields outside the output shape; they are
 * dropped. Undefined and null members are omitted; 204 operations get an empty body.
 */
export function serializeOutput(operation: OperationName, output: object): WireResponse {
  const op = OPERATIONS[operation];
  const shape = SHAPES[op.output];
  const members = shape !== undefined && (shape.type === 'structure' || shape.type === 'union') ? shape.members : {};
  const record = output as Record<string, unknown>;
  const headers: Record<string, string> = {};
  for (const [name, member] of Object.entries(members)) {
    if (member.location !== 'header') continue;
    const text = headerText(record[name], member);
    if (text !== undefined) headers[member.wireName] = text;
  }
  if (op.successCode === 204) return { status: 204, headers, body: '' };
  headers['content-type'] = 'application/json';
  return { status: op.successCode, headers, body: JSON.stringify(structureToJson(record, members)) };
}

/** The error response: bare shape name in `x-amzn-ErrorType`, `Message`/`message`/`__type` and the modelled fields in the body. */
export function serializeError(err: WireError, status: number): WireResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': err.shape },
    body: JSON.stringify({ Message: err.message, message: err.message, __type: err.shape, ...err.fields }),
  };
}
