/**
 * Raw control-plane requests signed with the SDK's own signer (@smithy/signature-v4), for bodies,
 * paths and query strings the typed client would refuse to send.
 */
import { request as httpRequest } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_KEYS } from './server.js';

export interface RawRequest {
  readonly method: string;
  /** Already percent-encoded, as sent. */
  readonly path: string;
  /** Decoded names and values (the signer and the sender encode them). */
  readonly query?: Readonly<Record<string, string | string[]>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Signs (region us-east-1, the local key pair unless given) and sends one request over HTTP. */
export async function rawApi(serverUrl: string, r: RawRequest, options: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {}): Promise<RawResponse> {
  const u = new URL(serverUrl);
  const signer = new SignatureV4({ service: 'mediapackagev2', region: options.region ?? 'us-east-1', credentials: options.credentials ?? LOCAL_KEYS, sha256: Sha256, uriEscapePath: true });
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  const headers: Record<string, string> = { host: u.host, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...(r.headers ?? {}) };
  const query = r.query ?? {};
  const signed = await signer.sign({ method: r.method, protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: r.path, query: { ...query }, headers, ...(body !== undefined ? { body } : {}) });
  const qs = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${escape(k)}=${escape(x)}`))
    .join('&');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: Number(u.port), method: r.method, path: `${r.path}${qs ? `?${qs}` : ''}`, headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
