/**
 * Generates the wire layer (src/api/generated/model.ts and types.ts) from the Smithy model, merging
 * in the members and enum values that exist only in the newer botocore JSON (API.md §10).
 * `--check` regenerates in memory and exits 1 if the files on disk differ. Owns no runtime code and
 * copies no documentation text out of the model.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type {
  Bounds,
  ElementSpec,
  HttpMethod,
  JsonValue,
  MemberLocation,
  MemberSpec,
  OperationSpec,
  PaginationSpec,
  ShapeSpec,
  TimestampFormat,
} from '../src/api/protocol/spec-types.js';

export const SMITHY_FILE = 'mediapackagev2.smithy.json';
export const BOTOCORE_FILE = path.join('botocore', 'service-2.json');
export const MODEL_OUT = 'src/api/generated/model.ts';
export const TYPES_OUT = 'src/api/generated/types.ts';

// ---------------------------------------------------------------------------------------------
// Input formats (only the parts this generator reads)

type Traits = Readonly<Record<string, unknown>>;

interface SmithyRef {
  readonly target: string;
}

interface SmithyMember {
  readonly target: string;
  readonly traits?: Traits;
}

interface SmithyShape {
  readonly type: string;
  readonly members?: Readonly<Record<string, SmithyMember>>;
  readonly member?: SmithyMember;
  readonly key?: SmithyMember;
  readonly value?: SmithyMember;
  readonly input?: SmithyRef;
  readonly output?: SmithyRef;
  readonly errors?: readonly SmithyRef[];
  readonly operations?: readonly SmithyRef[];
  readonly collectionOperations?: readonly SmithyRef[];
  readonly resources?: readonly SmithyRef[];
  readonly create?: SmithyRef;
  readonly put?: SmithyRef;
  readonly read?: SmithyRef;
  readonly update?: SmithyRef;
  readonly delete?: SmithyRef;
  readonly list?: SmithyRef;
  readonly traits?: Traits;
}

interface SmithyModel {
  readonly shapes: Readonly<Record<string, SmithyShape>>;
}

interface BotoMember {
  readonly shape: string;
  readonly location?: string;
  readonly locationName?: string;
  readonly idempotencyToken?: boolean;
}

interface BotoShape {
  readonly type: string;
  readonly members?: Readonly<Record<string, BotoMember>>;
  readonly required?: readonly string[];
  readonly union?: boolean;
  readonly member?: BotoMember;
  readonly key?: BotoMember;
  readonly value?: BotoMember;
  readonly enum?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly timestampFormat?: string;
}

interface BotoModel {
  readonly shapes: Readonly<Record<string, BotoShape>>;
}

/** The working form: Smithy shapes keyed by short name, member targets as short names. */
interface WorkShape {
  type: string;
  members?: Record<string, WorkMember>;
  member?: WorkMember;
  key?: WorkMember;
  value?: WorkMember;
  traits: Record<string, unknown>;
  input?: string;
  output?: string;
  errors?: string[];
}

interface WorkMember {
  target: string;
  traits: Record<string, unknown>;
}

const PRELUDE: Readonly<Record<string, string>> = {
  String: 'string',
  Boolean: 'boolean',
  PrimitiveBoolean: 'boolean',
  Byte: 'byte',
  PrimitiveByte: 'byte',
  Short: 'short',
  PrimitiveShort: 'short',
  Integer: 'integer',
  PrimitiveInteger: 'integer',
  Long: 'long',
  PrimitiveLong: 'long',
  Float: 'float',
  PrimitiveFloat: 'float',
  Double: 'double',
  PrimitiveDouble: 'double',
  Timestamp: 'timestamp',
  Blob: 'blob',
  Document: 'document',
  Unit: 'structure',
};

const UNSUPPORTED_BINDINGS = [
  'smithy.api#httpPayload',
  'smithy.api#httpPrefixHeaders',
  'smithy.api#httpQueryParams',
  'smithy.api#httpResponseCode',
];

// ---------------------------------------------------------------------------------------------
// Locating the repository and the spec

/** The repository root: the nearest ancestor of `start` holding this project's package.json. */
export function findRepoRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
      if (parsed.name === 'packhouse') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`codegen: no packhouse package.json above ${start}`);
    dir = parent;
  }
}

