/**
 * Resource-policy evaluation: explicit Deny wins, then Allow, else deny; principals by account;
 * action and resource wildcards; statements with conditions never allow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicy } from '../../src/domain/policy-evaluation.js';

const ARN = 'arn:aws:mediapackagev2:us-east-1:111111111111:channelGroup/g/channel/c';
const req = (accountId: string, action = 'mediapackagev2:PutObject', resourceArn = ARN) => ({ accountId, action, resourceArn });
const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });

test('an Allow for the account, action and resource allows; other accounts are implicitly denied', () => {
  const p = policy({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/MediaLiveAccessRole' }, Action: 'mediapackagev2:PutObject', Resource: ARN });
  assert.equal(evaluatePolicy(p, req('111111111111')), 'allow');
  assert.equal(evaluatePolicy(p, req('222222222222')), 'implicit-deny');
  assert.equal(evaluatePolicy(p, req('111111111111', 'mediapackagev2:GetObject')), 'implicit-deny');
  assert.equal(evaluatePolicy(p, req('111111111111', 'mediapackagev2:PutObject', `${ARN}x`)), 'implicit-deny');
});

test('wildcards in actions (case-insensitive) and resources, principal "*", bare account ids and lists', () => {
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: 'MediaPackageV2:Put*', Resource: 'arn:aws:mediapackagev2:*:*:channelGroup/g/*' }), req('333333333333')), 'allow');
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', Principal: { AWS: ['999999999999', '111111111111'] }, Action: ['x:y', '*'], Resource: ['*'] }), req('111111111111')), 'allow');
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', Principal: { Service: 'mediapackagev2.amazonaws.com' }, Action: '*', Resource: '*' }), req('111111111111')), 'implicit-deny');
});

test('an explicit Deny wins over an Allow; NotAction and NotPrincipal are honoured', () => {
  const allowAll = { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' };
  assert.equal(evaluatePolicy(policy(allowAll, { Effect: 'Deny', Principal: { AWS: '222222222222' }, Action: 'mediapackagev2:PutObject', Resource: '*' }), req('222222222222')), 'deny');
  assert.equal(evaluatePolicy(policy(allowAll, { Effect: 'Deny', Principal: { AWS: '222222222222' }, Action: 'mediapackagev2:PutObject', Resource: '*' }), req('111111111111')), 'allow');
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', NotAction: 'mediapackagev2:PutObject', Resource: '*' }), req('111111111111')), 'implicit-deny');
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', NotPrincipal: { AWS: '222222222222' }, Action: '*', Resource: '*' }), req('111111111111')), 'allow');
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', NotPrincipal: { AWS: '222222222222' }, Action: '*', Resource: '*' }), req('222222222222')), 'implicit-deny');
});

test('statements with a Condition never allow; a conditional Deny denies; bad JSON denies', () => {
  const cond = { StringEquals: { 'aws:SourceAccount': '111111111111' } };
  assert.equal(evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*', Condition: cond }), req('111111111111')), 'implicit-deny');
  assert.equal(
    evaluatePolicy(policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }, { Effect: 'Deny', Principal: '*', Action: '*', Resource: '*', Condition: cond }), req('111111111111')),
    'deny',
  );
  assert.equal(evaluatePolicy('{not json', req('111111111111')), 'implicit-deny');
});
