/**
 * What an endpoint serves from a channel's renditions, whatever container they arrived in
 * (docs/design/007-packager.md). A TS endpoint serves TS input as it came. A CMAF endpoint serves
 * fMP4 input as it came, and TS input through its CMAF repackaging, made at ingest and stored
 * beside the TS bytes: the timeline seen through `cmafTimeline` names the repackaged blob as each
 * segment's key and hides the segments that could not be repackaged (they become a gap, and the
 * next one a discontinuity, since its init segment differs from the hidden one's none).
 */
import type { RenditionRecord, SegmentRecord, TimelineStore } from './ports.js';

export interface EndpointRenditions {
  /** The renditions the endpoint lists, as the endpoint's container (codecs of the output). */
  readonly renditions: RenditionRecord[];
  /** The timeline to read segments from: the stored one, or the CMAF view of TS renditions. */
  readonly timeline: TimelineStore;
  /** TS renditions a CMAF endpoint cannot serve at all (none of their segments repackaged), with why. */
  readonly unsupported: readonly { readonly id: string; readonly reason: string }[];
  /** The channel's input cannot make this endpoint's container at all (fMP4 input, TS endpoint). */
  readonly refused: boolean;
}

function viewOf(s: SegmentRecord): SegmentRecord | undefined {
  if (s.cmafKey === undefined) return undefined;
  return { ...s, key: s.cmafKey };
}

/** The timeline as a CMAF endpoint reads it: TS renditions' segments by their CMAF repackaging. */
export function cmafTimeline(timeline: TimelineStore, tsRenditions: ReadonlySet<string>): TimelineStore {
  const map = (rendition: string, list: SegmentRecord[]): SegmentRecord[] =>
    tsRenditions.has(rendition) ? list.flatMap((s) => viewOf(s) ?? []) : list;
  return {
    upsertRendition: (r) => timeline.upsertRendition(r),
    listRenditions: (c) => timeline.listRenditions(c),
    appendSegment: (s) => timeline.appendSegment(s),
    findSegments: async (c, r, from, to) => map(r, await timeline.findSegments(c, r, from, to)),
    getSegment: async (c, r, seq) => {
      const s = await timeline.getSegment(c, r, seq);
      return s && tsRenditions.has(r) ? viewOf(s) : s;
    },
    segmentsBySeq: async (c, r, from, to) => map(r, await timeline.segmentsBySeq(c, r, from, to)),
    // The newest segment says how far the rendition has come (blocking requests, the channel
    // clock), whether or not it was repackaged.
    latestSegment: async (c, r) => {
      const s = await timeline.latestSegment(c, r);
      return s && tsRenditions.has(r) ? (viewOf(s) ?? s) : s;
    },
    runStartMs: (c, r, d) => timeline.runStartMs(c, r, d),
    deleteSegmentsBefore: (c, b) => timeline.deleteSegmentsBefore(c, b),
    deleteChannel: (c) => timeline.deleteChannel(c),
    channelArns: () => timeline.channelArns(),
  };
}

/** The renditions and timeline an endpoint of the given container type serves from a channel. */
export async function endpointRenditions(timeline: TimelineStore, channelArn: string, containerType: string): Promise<EndpointRenditions> {
  const all = await timeline.listRenditions(channelArn);
  if (containerType === 'TS') {
    const renditions = all.filter((r) => r.container === 'ts');
    return { renditions, timeline, unsupported: [], refused: renditions.length === 0 && all.length > 0 };
  }
  const ts = all.filter((r) => r.container === 'ts');
  if (ts.length === 0) return { renditions: all, timeline, unsupported: [], refused: false };
  const renditions: RenditionRecord[] = [];
  const unsupported: { id: string; reason: string }[] = [];
  for (const r of all) {
    if (r.container !== 'ts') renditions.push(r);
    else if (r.cmafCodecs !== undefined) renditions.push({ ...r, container: 'fmp4', codecs: r.cmafCodecs });
    else unsupported.push({ id: r.id, reason: r.cmafError ?? 'none of its segments was repackaged' });
  }
  return { renditions, timeline: cmafTimeline(timeline, new Set(ts.map((r) => r.id))), unsupported, refused: false };
}

/** The sentence a CMAF endpoint answers (415) when a rendition of its TS channel cannot be repackaged. */
export function unsupportedMessage(channelName: string, endpointName: string, unsupported: EndpointRenditions['unsupported']): string {
  const list = unsupported.map((u) => `${u.id} (${u.reason})`).join('; ');
  return `Channel ${channelName} receives MPEG-TS segments that origin endpoint ${endpointName} (CMAF) cannot repackage: ${list}. TS endpoints of the channel serve them as they are.`;
}
