/**
 * Resource policies (the JSON documents of PutChannelPolicy / PutOriginEndpointPolicy): parsing
 * with a complete check of the grammar Packhouse evaluates, and evaluation of one request against
 * a parsed policy. Pure.
 *
 * Packhouse evaluates every element and operator it accepts; anything else (an unknown element,
 * operator or condition key, a principal type it cannot identify, policy variables) makes
 * `parsePolicy` throw a PolicyGrammarError naming it, so a policy is refused at Put time rather
 * than half-enforced.
 *
 * Evaluation follows IAM: a statement applies when its principal, action, resource and every
 * condition match; an applicable Deny wins, else an applicable Allow allows, else the request is
 * implicitly denied. Principals are identified by account (Packhouse key pairs belong to accounts,
 * not to IAM users or roles), and no request to Packhouse comes from an AWS service, so a service
 * principal never matches.
 */
import { BlockList, isIP } from 'node:net';

export class PolicyGrammarError extends Error {}

/** Who sent the request: nobody known (unsigned), or the account of the key that signed it. */
export type RequestPrincipal = { readonly kind: 'anonymous' } | { readonly kind: 'account'; readonly accountId: string };

export interface PolicyRequest {
  readonly principal: RequestPrincipal;
  /** e.g. mediapackagev2:PutObject */
  readonly action: string;
  readonly resourceArn: string;
  /** Condition-key values of the request, keyed by lower-case key name; absent keys are undefined. */
  readonly context: Readonly<Record<string, string | undefined>>;
}

export type PolicyDecision = 'allow' | 'deny' | 'implicit-deny';

// ---------------------------------------------------------------------------------------------
// Condition keys and operators

type KeyType = 'string' | 'arn' | 'ip' | 'bool' | 'date' | 'numeric';

/** The condition keys Packhouse knows a value for (or knows to be absent), by lower-case name. */
const KEYS: Readonly<Record<string, { readonly name: string; readonly type: KeyType; readonly families: readonly Family[] }>> = {
  'aws:sourceip': { name: 'aws:SourceIp', type: 'ip', families: ['ip', 'string'] },
  'aws:referer': { name: 'aws:Referer', type: 'string', families: ['string'] },
  'aws:useragent': { name: 'aws:UserAgent', type: 'string', families: ['string'] },
  'aws:securetransport': { name: 'aws:SecureTransport', type: 'bool', families: ['bool', 'string'] },
  'aws:currenttime': { name: 'aws:CurrentTime', type: 'date', families: ['date', 'string'] },
  'aws:epochtime': { name: 'aws:EpochTime', type: 'numeric', families: ['date', 'numeric', 'string'] },
  'aws:principalaccount': { name: 'aws:PrincipalAccount', type: 'string', families: ['string'] },
  'aws:principalarn': { name: 'aws:PrincipalArn', type: 'arn', families: ['arn', 'string'] },
  'aws:principaltype': { name: 'aws:PrincipalType', type: 'string', families: ['string'] },
  'aws:sourceaccount': { name: 'aws:SourceAccount', type: 'string', families: ['string'] },
  'aws:sourcearn': { name: 'aws:SourceArn', type: 'arn', families: ['arn', 'string'] },
  'mediapackagev2:requesthasmatchingcdnauthheader': { name: 'mediapackagev2:RequestHasMatchingCdnAuthHeader', type: 'bool', families: ['bool', 'string'] },
};

/** The supported condition keys, for messages. */
export const SUPPORTED_CONDITION_KEYS: readonly string[] = Object.values(KEYS).map((k) => k.name);

type Family = 'string' | 'numeric' | 'date' | 'bool' | 'ip' | 'arn' | 'null';
type Compare = 'eq' | 'eqi' | 'like' | 'lt' | 'le' | 'gt' | 'ge';

interface OperatorSpec {
  readonly name: string;
  readonly family: Family;
  readonly compare: Compare;
  /** A "Not" operator: true when the value matches none of the policy's values. */
  readonly negated: boolean;
}

