/**
 * Parsing and validation of the API credentials file, and the in-memory key store SigV4
 * verification looks keys up in. Does no file I/O itself (the caller reads the file and passes the
 * text) and never puts a secret access key into an error message.
 */

import type { KeyPair } from './sigv4.js';

const ACCOUNT_ID_RE = /^\d{12}$/;
/** Printable ASCII without whitespace, '/' (credential scope separator) or ',' (Authorization separator). */
const ACCESS_KEY_ID_RE = /^[\x21-\x2b\x2d\x2e\x30-\x7e]+$/;
const ENTRY_FIELDS = ['accessKeyId', 'secretAccessKey', 'accountId'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of the type of a value, for messages. */
function typeName(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Like typeName, but shows strings (never use it on a secret). */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeName(value);
}

/**
 * Parses `{"credentials":[{accessKeyId, secretAccessKey, accountId}, ...]}` or a bare array of
 * such entries. Throws an Error naming `source` and the offending entry on any problem.
 */
export function parseCredentialsFile(text: string, source: string): KeyPair[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }

  let entries: unknown;
  if (Array.isArray(doc)) {
    entries = doc;
  } else if (isRecord(doc)) {
    const extra = Object.keys(doc).filter((k) => k !== 'credentials');
    if (extra.length > 0) {
      throw new Error(`${source}: unknown top-level field(s) ${extra.map((k) => `"${k}"`).join(', ')}; expected only "credentials"`);
    }
    entries = doc['credentials'];
    if (!Array.isArray(entries)) {
      throw new Error(`${source}: "credentials" must be an array of {accessKeyId, secretAccessKey, accountId}, got ${describe(entries)}`);
    }
  } else {
    throw new Error(`${source}: expected an object with a "credentials" array, or an array, got ${describe(doc)}`);
  }

  const list = entries as unknown[];
  if (list.length === 0) {
    throw new Error(`${source}: no credentials defined; at least one {accessKeyId, secretAccessKey, accountId} is required`);
  }

  const pairs: KeyPair[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, index) => {
    const where = (id?: string): string =>
      `${source}: credentials[${index}]${id !== undefined ? ` (accessKeyId "${id}")` : ''}`;
    if (!isRecord(entry)) {
      throw new Error(`${where()}: expected an object, got ${describe(entry)}`);
    }
    const idValue = entry['accessKeyId'];
    const id = typeof idValue === 'string' && idValue !== '' ? idValue : undefined;

    const unknown = Object.keys(entry).filter((k) => !(ENTRY_FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new Error(
        `${where(id)}: unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; expected ${ENTRY_FIELDS.join(', ')}`,
      );
    }
    if (id === undefined) {
      throw new Error(`${where()}: accessKeyId must be a non-empty string, got ${describe(idValue)}`);
    }
    if (!ACCESS_KEY_ID_RE.test(id)) {
      throw new Error(`${where(id)}: accessKeyId may contain only printable ASCII, without spaces, '/' or ','`);
    }
    const secret = entry['secretAccessKey'];
    if (typeof secret !== 'string' || secret === '') {
      // Describe the type only: never echo anything that might be a secret.
      const got = typeof secret === 'string' ? 'an empty string' : typeName(secret);
      throw new Error(`${where(id)}: secretAccessKey must be a non-empty string, got ${got}`);
    }
    const accountId = entry['accountId'];
    if (typeof accountId !== 'string' || !ACCOUNT_ID_RE.test(accountId)) {
      throw new Error(`${where(id)}: accountId must be a string of exactly 12 digits, got ${describe(accountId)}`);
    }
    const previous = seen.get(id);
    if (previous !== undefined) {
      throw new Error(`${where(id)}: duplicate accessKeyId, already defined by credentials[${previous}]`);
    }
    seen.set(id, index);
    pairs.push({ accessKeyId: id, secretAccessKey: secret, accountId });
  });
  return pairs;
}

/** Immutable set of key pairs, looked up by access key id. */
export class KeyStore {
  private readonly byId = new Map<string, KeyPair>();

  constructor(pairs: readonly KeyPair[]) {
    for (const pair of pairs) {
      if (this.byId.has(pair.accessKeyId)) {
        throw new Error(`KeyStore: duplicate accessKeyId "${pair.accessKeyId}"`);
      }
      this.byId.set(pair.accessKeyId, Object.freeze({ ...pair }));
    }
  }

  /** An arrow property, so `store.lookup` can be handed around unbound. */
  readonly lookup = (accessKeyId: string): KeyPair | undefined => this.byId.get(accessKeyId);

  get size(): number {
    return this.byId.size;
  }
}
