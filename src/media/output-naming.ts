/**
 * Names of output files, shared by the live origin and harvested assets so that both lay out
 * the same tree (DATAPLANE.md §2.2): child playlists `{child}_{track}.m3u8`, segments
 * `{SegmentName}_{track}_{seq}.{ts|mp4}`, init segments `{SegmentName}_{track}_init-{id}.mp4`;
 * LL-HLS grouped segments and their parts (see llSegment, llPart).
 */

export const outputNames = {
  childPlaylist: (childManifestName: string, trackId: string) => `${childManifestName}_${trackId}.m3u8`,
  segment: (segmentName: string, trackId: string, seq: number, container: 'ts' | 'fmp4') => `${segmentName}_${trackId}_${seq}.${container === 'ts' ? 'ts' : 'mp4'}`,
  init: (segmentName: string, trackId: string, initId: string | undefined) => `${segmentName}_${trackId}_init-${initId ?? '0'}.mp4`,
  /**
   * LL-HLS output segment k made of n input segments (its parts): `{SegmentName}_{track}_{k}.ll{n}.{ext}`;
   * n is in the name so that a URI keeps its meaning should the grouping change.
   */
  llSegment: (segmentName: string, trackId: string, k: number, n: number, container: 'ts' | 'fmp4') => `${segmentName}_${trackId}_${k}.ll${n}.${container === 'ts' ? 'ts' : 'mp4'}`,
  /** Part i (0-based, input segment k·n+i) of LL-HLS output segment k: `{SegmentName}_{track}_{k}.ll{n}.{i}.{ext}`. */
  llPart: (segmentName: string, trackId: string, k: number, n: number, i: number, container: 'ts' | 'fmp4') =>
    `${segmentName}_${trackId}_${k}.ll${n}.${i}.${container === 'ts' ? 'ts' : 'mp4'}`,
  dashMediaTemplate: (segmentName: string) => `${segmentName}_$RepresentationID$_$Number$.mp4`,
};

/** The id of an init segment stored under a content-addressed key (`.../init-{id}.mp4`). */
export function initIdOf(key: string | undefined): string | undefined {
  const m = key ? /init-([0-9a-f]+)\.mp4$/.exec(key) : null;
  return m ? m[1] : undefined;
}
