/**
 * The origin's query parameters, each checked against its grammar before anything uses it
 * (DATAPLANE.md §3.2, §3.3, RFC 8216bis §6.2.5): a malformed value is a 400 naming the parameter,
 * never a misleading 404, and a value that reaches a manifest (child playlist URIs carry the
 * time-shift parameters on) is one the grammar allows, written percent-encoded. Parameters the
 * origin does not know are ignored, as CDNs add their own. Pure.
 */
import { MAX_INSTANT_MS, MIN_INSTANT_MS, parseIsoDateTime } from '../../media/time.js';
import { DataplaneError } from '../channel-locator.js';
import { DrmSettingsError, parseDrmSettings, type DrmSettings } from '../../encryption/drm-settings.js';

/** The longest startover window (model: StartoverWindowSeconds ≤ 1,209,600). */
const MAX_SECONDS = 1_209_600;

/** Time-shift settings, from plain parameters or `aws.manifestsettings` (names as DATAPLANE.md §3.2.1). */
export type SettingName = 'start' | 'end' | 'time_delay' | 'clip_start_time' | 'manifest_window_seconds';
const SETTING_NAMES: readonly SettingName[] = ['start', 'end', 'time_delay', 'clip_start_time', 'manifest_window_seconds'];
/** The plain parameters that stand for a setting (clip_start_time only exists inside aws.manifestsettings). */
const PLAIN: readonly SettingName[] = ['start', 'end', 'time_delay', 'manifest_window_seconds'];

export interface OriginQuery {
  /** Instants in epoch ms, seconds as numbers. */
  readonly start?: number;
  readonly end?: number;
  readonly timeDelaySeconds?: number;
  readonly clipStartMs?: number;
  readonly manifestWindowSeconds?: number;
  /** aws.manifestfilter as given (parsed by manifest-filter.ts where it applies). */
  readonly manifestFilter?: string;
  /** aws.drmsettings (§3.3), checked: whether it asks to leave EXT-X-SESSION-KEY out. */
  readonly drmSettings?: DrmSettings;
  /** `_HLS_msn` / `_HLS_part` (RFC 8216bis §6.2.5.2). */
  readonly blocking?: { readonly msn: number; readonly part?: number } | undefined;
  /** The parameters carried on to child playlists (§3.2.6), validated, in alphabetical order. */
  readonly carried: readonly (readonly [string, string])[];
}

function bad(message: string): DataplaneError {
  return new DataplaneError(400, message);
}

/** Client text in a message: short, on one line. */
function shown(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
}

/** Epoch seconds (`1503091134`, `1503091134.5`) or ISO 8601 with a zone (§3.2.3); epoch ms. */
export function parseTime(name: string, value: string): number {
  const v = value.trim();
  let ms: number | undefined;
  if (/^\d{1,12}(\.\d{1,9})?$/.test(v)) ms = Math.round(Number(v) * 1000);
  else ms = parseIsoDateTime(v);
  if (ms === undefined || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) {
    throw bad(`${name}=${shown(value)} is not a time: use epoch seconds or ISO 8601 with a zone (e.g. 2026-11-28T10:00:00Z, with + written %2B).`);
  }
  return ms;
}

function parseSeconds(name: string, value: string, min: number): number {
  const v = value.trim();
  const n = /^\d{1,7}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= MAX_SECONDS)) {
    throw bad(`${name}=${shown(value)} is not valid: it must be a whole number of seconds from ${min} to ${MAX_SECONDS}.`);
  }
  return n;
}

function single(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw bad(`The query parameter ${name} is given ${all.length} times; give it once.`);
  return all[0];
}

/** `name:value;name:value` (§3.2.1); each name once, each value by its own grammar. */
function manifestSettings(text: string): Map<SettingName, string> {
  const out = new Map<SettingName, string>();
  if (text.length > 1024) throw bad('aws.manifestsettings is longer than 1,024 characters.');
  for (const part of text.split(';')) {
    const i = part.indexOf(':');
    if (i <= 0) throw bad(`aws.manifestsettings part ${shown(part)} is not name:value.`);
    const name = part.slice(0, i).trim().toLowerCase();
    if (!(SETTING_NAMES as readonly string[]).includes(name)) {
      throw bad(`aws.manifestsettings: ${shown(name)} is not a setting; use ${SETTING_NAMES.join(', ')}.`);
    }
    if (out.has(name as SettingName)) throw bad(`aws.manifestsettings gives ${name} more than once.`);
    out.set(name as SettingName, part.slice(i + 1).trim());
  }
  return out;
}

