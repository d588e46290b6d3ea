/**
 * Builds an operation's input object (keyed by model member names) from path labels, query string,
 * headers and JSON body, following the restJson1 bindings in the generated tables (API.md §1.1).
 * Converts only what the wire forces (text to numbers, epoch seconds to Date); every other type
 * check is left to validate.ts, so raw JSON values of the wrong type are kept as they came.
 */

import { ValidationError } from '../../domain/errors.js';
import { MAX_INSTANT_MS, MIN_INSTANT_MS, parseIsoDateTime, utcMs } from '../../media/time.js';
import { OPERATIONS, SHAPES, type OperationName } from '../generated/model.js';
import type { ElementSpec, MemberSpec, ShapeSpec } from './spec-types.js';

export interface WireRequest {
  readonly labels: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** Members whose JSON key is read in either casing: `Tags` vs `tags` differs per shape (API.md §1.5). */
const CASE_TOLERANT_MEMBERS: ReadonlySet<string> = new Set(['Tags']);

function shapeOf(target: string): ShapeSpec | undefined {
  return SHAPES[target];
}

function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The deepest nesting of arrays and objects a request body may have; the model needs far fewer. */
export const MAX_BODY_DEPTH = 32;

/**
 * A Date for epoch seconds or an ISO 8601 date(-time) naming an instant in years 0000-9999;
 * anything else (`1e308`, `-1e15`, a date no calendar has) is returned unchanged, for validation
 * to refuse as "must be a timestamp".
 */
function toTimestamp(v: unknown): unknown {
  let ms: number | undefined;
  if (typeof v === 'number' && Number.isFinite(v)) ms = Math.round(v * 1000);
  else if (typeof v === 'string') {
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
    ms = day ? utcMs(Number(day[1]), Number(day[2]), Number(day[3])) : parseIsoDateTime(v, { zoneOptional: true });
  }
  return ms !== undefined && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS ? new Date(ms) : v;
}

/** How deeply arrays and objects nest in a JSON text, counting only until `limit` is passed. */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Converts a JSON value to its model form, recursing through structures, unions, lists and maps. */
function fromJson(v: unknown, el: ElementSpec): unknown {
  const shape = shapeOf(el.target);
  if (shape === undefined || v === null) return v;
  switch (shape.type) {
    case 'structure':
    case 'union':
      return isJsonObject(v) ? structureFromJson(v, shape.members) : v;
    case 'list':
      return Array.isArray(v) ? v.map((x) => fromJson(x, shape.member)) : v;
    case 'map':
      return isJsonObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x, shape.value)])) : v;
    case 'timestamp':
      return toTimestamp(v);
    default:
      return v;
  }
}

function jsonKeyOf(json: Record<string, unknown>, name: string, member: MemberSpec): string | undefined {
  if (Object.hasOwn(json, member.wireName)) return member.wireName;
  if (CASE_TOLERANT_MEMBERS.has(name)) {
    const alt = member.wireName[0] === 'T' ? 'tags' : 'Tags';
    if (Object.hasOwn(json, alt)) return alt;
  }
  return undefined;
}

/** Body members by their JSON key; unknown keys and JSON nulls are dropped. */
function structureFromJson(json: Record<string, unknown>, members: Readonly<Record<string, MemberSpec>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(members)) {
    if (member.location !== 'body') continue;
    const k = jsonKeyOf(json, name, member);
    const raw = k === undefined ? undefined : json[k];
    if (raw === undefined || raw === null) continue;
    out[name] = fromJson(raw, member);
  }
  return out;
}

/** Converts one text value (label, query or header) to the member's type where the wire forces it. */
function fromText(text: string, el: ElementSpec): unknown {
  const shape = shapeOf(el.target);
  switch (shape?.type) {
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return /^[+-]?\d+$/.test(text.trim()) ? Number.parseInt(text, 10) : text;
    case 'float':
    case 'double': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'timestamp': {
      const n = Number(text);
      return toTimestamp(text.trim() !== '' && Number.isFinite(n) ? n : text);
    }
    default:
      return text;
  }
}

function headerValues(headers: WireRequest['headers']): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const list = out.get(name.toLowerCase()) ?? [];
    list.push(...(Array.isArray(value) ? value : [value]));
    out.set(name.toLowerCase(), list);
  }
  return out;
}

/** Values bound to one query key or header, converted; lists take every value, scalars the first. */
function fromTextValues(values: readonly string[], member: MemberSpec, splitCommas: boolean): unknown {
  const shape = shapeOf(member.target);
  if (shape?.type === 'list') {
    const items = splitCommas ? values.flatMap((v) => v.split(',').map((s) => s.trim())) : values;
    return items.map((v) => fromText(v, shape.member));
  }
  const first = values[0];
  return first === undefined ? undefined : fromText(first, member);
}

function parseBody(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  if (jsonDepthExceeds(text, MAX_BODY_DEPTH)) {
    throw new ValidationError('MEMBER_INVALID', `The request body nests arrays or objects more than ${MAX_BODY_DEPTH} levels deep; no MediaPackage v2 request needs that.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ValidationError('MEMBER_INVALID', `The request body is not valid JSON: ${reason}.`);
  }
  if (!isJsonObject(json)) {
    const got = json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`;
    throw new ValidationError('MEMBER_INVALID', `The request body must be a JSON object, not ${got}.`);
  }
  return json;
}

/**
 * The input of `operation` as a plain object keyed by member names. Throws ValidationError
 * (MEMBER_INVALID) when an operation with body members receives a body that is not a JSON object.
 */
export function parseInput(operation: OperationName, req: WireRequest): Record<string, unknown> {
  const input = shapeOf(OPERATIONS[operation].input);
  if (input === undefined || (input.type !== 'structure' && input.type !== 'union')) return {};
  const members = Object.entries(input.members);
  const hasBody = members.some(([, m]) => m.location === 'body');
  const json = hasBody ? parseBody(req.body) : {};
  const headers = headerValues(req.headers);
  const out = hasBody ? structureFromJson(json, input.members) : {};
  for (const [name, member] of members) {
    let value: unknown;
    if (member.location === 'label') {
      const raw = req.labels[member.wireName];
      value = raw === undefined ? undefined : fromText(raw, member);
    } else if (member.location === 'query') {
      const values = req.query.getAll(member.wireName);
      value = values.length === 0 ? undefined : fromTextValues(values, member, false);
    } else if (member.location === 'header') {
      const values = headers.get(member.wireName);
      value = values === undefined ? undefined : fromTextValues(values, member, true);
    } else {
      continue;
    }
    if (value !== undefined) out[name] = value;
  }
  return out;
}