/** `$PACKHOUSE_SPEC_DIR`, else the repository's own `model/` folder. */
export function resolveSpecDir(root: string = findRepoRoot()): string {
  const override = process.env['PACKHOUSE_SPEC_DIR'];
  return override !== undefined && override !== '' ? path.resolve(override) : path.resolve(root, 'model');
}

// ---------------------------------------------------------------------------------------------
// Loading and merging

function shortName(id: string): string {
  const hash = id.indexOf('#');
  return hash < 0 ? id : id.slice(hash + 1);
}

function loadSmithy(model: SmithyModel): { shapes: Map<string, WorkShape>; service: WorkShape & { id: string } } {
  const shapes = new Map<string, WorkShape>();
  let service: (WorkShape & { id: string }) | undefined;
  const toMember = (m: SmithyMember): WorkMember => ({ target: shortName(m.target), traits: { ...m.traits } });
  for (const [id, raw] of Object.entries(model.shapes)) {
    const name = shortName(id);
    if (shapes.has(name)) throw new Error(`codegen: two shapes are named ${name}`);
    if (name in PRELUDE) throw new Error(`codegen: model shape ${id} shadows the prelude type ${name}`);
    const shape: WorkShape = { type: raw.type, traits: { ...raw.traits } };
    if (raw.members !== undefined) {
      shape.members = Object.fromEntries(Object.entries(raw.members).map(([k, m]) => [k, toMember(m)]));
    }
    if (raw.member !== undefined) shape.member = toMember(raw.member);
    if (raw.key !== undefined) shape.key = toMember(raw.key);
    if (raw.value !== undefined) shape.value = toMember(raw.value);
    if (raw.input !== undefined) shape.input = shortName(raw.input.target);
    if (raw.output !== undefined) shape.output = shortName(raw.output.target);
    if (raw.errors !== undefined) shape.errors = raw.errors.map((e) => shortName(e.target));
    shapes.set(name, shape);
    if (raw.type === 'service') {
      if (service !== undefined) throw new Error('codegen: more than one service shape');
      service = { ...shape, id };
    }
  }
  if (service === undefined) throw new Error('codegen: the model has no service shape');
  return { shapes, service };
}

const BOTO_TIMESTAMP_FORMATS: Readonly<Record<string, TimestampFormat>> = {
  iso8601: 'date-time',
  unixTimestamp: 'epoch-seconds',
  rfc822: 'http-date',
};

/**
 * Adds what only botocore knows: members missing from a Smithy structure (with any shapes they
 * need, converted to Smithy form) and enum values missing from a Smithy enum.
 */
