/**
 * The channel's clock (DATAPLANE.md §1.2.8): the end of its newest input segment, which carries
 * the encoder's program date-time. The origin's live window ends there, and retention measures
 * age from it, so an encoder whose clock is off is neither starved nor pruned early.
 */
import type { RenditionRecord, TimelineStore } from '../domain/ports.js';

/** End of the newest segment of any of the renditions, or undefined when none has content. */
export async function newestSegmentEnd(timeline: TimelineStore, channelArn: string, renditions: readonly RenditionRecord[]): Promise<number | undefined> {
  let newest: number | undefined;
  for (const r of renditions) {
    const last = await timeline.latestSegment(channelArn, r.id);
    if (last) newest = Math.max(newest ?? 0, last.startMs + last.durationMs);
  }
  return newest;
}
