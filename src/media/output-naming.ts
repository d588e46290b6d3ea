/**
 * Names of output files, shared by the live origin and harvested assets so that both lay out
 * the same tree (DATAPLANE.md §2.2): child playlists `{child}_{track}.m3u8`, segments
 * `{SegmentName}_{track}_{seq}.{ts|mp4}`, init segments `{SegmentName}_{track}_init-{id}.mp4` (`_init-{id}.k{p}.mp4` per key period p
 * of a CMAF endpoint whose keys rotate).
 *
 * An output segment made of n > 1 input segments (SegmentDurationSeconds a multiple of the input's)
 * is `{SegmentName}_{track}_{k}.g{n}.{ext}`: n is in the name so that a URI keeps its meaning
 * should the grouping change (an endpoint update, a different input cadence), which matters for
 * segments cached for two weeks. LL-HLS parts add the part index: `..._{k}.g{n}.p{i}.{ext}`.
 */

const ext = (container: 'ts' | 'fmp4') => (container === 'ts' ? 'ts' : 'mp4');
const grouped = (n: number) => (n > 1 ? `.g${n}` : '');

export const outputNames = {
  childPlaylist: (childManifestName: string, trackId: string) => `${childManifestName}_${trackId}.m3u8`,
  /** Output segment k of n input segments each (k is the input seq when n is 1). */
  segment: (segmentName: string, trackId: string, k: number, n: number, container: 'ts' | 'fmp4') => `${segmentName}_${trackId}_${k}${grouped(n)}.${ext(container)}`,
  /** The text before and after k in `segment`'s name. */
  segmentAffixes: (segmentName: string, trackId: string, n: number, container: 'ts' | 'fmp4') => ({ prefix: `${segmentName}_${trackId}_`, suffix: `${grouped(n)}.${ext(container)}` }),
  /**
   * The init segment with id initId. On a CMAF endpoint whose keys rotate, the init segment
   * signals its key period's key (tenc default_KID, pssh), so there is one per key period:
   * `..._init-{id}.k{keyPeriod}.mp4`.
   */
  init: (segmentName: string, trackId: string, initId: string | undefined, keyPeriod?: number) =>
    `${segmentName}_${trackId}_init-${initId ?? '0'}${keyPeriod !== undefined ? `.k${keyPeriod}` : ''}.mp4`,
  /** Part i (0-based, input segment (k−1)·n+1+i) of output segment k: an LL-HLS Partial Segment. */
  part: (segmentName: string, trackId: string, k: number, n: number, i: number, container: 'ts' | 'fmp4') => `${segmentName}_${trackId}_${k}.g${n}.p${i}.${ext(container)}`,
  dashMediaTemplate: (segmentName: string, n: number) => `${segmentName}_$RepresentationID$_$Number$${grouped(n)}.mp4`,
};

/** What a segment file name asks for: output segment k of n, or part i of it. */
export function parseSegmentName(rest: string): { track: string; k: number; n: number; part?: number; ext: 'ts' | 'mp4' } | undefined {
  const part = /^(.+)_(\d{1,15})\.g(\d{1,4})\.p(\d{1,4})\.(ts|mp4)$/.exec(rest);
  if (part) return { track: part[1]!, k: Number(part[2]), n: Number(part[3]), part: Number(part[4]), ext: part[5] as 'ts' | 'mp4' };
  const group = /^(.+)_(\d{1,15})\.g(\d{1,4})\.(ts|mp4)$/.exec(rest);
  // n = 1 has the plain name only, so that one segment has one URI.
  if (group) return Number(group[3]) > 1 ? { track: group[1]!, k: Number(group[2]), n: Number(group[3]), ext: group[4] as 'ts' | 'mp4' } : undefined;
  const plain = /^(.+)_(\d{1,15})\.(ts|mp4)$/.exec(rest);
  if (plain) return { track: plain[1]!, k: Number(plain[2]), n: 1, ext: plain[3] as 'ts' | 'mp4' };
  return undefined;
}

/** The id of an init segment stored under a content-addressed key (`.../init-{id}.mp4`). */
export function initIdOf(key: string | undefined): string | undefined {
  const m = key ? /init-([0-9a-f]+)\.mp4$/.exec(key) : null;
  return m ? m[1] : undefined;
}