function mergeBotocore(shapes: Map<string, WorkShape>, boto: BotoModel): void {
  const botoShape = (name: string): BotoShape => {
    const s = boto.shapes[name];
    if (s === undefined) throw new Error(`codegen: botocore shape ${name} is referenced but missing`);
    return s;
  };

  const importTarget = (name: string): { target: string; traits: Record<string, unknown> } => {
    const b = botoShape(name);
    if (b.type === 'timestamp') {
      const fmt = b.timestampFormat === undefined ? undefined : BOTO_TIMESTAMP_FORMATS[b.timestampFormat];
      return { target: 'Timestamp', traits: fmt === undefined ? {} : { 'smithy.api#timestampFormat': fmt } };
    }
    if (shapes.has(name)) return { target: name, traits: {} };
    const constrained = b.min !== undefined || b.max !== undefined || b.pattern !== undefined || b.enum !== undefined;
    if (name in PRELUDE && !constrained) return { target: name, traits: {} };
    // Registered before converting so that a self-referencing botocore shape terminates.
    const placeholder: WorkShape = { type: 'pending', traits: {} };
    shapes.set(name, placeholder);
    Object.assign(placeholder, convertShape(b));
    return { target: name, traits: {} };
  };

  const convertMember = (m: BotoMember, required: boolean): WorkMember => {
    const { target, traits } = importTarget(m.shape);
    if (required) traits['smithy.api#required'] = {};
    if (m.idempotencyToken === true) traits['smithy.api#idempotencyToken'] = {};
    if (m.location === 'uri') traits['smithy.api#httpLabel'] = {};
    else if (m.location === 'querystring') traits['smithy.api#httpQuery'] = m.locationName ?? '';
    else if (m.location === 'header') traits['smithy.api#httpHeader'] = m.locationName ?? '';
    else if (m.location !== undefined) throw new Error(`codegen: unsupported botocore location ${m.location}`);
    else if (m.locationName !== undefined) traits['smithy.api#jsonName'] = m.locationName;
    return { target, traits };
  };

  const bounds = (b: BotoShape): Bounds | undefined => {
    if (b.min === undefined && b.max === undefined) return undefined;
    return { ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}) };
  };

  function convertShape(b: BotoShape): WorkShape {
    const traits: Record<string, unknown> = {};
    const limits = bounds(b);
    switch (b.type) {
      case 'structure': {
        const required = new Set(b.required ?? []);
        const members: Record<string, WorkMember> = {};
        for (const [k, m] of Object.entries(b.members ?? {})) members[k] = convertMember(m, required.has(k));
        return { type: b.union === true ? 'union' : 'structure', members, traits };
      }
      case 'list':
        if (b.member === undefined) throw new Error('codegen: botocore list without member');
        if (limits !== undefined) traits['smithy.api#length'] = limits;
        return { type: 'list', member: convertMember(b.member, false), traits };
      case 'map':
        if (b.key === undefined || b.value === undefined) throw new Error('codegen: botocore map without key/value');
        if (limits !== undefined) traits['smithy.api#length'] = limits;
        return { type: 'map', key: convertMember(b.key, false), value: convertMember(b.value, false), traits };
      case 'string':
        if (b.enum !== undefined) {
          const members = Object.fromEntries(
            b.enum.map((v) => [v, { target: 'Unit', traits: { 'smithy.api#enumValue': v } }]),
          );
          return { type: 'enum', members, traits };
        }
        if (limits !== undefined) traits['smithy.api#length'] = limits;
        if (b.pattern !== undefined) traits['smithy.api#pattern'] = b.pattern;
        return { type: 'string', traits };
      case 'integer':
      case 'long':
      case 'float':
      case 'double':
        if (limits !== undefined) traits['smithy.api#range'] = limits;
        return { type: b.type, traits };
      case 'boolean':
      case 'blob':
        return { type: b.type, traits };
      default:
        throw new Error(`codegen: unsupported botocore shape type ${b.type}`);
    }
  }

  for (const [name, b] of Object.entries(boto.shapes)) {
    const existing = shapes.get(name);
    if (existing === undefined) continue;
    if (b.type === 'structure' && (existing.type === 'structure' || existing.type === 'union')) {
      const members = existing.members ?? {};
      const required = new Set(b.required ?? []);
      for (const [k, m] of Object.entries(b.members ?? {})) {
        if (!(k in members)) members[k] = convertMember(m, required.has(k));
      }
      existing.members = members;
    } else if (b.enum !== undefined && existing.type === 'enum') {
      const members = existing.members ?? {};
      const known = new Set(Object.entries(members).map(([k, m]) => enumValueOf(k, m)));
      for (const v of b.enum) {
        if (!known.has(v) && !(v in members)) members[v] = { target: 'Unit', traits: { 'smithy.api#enumValue': v } };
      }
      existing.members = members;
    }
  }
}

function enumValueOf(memberName: string, m: WorkMember): string {
  const v = m.traits['smithy.api#enumValue'];
  return typeof v === 'string' ? v : memberName;
}

// ---------------------------------------------------------------------------------------------
// Building the tables

function refsOf(shape: WorkShape): string[] {
  const out: string[] = [];
  const push = (s: { target: string } | undefined): void => {
    if (s !== undefined) out.push(s.target);
  };
  push(shape.member);
  push(shape.key);
  push(shape.value);
  if (shape.type !== 'enum' && shape.type !== 'intEnum') for (const m of Object.values(shape.members ?? {})) push(m);
  return out;
}

/** Every operation bound to the service, directly or through its resources (recursively). */
function operationClosure(model: SmithyModel, serviceId: string): string[] {
  const ops = new Set<string>();
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const container = model.shapes[id];
    if (container === undefined) throw new Error(`codegen: missing shape ${id}`);
    const lifecycle = [container.create, container.put, container.read, container.update, container.delete, container.list];
    for (const ref of [...lifecycle, ...(container.operations ?? []), ...(container.collectionOperations ?? [])]) {
      if (ref !== undefined) ops.add(shortName(ref.target));
    }
    for (const ref of container.resources ?? []) visit(ref.target);
  };
  visit(serviceId);
  return [...ops].sort();
}

