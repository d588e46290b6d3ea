/**
 * The manifest filter expression (`FilterConfiguration.ManifestFilter` and `aws.manifestfilter`):
 * `key:value;key:value`, values a comma list of single values or inclusive `min-max` ranges
 * (DATAPLANE.md §3.1). Pure parsing; applying a filter to renditions lives with the origin.
 */

export type FilterValue = { readonly kind: 'value'; readonly value: string } | { readonly kind: 'range'; readonly min: number; readonly max: number };
export type ManifestFilter = ReadonlyMap<string, readonly FilterValue[]>;

const NUMERIC_KEYS = new Set(['audio_bitrate', 'audio_channels', 'audio_sample_rate', 'trickplay_height', 'video_bitrate', 'video_framerate', 'video_height']);
const ENUM_KEYS: Readonly<Record<string, readonly string[]>> = {
  audio_codec: ['aacl', 'aach', 'ac-3', 'ec-3'],
  trickplay_type: ['iframe', 'image', 'none'],
  video_codec: ['h264', 'h265', 'av1'],
  video_dynamic_range: ['dv', 'hdr10', 'hlg', 'sdr'],
};
const FREE_KEYS = new Set(['audio_language', 'subtitle_language']);
const INT_MAX = 2147483647;
export const MANIFEST_FILTER_KEYS = [...NUMERIC_KEYS, ...Object.keys(ENUM_KEYS), ...FREE_KEYS].sort();

export class ManifestFilterError extends Error {}

function parseNumber(key: string, text: string): number {
  if (!/^\d+(\.\d{1,3})?$/.test(text) || (key !== 'video_framerate' && text.includes('.'))) {
    throw new ManifestFilterError(`"${text}" is not a valid number for ${key}`);
  }
  const n = Number(text);
  if (n > INT_MAX) throw new ManifestFilterError(`${text} is larger than ${INT_MAX} for ${key}`);
  return n;
}

/** Parses a filter expression; throws ManifestFilterError with a reason a person can act on. */
export function parseManifestFilter(expression: string): ManifestFilter {
  if (expression.length > 1024) throw new ManifestFilterError('the filter is longer than 1,024 characters');
  const result = new Map<string, FilterValue[]>();
  for (const part of expression.split(';')) {
    const pieces = part.split(':');
    if (pieces.length !== 2 || pieces[0] === '' || pieces[1] === '') {
      throw new ManifestFilterError(`"${part}" is not of the form key:value`);
    }
    const key = pieces[0]!.trim().toLowerCase();
    const raw = pieces[1]!.trim();
    if (!NUMERIC_KEYS.has(key) && !(key in ENUM_KEYS) && !FREE_KEYS.has(key)) {
      throw new ManifestFilterError(`"${key}" is not a filter key; use one of ${MANIFEST_FILTER_KEYS.join(', ')}`);
    }
    if (result.has(key)) throw new ManifestFilterError(`${key} is given more than once`);
    const values: FilterValue[] = raw.split(',').map((v) => {
      const value = v.trim();
      if (value === '') throw new ManifestFilterError(`${key} has an empty value`);
      if (NUMERIC_KEYS.has(key)) {
        const range = /^([^-]+)-([^-]+)$/.exec(value);
        if (range) {
          const min = parseNumber(key, range[1]!);
          const max = parseNumber(key, range[2]!);
          if (min > max) throw new ManifestFilterError(`the range ${value} of ${key} is reversed`);
          return { kind: 'range', min, max };
        }
        return { kind: 'value', value: String(parseNumber(key, value)) };
      }
      if (FREE_KEYS.has(key) && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$/.test(value)) {
        throw new ManifestFilterError(`${JSON.stringify(value.slice(0, 40))} is not a language code for ${key} (e.g. en, de, pt-BR)`);
      }
      const allowed = ENUM_KEYS[key];
      if (allowed && !allowed.includes(value.toLowerCase())) {
        throw new ManifestFilterError(`"${value}" is not a value of ${key}; use one of ${allowed.join(', ')}`);
      }
      return { kind: 'value', value: value.toLowerCase() };
    });
    result.set(key, values);
  }
  return result;
}