const OPERATOR_LIST: readonly OperatorSpec[] = [
  { name: 'StringEquals', family: 'string', compare: 'eq', negated: false },
  { name: 'StringNotEquals', family: 'string', compare: 'eq', negated: true },
  { name: 'StringEqualsIgnoreCase', family: 'string', compare: 'eqi', negated: false },
  { name: 'StringNotEqualsIgnoreCase', family: 'string', compare: 'eqi', negated: true },
  { name: 'StringLike', family: 'string', compare: 'like', negated: false },
  { name: 'StringNotLike', family: 'string', compare: 'like', negated: true },
  { name: 'NumericEquals', family: 'numeric', compare: 'eq', negated: false },
  { name: 'NumericNotEquals', family: 'numeric', compare: 'eq', negated: true },
  { name: 'NumericLessThan', family: 'numeric', compare: 'lt', negated: false },
  { name: 'NumericLessThanEquals', family: 'numeric', compare: 'le', negated: false },
  { name: 'NumericGreaterThan', family: 'numeric', compare: 'gt', negated: false },
  { name: 'NumericGreaterThanEquals', family: 'numeric', compare: 'ge', negated: false },
  { name: 'DateEquals', family: 'date', compare: 'eq', negated: false },
  { name: 'DateNotEquals', family: 'date', compare: 'eq', negated: true },
  { name: 'DateLessThan', family: 'date', compare: 'lt', negated: false },
  { name: 'DateLessThanEquals', family: 'date', compare: 'le', negated: false },
  { name: 'DateGreaterThan', family: 'date', compare: 'gt', negated: false },
  { name: 'DateGreaterThanEquals', family: 'date', compare: 'ge', negated: false },
  { name: 'Bool', family: 'bool', compare: 'eqi', negated: false },
  { name: 'IpAddress', family: 'ip', compare: 'eq', negated: false },
  { name: 'NotIpAddress', family: 'ip', compare: 'eq', negated: true },
  { name: 'ArnEquals', family: 'arn', compare: 'like', negated: false },
  { name: 'ArnLike', family: 'arn', compare: 'like', negated: false },
  { name: 'ArnNotEquals', family: 'arn', compare: 'like', negated: true },
  { name: 'ArnNotLike', family: 'arn', compare: 'like', negated: true },
  { name: 'Null', family: 'null', compare: 'eq', negated: false },
];
const OPERATORS = new Map(OPERATOR_LIST.map((o) => [o.name.toLowerCase(), o]));

/** The supported condition operators, for messages. */
export const SUPPORTED_CONDITION_OPERATORS: readonly string[] = OPERATOR_LIST.map((o) => o.name);

// ---------------------------------------------------------------------------------------------
// Parsed form

interface PrincipalSet {
  /** "*" or {"AWS": "*"}: everyone, signed or not. */
  readonly everyone: boolean;
  readonly accounts: ReadonlySet<string>;
  readonly services: readonly string[];
}

interface Condition {
  readonly op: OperatorSpec;
  readonly ifExists: boolean;
  readonly set: 'any' | 'all' | undefined;
  /** Lower-case key name. */
  readonly key: string;
  readonly values: readonly string[];
  /** Prepared IP ranges (IpAddress / NotIpAddress). */
  readonly ranges?: BlockList;
}

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly principal: { readonly not: boolean; readonly set: PrincipalSet };
  readonly action: { readonly not: boolean; readonly patterns: readonly string[] };
  readonly resource: { readonly not: boolean; readonly patterns: readonly string[] };
  readonly conditions: readonly Condition[];
}

export interface ParsedPolicy {
  readonly statements: readonly Statement[];
}

// ---------------------------------------------------------------------------------------------
// Parsing

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : typeof v;
};

const STATEMENT_ELEMENTS = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const ACCOUNT_RE = /^\d{12}$/;
const IAM_ARN_RE = /^arn:aws(?:-[a-z]+)*:(?:iam::(\d{12}):(?:root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|sts::(\d{12}):assumed-role\/[\w+=,.@/-]+)$/;
const SERVICE_RE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;
const ACTION_RE = /^[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+$/;

/**
 * Parses a policy document and checks that Packhouse evaluates everything in it. Throws a
 * PolicyGrammarError naming the first element, operator, key or value it does not accept.
 */
export function parsePolicy(text: string): ParsedPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PolicyGrammarError(`The policy is not valid JSON (${(err as Error).message}). Send an IAM policy document such as {"Version":"2012-10-17","Statement":[...]}.`);
  }
  if (!isRecord(doc)) throw new PolicyGrammarError('The policy must be a JSON object with a "Statement" member.');
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Id' && k !== 'Statement') {
      throw new PolicyGrammarError(`The policy element "${k}" is not evaluated by Packhouse; a policy has only "Version", "Id" and "Statement".`);
    }
  }
  const version = doc['Version'];
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    throw new PolicyGrammarError(`"Version" must be "2012-10-17" (or "2008-10-17"); got ${show(version)}.`);
  }
  if (doc['Id'] !== undefined && typeof doc['Id'] !== 'string') throw new PolicyGrammarError('"Id" must be a string.');
  const variables = version === '2012-10-17';
  const raw = doc['Statement'];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) {
    throw new PolicyGrammarError('The policy has no "Statement": add at least one statement with Effect, Principal, Action and Resource.');
  }
  return { statements: list.map((s, i) => parseStatement(s, i, variables)) };
}