function traitBounds(v: unknown): Bounds | undefined {
  if (v === undefined || v === null || typeof v !== 'object') return undefined;
  const o = v as { min?: unknown; max?: unknown };
  const out: { min?: number; max?: number } = {};
  if (typeof o.min === 'number') out.min = o.min;
  if (typeof o.max === 'number') out.max = o.max;
  return out.min === undefined && out.max === undefined ? undefined : out;
}

function asTimestampFormat(v: unknown): TimestampFormat | undefined {
  return v === 'epoch-seconds' || v === 'date-time' || v === 'http-date' ? v : undefined;
}

function targetTraits(shapes: Map<string, WorkShape>, target: string): Record<string, unknown> {
  return shapes.get(target)?.traits ?? {};
}

function elementSpec(shapes: Map<string, WorkShape>, m: WorkMember): ElementSpec {
  const own = m.traits;
  const inherited = targetTraits(shapes, m.target);
  const pick = (trait: string): unknown => (trait in own ? own[trait] : inherited[trait]);
  const length = traitBounds(pick('smithy.api#length'));
  const range = traitBounds(pick('smithy.api#range'));
  const pattern = pick('smithy.api#pattern');
  const timestampFormat = asTimestampFormat(pick('smithy.api#timestampFormat'));
  return {
    target: m.target,
    ...(length !== undefined ? { length } : {}),
    ...(range !== undefined ? { range } : {}),
    ...(typeof pattern === 'string' ? { pattern } : {}),
    ...(timestampFormat !== undefined ? { timestampFormat } : {}),
  };
}

function memberSpec(shapes: Map<string, WorkShape>, owner: string, name: string, m: WorkMember): MemberSpec {
  const t = m.traits;
  for (const binding of UNSUPPORTED_BINDINGS) {
    if (binding in t) throw new Error(`codegen: ${owner}.${name} uses ${binding}, which the protocol layer does not support`);
  }
  let location: MemberLocation = 'body';
  let wireName = name;
  if ('smithy.api#httpLabel' in t) {
    location = 'label';
  } else if (typeof t['smithy.api#httpQuery'] === 'string') {
    location = 'query';
    wireName = t['smithy.api#httpQuery'];
  } else if (typeof t['smithy.api#httpHeader'] === 'string') {
    location = 'header';
    wireName = t['smithy.api#httpHeader'].toLowerCase();
  } else if (typeof t['smithy.api#jsonName'] === 'string') {
    wireName = t['smithy.api#jsonName'];
  }
  const def = t['smithy.api#default'];
  const { target, ...constraints } = elementSpec(shapes, m);
  return {
    target,
    required: 'smithy.api#required' in t,
    location,
    wireName,
    ...constraints,
    ...(def !== undefined && def !== null ? { default: def as JsonValue } : {}),
    ...('smithy.api#idempotencyToken' in t ? { idempotencyToken: true } : {}),
  };
}

