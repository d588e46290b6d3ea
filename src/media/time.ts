/**
 * Calendar dates to epoch milliseconds for every year from 0000 to 9999. `Date.UTC` maps years
 * 0–99 to 1900–1999, so a date written `0050-01-01` would silently become 1950; everything that
 * turns date fields into an instant goes through here instead. Pure.
 */

export const MIN_YEAR = 0;
export const MAX_YEAR = 9999;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants a four-digit year can name. */
export const MIN_INSTANT_MS = -62_167_219_200_000;
export const MAX_INSTANT_MS = 253_402_300_799_999;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/**
 * Epoch milliseconds of a UTC calendar date and time (month 1–12), or undefined when a field is out
 * of range (the 31st of a 30-day month, hour 24, year 10000). A leap second (:60) is accepted and
 * counts as the next second's start, as POSIX time has no leap seconds.
 */
export function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number | undefined {
  const ints = [year, month, day, hour, minute, second];
  if (!ints.every(Number.isInteger) || !(ms >= 0 && ms < 1000)) return undefined;
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60 || hour < 0 || minute < 0 || second < 0) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime() + ms;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * An ISO 8601 / RFC 3339 date-time (`2026-11-28T10:00:00Z`, `…T10:00:00.250+01:00`, seconds and
 * fraction optional) as epoch milliseconds; undefined when malformed or out of range. Without a
 * zone the time is UTC only when `zoneOptional` (RFC 8216 §4.3.2.6 says so for playlists);
 * otherwise a zone is required.
 */
export function parseIsoDateTime(text: string, options: { zoneOptional?: boolean } = {}): number | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const hasZone = m[8] !== undefined || m[9] !== undefined;
  if (!hasZone && options.zoneOptional !== true) return undefined;
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  const base = utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? '0'));
  if (base === undefined) return undefined;
  let ms = base + fraction;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11] ?? '0');
    if (oh > 23 || om > 59) return undefined;
    ms -= (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return ms;
}
