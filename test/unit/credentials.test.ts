/**
 * Tests of credentials-file parsing and validation, and of KeyStore lookups. Pure: no files are
 * read; the text is given inline.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyStore, parseCredentialsFile } from '../../src/api/auth/credentials.js';

const SOURCE = '/etc/packhouse/credentials.json';
const GOOD = { accessKeyId: 'AKIDONE', secretAccessKey: 'secret-one', accountId: '123456789012' };
const OTHER = { accessKeyId: 'AKIDTWO', secretAccessKey: 'secret-two', accountId: '210987654321' };

function parseError(doc: unknown): Error {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  try {
    parseCredentialsFile(text, SOURCE);
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(err.message.startsWith(`${SOURCE}: `), err.message);
    return err;
  }
  assert.fail('expected parseCredentialsFile to throw');
}

test('parses the object form', () => {
  assert.deepEqual(parseCredentialsFile(JSON.stringify({ credentials: [GOOD, OTHER] }), SOURCE), [GOOD, OTHER]);
});

test('parses a bare array', () => {
  assert.deepEqual(parseCredentialsFile(JSON.stringify([GOOD]), SOURCE), [GOOD]);
});

test('rejects invalid JSON, naming the file', () => {
  assert.match(parseError('{"credentials": [').message, /not valid JSON/);
});

test('rejects a document of the wrong shape', () => {
  assert.match(parseError('"hello"').message, /expected an object/);
  assert.match(parseError({ credentials: { accessKeyId: 'x' } }).message, /"credentials" must be an array/);
  assert.match(parseError({ credentials: [GOOD], extra: 1 }).message, /unknown top-level field\(s\) "extra"/);
  assert.match(parseError({ credentials: [] }).message, /no credentials defined/);
});

test('rejects an entry that is not an object, naming its index', () => {
  assert.match(parseError([GOOD, 'AKID:secret']).message, /credentials\[1\]: expected an object/);
});

test('rejects a bad accountId, naming the entry', () => {
  for (const accountId of ['12345678901', '1234567890123', '12345678901a', 123456789012, null]) {
    const err = parseError([GOOD, { ...OTHER, accountId }]);
    assert.match(err.message, /credentials\[1\] \(accessKeyId "AKIDTWO"\): accountId must be a string of exactly 12 digits/);
  }
});

test('rejects missing or empty keys', () => {
  assert.match(parseError([{ ...GOOD, accessKeyId: '' }]).message, /credentials\[0\]: accessKeyId must be a non-empty string/);
  const withoutId = { secretAccessKey: GOOD.secretAccessKey, accountId: GOOD.accountId };
  assert.match(parseError([withoutId]).message, /credentials\[0\]: accessKeyId must be a non-empty string, got nothing \(field missing\)/);
  assert.match(parseError([{ ...GOOD, secretAccessKey: '' }]).message, /\(accessKeyId "AKIDONE"\): secretAccessKey must be a non-empty string, got an empty string/);
  assert.match(parseError([{ ...GOOD, secretAccessKey: 42 }]).message, /secretAccessKey must be a non-empty string, got a number/);
  assert.match(parseError([{ ...GOOD, accessKeyId: 'AKID/ONE' }]).message, /accessKeyId may contain only printable ASCII/);
  assert.match(parseError([{ ...GOOD, accessKeyId: 'AKID ONE' }]).message, /accessKeyId may contain only printable ASCII/);
});

test('rejects unknown fields in an entry (typos would otherwise go unnoticed)', () => {
  const err = parseError([{ accessKeyId: 'AKIDONE', secretKey: 'x', accountId: '123456789012' }]);
  assert.match(err.message, /\(accessKeyId "AKIDONE"\): unknown field\(s\) "secretKey"/);
});

test('rejects duplicate access key ids', () => {
  const err = parseError({ credentials: [GOOD, OTHER, { ...GOOD, secretAccessKey: 'another' }] });
  assert.match(err.message, /credentials\[2\] \(accessKeyId "AKIDONE"\): duplicate accessKeyId, already defined by credentials\[0\]/);
});

test('never echoes a secret in an error', () => {
  const secret = 'super-secret-value';
  for (const bad of [
    [{ ...GOOD, secretAccessKey: secret, accountId: 'nope' }],
    [{ ...GOOD, secretAccessKey: secret, extra: true }],
    [{ ...GOOD, secretAccessKey: secret }, { ...GOOD, secretAccessKey: secret }],
  ]) {
    assert.ok(!parseError(bad).message.includes(secret));
  }
});

test('KeyStore looks keys up by access key id', () => {
  const store = new KeyStore([GOOD, OTHER]);
  assert.equal(store.size, 2);
  assert.deepEqual(store.lookup('AKIDTWO'), OTHER);
  assert.equal(store.lookup('AKIDNONE'), undefined);
  assert.equal(store.lookup('__proto__'), undefined);
  const { lookup } = store;
  assert.deepEqual(lookup('AKIDONE'), GOOD, 'lookup works unbound');
});

test('KeyStore rejects duplicates and is not affected by later changes to its input', () => {
  assert.throws(() => new KeyStore([GOOD, { ...GOOD }]), /duplicate accessKeyId "AKIDONE"/);
  const pair = { ...GOOD };
  const store = new KeyStore([pair]);
  pair.secretAccessKey = 'changed';
  assert.equal(store.lookup('AKIDONE')?.secretAccessKey, 'secret-one');
});
