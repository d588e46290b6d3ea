/**
 * What an endpoint serves from a channel's renditions, whatever container they arrived in
 * (docs/design/010-packager.md). An endpoint serves input of its own container as it came, and
 * input of the other through its repackaging, made at ingest and stored beside the input's bytes
 * (TS input: a CMAF fragment; fMP4 input: an MPEG-TS segment). The timeline seen through
 * `repackagedTimeline` names the repackaged blob as each segment's key and hides the segments that
 * could not be repackaged: they become a gap, and for TS input the next one a discontinuity
 * (its init segment differs from the hidden one's none).
 */
import type { RenditionRecord, SegmentRecord, TimelineStore } from './ports.js';
import type { SegmentRun } from './timeline-runs.js';

export interface EndpointRenditions {
  /** The renditions the endpoint lists, as the endpoint's container (codecs of the output). */
  readonly renditions: RenditionRecord[];
  /** The timeline to read segments from: the stored one, or the CMAF view of TS renditions. */
  readonly timeline: TimelineStore;
  /** The view of a rendition's runs (timeline-runs.ts) as `timeline` shows its segments. */
  readonly runsView: (rendition: string, runs: readonly SegmentRun[]) => readonly SegmentRun[];
  /** Renditions of the other container this endpoint cannot serve at all (none of their segments repackaged), with why. */
  readonly unsupported: readonly { readonly id: string; readonly reason: string }[];
}

/** The timeline as an endpoint reads it: the given renditions' segments by their repackaging into `to`. */
export function repackagedTimeline(timeline: TimelineStore, renditions: ReadonlySet<string>, to: 'ts' | 'fmp4'): TimelineStore {
  const viewOf = (s: SegmentRecord): SegmentRecord | undefined => {
    const key = to === 'fmp4' ? s.cmafKey : s.tsKey;
    return key === undefined ? undefined : { ...s, key };
  };
  const map = (rendition: string, list: SegmentRecord[]): SegmentRecord[] =>
    renditions.has(rendition) ? list.flatMap((s) => viewOf(s) ?? []) : list;
  return {
    upsertRendition: (r) => timeline.upsertRendition(r),
    listRenditions: (c) => timeline.listRenditions(c),
    appendSegment: (s) => timeline.appendSegment(s),
    findSegments: async (c, r, from, to) => map(r, await timeline.findSegments(c, r, from, to)),
    getSegment: async (c, r, seq) => {
      const s = await timeline.getSegment(c, r, seq);
      return s && renditions.has(r) ? viewOf(s) : s;
    },
    segmentsBySeq: async (c, r, from, to) => map(r, await timeline.segmentsBySeq(c, r, from, to)),
    // The newest segment says how far the rendition has come (blocking requests, the channel
    // clock), whether or not it was repackaged.
    latestSegment: async (c, r) => {
      const s = await timeline.latestSegment(c, r);
      return s && renditions.has(r) ? (viewOf(s) ?? s) : s;
    },
    runStartMs: (c, r, d) => timeline.runStartMs(c, r, d),
    deleteSegmentsBefore: (c, b) => timeline.deleteSegmentsBefore(c, b),
    deleteChannel: (c) => timeline.deleteChannel(c),
    channelArns: () => timeline.channelArns(),
  };
}

/**
 * Whether a segment seen through the TS view is one Packhouse wrote from fMP4 input: its
 * continuity counters start at 0, so an output segment of several needs them carried on
 * (media/package/ts-continuity.ts).
 */
export function isRepackagedTs(s: SegmentRecord): boolean {
  return s.tsKey !== undefined && s.key === s.tsKey;
}

/** The renditions and timeline an endpoint of the given container type serves from a channel. */
export async function endpointRenditions(timeline: TimelineStore, channelArn: string, containerType: string): Promise<EndpointRenditions> {
  const all = await timeline.listRenditions(channelArn);
  const to = containerType === 'TS' ? 'ts' : 'fmp4';
  const other = all.filter((r) => r.container !== to);
  if (other.length === 0) return { renditions: all, timeline, unsupported: [], runsView: (_r, runs) => runs };
  const renditions: RenditionRecord[] = [];
  const unsupported: { id: string; reason: string }[] = [];
  for (const r of all) {
    const codecs = to === 'fmp4' ? r.cmafCodecs : r.tsCodecs;
    if (r.container === to) renditions.push(r);
    else if (codecs !== undefined) renditions.push({ ...r, container: to, codecs });
    else unsupported.push({ id: r.id, reason: (to === 'fmp4' ? r.cmafError : r.tsError) ?? 'none of its segments was repackaged' });
  }
  const viewed = new Set(other.map((r) => r.id));
  // Runs never mix segments with and without a repackaging: a run is shown whole or not at all.
  const has = to === 'fmp4' ? (run: SegmentRun) => run.hasCmaf : (run: SegmentRun) => run.hasTs;
  const runsView = (r: string, runs: readonly SegmentRun[]) => (viewed.has(r) ? runs.filter(has) : runs);
  return { renditions, timeline: repackagedTimeline(timeline, viewed, to), unsupported, runsView };
}

/** The sentence an endpoint answers (415) when a rendition of the other container cannot be repackaged for it. */
export function unsupportedMessage(channelName: string, endpointName: string, containerType: string, unsupported: EndpointRenditions['unsupported']): string {
  const list = unsupported.map((u) => `${u.id} (${u.reason})`).join('; ');
  const [input, output] = containerType === 'TS' ? ['fMP4/CMAF', 'MPEG-TS'] : ['MPEG-TS', 'CMAF'];
  return `Channel ${channelName} receives ${input} segments that origin endpoint ${endpointName} (${containerType}) cannot repackage into ${output}: ${list}. ${containerType === 'TS' ? 'CMAF' : 'TS'} endpoints of the channel serve them as they are.`;
}