function blockingParams(query: URLSearchParams): OriginQuery['blocking'] {
  const msn = query.getAll('_HLS_msn');
  const part = query.getAll('_HLS_part');
  if (msn.length === 0 && part.length === 0) return undefined;
  if (msn.length !== 1 || part.length > 1 || !/^\d{1,15}$/.test(msn[0]!) || (part.length === 1 && !/^\d{1,15}$/.test(part[0]!))) {
    throw bad('_HLS_msn must appear once as a whole number, and _HLS_part (optional, with _HLS_msn) likewise.');
  }
  return { msn: Number(msn[0]), ...(part.length === 1 ? { part: Number(part[0]) } : {}) };
}

/** Percent-encodes all but the characters the time-shift grammars write bare (`:` `;` `,` and unreserved). */
function encodeLight(v: string): string {
  return encodeURIComponent(v).replace(/%3A/gi, ':').replace(/%3B/gi, ';').replace(/%2C/gi, ',');
}

/** Reads and checks every parameter the origin acts on; throws DataplaneError(400) naming the first bad one. */
export function parseOriginQuery(query: URLSearchParams): OriginQuery {
  const packed = single(query, 'aws.manifestsettings');
  const settings = packed === undefined ? new Map<SettingName, string>() : manifestSettings(packed);
  const plain = new Map<SettingName, string>();
  for (const name of PLAIN) {
    const v = single(query, name);
    if (v !== undefined) plain.set(name, v);
  }
  // aws.manifestsettings wins over a plain parameter of the same name; both must be valid.
  const check = <T>(name: SettingName, read: (label: string, v: string) => T): T | undefined => {
    const packedValue = settings.get(name);
    const plainValue = plain.get(name);
    const fromSettings = packedValue === undefined ? undefined : read(`aws.manifestsettings ${name}`, packedValue);
    const fromPlain = plainValue === undefined ? undefined : read(name, plainValue);
    return fromSettings ?? fromPlain;
  };
  const start = check('start', parseTime);
  const end = check('end', parseTime);
  const clipStartMs = check('clip_start_time', parseTime);
  const timeDelaySeconds = check('time_delay', (l, v) => parseSeconds(l, v, 0));
  const manifestWindowSeconds = check('manifest_window_seconds', (l, v) => parseSeconds(l, v, 1));
  if (clipStartMs !== undefined && (start !== undefined || end !== undefined)) {
    throw bad('clip_start_time cannot be combined with start or end.');
  }
  const manifestFilter = single(query, 'aws.manifestfilter');
  const drmText = single(query, 'aws.drmsettings');
  let drmSettings: DrmSettings | undefined;
  try {
    drmSettings = drmText === undefined ? undefined : parseDrmSettings(drmText);
  } catch (err) {
    if (err instanceof DrmSettingsError) throw bad(`aws.drmsettings: ${err.message}.`);
    throw err;
  }
  const skip = single(query, '_HLS_skip');
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') throw bad(`_HLS_skip=${shown(skip)} is not valid: it is YES or v2.`);

  const carried: [string, string][] = [];
  if (packed !== undefined) carried.push(['aws.manifestsettings', packed]);
  for (const name of ['end', 'start', 'time_delay'] as const) {
    const v = plain.get(name);
    if (v !== undefined) carried.push([name, v]);
  }
  carried.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end } : {}),
    ...(timeDelaySeconds !== undefined ? { timeDelaySeconds } : {}),
    ...(clipStartMs !== undefined ? { clipStartMs } : {}),
    ...(manifestWindowSeconds !== undefined ? { manifestWindowSeconds } : {}),
    ...(manifestFilter !== undefined ? { manifestFilter } : {}),
    ...(drmSettings !== undefined ? { drmSettings } : {}),
    blocking: blockingParams(query),
    carried,
  };
}

/**
 * The query string child playlist URIs carry (§3.2.6): the request's time-shift parameters in
 * alphabetical order, percent-encoded fully with UrlEncodeChildManifest, else only where a
 * character would change meaning (a `+` of a time zone, a space).
 */
export function childQueryString(q: OriginQuery, encode: boolean): string {
  if (q.carried.length === 0) return '';
  return `?${q.carried.map(([k, v]) => `${k}=${encode ? encodeURIComponent(v) : encodeLight(v)}`).join('&')}`;
}
