/**
 * AWS Signature Version 4 verification of incoming requests (Authorization header and presigned
 * query forms). Pure: no I/O, never reads the clock (`now` is passed in) and holds no module-level
 * mutable state; the only cache lives inside a SigV4Verifier instance. It knows nothing about
 * routing, error serialisation or where keys come from (a lookup function is injected).
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { utcMs } from '../../media/time.js';

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

export interface SignedRequest {
  method: string;
  /** Path as received, still percent-encoded, without the query. */
  rawPath: string;
  /** Everything after '?', or '' when there is no query. */
  rawQuery: string;
  /** Node's IncomingHttpHeaders: names are lowercase. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body, checked against the declared x-amz-content-sha256; undefined when the body is still
   * streaming (S3 object data): the declared hash is then signed as given, and the caller must
   * check the body against it before using the body.
   */
  body: Buffer | undefined;
}

export interface VerifierOptions {
  /**
   * S3's canonical request: the path as sent, each segment encoded once, no dot-segment or
   * empty-segment removal; header-signed requests must declare x-amz-content-sha256.
   */
  readonly s3?: boolean;
}

export interface Caller {
  accessKeyId: string;
  accountId: string;
  region: string;
}

export type KeyLookup = (accessKeyId: string) => KeyPair | undefined;

/** A request failed authentication; `code` is the AWS error type sent back to the client. */
export class AuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 403,
  ) {
    super(message);
    this.name = code;
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 60 * 60;
const SIGNING_KEY_CACHE_SIZE = 64;

const MISSING_TOKEN_MESSAGE =
  'Missing Authentication Token. Requests must be signed with AWS Signature Version 4 ' +
  '(an Authorization header, or X-Amz-Algorithm/X-Amz-Credential/X-Amz-Signature query parameters).';
const MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SCOPE_DATE_RE = /^\d{8}$/;
const REGION_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ALL_UNRESERVED_RE = /^[A-Za-z0-9\-._~]*$/;

const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Expires',
] as const;

/** Query parameters (lowercased) that make a request a presigned one, in any spelling. */
const PRESIGN_MARKERS: ReadonlySet<string> = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-signature']);
const PRESIGN_LOWER: ReadonlySet<string> = new Set(PRESIGN_PARAMS.map((p) => p.toLowerCase()));

/** Client-supplied text for an error message, cut short so a huge header cannot bloat the reply. */
function shown(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function incomplete(message: string): AuthError {
  return new AuthError('IncompleteSignatureException', message);
}

function invalid(message: string): AuthError {
  return new AuthError('InvalidSignatureException', message);
}

// ---------------------------------------------------------------------------------------------
// RFC 3986 encoding, done on UTF-8 bytes so that no input can make it throw.

function isUnreservedByte(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out += isUnreservedByte(b)
      ? String.fromCharCode(b)
      : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Percent-encodes everything outside the RFC 3986 unreserved set. */
function uriEncode(text: string): string {
  return ALL_UNRESERVED_RE.test(text) ? text : encodeBytes(Buffer.from(text, 'utf8'));
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Decodes a query name or value exactly as the URLSearchParams that Packhouse reads queries with:
 * '+' is a space, %XX escapes are bytes, and a '%' not followed by two hex digits stays literal.
 * The signature must cover the value the request is acted on: were '+' kept literal here, a query
 * signed as `a%2Bb` (the value "a+b") would verify when sent as `a+b`, which means "a b".
 */
function percentDecode(text: string): Buffer {
  if (text.includes('+')) text = text.replace(/\+/g, ' ');
  if (!text.includes('%')) return Buffer.from(text, 'utf8');
  const raw = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] ?? 0;
    if (b === 0x25 && i + 2 < raw.length) {
      const hi = hexValue(raw[i + 1] ?? 0);
      const lo = hexValue(raw[i + 2] ?? 0);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return out.subarray(0, n);
}

// ---------------------------------------------------------------------------------------------
// Canonical request pieces.

/**
 * Canonical URI as the AWS SDKs compute it for non-S3 services: dot segments resolved, empty
 * segments dropped, a trailing slash kept, and each (already percent-encoded) segment encoded again.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  if (segments.length === 0) return '/';
  const lead = rawPath.startsWith('/') ? '/' : '';
  const trail = rawPath.endsWith('/') ? '/' : '';
  return lead + segments.join('/') + trail;
}

/**
 * Canonical URI as S3 takes it: the path exactly as sent (S3 signers sign the encoded path they
 * send; no dot-segment or empty-segment removal, no second encoding).
 */
export function s3CanonicalUri(rawPath: string): string {
  return rawPath === '' ? '/' : rawPath;
}

interface QueryParam {
  /** Decoded name and value, for reading the presigned parameters. */
  name: string;
  value: string;
  /** Canonically encoded name and value. */
  encodedName: string;
  encodedValue: string;
}

function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const nameBytes = percentDecode(eq < 0 ? piece : piece.slice(0, eq));
    const valueBytes = percentDecode(eq < 0 ? '' : piece.slice(eq + 1));
    params.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      encodedName: encodeBytes(nameBytes),
      encodedValue: encodeBytes(valueBytes),
    });
  }
  return params;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorted by encoded name, then encoded value. In the presigned form the X-Amz-Signature parameter
 * itself is left out; in the header form every parameter is signed.
 */
