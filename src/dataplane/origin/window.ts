/**
 * Which part of the timeline a manifest request shows: the live window (the last
 * ManifestWindowSeconds before now minus any time delay), or an explicit `start`/`end` window
 * inside the startover window (query parameters, `aws.manifestsettings`, or the manifest's own
 * FilterConfiguration). Pure.
 */
import type { Channel, ManifestDoc, OriginEndpoint } from '../../domain/model.js';
import { DataplaneError } from '../channel-locator.js';
import type { OriginQuery } from './query.js';

export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Nothing before this instant is shown (reset, startover window, clip start). */
  readonly notBeforeMs: number;
  /** The window's end has passed: a VOD-style answer (EXT-X-ENDLIST, static MPD). */
  readonly closed: boolean;
  readonly explicit: boolean;
}

const toMs = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : new Date(v as string | number).getTime());

/**
 * `nowMs` is the server's clock; `channelNowMs` the channel's (the end of its newest segment,
 * DATAPLANE.md §1.2.8). The live window ends at the channel's clock, so an encoder whose clock is
 * off still has a live window; an explicit window is closed once its end has passed on either.
 */
export function resolveWindow(o: { channel: Channel; endpoint: OriginEndpoint; manifest: ManifestDoc; query: OriginQuery; nowMs: number; channelNowMs: number }): TimeWindow {
  const filter = (o.manifest.FilterConfiguration ?? {});
  const q = o.query;
  const given = { start: q.start, end: q.end, time_delay: q.timeDelaySeconds, clip_start_time: q.clipStartMs };
  for (const [k, fk] of [['start', 'Start'], ['end', 'End'], ['time_delay', 'TimeDelaySeconds'], ['clip_start_time', 'ClipStartTime']] as const) {
    if (given[k] !== undefined && filter[fk] !== undefined) throw new DataplaneError(404, `This manifest sets ${fk} in its FilterConfiguration, so the ${k} query parameter cannot override it.`);
  }
  const startover = o.endpoint.startoverWindowSeconds ?? 0;
  const manifestWindow = q.manifestWindowSeconds ?? Number(o.manifest['ManifestWindowSeconds'] ?? 60);
  const delay = q.timeDelaySeconds ?? Number(filter['TimeDelaySeconds'] ?? 0);
  const liveEdge = o.channelNowMs - delay * 1000;
  const latest = Math.max(o.nowMs, o.channelNowMs);
  const held = Math.min(o.nowMs, o.channelNowMs) - Math.max(startover, manifestWindow) * 1000;
  const notBeforeMs = Math.max(o.channel.resetMs ?? 0, o.endpoint.resetMs ?? 0, q.clipStartMs ?? toMs(filter['ClipStartTime']) ?? 0);
  const start = q.start ?? toMs(filter['Start']);
  const end = q.end ?? toMs(filter['End']);
  if (start === undefined && end === undefined) {
    return { fromMs: liveEdge - manifestWindow * 1000, toMs: liveEdge, notBeforeMs: Math.max(notBeforeMs, held), closed: false, explicit: false };
  }
  if (startover <= 0 && q.start !== undefined) {
    throw new DataplaneError(400, `Origin endpoint ${o.endpoint.name} has no startover window (StartoverWindowSeconds), so start/end time-shifting is not available on it.`);
  }
  const edge = latest - delay * 1000;
  const from = start ?? held;
  const to = end ?? edge;
  if (to <= from) throw new DataplaneError(400, 'The end of the requested window is not after its start.');
  if (from > edge) throw new DataplaneError(404, `The requested start (${new Date(from).toISOString()}) is in the future.`);
  const oldest = Math.min(o.nowMs, o.channelNowMs) - startover * 1000;
  if (to < oldest) {
    throw new DataplaneError(404, `The requested window ends before the startover window of ${startover} s begins (${new Date(oldest).toISOString()}); that content is no longer held.`);
  }
  // DATAPLANE.md §4.6: `start` alone is a fixed start with a live-growing end, never closed.
  return { fromMs: from, toMs: Math.min(to, edge), notBeforeMs: Math.max(notBeforeMs, oldest), closed: end !== undefined && to <= edge, explicit: true };
}
