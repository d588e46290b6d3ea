/**
 * CDN identifier secrets (CdnAuthConfiguration): Packhouse has no Secrets Manager, so the secrets
 * an endpoint's CdnIdentifierSecretArns name come from a JSON file given by --cdn-secrets-file:
 *
 *   { "arn:aws:secretsmanager:us-east-1:111122223333:secret:cdn-AbCdEf": "9ceebbe7-9607-4552-8764-876e47032660",
 *     "arn:aws:secretsmanager:us-east-1:111122223333:secret:cdn-next": { "MediaPackageV2CDNIdentifier": "..." } }
 *
 * A value is the header value itself, or the secret as Secrets Manager stores it (one key,
 * MediaPackageV2CDNIdentifier). Values are 8 to 256 characters, as MediaPackage requires. Pure:
 * the caller reads the file and never logs a value.
 */
import { timingSafeEqual, createHash } from 'node:crypto';

/** The request header a CDN sends with the shared secret. */
export const CDN_IDENTIFIER_HEADER = 'x-mediapackagev2-cdnidentifier';
const SECRET_KEY = 'MediaPackageV2CDNIdentifier';
const SECRET_ARN_RE = /^arn:aws(?:-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
const VALUE_RE = /^[\x21-\x7e](?:[\x20-\x7e]{6,254})[\x21-\x7e]$/;

export type CdnSecrets = ReadonlyMap<string, string>;

export function parseCdnSecretsFile(text: string, source: string): CdnSecrets {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error(`${source}: expected an object mapping secret ARNs to values, such as {"arn:aws:secretsmanager:us-east-1:111122223333:secret:cdn": "<8-256 characters>"}`);
  }
  const out = new Map<string, string>();
  for (const [arn, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!SECRET_ARN_RE.test(arn)) throw new Error(`${source}: "${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)`);
    let value: unknown = v;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length !== 1 || keys[0] !== SECRET_KEY) throw new Error(`${source}: the secret ${arn} must be a string or an object with the one key "${SECRET_KEY}"`);
      value = (v as Record<string, unknown>)[SECRET_KEY];
    }
    if (typeof value !== 'string' || !VALUE_RE.test(value)) {
      throw new Error(`${source}: the value of the secret ${arn} must be 8 to 256 printable ASCII characters (a UUID v4 is recommended)`);
    }
    out.set(arn, value);
  }
  return out;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether a request's CDN identifier header equals the value of one of the named secrets (compared in constant time). */
export function cdnHeaderMatches(header: string | string[] | undefined, secretArns: readonly string[], secrets: CdnSecrets): boolean {
  if (typeof header !== 'string') return false;
  const sent = digest(header);
  let match = false;
  for (const arn of secretArns) {
    const value = secrets.get(arn);
    if (value !== undefined && timingSafeEqual(sent, digest(value))) match = true;
  }
  return match;
}
