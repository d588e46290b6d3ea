/**
 * DRM settings of a manifest (DATAPLANE.md §3.3): the query's `aws.drmsettings` and an HLS or
 * LL-HLS manifest's `FilterConfiguration.DrmSettings`, as `name[:value]` parts separated by `;`.
 * The one setting is `exclude_session_keys` (AWS's older pages spell it `excludesessionkeys`):
 * on by itself or with `:true`, off with `:false`. And the EXT-X-SESSION-KEY lines it governs. Pure.
 */
export class DrmSettingsError extends Error {}

export interface DrmSettings {
  /** Leave EXT-X-SESSION-KEY out of the multivariant playlist. */
  readonly excludeSessionKeys: boolean;
}

export function parseDrmSettings(text: string): DrmSettings {
  if (text.length > 1024) throw new DrmSettingsError('it is longer than 1,024 characters');
  let excludeSessionKeys = false;
  for (const part of text.split(';')) {
    const i = part.indexOf(':');
    const name = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    const value = i < 0 ? '' : part.slice(i + 1).trim().toLowerCase();
    if ((name !== 'exclude_session_keys' && name !== 'excludesessionkeys') || !['', 'true', 'false'].includes(value)) {
      throw new DrmSettingsError(`${JSON.stringify(part.length > 80 ? `${part.slice(0, 77)}...` : part)} is not a DRM setting; the one setting is exclude_session_keys (optionally :true or :false)`);
    }
    excludeSessionKeys = value !== 'false';
  }
  return { excludeSessionKeys };
}

/** Whether a manifest's stored DrmSettings leaves session keys out (a value this build cannot read leaves them in). */
export function excludesSessionKeys(stored: unknown): boolean {
  if (typeof stored !== 'string') return false;
  try {
    return parseDrmSettings(stored).excludeSessionKeys;
  } catch (err) {
    if (err instanceof DrmSettingsError) return false;
    throw err;
  }
}

/**
 * EXT-X-SESSION-KEY lines (RFC 8216 §4.3.4.5) from media playlists' EXT-X-KEY lines: METHOD=NONE
 * has none, and a tag with the same METHOD, URI, IV, KEYFORMAT and KEYFORMATVERSIONS as an
 * earlier one is left out (allowed once, whatever its KEYID, the one other attribute Packhouse writes).
 */
export function sessionKeysOf(keyLines: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const line of keyLines) {
    if (!line.startsWith('#EXT-X-KEY:') || line.startsWith('#EXT-X-KEY:METHOD=NONE')) continue;
    const session = `#EXT-X-SESSION-KEY:${line.slice('#EXT-X-KEY:'.length)}`;
    const id = session.replace(/,KEYID=0x[0-9A-Fa-f]+/, '');
    if (!out.has(id)) out.set(id, session);
  }
  return [...out.values()];
}