function shapeSpec(shapes: Map<string, WorkShape>, name: string, s: WorkShape): ShapeSpec {
  const length = traitBounds(s.traits['smithy.api#length']);
  const range = traitBounds(s.traits['smithy.api#range']);
  const pattern = s.traits['smithy.api#pattern'];
  const members = (): Record<string, MemberSpec> =>
    Object.fromEntries(Object.entries(s.members ?? {}).map(([k, m]) => [k, memberSpec(shapes, name, k, m)]));
  switch (s.type) {
    case 'structure': {
      const error = s.traits['smithy.api#error'];
      const httpError = s.traits['smithy.api#httpError'];
      return {
        type: 'structure',
        members: members(),
        ...(error === 'client' || error === 'server' ? { error } : {}),
        ...(typeof httpError === 'number' ? { httpError } : {}),
      };
    }
    case 'union':
      return { type: 'union', members: members() };
    case 'list':
    case 'set':
      if (s.member === undefined) throw new Error(`codegen: list ${name} has no member`);
      return { type: 'list', member: elementSpec(shapes, s.member), ...(length !== undefined ? { length } : {}) };
    case 'map':
      if (s.key === undefined || s.value === undefined) throw new Error(`codegen: map ${name} lacks key or value`);
      return {
        type: 'map',
        key: elementSpec(shapes, s.key),
        value: elementSpec(shapes, s.value),
        ...(length !== undefined ? { length } : {}),
      };
    case 'enum':
      return {
        type: 'string',
        enum: Object.entries(s.members ?? {}).map(([k, m]) => enumValueOf(k, m)),
        ...(length !== undefined ? { length } : {}),
        ...(typeof pattern === 'string' ? { pattern } : {}),
      };
    case 'string':
      return {
        type: 'string',
        ...(length !== undefined ? { length } : {}),
        ...(typeof pattern === 'string' ? { pattern } : {}),
      };
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
      return { type: s.type, ...(range !== undefined ? { range } : {}) };
    case 'float':
    case 'double':
      return { type: s.type, ...(range !== undefined ? { range } : {}) };
    case 'timestamp': {
      const fmt = asTimestampFormat(s.traits['smithy.api#timestampFormat']);
      return { type: 'timestamp', ...(fmt !== undefined ? { timestampFormat: fmt } : {}) };
    }
    case 'blob':
      return { type: 'blob', ...(length !== undefined ? { length } : {}) };
    case 'boolean':
    case 'document':
      return { type: s.type };
    default:
      throw new Error(`codegen: shape ${name} has unsupported type ${s.type}`);
  }
}

const METHODS: readonly HttpMethod[] = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'];

function pagination(v: unknown, serviceDefault: unknown): PaginationSpec | undefined {
  if (v === undefined) return undefined;
  const merged = { ...(serviceDefault as object | undefined), ...(v as object) } as Record<string, unknown>;
  const field = (k: string): string => {
    const x = merged[k];
    if (typeof x !== 'string') throw new Error(`codegen: paginated trait lacks ${k}`);
    return x;
  };
  return { inputToken: field('inputToken'), outputToken: field('outputToken'), items: field('items'), pageSize: field('pageSize') };
}

function operationSpec(
  shapes: Map<string, WorkShape>,
  name: string,
  op: WorkShape,
  serviceErrors: readonly string[],
  servicePaginated: unknown,
): OperationSpec {
  const http = op.traits['smithy.api#http'] as { method?: unknown; uri?: unknown; code?: unknown } | undefined;
  if (http === undefined || typeof http.uri !== 'string' || typeof http.method !== 'string') {
    throw new Error(`codegen: operation ${name} has no http trait`);
  }
  const method = METHODS.find((m) => m === http.method);
  if (method === undefined) throw new Error(`codegen: operation ${name} uses unsupported method ${http.method}`);
  if (http.uri.includes('?') || http.uri.includes('+}')) {
    throw new Error(`codegen: operation ${name} has a query literal or greedy label in ${http.uri}`);
  }
  if (op.input === undefined || op.output === undefined) throw new Error(`codegen: operation ${name} lacks input/output`);
  const input = shapes.get(op.input);
  const tokenMember = Object.entries(input?.members ?? {}).find(([, m]) => 'smithy.api#idempotencyToken' in m.traits);
  const paginated = pagination(op.traits['smithy.api#paginated'], servicePaginated);
  return {
    name,
    method,
    uri: http.uri,
    successCode: typeof http.code === 'number' ? http.code : 200,
    input: op.input,
    output: op.output,
    errors: [...new Set([...(op.errors ?? []), ...serviceErrors])].sort(),
    idempotent: 'smithy.api#idempotent' in op.traits,
    readonly: 'smithy.api#readonly' in op.traits,
    ...(tokenMember !== undefined ? { idempotencyTokenMember: tokenMember[0] } : {}),
    ...(paginated !== undefined ? { paginated } : {}),
  };
}

export interface ServiceTables {
  readonly operations: ReadonlyMap<string, OperationSpec>;
  readonly shapes: ReadonlyMap<string, ShapeSpec>;
}

