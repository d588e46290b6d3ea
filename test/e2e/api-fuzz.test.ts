/**
 * A model-driven fuzz of all 30 operations: requests built from the operation table and shapes in
 * src/api/generated/model.ts, each with something wrong (a wrong type, a value out of range, a bad
 * enum, an oversized string, bad JSON, deep nesting, a bad path label or query parameter), signed
 * with the SDK's signer and sent over HTTP to a real server. Every answer must be below 500 and,
 * when it is an error, carry a modelled error type of that operation in x-amzn-ErrorType and in
 * the body. Bounded in time; a seeded PRNG makes a failure reproducible:
 * PACKHOUSE_FUZZ_SEED=<seed printed in the failure> node scripts/run-tests.mjs e2e/api-fuzz
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { OPERATION_NAMES, OPERATIONS, SHAPES, type OperationName } from '../../src/api/generated/model.js';
import type { ElementSpec, MemberSpec, ShapeSpec } from '../../src/api/protocol/spec-types.js';
import { matchRoute } from '../../src/api/protocol/router.js';
import { LOCAL_KEYS, startServer, type TestServer } from '../support/server.js';
import { rawApi } from '../support/raw-api.js';
import { seededRandom } from '../support/seeded-random.js';

const SEED = Number(process.env['PACKHOUSE_FUZZ_SEED'] ?? 20261129);
const BUDGET_MS = 25_000;
const MAX_REQUESTS = 6_000;
const WORKERS = 6;
/** Errors any route may answer before an operation is known (documented in known-differences). */
const ROUTING_ERRORS = ['UnknownOperationException', 'MethodNotAllowedException'];


let server: TestServer;
/** Names of resources that exist, so that valid-looking requests reach the services. */
const FIX = { group: 'fz', channel: 'fc', endpoint: 'fe', job: 'fj' };

before(async () => {
  server = await startServer();
  const steps: [string, string, unknown][] = [
    ['POST', '/channelGroup', { ChannelGroupName: FIX.group }],
    ['POST', `/channelGroup/${FIX.group}/channel`, { ChannelName: FIX.channel }],
    ['POST', `/channelGroup/${FIX.group}/channel/${FIX.channel}/originEndpoint`, { OriginEndpointName: FIX.endpoint, ContainerType: 'TS', StartoverWindowSeconds: 3600, HlsManifests: [{ ManifestName: 'index' }] }],
  ];
  for (const [method, path, body] of steps) {
    const r = await rawApi(server.url, { method, path, body: JSON.stringify(body) });
    assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  }
});

after(async () => {
  await server?.stop();
});

class Gen {
  constructor(readonly rnd: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)]!;
  }
  word(min = 1, max = 12): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
    let s = '';
    for (let i = this.int(min, max); i > 0; i--) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
  /** Text with the characters that break parsers, paths, headers and manifests. */
  hostile(): string {
    return this.pick(['', ' ', '../../etc/passwd', 'a\nb', 'a\r\n#EXT-X-STREAM-INF:BANDWIDTH=1', '\u0000', '"\'<>&', '%zz%', 'ü🎬', 'a/b', 'a?b=c#d', '${x}', 'aws:tag', '\\u0041', 'x'.repeat(this.int(257, 5000))]);
  }
}

function shapeOf(el: ElementSpec): ShapeSpec | undefined {
  return SHAPES[el.target];
}

/** A value that fits the slot, as far as a generic generator can tell (patterns are approximated). */
function validValue(g: Gen, el: ElementSpec, depth: number): unknown {
  const shape = shapeOf(el);
  if (!shape) return g.word();
  switch (shape.type) {
    case 'structure':
    case 'union': {
      const out: Record<string, unknown> = {};
      const names = Object.keys(shape.members);
      const chosen = shape.type === 'union' ? [g.pick(names)] : names.filter((n) => shape.members[n]!.required || (depth < 4 && g.chance(0.3)));
      for (const n of chosen) {
        const m = shape.members[n]!;
        if (m.location === 'body') out[m.wireName] = validValue(g, m, depth + 1);
      }
      return out;
    }
    case 'list': {
      const len = el.length ?? shape.length;
      const n = g.int(len?.min ?? 0, Math.min(len?.max ?? 3, 3));
      return Array.from({ length: n }, () => validValue(g, shape.member, depth + 1));
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      for (let i = g.int(0, 3); i > 0; i--) out[g.word(1, 20)] = validValue(g, shape.value, depth + 1);
      return out;
    }
    case 'string': {
      if (shape.enum) return g.pick(shape.enum);
      const len = el.length ?? shape.length;
      return g.word(Math.max(1, len?.min ?? 1), Math.max(1, Math.min(len?.max ?? 24, 24)));
    }
    case 'byte':
    case 'short':
    case 'integer':
    case 'long': {
      const r = el.range ?? shape.range;
      return g.int(r?.min ?? 0, Math.min(r?.max ?? 1000, (r?.min ?? 0) + 1000));
    }
    case 'float':
    case 'double':
      return g.int(0, 100) / 4;
    case 'boolean':
      return g.chance(0.5);
    case 'timestamp':
      return Math.floor(Date.now() / 1000) - g.int(0, 7200);
    case 'blob':
      return Buffer.from(g.word()).toString('base64');
    case 'document':
      return {};
  }
}

