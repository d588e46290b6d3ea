/**
 * The channel's clock (DATAPLANE.md §1.2.8): the end of its newest input segment, which carries
 * the encoder's program date-time. The origin's live window ends there, and retention measures
 * age from it, so an encoder whose clock is off is neither starved nor pruned early.
 *
 * One rendition cannot drag it: the renditions' newest ends are grouped into clusters of ends
 * within AGREE_MS of one another, and the clock is the newest end of the cluster most renditions
 * agree on (on a tie, the cluster nearest the server's clock). A rendition stamped far from the
 * others (a wrong date on one encoder output) then moves nothing, while an encoder whose clock is
 * off as a whole still has its own clock followed. Only renditions still fed take part.
 */
import type { RenditionRecord, TimelineStore } from '../domain/ports.js';
import type { SegmentRun } from '../domain/timeline-runs.js';
import { MAX_SEGMENT_MS } from '../domain/timeline-limits.js';

/** Renditions whose newest ends are this close agree (audio and video of one encoder end within a segment or two). */
export const AGREE_MS = 30_000;

/** The channel's clock from the newest end of each rendition; undefined without any. Pure. */
export function channelClock(ends: readonly number[], nowMs: number): number | undefined {
  if (ends.length === 0) return undefined;
  const sorted = [...ends].sort((a, b) => a - b);
  let best: { size: number; newest: number; distance: number } | undefined;
  // Every maximal run of ends no more than AGREE_MS apart from its first is a candidate cluster.
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j + 1 < sorted.length && sorted[j + 1]! - sorted[i]! <= AGREE_MS) j++;
    if (j < i) j = i;
    const size = j - i + 1;
    const newest = sorted[j]!;
    const distance = Math.abs(newest - nowMs);
    if (best === undefined || size > best.size || (size === best.size && distance < best.distance)) best = { size, newest, distance };
  }
  return best!.newest;
}

/**
 * Renditions fed within this long of the most recently fed one take part (a rendition receives a
 * segment at least every MAX_SEGMENT_MS); older ones (an encoder's former outputs) do not.
 */
const FED_WITHIN_MS = MAX_SEGMENT_MS + 60_000;

/** The channel's clock (see above), or undefined when no rendition has content. */
export async function newestSegmentEnd(timeline: TimelineStore, channelArn: string, renditions: readonly RenditionRecord[], nowMs: number = Date.now()): Promise<number | undefined> {
  const ends: number[] = [];
  const lastFed = Math.max(...renditions.map((r) => r.updatedMs));
  for (const r of renditions) {
    if (r.updatedMs < lastFed - FED_WITHIN_MS) continue;
    const last = await timeline.latestSegment(channelArn, r.id);
    if (last) ends.push(last.startMs + last.durationMs);
  }
  return channelClock(ends, nowMs);
}

/** newestSegmentEnd from the renditions' runs (TimelineStore.segmentRuns): the newest segment of each is the last of its last run. */
export function newestRunEnd(held: ReadonlyMap<string, readonly SegmentRun[]>, renditions: readonly RenditionRecord[], nowMs: number): number | undefined {
  const ends: number[] = [];
  const lastFed = Math.max(...renditions.map((r) => r.updatedMs));
  for (const r of renditions) {
    if (r.updatedMs < lastFed - FED_WITHIN_MS) continue;
    const runs = held.get(r.id);
    const last = runs?.[runs.length - 1];
    if (last) ends.push(last.startMs + last.count * last.durationMs);
  }
  return channelClock(ends, nowMs);
}
