/**
 * Which part of the timeline a manifest request shows: the live window (the last
 * ManifestWindowSeconds before now minus any time delay), or an explicit `start`/`end` window
 * inside the startover window (query parameters, `aws.manifestsettings`, or the manifest's own
 * FilterConfiguration). Pure.
 */
import type { Channel, ManifestDoc, OriginEndpoint } from '../../domain/model.js';
import { DataplaneError } from '../channel-locator.js';

export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Nothing before this instant is shown (reset, startover window, clip start). */
  readonly notBeforeMs: number;
  /** The window's end has passed: a VOD-style answer (EXT-X-ENDLIST, static MPD). */
  readonly closed: boolean;
  readonly explicit: boolean;
}

/** Epoch seconds (`1503091134`) or ISO 8601 with a zone, as DATAPLANE.md §3.2.3 allows. */
export function parseTime(name: string, value: string): number {
  const v = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) throw new DataplaneError(400, `${name}=${value} is not a time: use epoch seconds or ISO 8601 (e.g. 2026-11-28T10:00:00Z).`);
  return Math.round(ms);
}

function settings(query: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  const packed = query.get('aws.manifestsettings');
  if (packed) {
    for (const part of packed.split(';')) {
      const i = part.indexOf(':');
      if (i <= 0) throw new DataplaneError(400, `aws.manifestsettings part "${part}" is not name:value.`);
      out.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
    }
  }
  for (const k of ['start', 'end', 'time_delay', 'manifest_window_seconds']) {
    const v = query.get(k);
    if (v !== null && !out.has(k)) out.set(k, v);
  }
  return out;
}

const toMs = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : new Date(v as string | number).getTime());

/**
 * `nowMs` is the server's clock; `channelNowMs` the channel's (the end of its newest segment,
 * DATAPLANE.md §1.2.8). The live window ends at the channel's clock, so an encoder whose clock is
 * off still has a live window; an explicit window is closed once its end has passed on either.
 */
export function resolveWindow(o: { channel: Channel; endpoint: OriginEndpoint; manifest: ManifestDoc; query: URLSearchParams; nowMs: number; channelNowMs: number }): TimeWindow {
  const filter = (o.manifest.FilterConfiguration ?? {});
  const q = settings(o.query);
  for (const [k, fk] of [['start', 'Start'], ['end', 'End'], ['time_delay', 'TimeDelaySeconds']] as const) {
    if (q.has(k) && filter[fk] !== undefined) throw new DataplaneError(404, `This manifest sets ${fk} in its FilterConfiguration, so the ${k} query parameter cannot override it.`);
  }
  const startover = o.endpoint.startoverWindowSeconds ?? 0;
  const manifestWindow = Number(q.get('manifest_window_seconds') ?? o.manifest['ManifestWindowSeconds'] ?? 60);
  const delay = Number(q.get('time_delay') ?? filter['TimeDelaySeconds'] ?? 0);
  if (!Number.isFinite(delay) || delay < 0) throw new DataplaneError(400, 'time_delay must be a number of seconds, 0 or more.');
  const liveEdge = o.channelNowMs - delay * 1000;
  const latest = Math.max(o.nowMs, o.channelNowMs);
  const held = Math.min(o.nowMs, o.channelNowMs) - Math.max(startover, manifestWindow) * 1000;
  const notBeforeMs = Math.max(o.channel.resetMs ?? 0, o.endpoint.resetMs ?? 0, toMs(filter['ClipStartTime']) ?? 0);
  const start = q.has('start') ? parseTime('start', q.get('start')!) : toMs(filter['Start']);
  const end = q.has('end') ? parseTime('end', q.get('end')!) : toMs(filter['End']);
  if (start === undefined && end === undefined) {
    return { fromMs: liveEdge - manifestWindow * 1000, toMs: liveEdge, notBeforeMs: Math.max(notBeforeMs, held), closed: false, explicit: false };
  }
  if (startover <= 0 && q.has('start')) {
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
  return { fromMs: from, toMs: Math.min(to, edge), notBeforeMs: Math.max(notBeforeMs, oldest), closed: to <= edge, explicit: true };
}
