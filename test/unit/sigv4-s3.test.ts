/**
 * SigV4 verification in S3 mode (the built-in S3 endpoint): against the JS SDK's signer as it
 * signs for S3 (the path as sent, the payload hash declared in x-amz-content-sha256).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthError, SigV4Verifier, type KeyPair } from '../../src/api/auth/sigv4.js';

const KEY: KeyPair = { accessKeyId: 'S3KEY', secretAccessKey: 's3-secret', accountId: '000000000000' };
const NOW = new Date('2026-11-28T10:20:00Z');
const verifier = new SigV4Verifier((id) => (id === KEY.accessKeyId ? KEY : undefined), 's3', { s3: true });
const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: KEY, sha256: Sha256, uriEscapePath: false, applyChecksum: true });

async function signed(method: string, path: string, body?: string, query: Record<string, string> = {}) {
  const r = await signer.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port: 4569, path, query, headers: { host: '127.0.0.1:4569' }, ...(body !== undefined ? { body } : {}) }, { signingDate: NOW });
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const rawQuery = new URLSearchParams(query).toString();
  return { method, rawPath: path, rawQuery, headers, body: undefined };
}

test('an S3 request verifies with the path as sent, the body left to the caller', async () => {
  const req = await signed('PUT', '/vod/clips/a%20b/index.m3u8', '#EXTM3U\n');
  assert.equal(req.headers['x-amz-content-sha256'], createHash('sha256').update('#EXTM3U\n').digest('hex'));
  assert.equal(verifier.verify(req, NOW).accessKeyId, 'S3KEY');
  // Dot segments are not resolved: a signature over `/vod/../x` is a signature over that path.
  const dots = await signed('PUT', '/vod/../x', 'x');
  assert.equal(verifier.verify(dots, NOW).accessKeyId, 'S3KEY');
  assert.throws(() => verifier.verify({ ...dots, rawPath: '/x' }, NOW), (e: Error) => e instanceof AuthError && e.code === 'InvalidSignatureException');
  assert.throws(() => verifier.verify({ ...req, rawPath: '/vod/clips/a%20b/index2.m3u8' }, NOW), (e: Error) => e instanceof AuthError && e.code === 'InvalidSignatureException');
});

test('a header-signed S3 request must declare its payload hash; a presigned one is UNSIGNED-PAYLOAD', async () => {
  const req = await signed('GET', '/vod/a.txt');
  const { ['x-amz-content-sha256']: _dropped, ...headers } = req.headers;
  assert.throws(() => verifier.verify({ ...req, headers }, NOW), (e: Error) => e instanceof AuthError && e.code === 'IncompleteSignatureException' && /x-amz-content-sha256/.test(e.message));
  const presigner = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: KEY, sha256: Sha256, uriEscapePath: false });
  // As the S3 presigner does: the payload of a presigned URL is UNSIGNED-PAYLOAD.
  const p = await presigner.presign(
    { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 4569, path: '/vod/a.txt', query: {}, headers: { host: '127.0.0.1:4569', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { signingDate: NOW, expiresIn: 600, unsignableHeaders: new Set(['x-amz-content-sha256']) },
  );
  assert.equal(p.headers['x-amz-content-sha256'] ?? p.query?.['X-Amz-Content-Sha256'] ?? 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD');
  const rawQuery = Object.entries(p.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  assert.equal(verifier.verify({ method: 'GET', rawPath: '/vod/a.txt', rawQuery, headers: { host: '127.0.0.1:4569' }, body: undefined }, NOW).accessKeyId, 'S3KEY');
});