function parseStatement(s: unknown, i: number, variables: boolean): Statement {
  if (!isRecord(s)) throw new PolicyGrammarError(`Statement ${i} of the policy is not a JSON object.`);
  const where = typeof s['Sid'] === 'string' && s['Sid'] !== '' ? `Statement ${i} ("${s['Sid']}")` : `Statement ${i}`;
  const fail = (msg: string): never => {
    throw new PolicyGrammarError(`${where}: ${msg}`);
  };
  for (const k of Object.keys(s)) {
    if (!STATEMENT_ELEMENTS.includes(k)) fail(`the element "${k}" is not evaluated by Packhouse; a statement has ${STATEMENT_ELEMENTS.map((e) => `"${e}"`).join(', ')}.`);
  }
  if (s['Sid'] !== undefined && typeof s['Sid'] !== 'string') fail('"Sid" must be a string.');
  const effect = s['Effect'];
  if (effect !== 'Allow' && effect !== 'Deny') fail(`needs "Effect": "Allow" or "Deny"; got ${show(effect)}.`);
  const pair = (a: string, notA: string): { not: boolean; value: unknown } => {
    const has = s[a] !== undefined;
    const hasNot = s[notA] !== undefined;
    if (has && hasNot) fail(`has both "${a}" and "${notA}"; use one of them.`);
    if (!has && !hasNot) fail(`needs "${a}" (or "${notA}").`);
    return { not: hasNot, value: has ? s[a] : s[notA] };
  };
  const p = pair('Principal', 'NotPrincipal');
  const a = pair('Action', 'NotAction');
  const r = pair('Resource', 'NotResource');
  const principalName = p.not ? 'NotPrincipal' : 'Principal';
  const actionName = a.not ? 'NotAction' : 'Action';
  const resourceName = r.not ? 'NotResource' : 'Resource';

  const strings = (name: string, v: unknown): string[] => {
    const arr = Array.isArray(v) ? v : [v];
    if (arr.length === 0) fail(`"${name}" is an empty list.`);
    return arr.map((x) => (typeof x === 'string' ? x : fail(`every value of "${name}" must be a string; got ${show(x)}.`)));
  };

  const actions = strings(actionName, a.value);
  for (const act of actions) {
    if (act !== '*' && !ACTION_RE.test(act)) fail(`${actionName} ${JSON.stringify(act)} is not an action such as "mediapackagev2:GetObject" or "mediapackagev2:*".`);
  }
  const resources = strings(resourceName, r.value);
  for (const res of resources) {
    if (res !== '*' && !/^arn:[^:]*:[^:]*:/.test(res)) fail(`${resourceName} ${JSON.stringify(res)} is not "*" or an ARN (arn:aws:mediapackagev2:region:account:channelGroup/...).`);
    if (variables && res.includes('${')) fail(`${resourceName} ${JSON.stringify(res)} uses a policy variable ("\${...}"), which Packhouse does not evaluate.`);
  }
  const principal = parsePrincipal(p.value, principalName, fail);
  const conditions = s['Condition'] === undefined ? [] : parseConditions(s['Condition'], variables, fail);
  return {
    effect: effect as 'Allow' | 'Deny',
    principal: { not: p.not, set: principal },
    action: { not: a.not, patterns: actions },
    resource: { not: r.not, patterns: resources },
    conditions,
  };
}

