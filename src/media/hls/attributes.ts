/**
 * Writes HLS attribute lists (RFC 8216 §4.2), the mirror image of the reader in playlist.ts.
 * Pure: values in, text out. Refuses values that would produce a list no reader could parse back,
 * because a bad manifest is worse than a loud error in the origin.
 */

/** A value written inside double quotes (quoted-string); plain strings are written bare. */
export interface QuotedValue {
  quoted: string;
}

export type AttributeValue = string | number | QuotedValue | undefined;

// RFC 8216 §4.2: AttributeName is [A-Z], [0-9] and '-'.
const ATTRIBUTE_NAME = /^[A-Z0-9-]+$/;
// Bare values are decimal-integer, hexadecimal-sequence, decimal-(signed-)floating-point,
// enumerated-string or decimal-resolution: none of them may hold a comma, quote or whitespace.
const BARE_VALUE = /^[^",\s]+$/;

function formatNumber(name: string, value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`attribute ${name} is not a finite number: ${value}`);
  if (Number.isInteger(value)) return value.toFixed(0);
  const text = String(value);
  if (!text.includes('e')) return text;
  // Exponent notation is not a decimal-floating-point (§4.2): fall back to fixed digits.
  return value.toFixed(9).replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * Writes `NAME=value,NAME="quoted"` in the order of the record's keys, skipping undefined values.
 * Numbers are written as decimal integers or decimal floating point; plain strings bare
 * (enumerated strings, resolutions, hexadecimal sequences); `{ quoted }` values in double quotes.
 */
export function formatAttributes(attrs: Record<string, AttributeValue>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (!ATTRIBUTE_NAME.test(name)) throw new RangeError(`"${name}" is not an HLS attribute name (A-Z, 0-9 and -)`);
    if (typeof value === 'number') {
      parts.push(`${name}=${formatNumber(name, value)}`);
    } else if (typeof value === 'string') {
      if (!BARE_VALUE.test(value)) throw new RangeError(`attribute ${name} value "${value}" cannot be written unquoted`);
      parts.push(`${name}=${value}`);
    } else {
      // §4.2: a quoted-string cannot contain a double quote, CR or LF.
      if (/["\r\n]/.test(value.quoted)) throw new RangeError(`attribute ${name} quoted value contains a double quote or line break`);
      parts.push(`${name}="${value.quoted}"`);
    }
  }
  return parts.join(',');
}
