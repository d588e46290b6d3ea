/**
 * Checks a parsed input against the model's constraints (required, types, length, range, pattern,
 * enum, union arity) and throws the first failure as a ValidationError typed per API.md §4.3.
 * Messages name the member path as the client sent it. Business rules belong to the domain, not here.
 */

import { ValidationError } from '../../domain/errors.js';
import { OPERATIONS, SHAPES, type OperationName } from '../generated/model.js';
import type { Bounds, ElementSpec, MemberSpec, StringShape } from './spec-types.js';

/** Every pattern in the model, compiled once. Smithy patterns are ECMA-262 and not implicitly anchored. */
const PATTERNS: ReadonlyMap<string, RegExp> = (() => {
  const found = new Set<string>();
  const add = (el: { readonly pattern?: string }): void => {
    if (el.pattern !== undefined) found.add(el.pattern);
  };
  for (const shape of Object.values(SHAPES)) {
    if (shape.type === 'string') add(shape);
    else if (shape.type === 'list') add(shape.member);
    else if (shape.type === 'map') {
      add(shape.key);
      add(shape.value);
    } else if (shape.type === 'structure' || shape.type === 'union') Object.values(shape.members).forEach(add);
  }
  return new Map([...found].map((p) => [p, new RegExp(p)]));
})();

/** Plain-language readings of the model's patterns, appended to pattern failures. */
const PATTERN_HINTS: Readonly<Record<string, string>> = {
  '^[a-zA-Z0-9_-]+$': 'letters, digits, hyphens and underscores only',
  '^[0-9a-zA-Z_-]+$': 'letters, digits, hyphens and underscores only',
  '^[a-zA-Z0-9-]+$': 'letters, digits and hyphens only',
  '^[\\S]+$': 'no whitespace',
  '^[0-9a-fA-F]+$': 'hexadecimal digits only',
};

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/** Where the failing value sits, and whether it is the operation's page-size member. */
interface Context {
  readonly path: string;
  readonly pageSize: boolean;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a timestamp';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

/** A short rendering of a client's value for a message; never throws (an invalid Date, a cycle, a deep array). */
function show(v: unknown): string {
  let text: string;
  try {
    text = v instanceof Date ? (Number.isNaN(v.getTime()) ? 'an invalid date' : v.toISOString()) : (JSON.stringify(v) ?? String(v));
  } catch {
    text = describe(v);
  }
  return text.length > 64 ? `${text.slice(0, 60)}…` : text;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function fail(type: string, message: string): never {
  throw new ValidationError(type, message);
}

function invalid(ctx: Context, message: string): never {
  return fail(ctx.pageSize ? 'INVALID_PAGINATION_MAX_RESULTS' : 'MEMBER_INVALID', message);
}

function checkLength(ctx: Context, count: number, bounds: Bounds | undefined, unit: [string, string], isWas: string): void {
  if (bounds === undefined) return;
  if (bounds.min !== undefined && count < bounds.min) {
    fail('MEMBER_MIN_LENGTH', `${ctx.path} ${isWas} ${plural(count, ...unit)}; the minimum is ${bounds.min}.`);
  }
  if (bounds.max !== undefined && count > bounds.max) {
    fail('MEMBER_MAX_LENGTH', `${ctx.path} ${isWas} ${plural(count, ...unit)}; the maximum is ${bounds.max}.`);
  }
}

function allowedRange(bounds: Bounds): string {
  if (bounds.min !== undefined && bounds.max !== undefined) return ` from ${bounds.min} to ${bounds.max}`;
  if (bounds.min !== undefined) return ` of at least ${bounds.min}`;
  return bounds.max !== undefined ? ` of at most ${bounds.max}` : '';
}

function checkRange(ctx: Context, n: number, bounds: Bounds | undefined): void {
  if (bounds === undefined) return;
  const below = bounds.min !== undefined && n < bounds.min;
  const above = bounds.max !== undefined && n > bounds.max;
  if (!below && !above) return;
  if (ctx.pageSize) fail('INVALID_PAGINATION_MAX_RESULTS', `${ctx.path} is ${n}; it must be an integer${allowedRange(bounds)}.`);
  if (below) fail('MEMBER_MIN_VALUE', `${ctx.path} is ${n}; the minimum is ${String(bounds.min)}.`);
  fail('MEMBER_MAX_VALUE', `${ctx.path} is ${n}; the maximum is ${String(bounds.max)}.`);
}

function checkString(ctx: Context, v: unknown, el: ElementSpec, shape: StringShape): void {
  if (typeof v !== 'string') invalid(ctx, `${ctx.path} must be a string, not ${describe(v)}.`);
  const length = el.length ?? shape.length;
  if (length !== undefined) {
    let chars = 0;
    for (const _ of v) chars++;
    checkLength(ctx, chars, length, ['character long', 'characters long'], 'is');
  }
  const pattern = el.pattern ?? shape.pattern;
  const re = pattern === undefined ? undefined : PATTERNS.get(pattern);
  if (pattern !== undefined && re !== undefined && !re.test(v)) {
    const hint = PATTERN_HINTS[pattern];
    fail(
      'MEMBER_DOES_NOT_MATCH_PATTERN',
      `${ctx.path} ${show(v)} is invalid: it must match ${pattern}${hint !== undefined ? ` (${hint})` : ''}.`,
    );
  }
  if (shape.enum !== undefined && !shape.enum.includes(v)) {
    fail('MEMBER_INVALID_ENUM_VALUE', `${ctx.path} ${show(v)} is not a valid value; it must be one of ${shape.enum.join(', ')}.`);
  }
}

function checkNumber(
  ctx: Context,
  v: unknown,
  el: ElementSpec,
  shape: { readonly type: string; readonly range?: Bounds },
  integral: boolean,
): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    const got = typeof v === 'string' ? `${describe(v)} (${show(v)})` : describe(v);
    invalid(ctx, `${ctx.path} must be ${integral ? 'an integer' : 'a number'}, not ${got}.`);
  }
  if (integral && !Number.isInteger(v)) invalid(ctx, `${ctx.path} must be an integer, not ${v}.`);
  if (shape.type === 'integer' && (v < INT32.min || v > INT32.max)) {
    invalid(ctx, `${ctx.path} is ${v}, which does not fit in a 32-bit integer.`);
  }
  checkRange(ctx, v, el.range ?? shape.range);
}