function deep(g: Gen): unknown {
  const n = g.pick([33, 300, 1000]);
  return JSON.parse(g.chance(0.5) ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);
}

/** A value that does not fit the slot: the wrong type, out of range, a bad enum, too long, too deep. */
function invalidValue(g: Gen, el: ElementSpec): unknown {
  const shape = shapeOf(el);
  const generic = [null, true, 12, -1, 1e308, 'x', [], {}, [1, 'a', null], g.hostile()];
  if (!shape || g.chance(0.2)) return g.pick(generic);
  if (g.chance(0.05)) return deep(g);
  switch (shape.type) {
    case 'structure':
    case 'union': {
      if (g.chance(0.3)) return g.pick(['str', 5, [validValue(g, el, 3)], false]);
      const v = validValue(g, el, 3) as Record<string, unknown>;
      const members = Object.values(shape.members).filter((m) => m.location === 'body');
      if (members.length === 0) return v;
      if (shape.type === 'union' && members.length > 1 && g.chance(0.4)) {
        for (const m of members) v[m.wireName] = validValue(g, m, 4);
        return v;
      }
      const target = g.pick(members);
      if (target.required && g.chance(0.3)) delete v[target.wireName];
      else v[target.wireName] = invalidValue(g, target);
      return v;
    }
    case 'list': {
      const len = el.length ?? shape.length;
      return g.pick([
        'not a list',
        { a: 1 },
        [null],
        [invalidValue(g, shape.member)],
        Array.from({ length: (len?.max ?? 100) + 1 }, () => validValue(g, shape.member, 5)),
      ]);
    }
    case 'map':
      return g.pick([[1, 2], 'map', { [g.hostile()]: 'v' }, { k: null }, { k: invalidValue(g, shape.value) }, Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v']))]);
    case 'string': {
      const len = el.length ?? shape.length;
      return g.pick([
        g.int(-5, 5),
        true,
        ['a'],
        { s: 'a' },
        shape.enum ? `NOT_${g.pick(shape.enum)}` : g.hostile(),
        'y'.repeat((len?.max ?? 1024) + g.int(1, 3000)),
        len?.min !== undefined && len.min > 0 ? '' : g.hostile(),
      ]);
    }
    case 'byte':
    case 'short':
    case 'integer':
    case 'long': {
      const r = el.range ?? shape.range;
      return g.pick(['12', 1.5, 1e20, -1e20, (r?.min ?? 0) - 1, (r?.max ?? 2 ** 31) + 1, 2 ** 53 + 2, true, 'NaN', -0.0001]);
    }
    case 'float':
    case 'double':
      return g.pick(['1.5', 1e308, -1e308, false, [], {}]);
    case 'boolean':
      return g.pick(['true', 1, 0, null, [], 'yes']);
    case 'timestamp':
      return g.pick([1e308, 8.65e12, -1e15, 253402300800, -62167219201, 'yesterday', '2026-02-30T00:00:00Z', '0050-01-01T00:00:00Z', '1e9', true, [], {}, 1.5e9 + 0.123456]);
    default:
      return g.pick(generic);
  }
}

interface Sent {
  readonly op: OperationName;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string[]>;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
  readonly note: string;
}

function encodeLabel(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** One request for `op` with at least one thing wrong in it. */
function buildRequest(g: Gen, op: OperationName): Sent {
  const spec = OPERATIONS[op];
  const input = SHAPES[spec.input];
  const members: [string, MemberSpec][] = input && (input.type === 'structure' || input.type === 'union') ? Object.entries(input.members) : [];
  const labelValue = (name: string): string => {
    const fixture: Record<string, string> = {
      ChannelGroupName: FIX.group,
      ChannelName: FIX.channel,
      OriginEndpointName: FIX.endpoint,
      HarvestJobName: FIX.job,
      ResourceArn: `arn:aws:mediapackagev2:us-east-1:000000000000:channelGroup/${FIX.group}`,
    };
    return fixture[name] ?? g.word();
  };
  const labels: Record<string, string> = {};
  const query: Record<string, string[]> = {};
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  for (const [, m] of members) {
    if (m.location === 'label') labels[m.wireName] = encodeLabel(labelValue(m.wireName));
    else if (m.required || g.chance(0.4)) {
      const v = validValue(g, m, 0);
      if (m.location === 'body') body[m.wireName] = v;
      else if (m.location === 'query') query[m.wireName] = (Array.isArray(v) ? v : [v]).map(String);
      else if (m.location === 'header') headers[m.wireName] = String(v).replace(/[^\x20-\x7e]/g, '');
    }
  }
  let rawBody: Buffer | undefined;
  let method: string = spec.method;
  let note: string;
  const mutation = g.pick(['member', 'member', 'member', 'member', 'json', 'label', 'query', 'method', 'header']);
  switch (mutation) {
    case 'member': {
      const candidates = members.filter(([, m]) => m.location !== 'label');
      if (candidates.length === 0) {
        note = 'no members: bad query';
        query[g.word()] = [g.hostile()];
        break;
      }
      const [name, m] = g.pick(candidates);
      const bad = invalidValue(g, m);
      note = `member ${name} (${m.location})`;
      if (m.location === 'body') body[m.wireName] = bad;
      else if (m.location === 'query') query[m.wireName] = (Array.isArray(bad) ? bad : [bad]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x) ?? 'undefined'));
      else headers[m.wireName] = (typeof bad === 'string' ? bad : JSON.stringify(bad) ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 4000);
      break;
    }
    case 'json': {
      const text = JSON.stringify(body);
      const variant = g.int(0, 9);
      note = `bad JSON #${variant}`;
      rawBody = [
        Buffer.from(text.slice(0, Math.max(1, text.length - g.int(1, 5)))),
        Buffer.from('[1,2,3]'),
        Buffer.from('"a string"'),
        Buffer.from('null'),
        Buffer.from(`${text.slice(0, -1)},}`),
        Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
        Buffer.from(`\ufeff${text}`),
        Buffer.from(`${'['.repeat(20000)}`),
        Buffer.from(`{"a":${'{"a":'.repeat(g.int(30, 3000))}1${'}'.repeat(3000)}`),
        Buffer.from(`{"${Object.keys(body)[0] ?? 'x'}":1,"${Object.keys(body)[0] ?? 'x'}":"dup"}`),
      ][variant];
      break;
    }
    case 'label': {
      const names = Object.keys(labels);
      if (names.length === 0) {
        note = 'no labels: unknown path suffix';
        break;
      }
      const name = g.pick(names);
      const raw = g.pick([encodeLabel(g.hostile()), '%zz', '%', 'x'.repeat(g.int(257, 3000)), encodeLabel('a b'), '%2F', '%2e%2e', encodeLabel('\u0000')]);
      labels[name] = raw;
      note = `label ${name}=${raw.slice(0, 40)}`;
      break;
    }
    case 'query': {
      const qMembers = members.filter(([, m]) => m.location === 'query');
      const name = qMembers.length && g.chance(0.7) ? g.pick(qMembers)[1].wireName : g.word();
      query[name] = g.pick([[g.hostile()], ['abc'], ['0'], ['-1'], ['1e3'], ['99999999999'], ['1', '2'], [''], Array.from({ length: 150 }, () => g.word())]);
      note = `query ${name}`;
      break;
    }
    case 'method': {
      method = g.pick(['GET', 'PUT', 'POST', 'DELETE', 'PATCH'].filter((x) => x !== spec.method));
      note = `method ${method}`;
      break;
    }
    default: {
      const name = g.pick(['x-amzn-update-if-match', 'content-type', 'x-amzn-client-token', 'x-foo']);
      headers[name] = g.pick(['', 'x'.repeat(g.int(100, 6000)), '"quoted"', 'text/plain', 'a,b,c']);
      note = `header ${name}`;
    }
  }
  let path = spec.uri.replace(/\{([^}]+)\}/g, (_, n: string) => labels[n] ?? 'x');
  if (g.chance(0.5) && path.endsWith('/')) path = path.slice(0, -1);
  const hasBody = members.some(([, m]) => m.location === 'body');
  if (rawBody === undefined && (hasBody || g.chance(0.1))) rawBody = Buffer.from(JSON.stringify(body));
  return { op, method, path, query, headers, body: rawBody, note };
}