function parsePrincipal(v: unknown, name: string, fail: (msg: string) => never): PrincipalSet {
  if (v === '*') return { everyone: true, accounts: new Set(), services: [] };
  if (!isRecord(v)) return fail(`"${name}" must be "*" or an object such as {"AWS": "111122223333"}; got ${show(v)}.`);
  let everyone = false;
  const accounts = new Set<string>();
  const services: string[] = [];
  const keys = Object.keys(v);
  if (keys.length === 0) fail(`"${name}" is an empty object.`);
  for (const k of keys) {
    const arr = Array.isArray(v[k]) ? (v[k] as unknown[]) : [v[k]];
    if (arr.length === 0) fail(`"${name}.${k}" is an empty list.`);
    if (k === 'AWS') {
      for (const x of arr) {
        if (x === '*') everyone = true;
        else if (typeof x === 'string' && ACCOUNT_RE.test(x)) accounts.add(x);
        else {
          const m = typeof x === 'string' ? IAM_ARN_RE.exec(x) : null;
          if (!m) fail(`${name} AWS value ${show(x)} is not "*", a 12-digit account id or an IAM ARN (arn:aws:iam::111122223333:root, :user/..., :role/...).`);
          accounts.add((m[1] ?? m[2])!);
        }
      }
    } else if (k === 'Service') {
      for (const x of arr) {
        if (typeof x !== 'string' || !SERVICE_RE.test(x)) fail(`${name} Service value ${show(x)} is not a service principal such as "cloudfront.amazonaws.com".`);
        services.push(x);
      }
    } else {
      fail(`the principal type "${k}" in "${name}" is not evaluated by Packhouse; use "AWS" (accounts) or "Service".`);
    }
  }
  return { everyone, accounts, services };
}

function parseConditions(v: unknown, variables: boolean, fail: (msg: string) => never): Condition[] {
  if (!isRecord(v)) fail('"Condition" must be an object of operators, such as {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}.');
  const out: Condition[] = [];
  for (const [opText, block] of Object.entries(v)) {
    let rest = opText;
    let set: 'any' | 'all' | undefined;
    const prefix = /^(ForAnyValue|ForAllValues):/i.exec(rest);
    if (prefix) {
      set = prefix[1]!.toLowerCase() === 'foranyvalue' ? 'any' : 'all';
      rest = rest.slice(prefix[0].length);
    }
    let ifExists = false;
    if (/IfExists$/i.test(rest)) {
      ifExists = true;
      rest = rest.slice(0, -'IfExists'.length);
    }
    const op = OPERATORS.get(rest.toLowerCase());
    if (!op) fail(`the condition operator "${opText}" is not evaluated by Packhouse; supported operators: ${SUPPORTED_CONDITION_OPERATORS.join(', ')} (each with an optional "IfExists" suffix and "ForAnyValue:"/"ForAllValues:" prefix).`);
    if (op.family === 'null' && (ifExists || set)) fail(`the condition operator "${opText}" does not exist: "Null" takes no "IfExists" suffix or set prefix.`);
    if (!isRecord(block) || Object.keys(block).length === 0) fail(`the condition operator "${opText}" must map at least one condition key to its values.`);
    for (const [keyText, valueRaw] of Object.entries(block)) {
      const key = keyText.toLowerCase();
      const spec = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
      if (!spec) fail(`the condition key "${keyText}" is not evaluated by Packhouse; supported keys: ${SUPPORTED_CONDITION_KEYS.join(', ')}.`);
      if (op.family !== 'null' && !spec.families.includes(op.family)) {
        fail(`the condition operator "${opText}" does not apply to ${spec.name} (a ${spec.type} key); use ${OPERATOR_LIST.filter((o) => spec.families.includes(o.family)).map((o) => o.name).slice(0, 4).join(', ')}, ...`);
      }
      const arr = Array.isArray(valueRaw) ? valueRaw : [valueRaw];
      if (arr.length === 0) fail(`the values of "${keyText}" under "${opText}" are an empty list.`);
      const values = arr.map((x) => {
        if (typeof x === 'string') return x;
        if (typeof x === 'number' && Number.isFinite(x)) return String(x);
        if (typeof x === 'boolean') return String(x);
        return fail(`the values of "${keyText}" under "${opText}" must be strings, numbers or booleans; got ${show(x)}.`);
      });
      for (const value of values) checkValue(op, spec.name, value, variables, (msg) => fail(`"${opText}" / "${keyText}": ${msg}`));
      out.push({ op: op, ifExists, set, key, values, ...(op.family === 'ip' ? { ranges: ipRanges(values) } : {}) });
    }
  }
  return out;
}

