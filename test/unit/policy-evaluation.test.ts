/**
 * Resource-policy evaluation, as a table of cases: Effect, Action/NotAction, Resource/NotResource,
 * Principal/NotPrincipal, wildcards and their case rules, explicit Deny and default deny, and every
 * condition operator Packhouse accepts; then the grammar it refuses (each refusal names what).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluatePolicy,
  parsePolicy,
  PolicyGrammarError,
  requestContext,
  resourceMatch,
  wildcardMatch,
  type PolicyDecision,
  type RequestPrincipal,
} from '../../src/domain/policy-evaluation.js';

const ACCT = '111111111111';
const OTHER = '222222222222';
const CH = `arn:aws:mediapackagev2:us-east-1:${ACCT}:channelGroup/g/channel/c`;
const EP = `${CH}/originEndpoint/e`;
const NOW = new Date('2026-06-01T12:00:00Z');

interface Req {
  principal?: RequestPrincipal;
  action?: string;
  resource?: string;
  ip?: string;
  userAgent?: string;
  referer?: string;
  cdn?: boolean;
  now?: Date;
}

const account = (accountId: string): RequestPrincipal => ({ kind: 'account', accountId });
const anonymous: RequestPrincipal = { kind: 'anonymous' };

function decide(statements: object[], r: Req = {}, version = '2012-10-17'): PolicyDecision {
  const policy = parsePolicy(JSON.stringify({ Version: version, Statement: statements }));
  return evaluatePolicy(policy, {
    principal: r.principal ?? account(ACCT),
    action: r.action ?? 'mediapackagev2:PutObject',
    resourceArn: r.resource ?? CH,
    context: requestContext({ now: r.now ?? NOW, sourceIp: r.ip ?? '127.0.0.1', userAgent: r.userAgent, referer: r.referer, secureTransport: false, cdnAuthHeaderMatches: r.cdn }),
  });
}

/** A statement for everything, with `extra` on top; a Not* element replaces its positive counterpart. */
function statement(effect: string, extra: Record<string, unknown>): Record<string, unknown> {
  const s: Record<string, unknown> = { Effect: effect, Principal: '*', Action: '*', Resource: '*' };
  for (const k of ['Principal', 'Action', 'Resource']) if (`Not${k}` in extra) delete s[k];
  return { ...s, ...extra };
}
const allow = (extra: Record<string, unknown> = {}) => statement('Allow', extra);
const deny = (extra: Record<string, unknown> = {}) => statement('Deny', extra);

type Case = [name: string, statements: object[], req: Req, expected: PolicyDecision];

