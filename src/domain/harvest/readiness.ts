/**
 * When a QUEUED harvest job may run, decided from the shared timeline in the database alone (so
 * any node, including one that takes over after another failed, decides the same way):
 *
 *  - never before EndTime;
 *  - while the channel's input is alive (a rendition received a segment within the last few
 *    target durations), the job waits until every rendition's content up to EndTime has arrived
 *    and the output segment holding EndTime is whole — however late that is on the wall clock
 *    (an encoder slower than real time, or whose program date-time follows its media clock);
 *  - once ingest has stopped or stalled without the content reaching EndTime, the job runs with
 *    what there is `settleMs` after EndTime (--harvest-settle-seconds);
 *  - in any case it runs shortly before its StartTime would slide out of the endpoint's startover
 *    window (startoverMarginMs), with what there is.
 */
import { arns } from '../arn.js';
import type { HarvestJob, OriginEndpoint } from '../model.js';
import { windowGroups } from '../output-groups.js';
import { endpointRenditions } from '../repackaging.js';
import type { MetadataOps, RenditionRecord, ResourceRecord, SegmentRecord, TimelineStore } from '../ports.js';

/** A rendition is stalled after this many target durations without a new segment. */
export const STALL_TARGET_DURATIONS = 3;
/** ...and never sooner than this (very short segments, a loaded machine). */
export const MIN_STALL_MS = 6_000;
/**
 * A waiting job runs this long before its StartTime would leave the startover window: a tenth of
 * the window, between 2 and 30 s (a short window must not make every job run at once).
 */
export const startoverMarginMs = (startoverMs: number): number => Math.min(30_000, Math.max(2_000, Math.floor(startoverMs / 10)));

/** How long a rendition whose newest segment is `last` may go without a new one before it counts as stalled. */
export function stallAfterMs(last: Pick<SegmentRecord, 'durationMs'>): number {
  return Math.max(MIN_STALL_MS, STALL_TARGET_DURATIONS * Math.ceil(last.durationMs / 1000) * 1000);
}

/** Whether a rendition is still receiving: its newest segment arrived (updatedMs) within stallAfterMs. */
export function renditionAlive(rendition: Pick<RenditionRecord, 'updatedMs'>, last: Pick<SegmentRecord, 'durationMs'>, nowMs: number): boolean {
  return nowMs - rendition.updatedMs <= stallAfterMs(last);
}

export type Readiness =
  | { readonly due: true; readonly rule: 'whole' | 'settled' | 'startover' }
  | {
      readonly due: false;
      /** 'end-time': EndTime is ahead; 'late-content': input is alive and its content has not reached EndTime; 'settle': input stopped, waiting out the settle time. */
      readonly waitingFor: 'end-time' | 'late-content' | 'settle';
      /** Until when ('end-time', 'settle'). */
      readonly untilMs?: number | undefined;
      /** How far the content has arrived, on the channel's clock (the least of the renditions still short of EndTime). */
      readonly arrivedUpToMs?: number | undefined;
    };

export async function harvestReadiness(
  deps: { readonly store: Pick<MetadataOps, 'getResource'>; readonly timeline: TimelineStore },
  r: ResourceRecord<HarvestJob>,
  nowMs: number,
  settleMs: number,
): Promise<Readiness> {
  const job = r.doc;
  if (nowMs < job.endMs) return { due: false, waitingFor: 'end-time', untilMs: job.endMs };
  const scope = { accountId: r.accountId, region: r.region };
  const endpoint = await deps.store.getResource<OriginEndpoint>(arns.endpoint(scope, job.groupName, job.channelName, job.endpointName));
  // Gone: running the job ends it FAILED with the reason.
  if (!endpoint) return { due: true, rule: 'whole' };
  const startoverMs = (endpoint.doc.startoverWindowSeconds ?? 0) * 1000;
  if (startoverMs > 0 && nowMs >= job.startMs + startoverMs - startoverMarginMs(startoverMs)) return { due: true, rule: 'startover' };
  const channelArn = arns.channel(scope, job.groupName, job.channelName);
  // The renditions the endpoint serves (those of the other container repackaged), as the harvest plans them.
  const view = await endpointRenditions(deps.timeline, channelArn, endpoint.doc.containerType);
  const segDurS = Number(endpoint.doc.segment['SegmentDurationSeconds'] ?? 6);
  let aliveShort = false;
  let stoppedShort = false;
  let sawContent = false;
  let arrivedUpToMs: number | undefined;
  for (const rendition of view.renditions) {
    const last = await view.timeline.latestSegment(channelArn, rendition.id);
    if (!last) continue;
    sawContent = true;
    const lastEnd = last.startMs + last.durationMs;
    const alive = renditionAlive(rendition, last, nowMs);
    // A rendition that ended before the window began has nothing to give it.
    if (!alive && lastEnd <= job.startMs) continue;
    let whole = lastEnd >= job.endMs;
    if (whole) {
      // The output segment holding EndTime must be whole too (its later input segments arrived).
      const wg = await windowGroups(view.timeline, channelArn, rendition.id, Math.max(job.startMs, job.endMs - 60_000), job.endMs, segDurS);
      const end = wg.groups[wg.groups.length - 1];
      whole = !end || end.complete;
    }
    if (whole) continue;
    arrivedUpToMs = Math.min(arrivedUpToMs ?? lastEnd, lastEnd);
    if (alive) aliveShort = true;
    else stoppedShort = true;
  }
  if (aliveShort) return { due: false, waitingFor: 'late-content', arrivedUpToMs };
  // Without any content yet, something may still be on its way: the settle time applies.
  if (!stoppedShort && sawContent) return { due: true, rule: 'whole' };
  if (nowMs >= job.endMs + settleMs) return { due: true, rule: 'settled' };
  return { due: false, waitingFor: 'settle', untilMs: job.endMs + settleMs, arrivedUpToMs };
}