function checkStructure(ctx: Context, v: unknown, members: Readonly<Record<string, MemberSpec>>, union: boolean): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) {
    invalid(ctx, `${ctx.path} must be an object, not ${describe(v)}.`);
  }
  const record = v as Record<string, unknown>;
  const present = Object.keys(members).filter((name) => record[name] !== undefined && record[name] !== null);
  if (union && present.length !== 1) {
    const names = Object.keys(members).join(', ');
    invalid(ctx, `${ctx.path} must set exactly one of ${names}; it sets ${present.length === 0 ? 'none' : present.join(', ')}.`);
  }
  for (const [name, member] of Object.entries(members)) {
    const child = record[name];
    const path = ctx.path === '' ? member.wireName : `${ctx.path}.${member.wireName}`;
    if (child === undefined || child === null) {
      if (member.required && !union) fail('MEMBER_MISSING', `${path} is required.`);
      continue;
    }
    checkValue({ path, pageSize: false }, child, member);
  }
}

function checkValue(ctx: Context, v: unknown, el: ElementSpec): void {
  const shape = SHAPES[el.target];
  if (shape === undefined) return;
  switch (shape.type) {
    case 'structure':
    case 'union':
      checkStructure(ctx, v, shape.members, shape.type === 'union');
      return;
    case 'list': {
      if (!Array.isArray(v)) invalid(ctx, `${ctx.path} must be an array, not ${describe(v)}.`);
      const items: readonly unknown[] = v;
      checkLength(ctx, items.length, el.length ?? shape.length, ['entry', 'entries'], 'has');
      items.forEach((item, i) => {
        const itemCtx = { path: `${ctx.path}[${i}]`, pageSize: false };
        if (item === null || item === undefined) invalid(itemCtx, `${itemCtx.path} must not be null.`);
        checkValue(itemCtx, item, shape.member);
      });
      return;
    }
    case 'map': {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) {
        invalid(ctx, `${ctx.path} must be an object, not ${describe(v)}.`);
      }
      const entries = Object.entries(v as Record<string, unknown>);
      checkLength(ctx, entries.length, el.length ?? shape.length, ['entry', 'entries'], 'has');
      for (const [k, item] of entries) {
        const itemCtx = { path: `${ctx.path}[${JSON.stringify(k)}]`, pageSize: false };
        checkValue({ path: `${ctx.path} key ${JSON.stringify(k)}`, pageSize: false }, k, shape.key);
        if (item === null || item === undefined) invalid(itemCtx, `${itemCtx.path} must not be null.`);
        checkValue(itemCtx, item, shape.value);
      }
      return;
    }
    case 'string':
      checkString(ctx, v, el, shape);
      return;
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      checkNumber(ctx, v, el, shape, true);
      return;
    case 'float':
    case 'double':
      checkNumber(ctx, v, el, shape, false);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') invalid(ctx, `${ctx.path} must be a boolean, not ${describe(v)}.`);
      return;
    case 'timestamp':
      if (!(v instanceof Date) || Number.isNaN(v.getTime())) {
        const format = (el.timestampFormat ?? shape.timestampFormat) === 'date-time' ? 'an ISO-8601 date-time' : 'epoch seconds';
        invalid(ctx, `${ctx.path} must be a timestamp (${format}), not ${describe(v)} ${show(v)}.`);
      }
      return;
    case 'blob':
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
        invalid(ctx, `${ctx.path} must be a base64 string, not ${describe(v)}.`);
      }
      return;
    case 'document':
      return;
  }
}

/**
 * Validates `input` (as built by parseInput) against the operation's input shape. Throws the first
 * failure, walking members in model order, as ValidationError; members not in the model are ignored.
 */
export function validateInput(operation: OperationName, input: Record<string, unknown>): void {
  const op = OPERATIONS[operation];
  const shape = SHAPES[op.input];
  if (shape === undefined || shape.type !== 'structure') return;
  const pageSize = op.paginated?.pageSize;
  for (const [name, member] of Object.entries(shape.members)) {
    const value = input[name];
    if (value === undefined || value === null) {
      if (member.required) fail('MEMBER_MISSING', `${member.wireName} is required.`);
      continue;
    }
    checkValue({ path: member.wireName, pageSize: name === pageSize }, value, member);
  }
}