const CASES: Case[] = [
  // Effect, default deny, explicit deny
  ['no applicable statement: implicit deny', [allow({ Action: 'mediapackagev2:GetObject' })], {}, 'implicit-deny'],
  ['an Allow allows', [allow()], {}, 'allow'],
  ['an explicit Deny wins over an Allow', [allow(), deny({ Action: 'mediapackagev2:PutObject' })], {}, 'deny'],
  ['a Deny that does not apply leaves the Allow', [allow(), deny({ Principal: { AWS: OTHER } })], {}, 'allow'],
  // Resource / NotResource
  ['Resource = the channel allows', [allow({ Resource: CH })], {}, 'allow'],
  ['Resource = another channel does not', [allow({ Resource: `${CH}x` })], {}, 'implicit-deny'],
  ['NotResource = the channel does not allow it (the reported bug)', [allow({ NotResource: CH })], {}, 'implicit-deny'],
  ['NotResource = another channel allows it', [allow({ NotResource: `${CH}-other` })], {}, 'allow'],
  ['NotResource list containing the channel', [allow({ NotResource: ['arn:aws:mediapackagev2:*:*:channelGroup/x/*', CH] })], {}, 'implicit-deny'],
  ['Deny with NotResource = the channel does not deny it', [allow(), deny({ NotResource: CH })], {}, 'allow'],
  ['Deny with NotResource = elsewhere denies it', [allow(), deny({ NotResource: `${CH}/originEndpoint/*` })], {}, 'deny'],
  ['resource wildcard * at the end', [allow({ Resource: `arn:aws:mediapackagev2:us-east-1:${ACCT}:channelGroup/g/*` })], {}, 'allow'],
  ['resource wildcard in region and account', [allow({ Resource: 'arn:aws:mediapackagev2:*:*:channelGroup/g/channel/c' })], {}, 'allow'],
  ['resource ? matches one character', [allow({ Resource: `arn:aws:mediapackagev2:us-east-1:${ACCT}:channelGroup/?/channel/?` })], {}, 'allow'],
  ['resources are case-sensitive', [allow({ Resource: CH.replace('channelGroup/g/channel/c', 'channelGroup/G/channel/C') })], {}, 'implicit-deny'],
  ['resource ? does not match two characters', [allow({ Resource: `arn:aws:mediapackagev2:us-east-1:${ACCT}:channelGroup/?/channel/??` })], {}, 'implicit-deny'],
  // Action / NotAction
  ['action wildcard, case-insensitive', [allow({ Action: 'MediaPackageV2:Put*' })], {}, 'allow'],
  ['action ? wildcard', [allow({ Action: 'mediapackagev2:?utObject' })], {}, 'allow'],
  ['action list', [allow({ Action: ['mediapackagev2:GetObject', 'mediapackagev2:PutObject'] })], {}, 'allow'],
  ['another action does not apply', [allow({ Action: 'mediapackagev2:GetObject' })], {}, 'implicit-deny'],
  ['NotAction naming the action does not allow it', [allow({ NotAction: 'mediapackagev2:PutObject' })], {}, 'implicit-deny'],
  ['NotAction naming another action allows', [allow({ NotAction: 'mediapackagev2:Get*' })], {}, 'allow'],
  // Principal / NotPrincipal
  ['account id principal', [allow({ Principal: { AWS: ACCT } })], {}, 'allow'],
  ['account root ARN principal', [allow({ Principal: { AWS: `arn:aws:iam::${ACCT}:root` } })], {}, 'allow'],
  ['role ARN principal names its account', [allow({ Principal: { AWS: `arn:aws:iam::${ACCT}:role/MediaLiveAccessRole` } })], {}, 'allow'],
  ['another account is not the principal', [allow({ Principal: { AWS: [OTHER, `arn:aws:iam::${OTHER}:root`] } })], {}, 'implicit-deny'],
  ['{"AWS":"*"} matches anonymous requests too', [allow({ Principal: { AWS: '*' } })], { principal: anonymous }, 'allow'],
  ['"*" matches anonymous requests', [allow()], { principal: anonymous }, 'allow'],
  ['an account principal never matches anonymous requests', [allow({ Principal: { AWS: ACCT } })], { principal: anonymous }, 'implicit-deny'],
  ['a service principal matches no Packhouse request', [allow({ Principal: { Service: 'cloudfront.amazonaws.com' } })], {}, 'implicit-deny'],
  ['NotPrincipal excludes the named account', [allow({ NotPrincipal: { AWS: ACCT } })], {}, 'implicit-deny'],
  ['NotPrincipal applies to others', [allow({ NotPrincipal: { AWS: OTHER } })], {}, 'allow'],
  ['Deny with NotPrincipal: everyone but the account is denied', [allow(), deny({ NotPrincipal: { AWS: OTHER } })], {}, 'deny'],
  ['Deny with NotPrincipal: the named account is not denied', [allow(), deny({ NotPrincipal: { AWS: ACCT } })], {}, 'allow'],
  // IpAddress / NotIpAddress
  ['IpAddress: inside the range', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } })], {}, 'allow'],
  ['IpAddress: outside the range', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } })], {}, 'implicit-deny'],
  ['IpAddress: several values are OR', [allow({ Condition: { IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '127.0.0.1'] } } })], {}, 'allow'],
  ['IpAddress: IPv4-mapped IPv6 peer is IPv4', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } } })], { ip: '::ffff:127.0.0.1' }, 'allow'],
  ['IpAddress: IPv6 range', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } } })], { ip: '2001:db8::5' }, 'allow'],
  ['NotIpAddress: outside every range', [allow({ Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '198.51.100.0/24'] } } })], {}, 'allow'],
  ['NotIpAddress: inside one range', [allow({ Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '127.0.0.1/32'] } } })], {}, 'implicit-deny'],
  ['Deny NotIpAddress: a request from elsewhere is denied', [allow(), deny({ Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })], {}, 'deny'],
  // String operators
  ['StringEquals on aws:UserAgent', [allow({ Condition: { StringEquals: { 'aws:UserAgent': 'enc/1' } } })], { userAgent: 'enc/1' }, 'allow'],
  ['StringEquals is case-sensitive', [allow({ Condition: { StringEquals: { 'aws:UserAgent': 'ENC/1' } } })], { userAgent: 'enc/1' }, 'implicit-deny'],
  ['StringEqualsIgnoreCase', [allow({ Condition: { StringEqualsIgnoreCase: { 'aws:UserAgent': 'ENC/1' } } })], { userAgent: 'enc/1' }, 'allow'],
  ['StringLike with * and ?', [allow({ Condition: { StringLike: { 'aws:Referer': 'https://?.example.com/*' } } })], { referer: 'https://a.example.com/x' }, 'allow'],
  ['StringLike no match', [allow({ Condition: { StringLike: { 'aws:Referer': 'https://*.example.com/*' } } })], { referer: 'https://evil.test/' }, 'implicit-deny'],
  ['StringLike with the key absent is false', [allow({ Condition: { StringLike: { 'aws:Referer': '*' } } })], {}, 'implicit-deny'],
  ['StringNotEquals: none of the values', [allow({ Condition: { StringNotEquals: { 'aws:UserAgent': ['a', 'b'] } } })], { userAgent: 'c' }, 'allow'],
  ['StringNotEquals: one of the values', [allow({ Condition: { StringNotEquals: { 'aws:UserAgent': ['a', 'b'] } } })], { userAgent: 'b' }, 'implicit-deny'],
  ['StringNotEquals with the key absent is true', [allow({ Condition: { StringNotEquals: { 'aws:Referer': 'x' } } })], {}, 'allow'],
  ['StringNotLike', [allow({ Condition: { StringNotLike: { 'aws:UserAgent': 'curl*' } } })], { userAgent: 'curl/8' }, 'implicit-deny'],
  ['StringNotEqualsIgnoreCase', [allow({ Condition: { StringNotEqualsIgnoreCase: { 'aws:UserAgent': 'CURL' } } })], { userAgent: 'curl' }, 'implicit-deny'],
  ['StringEquals on aws:PrincipalAccount', [allow({ Condition: { StringEquals: { 'aws:PrincipalAccount': ACCT } } })], {}, 'allow'],
  ['StringEquals on aws:SourceAccount: absent in every Packhouse request', [allow({ Condition: { StringEquals: { 'aws:SourceAccount': ACCT } } })], {}, 'implicit-deny'],
  // IfExists
  ['StringLikeIfExists with the key absent is true', [allow({ Condition: { StringLikeIfExists: { 'aws:Referer': 'https://x/*' } } })], {}, 'allow'],
  ['StringLikeIfExists with the key present is evaluated', [allow({ Condition: { StringLikeIfExists: { 'aws:Referer': 'https://x/*' } } })], { referer: 'https://y/' }, 'implicit-deny'],
  // Null
  ['Null true: key absent', [allow({ Condition: { Null: { 'aws:Referer': 'true' } } })], {}, 'allow'],
  ['Null true: key present', [allow({ Condition: { Null: { 'aws:Referer': 'true' } } })], { referer: 'r' }, 'implicit-deny'],
  ['Null false: key present', [allow({ Condition: { Null: { 'aws:Referer': false } } })], { referer: 'r' }, 'allow'],
  // Bool
  ['Bool on the CDN header key: matching header', [allow({ Condition: { Bool: { 'mediapackagev2:RequestHasMatchingCdnAuthHeader': 'true' } } })], { cdn: true }, 'allow'],
  ['Bool on the CDN header key: no or wrong header', [allow({ Condition: { Bool: { 'mediapackagev2:RequestHasMatchingCdnAuthHeader': true } } })], { cdn: false }, 'implicit-deny'],
  ['Bool on the CDN header key: absent (ingest)', [allow({ Condition: { Bool: { 'mediapackagev2:RequestHasMatchingCdnAuthHeader': 'true' } } })], {}, 'implicit-deny'],
  ['Bool aws:SecureTransport false (plain HTTP)', [allow({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })], {}, 'allow'],
  ['Deny unless aws:SecureTransport: denies plain HTTP', [allow(), deny({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })], {}, 'deny'],
  // Arn
  ['ArnLike on aws:PrincipalArn', [allow({ Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:root' } } })], {}, 'allow'],
  ['ArnEquals on aws:PrincipalArn, another account', [allow({ Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${OTHER}:root` } } })], {}, 'implicit-deny'],
  ['ArnNotLike on aws:PrincipalArn', [allow({ Condition: { ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${OTHER}:*` } } })], {}, 'allow'],
  ['ArnLike on aws:SourceArn: absent', [allow({ Condition: { ArnLike: { 'aws:SourceArn': '*' } } })], {}, 'implicit-deny'],
  // Dates and numbers
  ['DateLessThan aws:CurrentTime: before the date', [allow({ Condition: { DateLessThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } } })], {}, 'allow'],
  ['DateGreaterThan aws:CurrentTime: before the date', [allow({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } } })], {}, 'implicit-deny'],
  ['DateGreaterThanEquals aws:EpochTime with epoch seconds', [allow({ Condition: { DateGreaterThanEquals: { 'aws:EpochTime': String(NOW.getTime() / 1000) } } })], {}, 'allow'],
  ['NumericLessThan aws:EpochTime', [allow({ Condition: { NumericLessThan: { 'aws:EpochTime': NOW.getTime() / 1000 } } })], {}, 'implicit-deny'],
  ['NumericLessThanEquals aws:EpochTime', [allow({ Condition: { NumericLessThanEquals: { 'aws:EpochTime': NOW.getTime() / 1000 } } })], {}, 'allow'],
  // Several operators and keys: AND
  ['two operators both true', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1' }, StringEquals: { 'aws:UserAgent': 'u' } } })], { userAgent: 'u' }, 'allow'],
  ['two operators, one false', [allow({ Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1' }, StringEquals: { 'aws:UserAgent': 'u' } } })], { userAgent: 'v' }, 'implicit-deny'],
  ['two keys under one operator, one false', [allow({ Condition: { StringEquals: { 'aws:UserAgent': 'u', 'aws:Referer': 'r' } } })], { userAgent: 'u' }, 'implicit-deny'],
  ['condition keys are case-insensitive', [allow({ Condition: { ipaddress: { 'AWS:SOURCEIP': '127.0.0.1' } } })], {}, 'allow'],
  // Set operators
  ['ForAnyValue:StringEquals with a match', [allow({ Condition: { 'ForAnyValue:StringEquals': { 'aws:UserAgent': ['a', 'u'] } } })], { userAgent: 'u' }, 'allow'],
  ['ForAnyValue:StringEquals with the key absent is false', [allow({ Condition: { 'ForAnyValue:StringEquals': { 'aws:Referer': 'r' } } })], {}, 'implicit-deny'],
  ['ForAllValues:StringEquals with the key absent is true', [allow({ Condition: { 'ForAllValues:StringEquals': { 'aws:Referer': 'r' } } })], {}, 'allow'],
  ['ForAllValues:StringEquals with a mismatch', [allow({ Condition: { 'ForAllValues:StringEquals': { 'aws:UserAgent': 'a' } } })], { userAgent: 'u' }, 'implicit-deny'],
];

for (const [name, statements, req, expected] of CASES) {
  test(`evaluation: ${name}`, () => {
    const clean = statements.map((s) => JSON.parse(JSON.stringify(s)) as object); // drops the `undefined` members the cases use to remove an element
    assert.equal(decide(clean, req), expected);
  });
}

test('the reported bug: an Allow with NotResource = this channel lets no PUT through', () => {
  assert.equal(decide([{ Effect: 'Allow', Principal: { AWS: ACCT }, Action: 'mediapackagev2:PutObject', NotResource: CH }]), 'implicit-deny');
});

test('egress actions: GetObject and GetHeadObject on the endpoint', () => {
  const st = [{ Effect: 'Allow', Principal: '*', Action: 'mediapackagev2:GetObject', Resource: EP }];
  assert.equal(decide(st, { principal: anonymous, action: 'mediapackagev2:GetObject', resource: EP }), 'allow');
  assert.equal(decide(st, { principal: anonymous, action: 'mediapackagev2:GetHeadObject', resource: EP }), 'implicit-deny');
});

test('Version 2008-10-17 takes "${" literally; 2012-10-17 refuses policy variables', () => {
  const st = [allow({ Condition: { StringEquals: { 'aws:UserAgent': '${aws:username}' } } })];
  assert.equal(decide(st, { userAgent: '${aws:username}' }, '2008-10-17'), 'allow');
  assert.throws(() => decide(st, {}), /policy variable/);
});

test('wildcard matching stays fast on hostile patterns', () => {
  const start = process.hrtime.bigint();
  assert.equal(wildcardMatch('*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000), false), false);
  assert.equal(resourceMatch(`arn:${'*a'.repeat(500)}b`, `arn:${'a'.repeat(2000)}`), false);
  assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000, 'bounded time');
  assert.equal(resourceMatch('arn:aws:mediapackagev2:*', CH), true, 'a * ending a segment runs past colons');
  assert.equal(resourceMatch('arn:aws:mediapackagev2:us-*-1:*:channelGroup/g/channel/c', CH), true);
  assert.equal(resourceMatch('arn:aws:mediapackagev2:u*1:channelGroup/g/channel/c', CH), false, 'a * inside a segment does not cross a colon');
});

// ---------------------------------------------------------------------------------------------
// Grammar Packhouse refuses at Put time: each message names what it does not evaluate.

const REFUSED: [name: string, policy: unknown, message: RegExp][] = [
  ['unknown top-level element', { Version: '2012-10-17', Statement: [allow()], Extra: 1 }, /"Extra"/],
  ['unknown statement element', { Statement: [allow({ Foo: 'x' })] }, /"Foo" is not evaluated/],
  ['Principal and NotPrincipal together', { Statement: [{ ...allow(), NotPrincipal: { AWS: ACCT } }] }, /both "Principal" and "NotPrincipal"/],
  ['no Principal', { Statement: [allow({ Principal: undefined })] }, /needs "Principal"/],
  ['no Resource', { Statement: [allow({ Resource: undefined })] }, /needs "Resource"/],
  ['Action and NotAction together', { Statement: [{ ...allow(), NotAction: 'x:y' }] }, /both "Action" and "NotAction"/],
  ['bad Effect', { Statement: [allow({ Effect: 'allow' })] }, /"Effect": "Allow" or "Deny"/],
  ['Federated principal', { Statement: [allow({ Principal: { Federated: 'cognito-identity.amazonaws.com' } })] }, /principal type "Federated"/],
  ['CanonicalUser principal', { Statement: [allow({ Principal: { CanonicalUser: 'abc' } })] }, /principal type "CanonicalUser"/],
  ['AWS principal that is not an account', { Statement: [allow({ Principal: { AWS: 'AIDAEXAMPLE' } })] }, /AWS value "AIDAEXAMPLE"/],
  ['unknown operator', { Statement: [allow({ Condition: { BinaryEquals: { 'aws:UserAgent': 'eA==' } } })] }, /operator "BinaryEquals" is not evaluated/],
  ['unknown condition key', { Statement: [allow({ Condition: { StringEquals: { 'aws:RequestTag/x': 'y' } } })] }, /condition key "aws:RequestTag\/x" is not evaluated/],
  ['condition key named like an Object member', { Statement: [allow({ Condition: { StringEquals: { constructor: 'y' } } })] }, /condition key "constructor" is not evaluated/],
  ['condition key __proto__', JSON.parse('{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"__proto__":"y"}}}]}') as unknown, /condition key "__proto__" is not evaluated/],
  ['operator named like an Object member', { Statement: [allow({ Condition: { toString: { 'aws:UserAgent': 'y' } } })] }, /operator "toString" is not evaluated/],
  ['unknown service key', { Statement: [allow({ Condition: { StringEquals: { 's3:prefix': 'y' } } })] }, /condition key "s3:prefix"/],
  ['operator of the wrong type for the key', { Statement: [allow({ Condition: { IpAddress: { 'aws:UserAgent': '1.2.3.4' } } })] }, /"IpAddress" does not apply to aws:UserAgent/],
  ['bad CIDR', { Statement: [allow({ Condition: { IpAddress: { 'aws:SourceIp': '300.1.1.1/8' } } })] }, /not an IP address or CIDR/],
  ['bad Bool value', { Statement: [allow({ Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })] }, /"true" or "false"/],
  ['bad date', { Statement: [allow({ Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } })] }, /not a date/],
  ['Null with IfExists', { Statement: [allow({ Condition: { NullIfExists: { 'aws:Referer': 'true' } } })] }, /"Null" takes no/],
  ['malformed resource', { Statement: [allow({ Resource: 'channel/c' })] }, /is not "\*" or an ARN/],
  ['malformed action', { Statement: [allow({ Action: 'GetObject' })] }, /is not an action/],
  ['empty statement list', { Statement: [] }, /no "Statement"/],
  ['bad Version', { Version: '2020-01-01', Statement: [allow()] }, /"Version" must be/],
];

for (const [name, doc, message] of REFUSED) {
  test(`refused at Put: ${name}`, () => {
    assert.throws(
      () => parsePolicy(JSON.stringify(doc)),
      (err: unknown) => err instanceof PolicyGrammarError && message.test(err.message),
    );
  });
}

test('refused at Put: not JSON', () => {
  assert.throws(() => parsePolicy('{not json'), PolicyGrammarError);
});
