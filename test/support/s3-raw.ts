/**
 * Raw HTTP requests to an S3 endpoint with the exact path given (no URL normalisation, so `..`
 * and odd encodings reach the server as written), signed with SigV4 for service s3 or sent
 * unsigned; and a small reading proxy that signs GETs for players that cannot (ffmpeg).
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface RawResponse {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface RawOptions {
  /** Keys to sign with; omitted: the request goes unsigned. */
  readonly keys?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly body?: Buffer | string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Sign with x-amz-content-sha256: UNSIGNED-PAYLOAD instead of the body's hash. */
  readonly unsignedPayload?: boolean;
}

/** Signs a request for `rawPath` (sent byte for byte) and returns the headers to send. */
export async function signS3(url: string, method: string, rawPath: string, o: RawOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const headers: Record<string, string> = { host: u.host, ...(o.headers ?? {}) };
  if (o.unsignedPayload) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  if (!o.keys) return headers;
  const q = rawPath.indexOf('?');
  const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
  const query: Record<string, string> = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(rawPath.slice(q + 1))) query[k] = v;
  // S3 signs the path as sent (no normalisation, no second encoding).
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: o.keys, sha256: Sha256, uriEscapePath: false, applyChecksum: true });
  const signed = await signer.sign({ method, protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path, query, headers, ...(o.body !== undefined && !o.unsignedPayload ? { body: o.body } : {}) });
  return signed.headers;
}

export async function rawS3(url: string, method: string, rawPath: string, o: RawOptions = {}): Promise<RawResponse> {
  const u = new URL(url);
  const headers = await signS3(url, method, rawPath, o);
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname: u.hostname, port: Number(u.port), method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The <Code> of an S3 XML error body. */
export function s3ErrorCode(text: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}

export interface ReadingProxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * GET {proxy}/{bucket}/{key} answers the object as a signed GetObject would: for players
 * (ffmpeg, ffprobe) reading harvested assets from an S3 store that only takes signed requests.
 */
export async function startReadingProxy(s3: S3Client): Promise<ReadingProxy> {
  const server: Server = createServer((req, res) => {
    req.resume();
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const slash = path.indexOf('/', 1);
    const bucket = path.slice(1, slash);
    const key = path.slice(slash + 1);
    s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
      async (out) => {
        const bytes = Buffer.from(await out.Body!.transformToByteArray());
        res.writeHead(200, { 'content-type': out.ContentType ?? 'application/octet-stream', 'content-length': bytes.length });
        res.end(req.method === 'HEAD' ? undefined : bytes);
      },
      (err: { $metadata?: { httpStatusCode?: number } }) => {
        res.writeHead(err.$metadata?.httpStatusCode ?? 502).end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
