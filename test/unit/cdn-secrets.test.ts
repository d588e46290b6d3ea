/**
 * The CDN identifier secrets file (--cdn-secrets-file) and the header comparison.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cdnHeaderMatches, parseCdnSecretsFile } from '../../src/dataplane/origin/cdn-secrets.js';

const A = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:cdn-a-AbCdEf';
const B = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:cdn-b';

test('a secret is its value, or Secrets Manager\'s one-key object', () => {
  const s = parseCdnSecretsFile(JSON.stringify({ [A]: '9ceebbe7-9607-4552-8764-876e47032660', [B]: { MediaPackageV2CDNIdentifier: 'another-value' } }), 'f.json');
  assert.equal(s.get(A), '9ceebbe7-9607-4552-8764-876e47032660');
  assert.equal(s.get(B), 'another-value');
});

test('bad files name the problem and never show a value', () => {
  assert.throws(() => parseCdnSecretsFile('{', 'f.json'), /f\.json: not valid JSON/);
  assert.throws(() => parseCdnSecretsFile('[]', 'f.json'), /expected an object mapping secret ARNs/);
  assert.throws(() => parseCdnSecretsFile(JSON.stringify({ 'arn:aws:s3:::bucket': 'long-enough-value' }), 'f.json'), /is not a Secrets Manager secret ARN/);
  assert.throws(() => parseCdnSecretsFile(JSON.stringify({ [A]: 'short' }), 'f.json'), (e: Error) => /8 to 256 printable ASCII/.test(e.message) && !e.message.includes('short'));
  assert.throws(() => parseCdnSecretsFile(JSON.stringify({ [A]: 'x'.repeat(257) }), 'f.json'), /8 to 256/);
  assert.throws(() => parseCdnSecretsFile(JSON.stringify({ [A]: { Other: 'long-enough-value' } }), 'f.json'), /one key "MediaPackageV2CDNIdentifier"/);
});

test('the header matches one of the endpoint\'s secrets exactly', () => {
  const s = parseCdnSecretsFile(JSON.stringify({ [A]: 'value-of-secret-a', [B]: 'value-of-secret-b' }), 'f.json');
  assert.equal(cdnHeaderMatches('value-of-secret-a', [A], s), true);
  assert.equal(cdnHeaderMatches('value-of-secret-b', [A, B], s), true, 'during a rotation either secret is accepted');
  assert.equal(cdnHeaderMatches('value-of-secret-b', [A], s), false, 'a secret the endpoint does not name does not count');
  assert.equal(cdnHeaderMatches('VALUE-OF-SECRET-A', [A], s), false);
  assert.equal(cdnHeaderMatches('value-of-secret-a ', [A], s), false);
  assert.equal(cdnHeaderMatches(undefined, [A], s), false);
  assert.equal(cdnHeaderMatches(['value-of-secret-a'], [A], s), false);
  assert.equal(cdnHeaderMatches('value-of-secret-a', ['arn:aws:secretsmanager:us-east-1:111111111111:secret:unknown'], s), false);
});