/** Builds the operation and shape tables from the two model files' parsed JSON. */
export function buildTables(smithy: SmithyModel, boto: BotoModel | undefined): ServiceTables {
  const { shapes, service } = loadSmithy(smithy);
  if (boto !== undefined) mergeBotocore(shapes, boto);

  const opNames = operationClosure(smithy, service.id);
  const serviceErrors = (smithy.shapes[service.id]?.errors ?? []).map((e) => shortName(e.target));
  const operations = new Map<string, OperationSpec>();
  for (const name of opNames) {
    const op = shapes.get(name);
    if (op === undefined || op.type !== 'operation') throw new Error(`codegen: ${name} is not an operation`);
    operations.set(name, operationSpec(shapes, name, op, serviceErrors, service.traits['smithy.api#paginated']));
  }

  const reachable = new Set<string>();
  const queue: string[] = [];
  for (const op of operations.values()) queue.push(op.input, op.output, ...op.errors);
  while (queue.length > 0) {
    const name = queue.pop();
    if (name === undefined || reachable.has(name)) continue;
    reachable.add(name);
    const shape = shapes.get(name);
    if (shape !== undefined) queue.push(...refsOf(shape));
    else if (!(name in PRELUDE)) throw new Error(`codegen: unknown shape ${name}`);
  }

  const specs = new Map<string, ShapeSpec>();
  for (const name of [...reachable].sort()) {
    const shape = shapes.get(name) ?? { type: PRELUDE[name] ?? 'unknown', traits: {} };
    specs.set(name, shapeSpec(shapes, name, shape));
  }
  return { operations, shapes: specs };
}

// ---------------------------------------------------------------------------------------------
// Emitting TypeScript

function quote(s: string): string {
  const body = JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${body}'`;
}

function key(k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : quote(k);
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** A TypeScript literal for a JSON-like value; small flat objects and arrays stay on one line. */
function literal(v: unknown, indent: string): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) {
    const items: unknown[] = v;
    const inline = `[${items.map((x) => literal(x, indent)).join(', ')}]`;
    if (items.every(isPrimitive) && inline.length + indent.length <= 100) return inline;
    const inner = indent + '  ';
    return `[\n${items.map((x) => `${inner}${literal(x, inner)},\n`).join('')}${indent}]`;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    const inline = `{ ${entries.map(([k, x]) => `${key(k)}: ${literal(x, indent)}`).join(', ')} }`;
    if (!inline.includes('\n') && inline.length + indent.length <= 100 && entries.every(([, x]) => isFlat(x))) {
      return inline;
    }
    const inner = indent + '  ';
    return `{\n${entries.map(([k, x]) => `${inner}${key(k)}: ${literal(x, inner)},\n`).join('')}${indent}}`;
  }
  throw new Error(`codegen: cannot emit ${typeof v}`);
}

function isFlat(v: unknown): boolean {
  if (isPrimitive(v)) return true;
  if (Array.isArray(v)) return v.every(isPrimitive);
  return Object.values(v as object).every(isPrimitive);
}

function banner(modelSha: string, botoSha: string | undefined): string {
  return [
    '// This file was generated by scripts/codegen.ts; do not edit.',
    `// Model: ${SMITHY_FILE} (SHA-256 ${modelSha})`,
    ...(botoSha !== undefined ? [`// Merged: ${BOTOCORE_FILE.split(path.sep).join('/')} (SHA-256 ${botoSha})`] : []),
    '// Regenerate with `npm run codegen`; CI runs `npm run codegen:check`.',
    '',
  ].join('\n');
}

function emitModel(tables: ServiceTables, head: string): string {
  const names = [...tables.operations.keys()];
  const out: string[] = [head];
  out.push("import type { OperationSpec, ShapeSpec } from '../protocol/spec-types.js';", '');
  out.push('export type OperationName =', ...names.map((n, i) => `  | ${quote(n)}${i === names.length - 1 ? ';' : ''}`), '');
  out.push(`export const OPERATION_NAMES: readonly OperationName[] = ${literal(names, '')};`, '');
  out.push(
    `export const OPERATIONS: Readonly<Record<OperationName, OperationSpec>> = ${literal(Object.fromEntries(tables.operations), '')};`,
    '',
  );
  out.push(`export const SHAPES: Readonly<Record<string, ShapeSpec>> = ${literal(Object.fromEntries(tables.shapes), '')};`, '');
  return out.join('\n');
}