export function canonicalQuery(rawQuery: string, presigned = false): string {
  return canonicalQueryOf(parseQuery(rawQuery), presigned);
}

function canonicalQueryOf(params: readonly QueryParam[], presigned: boolean): string {
  return params
    .filter((p) => !presigned || p.name !== 'X-Amz-Signature')
    .map((p) => [p.encodedName, p.encodedValue] as const)
    .sort((a, b) => compareCodeUnits(a[0], b[0]) || compareCodeUnits(a[1], b[1]))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t]+/g, ' ').trim();
}

function rawHeader(
  headers: SignedRequest['headers'],
  name: string,
): string | string[] | undefined {
  // Own properties only: a signed header named e.g. 'constructor' must not reach Object.prototype.
  const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (value !== undefined || name !== 'host') return value;
  return Object.hasOwn(headers, ':authority') ? headers[':authority'] : undefined; // HTTP/2
}

/** A header as one string (multiple values joined with ','), or undefined when absent. */
function headerText(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = rawHeader(headers, name);
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(',');
}

function canonicalHeaders(headers: SignedRequest['headers'], signed: readonly string[]): string {
  let out = '';
  for (const name of signed) {
    const value = rawHeader(headers, name.toLowerCase());
    const text =
      value === undefined
        ? ''
        : typeof value === 'string'
          ? canonicalHeaderValue(value)
          : value.map(canonicalHeaderValue).join(',');
    out += `${name}:${text}\n`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dates.

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Parses YYYYMMDD'T'HHMMSS'Z' strictly; undefined when malformed or not a real instant. */
function parseAmzDate(text: string): number | undefined {
  const m = AMZ_DATE_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return s < 60 ? utcMs(y, mo, d, h, mi, s) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Extracting the signature parameters from either form.

interface SignatureParts {
  credential: string;
  signedHeaders: string;
  signature: string;
  /** The request timestamp, in X-Amz-Date format. */
  amzDate: string;
  amzDateMs: number;
  /** Where amzDate came from, for messages. */
  dateSource: string;
  /** Seconds; only for the presigned form. */
  expires: number | undefined;
  /** Payload hash declared by the client, if any. */
  declaredPayloadHash: string | undefined;
}

function fromAuthorizationHeader(header: string, headers: SignedRequest['headers']): SignatureParts {
  const trimmed = header.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incomplete(
      `Unsupported Authorization algorithm '${shown(algorithm)}': only ${ALGORITHM} (Signature Version 4) is accepted.`,
    );
  }
  const fields = new Map<string, string>();
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  for (const piece of rest.split(',')) {
    const item = piece.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw incomplete(`Authorization header component '${shown(item)}' is not of the form Key=Value.`);
    }
    const key = item.slice(0, eq).trim();
    if (fields.has(key)) {
      throw incomplete(`Authorization header has more than one '${shown(key)}' component.`);
    }
    fields.set(key, item.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    throw incomplete(
      missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') +
        ` Authorization=${ALGORITHM} ${shown(redactSignature(rest))}`,
    );
  }

  let amzDate = headerText(headers, 'x-amz-date');
  let dateSource = 'X-Amz-Date';
  let amzDateMs: number | undefined;
  if (amzDate !== undefined) {
    amzDate = amzDate.trim();
    amzDateMs = parseAmzDate(amzDate);
    if (amzDateMs === undefined) {
      throw incomplete(
        `X-Amz-Date '${shown(amzDate)}' is not in ISO 8601 basic format (YYYYMMDD'T'HHMMSS'Z').`,
      );
    }
  } else {
    const date = headerText(headers, 'date');
    if (date === undefined) {
      throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    const parsed = Date.parse(date);
    if (Number.isNaN(parsed)) {
      throw incomplete(`Date header '${shown(date)}' is not a valid HTTP date.`);
    }
    amzDateMs = parsed - (parsed % 1000);
    amzDate = formatAmzDate(amzDateMs);
    dateSource = 'Date';
  }

  return {
    credential: fields.get('Credential') ?? '',
    signedHeaders: fields.get('SignedHeaders') ?? '',
    signature: fields.get('Signature') ?? '',
    amzDate,
    amzDateMs,
    dateSource,
    expires: undefined,
    declaredPayloadHash: headerText(headers, 'x-amz-content-sha256')?.trim(),
  };
}

function redactSignature(text: string): string {
  return text.replace(/Signature=[^,\s]*/, 'Signature=<redacted>');
}

function fromPresignedQuery(params: readonly QueryParam[], headers: SignedRequest['headers']): SignatureParts {
  const found = new Map<string, string>();
  for (const p of params) {
    if (!(PRESIGN_PARAMS as readonly string[]).includes(p.name)) continue;
    if (found.has(p.name)) {
      throw incomplete(`Query parameter '${p.name}' is given more than once.`);
    }
    found.set(p.name, p.value);
  }
  const missing = PRESIGN_PARAMS.filter((k) => !found.get(k));
  if (missing.length > 0) {
    throw incomplete(
      `A presigned request requires the query parameters ${PRESIGN_PARAMS.join(', ')}; ` +
        `missing or empty: ${missing.join(', ')}.`,
    );
  }
  const algorithm = found.get('X-Amz-Algorithm') ?? '';
  if (algorithm !== ALGORITHM) {
    throw incomplete(
      `Unsupported X-Amz-Algorithm '${shown(algorithm)}': only ${ALGORITHM} (Signature Version 4) is accepted.`,
    );
  }
  const amzDate = found.get('X-Amz-Date') ?? '';
  const amzDateMs = parseAmzDate(amzDate);
  if (amzDateMs === undefined) {
    throw incomplete(`X-Amz-Date '${shown(amzDate)}' is not in ISO 8601 basic format (YYYYMMDD'T'HHMMSS'Z').`);
  }
  const expiresText = found.get('X-Amz-Expires') ?? '';
  const expires = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGN_EXPIRES_S)) {
    throw incomplete(
      `X-Amz-Expires must be a whole number of seconds between 1 and ${MAX_PRESIGN_EXPIRES_S}, got '${shown(expiresText)}'.`,
    );
  }
  const queryHash = params.find((p) => p.name.toLowerCase() === 'x-amz-content-sha256')?.value;
  return {
    credential: found.get('X-Amz-Credential') ?? '',
    signedHeaders: found.get('X-Amz-SignedHeaders') ?? '',
    signature: found.get('X-Amz-Signature') ?? '',
    amzDate,
    amzDateMs,
    dateSource: 'X-Amz-Date',
    expires,
    declaredPayloadHash: (queryHash ?? headerText(headers, 'x-amz-content-sha256'))?.trim(),
  };
}

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  /** date/region/service/aws4_request */
  text: string;
}