/** The modelled errors of the operation the request routes to (a changed method may route to another one). */
function allowedErrors(r: Sent): string[] {
  let routed;
  try {
    routed = matchRoute(r.method, r.path);
  } catch {
    return ['ValidationException', ...ROUTING_ERRORS]; // a label that is not valid percent-encoding
  }
  if (!('operation' in routed)) return ROUTING_ERRORS;
  return [...OPERATIONS[routed.operation].errors.filter((e) => e !== 'InternalServerException'), ...ROUTING_ERRORS];
}

const signer = new SignatureV4({ service: 'mediapackagev2', region: 'us-east-1', credentials: LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });

function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Node's HTTP parser answers 431 itself when the request line and headers pass 16 KiB (SECURITY.md: limits). */
const MAX_HEADER_BYTES = 16 * 1024;

async function send(agent: Agent, url: URL, r: Sent): Promise<{ status: number; errorType: string | undefined; text: string; headerBytes: number }> {
  const headers: Record<string, string> = { host: url.host, ...r.headers };
  if (r.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(r.body.length);
  }
  // The signer needs a path it can normalise; labels are already encoded (as the SDK sends them).
  const signed = await signer.sign({ method: r.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: r.path, query: r.query, headers, ...(r.body !== undefined ? { body: r.body } : {}) });
  const qs = Object.entries(r.query)
    .flatMap(([k, vs]) => vs.map((v) => `${escape(k)}=${escape(v)}`))
    .join('&');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ agent, host: url.hostname, port: Number(url.port), method: r.method, path: `${r.path}${qs ? `?${qs}` : ''}`, headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const type = res.headers['x-amzn-errortype'];
        const headerBytes = r.path.length + qs.length + Object.entries(signed.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
        resolve({ status: res.statusCode ?? 0, errorType: Array.isArray(type) ? type.join(',') : type, text: Buffer.concat(chunks).toString('utf8'), headerBytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

test(`model-driven fuzz of all ${OPERATION_NAMES.length} operations: no 5xx, every error a modelled type (seed ${SEED})`, async () => {
  assert.equal(OPERATION_NAMES.length, 30);
  const url = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
  const g = new Gen(seededRandom(SEED));
  // The request sequence is fixed by the seed; which worker sends which request is not, nor does it matter.
  const plan: Sent[] = Array.from({ length: MAX_REQUESTS }, (_, i) => buildRequest(g, OPERATION_NAMES[i % OPERATION_NAMES.length]!));
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const perOp = new Map<OperationName, number>();
  const deadline = Date.now() + BUDGET_MS;
  let next = 0;
  const worker = async () => {
    while (next < plan.length && Date.now() < deadline && failures.length < 10) {
      const index = next++;
      const r = plan[index]!;
      const res = await send(agent, url, r);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      perOp.set(r.op, (perOp.get(r.op) ?? 0) + 1);
      const where = `request #${index} (seed ${SEED}) ${r.op} [${r.note}] ${r.method} ${r.path.slice(0, 120)}`;
      if (res.status >= 500) {
        failures.push(`${where}: ${res.status} ${res.text.slice(0, 300)}`);
        continue;
      }
      if (res.status < 400) continue;
      if (res.status === 431 && res.headerBytes > MAX_HEADER_BYTES - 512) continue;
      const allowed = allowedErrors(r);
      if (res.errorType === undefined || !allowed.includes(res.errorType)) {
        failures.push(`${where}: ${res.status} with x-amzn-ErrorType ${String(res.errorType)}, not one of ${allowed.join(', ')}: ${res.text.slice(0, 200)}`);
        continue;
      }
      let parsed: { __type?: unknown; message?: unknown };
      try {
        parsed = JSON.parse(res.text) as typeof parsed;
      } catch {
        failures.push(`${where}: error body is not JSON: ${res.text.slice(0, 200)}`);
        continue;
      }
      if (parsed.__type !== res.errorType || typeof parsed.message !== 'string' || parsed.message === '') {
        failures.push(`${where}: error body ${res.text.slice(0, 200)} does not match ${res.errorType}`);
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  agent.destroy();
  const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
  const summary = `${sent} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`;
  assert.deepEqual(failures, [], `${summary}\n${failures.join('\n')}`);
  assert.ok(sent >= 1000, `only ${summary} within ${BUDGET_MS / 1000} s`);
  for (const op of OPERATION_NAMES) assert.ok((perOp.get(op) ?? 0) > 0, `${op} was exercised`);
  // The server is still healthy afterwards.
  const health = await fetch(`${server.url}/_packhouse/health`);
  assert.equal(health.status, 200);
  console.log(`api-fuzz: ${summary}`);
});