function checkValue(op: OperatorSpec, keyName: string, value: string, variables: boolean, fail: (msg: string) => never): void {
  if (variables && value.includes('${')) fail(`${JSON.stringify(value)} uses a policy variable ("\${...}"), which Packhouse does not evaluate.`);
  switch (op.family) {
    case 'null':
    case 'bool':
      if (!/^(true|false)$/i.test(value)) fail(`${JSON.stringify(value)} is not "true" or "false".`);
      return;
    case 'numeric':
      if (!/^-?\d+(\.\d+)?$/.test(value)) fail(`${JSON.stringify(value)} is not a number.`);
      return;
    case 'date':
      if (dateMs(value) === undefined) fail(`${JSON.stringify(value)} is not a date (ISO 8601 such as "2026-01-01T00:00:00Z", or epoch seconds).`);
      return;
    case 'ip':
      if (!parseCidr(value)) fail(`${JSON.stringify(value)} is not an IP address or CIDR range (such as "192.0.2.0/24" or "2001:db8::/32").`);
      return;
    case 'arn':
      if (value !== '*' && value.split(':').length < 6) fail(`${JSON.stringify(value)} is not "*" or an ARN with six colon-separated parts (for ${keyName}).`);
      return;
    case 'string':
      return;
  }
}

/** Parses "192.0.2.10" or "10.0.0.0/8" (IPv4 or IPv6); undefined when it is neither. */
export function parseCidr(value: string): { net: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const slash = value.indexOf('/');
  const net = slash >= 0 ? value.slice(0, slash) : value;
  const v = isIP(net);
  if (v === 0) return undefined;
  const type = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (slash < 0) return { net, prefix: max, type };
  const p = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { net, prefix: Number(p), type };
}

function ipRanges(values: readonly string[]): BlockList {
  const list = new BlockList();
  for (const v of values) {
    const c = parseCidr(v)!;
    list.addSubnet(c.net, c.prefix, c.type);
  }
  return list;
}

/** Milliseconds of an ISO 8601 date or of epoch seconds; undefined when neither. */
function dateMs(value: string): number | undefined {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

// ---------------------------------------------------------------------------------------------
// Matching

/** `*` any run, `?` one character; linear in practice (greedy with one backtrack point). */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const s = ignoreCase ? value.toLowerCase() : value;
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || p[i] === s[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}

/**
 * A Resource / NotResource pattern against an ARN, as IAM matches them: case-sensitive; `*` and
 * `?` stay within one colon-separated segment, except a `*` that ends a segment, which may run
 * past colons. Dynamic programming over the value: O(pattern × ARN).
 */
export function resourceMatch(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const n = arn.length;
  let cur = new Uint8Array(n + 1);
  cur[0] = 1;
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern[k]!;
    const next = new Uint8Array(n + 1);
    if (c === '*') {
      const spans = k === pattern.length - 1 || pattern[k + 1] === ':';
      let reach = 0;
      for (let j = 0; j <= n; j++) {
        if (cur[j]) reach = 1;
        else if (!spans && j > 0 && arn[j - 1] === ':') reach = 0;
        next[j] = reach;
      }
    } else {
      for (let j = 0; j < n; j++) {
        if (cur[j] && (c === '?' ? arn[j] !== ':' : arn[j] === c)) next[j + 1] = 1;
      }
    }
    cur = next;
  }
  return cur[n] === 1;
}

/** ArnLike / ArnEquals: each of the six colon-separated parts matched on its own, case-sensitive. */
function arnLike(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const split = (a: string): string[] | undefined => {
    const parts = a.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  if (!p || !v) return false;
  return p.every((part, i) => wildcardMatch(part, v[i]!, false));
}

function principalMatches(set: PrincipalSet, who: RequestPrincipal): boolean {
  if (set.everyone) return true;
  return who.kind === 'account' && set.accounts.has(who.accountId);
}

/** Does one request value satisfy the (non-negated form of the) operator for one policy value? */
function valueMatches(c: Condition, policyValue: string, requestValue: string): boolean {
  const { family, compare } = c.op;
  switch (family) {
    case 'string':
      if (compare === 'eq') return requestValue === policyValue;
      if (compare === 'eqi') return requestValue.toLowerCase() === policyValue.toLowerCase();
      return wildcardMatch(policyValue, requestValue, false);
    case 'bool':
      return requestValue.toLowerCase() === policyValue.toLowerCase();
    case 'arn':
      return arnLike(policyValue, requestValue);
    case 'numeric':
    case 'date': {
      const a = family === 'date' ? dateMs(requestValue) : Number(requestValue);
      const b = family === 'date' ? dateMs(policyValue) : Number(policyValue);
      if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) return false;
      return compare === 'eq' ? a === b : compare === 'lt' ? a < b : compare === 'le' ? a <= b : compare === 'gt' ? a > b : a >= b;
    }
    default:
      return false;
  }
}