function parseCredential(credential: string, service: string): Scope {
  const parts = credential.split('/');
  if (parts.length < 5) {
    throw incomplete(
      `Credential should be of the form AccessKeyId/YYYYMMDD/region/service/${TERMINATOR}, ` +
        `got ${parts.length} slash-separated part(s).`,
    );
  }
  const [date, region, scopeService, terminator] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '') {
    throw incomplete('Credential has an empty access key id.');
  }
  if (terminator !== TERMINATOR) {
    throw invalid(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${shown(terminator)}'.`);
  }
  if (scopeService !== service) {
    throw invalid(`Credential should be scoped to correct service: '${service}'.`);
  }
  if (!REGION_RE.test(region)) {
    throw invalid(`Credential should be scoped to a valid region, not '${shown(region)}'.`);
  }
  if (!SCOPE_DATE_RE.test(date)) {
    throw invalid(`Credential should be scoped to a date of the form YYYYMMDD, not '${shown(date)}'.`);
  }
  return { accessKeyId, date, region, service: scopeService, text: parts.slice(-4).join('/') };
}

function parseSignedHeaders(text: string): string[] {
  const names = text.split(';');
  if (names.some((n) => n.trim() === '')) {
    throw incomplete(`SignedHeaders '${shown(text)}' contains an empty header name.`);
  }
  const lower = names.map((n) => n.toLowerCase());
  if (!lower.includes('host') && !lower.includes(':authority')) {
    throw invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return names;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

// ---------------------------------------------------------------------------------------------

/** Verifies SigV4-signed requests for one service; caches derived signing keys per instance. */
export class SigV4Verifier {
  private readonly signingKeys = new Map<string, Buffer>();

  constructor(
    private readonly lookup: KeyLookup,
    readonly service = 'mediapackagev2',
    private readonly options: VerifierOptions = {},
  ) {}

  /** Returns who signed the request, or throws AuthError. */
  verify(req: SignedRequest, now: Date): Caller {
    const query = parseQuery(req.rawQuery);
    const authorization = headerText(req.headers, 'authorization');
    const hasAuthHeader = authorization !== undefined && authorization.trim() !== '';
    // Any spelling of a presigning parameter counts: a header-signed request that also carries
    // `x-amz-signature` in its query holds two signatures, and exactly one is accepted.
    const presignNames = query.filter((p) => PRESIGN_MARKERS.has(p.name.toLowerCase()));
    const hasPresign = presignNames.length > 0;
    if (!hasAuthHeader && !hasPresign) {
      throw new AuthError('MissingAuthenticationTokenException', MISSING_TOKEN_MESSAGE);
    }
    if (hasAuthHeader && hasPresign) {
      throw incomplete(
        'Only one authentication mechanism is allowed: either the Authorization header or X-Amz-* query parameters, not both.',
      );
    }
    const misspelt = hasAuthHeader ? undefined : query.find((p) => PRESIGN_LOWER.has(p.name.toLowerCase()) && !(PRESIGN_PARAMS as readonly string[]).includes(p.name));
    if (misspelt) {
      throw incomplete(`Query parameter '${shown(misspelt.name)}' is not a SigV4 parameter name; presigned requests spell them exactly (${PRESIGN_PARAMS.join(', ')}).`);
    }
    const parts = hasAuthHeader
      ? fromAuthorizationHeader(authorization ?? '', req.headers)
      : fromPresignedQuery(query, req.headers);

    const scope = parseCredential(parts.credential, this.service);
    const requestDay = parts.amzDate.slice(0, 8);
    if (scope.date !== requestDay) {
      throw invalid(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
          `'${scope.date}' != '${requestDay}', from '${parts.amzDate}' (${parts.dateSource}).`,
      );
    }
    const signedHeaders = parseSignedHeaders(parts.signedHeaders);

    const key = this.lookup(scope.accessKeyId);
    if (key === undefined) {
      throw new AuthError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }

    this.checkTime(parts, now.getTime());

    const declared = parts.declaredPayloadHash;
    let payloadHash: string;
    if (req.body === undefined) {
      if (declared === undefined && hasAuthHeader) {
        throw incomplete('Missing required header for this request: x-amz-content-sha256.');
      }
      payloadHash = declared ?? UNSIGNED_PAYLOAD;
    } else {
      const bodyHash = sha256Hex(req.body);
      if (declared !== undefined && declared !== UNSIGNED_PAYLOAD && declared.toLowerCase() !== bodyHash) {
        throw invalid(
          "The x-amz-content-sha256 value sent with the request does not match the SHA-256 of the body received.",
        );
      }
      payloadHash = declared ?? bodyHash;
    }

    const canonicalRequest = [
      req.method,
      this.options.s3 ? s3CanonicalUri(req.rawPath) : canonicalUri(req.rawPath),
      canonicalQueryOf(query, !hasAuthHeader),
      canonicalHeaders(req.headers, signedHeaders),
      parts.signedHeaders,
      payloadHash,
    ].join('\n');
    const stringToSign = [ALGORITHM, parts.amzDate, scope.text, sha256Hex(canonicalRequest)].join('\n');
    const signingKey = this.signingKey(key.secretAccessKey, scope);
    const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
    if (!constantTimeEqual(expected, parts.signature)) {
      throw invalid(MISMATCH_MESSAGE);
    }
    return { accessKeyId: key.accessKeyId, accountId: key.accountId, region: scope.region };
  }

  /** Header form: within 15 minutes of now. Presigned form: not expired, not from the future. */
  private checkTime(parts: SignatureParts, nowMs: number): void {
    // Only the refusals below print dates; a request in time formats none.
    const nowText = () => formatAmzDate(nowMs);
    const maxAgeMs = parts.expires !== undefined ? parts.expires * 1000 : MAX_SKEW_MS;
    const maxAgeText = parts.expires !== undefined ? `${parts.expires} sec.` : '15 min.';
    if (parts.amzDateMs < nowMs - maxAgeMs) {
      throw invalid(
        `Signature expired: ${parts.amzDate} is now earlier than ${formatAmzDate(nowMs - maxAgeMs)} ` +
          `(${nowText()} - ${maxAgeText})`,
      );
    }
    if (parts.amzDateMs > nowMs + MAX_SKEW_MS) {
      throw invalid(
        `Signature not yet current: ${parts.amzDate} is still later than ${formatAmzDate(nowMs + MAX_SKEW_MS)} ` +
          `(${nowText()} + 15 min.)`,
      );
    }
  }

  private signingKey(secret: string, scope: Scope): Buffer {
    const cacheKey = `${scope.date}\n${scope.region}\n${scope.service}\n${secret}`;
    const cached = this.signingKeys.get(cacheKey);
    if (cached !== undefined) return cached;
    const kDate = createHmac('sha256', `AWS4${secret}`).update(scope.date, 'utf8').digest();
    const kRegion = createHmac('sha256', kDate).update(scope.region, 'utf8').digest();
    const kService = createHmac('sha256', kRegion).update(scope.service, 'utf8').digest();
    const kSigning = createHmac('sha256', kService).update(TERMINATOR, 'utf8').digest();
    if (this.signingKeys.size >= SIGNING_KEY_CACHE_SIZE) {
      const oldest = this.signingKeys.keys().next();
      if (oldest.done !== true) this.signingKeys.delete(oldest.value);
    }
    this.signingKeys.set(cacheKey, kSigning);
    return kSigning;
  }
}

/** One-shot verification; prefer a long-lived SigV4Verifier to reuse derived signing keys. */
export function verifySigV4(
  req: SignedRequest,
  lookup: KeyLookup,
  now: Date,
  service = 'mediapackagev2',
): Caller {
  return new SigV4Verifier(lookup, service).verify(req, now);
}
