/**
 * The SPEKE v2 client: posts a CPIX request to a key provider (`X-Speke-Version: 2.1`, or 2.0 to a
 * provider that answered 'Unsupported SPEKE version' to 2.1), bounded in time and in the size of
 * the answer, optionally SigV4-signed for a provider behind Amazon API Gateway (service
 * `execute-api`). Errors say what the provider did; they never hold a key.
 */
import { createHash, createHmac } from 'node:crypto';
import type { SpekeVersion } from './cpix.js';

export interface SpekeCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface SpekeClientOptions {
  /** Bound on one request, connecting to reading the whole answer. */
  readonly timeoutMs: number;
  /** Largest answer read, in bytes. */
  readonly maxResponseBytes: number;
  /** Sign requests with these (SigV4, service execute-api); none: unsigned. */
  readonly credentials?: SpekeCredentials | undefined;
  /** Region to sign for; default: read from an execute-api host name, else us-east-1. */
  readonly region?: string | undefined;
}

export class SpekeError extends Error {}

/** The provider answered a 4xx saying 'Unsupported SPEKE version' (SPEKE API v2.1). */
export class SpekeVersionError extends SpekeError {}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding of one path segment or query component, as SigV4 wants it. */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The Region of an API Gateway URL (`{id}.execute-api.{region}.amazonaws.com`). */
export function regionOfUrl(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/** SigV4 headers for a POST (AWS General Reference, "Signature Version 4 signing process"). */
export function signRequest(url: URL, body: string, headers: Record<string, string>, creds: SpekeCredentials, region: string, now: Date, service = 'execute-api'): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const all: Record<string, string> = { ...headers, host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  if (creds.sessionToken) all['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, val]) => [k.toLowerCase(), val.trim().replace(/\s+/g, ' ')]));
  const path = url.pathname.split('/').map((p) => enc(decodeURIComponent(p))).join('/') || '/';
  const query = [...url.searchParams.entries()].map(([k, val]) => [enc(k), enc(val)] as const).sort((x, y) => (x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1)).map(([k, val]) => `${k}=${val}`).join('&');
  const canonical = ['POST', path, query, ...names.map((n) => `${n}:${lower[n]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kDate = hmac(`AWS4${creds.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  const { host: _host, ...rest } = all;
  return { ...rest, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** Posts one CPIX request and returns the answer's body; throws SpekeError saying why not. */
export async function postCpix(urlText: string, cpix: string, o: SpekeClientOptions, version: SpekeVersion = '2.0'): Promise<string> {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new SpekeError(`the key provider URL ${urlText.slice(0, 200)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SpekeError(`the key provider URL must be http(s), not ${url.protocol}`);
  let headers: Record<string, string> = { 'content-type': 'application/xml', 'x-speke-version': version };
  if (o.credentials) headers = signRequest(url, cpix, headers, o.credentials, o.region ?? regionOfUrl(url) ?? 'us-east-1', new Date());
  const where = `${url.origin}${url.pathname}`;
  let res: Response;
  const signal = AbortSignal.timeout(o.timeoutMs);
  try {
    res = await fetch(url, { method: 'POST', headers, body: cpix, signal, redirect: 'error' });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || signal.aborted) throw new SpekeError(`the key provider at ${where} did not answer within ${o.timeoutMs / 1000} s`);
    throw new SpekeError(`the key provider at ${where} could not be reached: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  }
  let body: Buffer;
  try {
    body = await readBounded(res, o.maxResponseBytes);
  } catch (err) {
    if (err instanceof SpekeError) throw new SpekeError(`the key provider at ${where} ${err.message}`);
    throw new SpekeError(`the key provider at ${where} broke off its answer: ${(err as Error).message}`);
  }
  if (res.status < 200 || res.status > 299) {
    // The provider's own words help; a short, single-line piece only.
    const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
    const said = text.slice(0, 200);
    if (res.status >= 400 && res.status < 500 && /unsupported speke version/i.test(text)) throw new SpekeVersionError(`the key provider at ${where} answered HTTP ${res.status}: ${said}`);
    throw new SpekeError(`the key provider at ${where} answered HTTP ${res.status}${said ? `: ${said}` : ''}`);
  }
  return body.toString('utf8');
}

async function readBounded(res: Response, max: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw new SpekeError(`sent an answer of ${declared} bytes, more than the ${max} accepted`);
  }
  const parts: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) {
      await res.body.cancel().catch(() => undefined);
      throw new SpekeError(`sent an answer of more than the ${max} bytes accepted`);
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/**
 * The SPEKE version each provider URL speaks, as learnt: a provider is asked with v2.1 until it
 * answers 'Unsupported SPEKE version', then with v2.0 for as long as this node remembers it (in
 * memory, the most recently used `max` URLs).
 */
export class SpekeVersions {
  private readonly v20 = new Map<string, true>();

  constructor(private readonly max = 1000) {}

  versionFor(url: string): SpekeVersion {
    if (!this.v20.has(url)) return '2.1';
    this.v20.delete(url);
    this.v20.set(url, true);
    return '2.0';
  }

  onlyV20(url: string): void {
    this.v20.delete(url);
    this.v20.set(url, true);
    while (this.v20.size > this.max) this.v20.delete(this.v20.keys().next().value!);
  }
}

/**
 * Asks a provider for keys with the SPEKE version it speaks (SpekeVersions): v2.1 first and, when
 * it answers that it does not support that version, v2.0 again at once, remembered for next time.
 * `cpix` writes the request document of a version. Returns the answer and the version it answers.
 */
export async function requestKeys(url: string, cpix: (version: SpekeVersion) => string, o: SpekeClientOptions, versions: SpekeVersions): Promise<{ answer: string; version: SpekeVersion }> {
  const version = versions.versionFor(url);
  try {
    return { answer: await postCpix(url, cpix(version), o, version), version };
  } catch (err) {
    if (!(err instanceof SpekeVersionError) || version !== '2.1') throw err;
    versions.onlyV20(url);
    return { answer: await postCpix(url, cpix('2.0'), o, '2.0'), version: '2.0' };
  }
}