/** The operator for one request value: any policy value matches (OR); negated operators invert. */
function oneValue(c: Condition, requestValue: string): boolean {
  let any: boolean;
  if (c.op.family === 'ip') {
    const ip = normaliseIp(requestValue);
    const v = ip === undefined ? 0 : isIP(ip);
    any = v !== 0 && c.ranges!.check(ip!, v === 4 ? 'ipv4' : 'ipv6');
  } else {
    any = c.values.some((pv) => valueMatches(c, pv, requestValue));
  }
  return c.op.negated ? !any : any;
}

function conditionHolds(c: Condition, context: PolicyRequest['context']): boolean {
  const value = context[c.key];
  if (c.op.family === 'null') {
    const wantAbsent = c.values.some((v) => v.toLowerCase() === 'true');
    const wantPresent = c.values.some((v) => v.toLowerCase() === 'false');
    return value === undefined ? wantAbsent : wantPresent;
  }
  const values = value === undefined ? [] : [value];
  if (c.set === 'any') return values.length === 0 ? c.ifExists : values.some((v) => oneValue(c, v));
  if (c.set === 'all') return values.every((v) => oneValue(c, v));
  if (value === undefined) return c.ifExists || c.op.negated;
  return oneValue(c, value);
}

/** IPv4-mapped IPv6 addresses (::ffff:192.0.2.1, as Node reports IPv4 peers on a dual-stack socket) are IPv4. */
export function normaliseIp(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

function statementApplies(s: Statement, req: PolicyRequest): boolean {
  const principalOk = principalMatches(s.principal.set, req.principal) !== s.principal.not;
  if (!principalOk) return false;
  const actionHit = s.action.patterns.some((p) => wildcardMatch(p, req.action, true));
  if (actionHit === s.action.not) return false;
  const resourceHit = s.resource.patterns.some((p) => resourceMatch(p, req.resourceArn));
  if (resourceHit === s.resource.not) return false;
  return s.conditions.every((c) => conditionHolds(c, req.context));
}

/** Decides one request: an applicable Deny wins, then an applicable Allow, else implicit deny. */
export function evaluatePolicy(policy: ParsedPolicy, req: PolicyRequest): PolicyDecision {
  const principalContext: Record<string, string | undefined> =
    req.principal.kind === 'account'
      ? { 'aws:principalaccount': req.principal.accountId, 'aws:principalarn': `arn:aws:iam::${req.principal.accountId}:root`, 'aws:principaltype': 'Account' }
      : { 'aws:principalaccount': undefined, 'aws:principalarn': undefined, 'aws:principaltype': 'Anonymous' };
  const full: PolicyRequest = { ...req, context: { ...req.context, ...principalContext } };
  let allowed = false;
  for (const s of policy.statements) {
    if (!statementApplies(s, full)) continue;
    if (s.effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/** What Packhouse knows about a data-plane request, for the condition keys it supports. */
export interface RequestFacts {
  readonly now: Date;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly referer?: string | undefined;
  readonly secureTransport: boolean;
  /** Egress only: whether the request carried a CDN identifier header matching the endpoint's secrets. */
  readonly cdnAuthHeaderMatches?: boolean | undefined;
}

/** The condition-key context of a request (principal keys are added by evaluatePolicy). */
export function requestContext(f: RequestFacts): Record<string, string | undefined> {
  return {
    'aws:sourceip': normaliseIp(f.sourceIp),
    'aws:useragent': f.userAgent,
    'aws:referer': f.referer,
    'aws:securetransport': String(f.secureTransport),
    'aws:currenttime': new Date(Math.floor(f.now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    'aws:epochtime': String(Math.floor(f.now.getTime() / 1000)),
    'mediapackagev2:requesthasmatchingcdnauthheader': f.cdnAuthHeaderMatches === undefined ? undefined : String(f.cdnAuthHeaderMatches),
    'aws:sourceaccount': undefined,
    'aws:sourcearn': undefined,
  };
}

/**
 * Parsed policies by text, so that a hot data plane parses each stored policy once. Bounded; a
 * text that does not parse (stored before Packhouse refused its grammar) is remembered as its error.
 */
export class PolicyCache {
  private readonly map = new Map<string, ParsedPolicy | PolicyGrammarError>();

  constructor(private readonly capacity = 256) {}

  get(text: string): ParsedPolicy | PolicyGrammarError {
    let hit = this.map.get(text);
    if (hit === undefined) {
      try {
        hit = parsePolicy(text);
      } catch (err) {
        if (!(err instanceof PolicyGrammarError)) throw err;
        hit = err;
      }
      if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value!);
      this.map.set(text, hit);
    }
    return hit;
  }
}
