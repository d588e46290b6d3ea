/**
 * Writes DASH MPDs (ISO/IEC 23009-1, live profile) from the protocol-neutral track and segment
 * model: SegmentTemplate with $Number$ and a SegmentTimeline per representation. Dynamic for live
 * windows, static for closed ones (time-shift and harvest). Pure.
 */
import type { OutputSegment, OutputTrack } from '../timeline/model.js';

export interface MpdOptions {
  readonly tracks: readonly OutputTrack[];
  readonly segments: ReadonlyMap<string, readonly OutputSegment[]>;
  readonly closed: boolean;
  readonly nowMs: number;
  /** media attribute, with $RepresentationID$ and $Number$ left for the player. */
  readonly mediaTemplate: string;
  /** initialization attribute of a track's current init segment. */
  readonly initialization: (track: OutputTrack, initId: string | undefined) => string;
  readonly minUpdatePeriodSeconds: number;
  readonly minBufferTimeSeconds: number;
  readonly suggestedPresentationDelaySeconds: number;
  readonly utcTiming?: { readonly schemeIdUri: string; readonly value: string } | undefined;
}

/** ISO 8601 duration with millisecond precision (xs:duration). */
export function isoDuration(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s.toFixed(3).replace(/\.?0+$/, '') || '0'}S`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** §5.3.9.6: run-length SegmentTimeline; a gap or overlap starts a new S with its own t. */
function timeline(segs: readonly OutputSegment[]): string {
  const out: string[] = [];
  let run: { t: number; d: number; r: number } | undefined;
  let next = -1;
  const flush = () => {
    if (run) out.push(`<S t="${run.t}" d="${run.d}"${run.r ? ` r="${run.r}"` : ''}/>`);
  };
  for (const s of segs) {
    if (run && s.mediaTime === next && s.mediaDuration === run.d) {
      run.r++;
    } else {
      flush();
      run = { t: s.mediaTime, d: s.mediaDuration, r: 0 };
    }
    next = s.mediaTime + s.mediaDuration;
  }
  flush();
  return out.join('');
}

export function writeMpd(o: MpdOptions): string {
  const present = o.tracks.filter((t) => (o.segments.get(t.id)?.length ?? 0) > 0);
  const firsts = present.map((t) => ({ t, s: o.segments.get(t.id)![0]! }));
  // Period start on the wall clock: the latest anchor, so that every presentationTimeOffset is >= 0.
  const anchor = o.closed
    ? Math.min(...firsts.map(({ s }) => s.startMs)) / 1000
    : Math.max(...firsts.map(({ t, s }) => s.startMs / 1000 - s.mediaTime / t.timescale));
  const ends = present.map((t) => {
    const segs = o.segments.get(t.id)!;
    const last = segs[segs.length - 1]!;
    return last.startMs + last.durationMs;
  });
  const starts = firsts.map(({ s }) => s.startMs);
  const duration = (Math.max(...ends) - Math.min(...starts)) / 1000;
  const head = o.closed
    ? `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="${isoDuration(duration)}" minBufferTime="${isoDuration(o.minBufferTimeSeconds)}">`
    : `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" id="0" availabilityStartTime="1970-01-01T00:00:00Z" publishTime="${new Date(o.nowMs).toISOString()}" minimumUpdatePeriod="${isoDuration(o.minUpdatePeriodSeconds)}" minBufferTime="${isoDuration(o.minBufferTimeSeconds)}" suggestedPresentationDelay="${isoDuration(o.suggestedPresentationDelaySeconds)}" timeShiftBufferDepth="${isoDuration(duration)}">`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', head];
  const periodStart = o.closed ? 0 : anchor;
  lines.push(`<Period id="${Math.round(anchor * 1000)}" start="${isoDuration(periodStart)}">`);
  let setId = 0;
  for (const kind of ['video', 'audio'] as const) {
    const tracks = present.filter((t) => (kind === 'audio' ? t.kind === 'audio' : t.kind !== 'audio'));
    if (!tracks.length) continue;
    const mime = kind === 'audio' ? 'audio/mp4' : 'video/mp4';
    const lang = kind === 'audio' && tracks[0]!.language ? ` lang="${esc(tracks[0]!.language)}"` : '';
    lines.push(`<AdaptationSet id="${setId++}" contentType="${kind}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1"${lang}>`);
    for (const t of tracks) {
      const segs = o.segments.get(t.id)!;
      const first = segs[0]!;
      // Every track is placed on one wall-clock axis: its first segment sits at its own start time.
      const pto = Math.max(0, Math.round(first.mediaTime - (first.startMs / 1000 - anchor) * t.timescale));
      const dims = t.width && t.height ? ` width="${t.width}" height="${t.height}"` : '';
      const fr = t.frameRate ? ` frameRate="${Math.round(t.frameRate * 1000)}/1000"` : '';
      const sr = t.sampleRate ? ` audioSamplingRate="${t.sampleRate}"` : '';
      lines.push(`<Representation id="${esc(t.id)}" bandwidth="${t.bandwidth}" codecs="${esc(t.codecs)}"${dims}${fr}${sr}>`);
      if (t.channels) lines.push(`<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${t.channels}"/>`);
      lines.push(
        `<SegmentTemplate timescale="${t.timescale}" presentationTimeOffset="${pto}" startNumber="${first.seq}" media="${esc(o.mediaTemplate)}" initialization="${esc(o.initialization(t, segs[segs.length - 1]!.initId))}">`,
        `<SegmentTimeline>${timeline(segs)}</SegmentTimeline>`,
        '</SegmentTemplate>',
        '</Representation>',
      );
    }
    lines.push('</AdaptationSet>');
  }
  lines.push('</Period>');
  if (o.utcTiming && !o.closed) lines.push(`<UTCTiming schemeIdUri="${esc(o.utcTiming.schemeIdUri)}" value="${esc(o.utcTiming.value)}"/>`);
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}
