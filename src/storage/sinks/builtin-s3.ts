/**
 * The built-in local S3 endpoint that `npm start` runs when no S3 store is configured, so a first
 * harvest works with nothing else installed. Files live under `{data-dir}/s3`.
 *
 * Packhouse's own HTTP server answers every request first and hands it to s3rver (which never
 * listens itself) only when:
 * - it is signed with SigV4 (service s3, header or presigned form) by the endpoint's one key pair;
 * - it is path-style, and its bucket name and key are ones the store can hold (domain/s3-names.ts);
 *   a CopyObject source is checked the same way;
 * - it does not ask for a bucket configuration s3rver would act on (website, CORS, ...).
 * The request is then rewritten to the exact bucket and key that were checked, without its
 * credentials. Object bodies are checked against their signed SHA-256 as they are stored
 * (builtin-s3-store.ts), and every write there is atomic.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { AuthError, SigV4Verifier } from '../../api/auth/sigv4.js';
import { bucketNameProblem, MAX_KEY_BYTES, objectKeyProblem } from '../../domain/s3-names.js';
import { expectBody, SafeFilesystemStore } from './builtin-s3-store.js';

export interface BuiltinS3 {
  readonly url: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  close(): Promise<void>;
}

export interface BuiltinS3Options {
  readonly directory: string;
  readonly host: string;
  readonly port: number;
  /** The one key pair the endpoint accepts (and Packhouse's harvester signs with). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly now?: () => Date;
}

/** Bucket configurations s3rver would store and act on; the built-in store keeps none. */
const REFUSED_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold', 'lifecycle', 'logging',
  'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy', 'publicAccessBlock', 'replication', 'requestPayment',
  'restore', 'retention', 'select', 'tagging', 'torrent', 'versioning', 'website',
]);

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function refuse(req: IncomingMessage, res: ServerResponse, e: Refused): void {
  req.resume();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlText(e.code)}</Code><Message>${xmlText(e.message)}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  res.writeHead(e.status, { 'content-type': 'application/xml', 'content-length': req.method === 'HEAD' ? 0 : Buffer.byteLength(body), 'x-amz-error-code': e.code, connection: 'close' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** AuthError (the API's verifier) as the S3 error a client expects. */
function authRefusal(err: AuthError): Refused {
  switch (err.code) {
    case 'MissingAuthenticationTokenException':
      return new Refused(403, 'AccessDenied', 'Access Denied: the built-in S3 store only answers requests signed (AWS Signature Version 4) with its key pair; see --s3-builtin-access-key-id.');
    case 'UnrecognizedClientException':
      return new Refused(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records: the built-in S3 store takes only its configured key pair (--s3-builtin-access-key-id).');
    case 'IncompleteSignatureException':
      return new Refused(400, 'AuthorizationHeaderMalformed', err.message);
    default:
      if (/^Signature (expired|not yet current)/.test(err.message)) return new Refused(403, 'RequestTimeTooSkewed', err.message);
      if (/does not match the signature you provided/.test(err.message)) return new Refused(403, 'SignatureDoesNotMatch', err.message);
      return new Refused(403, 'AccessDenied', err.message);
  }
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new Refused(400, 'InvalidURI', `${what} is not valid percent-encoding.`);
  }
}

function checkKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem) throw new Refused(400, Buffer.byteLength(key) > MAX_KEY_BYTES ? 'KeyTooLongError' : 'InvalidArgument', `${problem} The built-in S3 store refuses keys it cannot keep as files.`);
}

function checkBucket(bucket: string): void {
  const problem = bucketNameProblem(bucket);
  if (problem) throw new Refused(400, 'InvalidBucketName', problem);
}

const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/**
 * The request as s3rver must see it: the checked bucket and key re-encoded, the query without the
 * presigned credentials, the copy source re-written from its checked parts.
 */
function route(req: IncomingMessage, rawPath: string, rawQuery: string): string {
  if (!rawPath.startsWith('/')) throw new Refused(400, 'InvalidURI', 'The request path must start with "/".');
  const slash = rawPath.indexOf('/', 1);
  const bucket = decode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash), 'The bucket name');
  const key = slash < 0 ? '' : decode(rawPath.slice(slash + 1), 'The key');
  const query: string[] = [];
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const name = decode(piece.split('=')[0]!, 'A query parameter');
    if (/^x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token)$/i.test(name)) continue;
    if (REFUSED_SUBRESOURCES.has(name)) throw new Refused(501, 'NotImplemented', `The built-in S3 store does not support ?${name}.`);
    if (name === 'uploadId' && !/^uploadId=[0-9a-f]{32}$/.test(piece)) throw new Refused(404, 'NoSuchUpload', 'The specified upload does not exist.');
    if (name === 'partNumber' && !/^partNumber=\d{1,5}$/.test(piece)) throw new Refused(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
    query.push(piece);
  }
  if (bucket === '') {
    if (key !== '') throw new Refused(400, 'InvalidBucketName', 'The bucket name is empty.');
    return `/${query.length ? `?${query.join('&')}` : ''}`;
  }
  checkBucket(bucket);
  if (key !== '') checkKey(key);
  const copySource = req.headers['x-amz-copy-source'];
  if (copySource !== undefined) {
    const text = decode((Array.isArray(copySource) ? copySource.join(',') : copySource).replace(/^\//, '').split('?')[0]!, 'x-amz-copy-source');
    const cut = text.indexOf('/');
    if (cut <= 0) throw new Refused(400, 'InvalidArgument', 'x-amz-copy-source must be {bucket}/{key}.');
    checkBucket(text.slice(0, cut));
    checkKey(text.slice(cut + 1));
    req.headers['x-amz-copy-source'] = `${text.slice(0, cut)}/${encodeURI(text.slice(cut + 1))}`;
  }
  return `/${encodeURIComponent(bucket)}${key !== '' ? `/${encodeKey(key)}` : ''}${query.length ? `?${query.join('&')}` : ''}`;
}

export async function startBuiltinS3(o: BuiltinS3Options): Promise<BuiltinS3> {
  mkdirSync(o.directory, { recursive: true });
  const store = new SafeFilesystemStore(o.directory);
  await store.sweepTemporaries();
  const s3rver = new S3rver({ directory: o.directory, silent: true, vhostBuckets: false, serviceEndpoint: 'packhouse.invalid' });
  s3rver.store = store;
  s3rver.context.store = store;
  const handle = s3rver.callback();
  const key = { ...o.credentials, accountId: '000000000000' };
  const verifier = new SigV4Verifier((id) => (id === key.accessKeyId ? key : undefined), 's3', { s3: true });
  const now = o.now ?? (() => new Date());

  const server = createServer((req, res) => {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rawPath = q >= 0 ? url.slice(0, q) : url;
      const rawQuery = q >= 0 ? url.slice(q + 1) : '';
      try {
        verifier.verify({ method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers, body: undefined }, now());
      } catch (err) {
        if (err instanceof AuthError) throw authRefusal(err);
        throw err;
      }
      const declared = req.headers['x-amz-content-sha256'];
      if (typeof declared === 'string' && /^STREAMING-/i.test(declared)) {
        throw new Refused(501, 'NotImplemented', `The built-in S3 store does not take aws-chunked uploads (x-amz-content-sha256: ${declared}); send the body as is.`);
      }
      if (typeof declared === 'string' && /^[0-9a-f]{64}$/i.test(declared)) expectBody(req, declared);
      req.url = route(req, rawPath, rawQuery);
      delete req.headers.authorization;
      req.headers.host = '127.0.0.1';
      handle(req, res);
    } catch (err) {
      refuse(req, res, err instanceof Refused ? err : new Refused(500, 'InternalError', 'We encountered an internal error. Please try again.'));
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host === 'localhost' ? '127.0.0.1' : o.host, () => resolve());
  });
  const info = server.address() as AddressInfo;
  const address = info.address === '0.0.0.0' || info.address === '::' ? '127.0.0.1' : info.address.includes(':') ? `[${info.address}]` : info.address;
  return {
    url: `http://${address}:${info.port}`,
    credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      s3rver.logger.exceptions.unhandle();
      s3rver.logger.close();
    },
  };
}