function tsTypeOf(tables: ServiceTables, el: ElementSpec): string {
  const shape = tables.shapes.get(el.target);
  if (shape === undefined) throw new Error(`codegen: no shape for ${el.target}`);
  switch (shape.type) {
    case 'structure':
    case 'union':
      return el.target;
    case 'list':
      return `${tsTypeOf(tables, shape.member)}[]`;
    case 'map':
      return `Record<string, ${tsTypeOf(tables, shape.value)}>`;
    case 'string':
      return shape.enum !== undefined ? el.target : 'string';
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'Date';
    case 'blob':
      return 'Uint8Array';
    case 'document':
      return 'unknown';
  }
}

function emitTypes(tables: ServiceTables, head: string): string {
  const out: string[] = [head];
  for (const [name, shape] of tables.shapes) {
    if (shape.type === 'string' && shape.enum !== undefined) {
      const values = shape.enum;
      const oneLine = `export type ${name} = ${values.map(quote).join(' | ')};`;
      if (oneLine.length <= 100) out.push(oneLine, '');
      else out.push(`export type ${name} =`, ...values.map((v, i) => `  | ${quote(v)}${i === values.length - 1 ? ';' : ''}`), '');
    } else if (shape.type === 'structure' || shape.type === 'union') {
      const members = Object.entries(shape.members);
      if (members.length === 0) {
        out.push(`export type ${name} = Record<string, never>;`, '');
        continue;
      }
      out.push(`export interface ${name} {`);
      for (const [m, spec] of members) {
        const t = tsTypeOf(tables, spec);
        const required = spec.required && shape.type === 'structure';
        out.push(required ? `  ${key(m)}: ${t};` : `  ${key(m)}?: ${t} | undefined;`);
      }
      out.push('}', '');
    }
  }
  out.push('export interface OperationTypes {');
  for (const [name, op] of tables.operations) out.push(`  ${name}: { input: ${op.input}; output: ${op.output} };`);
  out.push('}', '');
  out.push("export type OperationInput<O extends keyof OperationTypes> = OperationTypes[O]['input'];");
  out.push("export type OperationOutput<O extends keyof OperationTypes> = OperationTypes[O]['output'];", '');
  return out.join('\n');
}

export interface GeneratedFile {
  /** Path relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly content: string;
}

/** Generates every output file in memory from the spec folder. */
export function generate(specDir: string): GeneratedFile[] {
  const smithyText = readFileSync(path.join(specDir, SMITHY_FILE));
  const botoPath = path.join(specDir, BOTOCORE_FILE);
  const botoText = existsSync(botoPath) ? readFileSync(botoPath) : undefined;
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const tables = buildTables(
    JSON.parse(smithyText.toString('utf8')) as SmithyModel,
    botoText === undefined ? undefined : (JSON.parse(botoText.toString('utf8')) as BotoModel),
  );
  const head = banner(sha(smithyText), botoText === undefined ? undefined : sha(botoText));
  return [
    { path: MODEL_OUT, content: emitModel(tables, head) },
    { path: TYPES_OUT, content: emitTypes(tables, head) },
  ];
}

/** Paths (relative to root) whose content on disk differs from a fresh generation. */
export function outdatedFiles(root: string, specDir: string): string[] {
  return generate(specDir)
    .filter((f) => {
      const onDisk = path.join(root, f.path);
      return !existsSync(onDisk) || readFileSync(onDisk, 'utf8') !== f.content;
    })
    .map((f) => f.path);
}

function main(argv: readonly string[]): number {
  const root = findRepoRoot();
  const specDir = resolveSpecDir(root);
  if (argv.includes('--check')) {
    const stale = outdatedFiles(root, specDir);
    if (stale.length > 0) {
      process.stderr.write(
        `codegen: generated files are out of date with ${path.join(specDir, SMITHY_FILE)}:\n` +
          stale.map((p) => `  ${p}\n`).join('') +
          'Run `npm run codegen` and commit the result.\n',
      );
      return 1;
    }
    process.stdout.write('codegen: generated files are up to date.\n');
    return 0;
  }
  for (const f of generate(specDir)) {
    const target = path.join(root, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    process.stdout.write(`codegen: wrote ${f.path}\n`);
  }
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) process.exitCode = main(process.argv.slice(2));
