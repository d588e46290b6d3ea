/**
 * Writes DASH MPDs (ISO/IEC 23009-1, live profile) from the protocol-neutral track and segment
 * model: SegmentTemplate with $Number$ and a SegmentTimeline per representation. Dynamic for live
 * windows, static for closed ones (time-shift and harvest). Pure.
 */
import { createHash } from 'node:crypto';
import { manifestUri, xmlAttr } from '../manifest-text.js';
import { runSegment, singleRuns, type OutputRun, type OutputSegment, type OutputTrack } from '../timeline/model.js';
import { languageTag } from '../language.js';

export interface MpdOptions {
  readonly tracks: readonly OutputTrack[];
  readonly segments: ReadonlyMap<string, readonly OutputSegment[]>;
  /** The segments as runs (model.ts), listed instead of `segments` when given: a run costs what its text does. */
  readonly runs?: ReadonlyMap<string, readonly OutputRun[]> | undefined;
  readonly closed: boolean;
  readonly nowMs: number;
  /** media attribute of a track, with $RepresentationID$ and $Number$ left for the player. */
  readonly mediaTemplate: (track: OutputTrack) => string;
  /** initialization attribute of a track's init segment (`segment`: the track's last one in the Period). */
  readonly initialization: (track: OutputTrack, initId: string | undefined, segment: OutputSegment) => string;
  readonly minUpdatePeriodSeconds: number;
  readonly minBufferTimeSeconds: number;
  readonly suggestedPresentationDelaySeconds: number;
  readonly utcTiming?: { readonly schemeIdUri: string; readonly value: string } | undefined;
  /**
   * Dynamic MPDs: the wall-clock start (epoch ms) of the content run with a given discontinuity
   * sequence number, so that a period keeps its id and start while the window slides through it.
   * Without an entry, a period starts where its first listed segment does.
   */
  readonly runStartsMs?: ReadonlyMap<number, number> | undefined;
  /**
   * Encrypted output: the ContentProtection descriptors of a track for its segments of a Period
   * (`segment`: its first one there). Written once per AdaptationSet when its tracks share them,
   * else in each Representation.
   */
  readonly contentProtection?: ((track: OutputTrack, segment: OutputSegment) => readonly ContentProtection[]) | undefined;
  /**
   * Key rotation (MediaPackage's DRM_KEY_ROTATION period trigger): the key period of a segment by
   * its start. A new Period begins at the reference track's first segment of each key period, and
   * every track's segments go to a Period of their own key period (a track's segments of a key
   * period the reference track has not reached yet are left out until it does).
   */
  readonly keyPeriodOf?: ((startMs: number) => number) | undefined;
  /**
   * DashManifests[].DrmSignaling. INDIVIDUAL (the default): each AdaptationSet (or Representation)
   * carries its ContentProtection elements in full. REFERENCED (ISO/IEC 23009-1 5th edition,
   * §5.8.4.1): each distinct element is declared once at MPD level with a `refId`, and the
   * AdaptationSets (or Representations) carry only its scheme and a `ref` to it.
   */
  readonly drmSignaling?: 'INDIVIDUAL' | 'REFERENCED' | undefined;
}

/** A ContentProtection descriptor (§5.8.4.1). */
export interface ContentProtection {
  readonly schemeIdUri: string;
  readonly value?: string | undefined;
  /** Further attributes, already XML with a leading space (e.g. ` cenc:default_KID="…"`). */
  readonly attributes?: string | undefined;
  /** Child elements, already XML (e.g. `<cenc:pssh>…</cenc:pssh>`). */
  readonly children?: string | undefined;
}

function protectionXml(cp: ContentProtection, extra = ''): string {
  const open = `<ContentProtection schemeIdUri="${esc(cp.schemeIdUri)}"${cp.value !== undefined ? ` value="${esc(cp.value)}"` : ''}${cp.attributes ?? ''}${extra}`;
  return cp.children ? `${open}>${cp.children}</ContentProtection>` : `${open}/>`;
}

/** The refId of a declared element: from its text, so that it stays the same from one MPD update to the next (an xs:ID). */
const refIdOf = (declared: string) => `cp-${createHash('sha256').update(declared).digest('hex').slice(0, 16)}`;

/** ISO 8601 duration with millisecond precision (xs:duration). */
export function isoDuration(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s.toFixed(3).replace(/\.?0+$/, '') || '0'}S`;
}

const esc = xmlAttr;
/** A URI attribute: percent-encoded where a URI may not hold a character, then XML-escaped. */
const escUri = (uri: string) => xmlAttr(manifestUri(uri));

/** §5.3.9.6: run-length SegmentTimeline; a gap or overlap starts a new S with its own t. */
function timeline(runs: readonly OutputRun[]): string {
  let out = '';
  let run: { t: number; d: number; r: number } | undefined;
  let next = -1;
  const flush = () => {
    if (run) out += `<S t="${run.t}" d="${run.d}"${run.r ? ` r="${run.r}"` : ''}/>`;
  };
  for (const { first: s, count } of runs) {
    if (run && s.mediaTime === next && s.mediaDuration === run.d) {
      run.r += count;
    } else {
      flush();
      run = { t: s.mediaTime, d: s.mediaDuration, r: count - 1 };
    }
    next = s.mediaTime + count * s.mediaDuration;
  }
  flush();
  return out;
}

interface Period {
  readonly discSeq: number;
  /** Key period of its segments (0 without key rotation). */
  readonly keyPeriod: number;
  /** Wall-clock start of the reference track's first segment in it (epoch ms). */
  readonly firstMs: number;
  readonly runs: Map<string, OutputRun[]>;
}

/** The runs cut where the key period changes: every piece lies in one key period. */
function byKeyPeriod(runs: readonly OutputRun[], keyPeriodOf: ((startMs: number) => number) | undefined): { run: OutputRun; keyPeriod: number }[] {
  if (!keyPeriodOf) return runs.map((run) => ({ run, keyPeriod: 0 }));
  const out: { run: OutputRun; keyPeriod: number }[] = [];
  for (const r of runs) {
    let i = 0;
    while (i < r.count) {
      const kp = keyPeriodOf(r.first.startMs + i * r.first.durationMs);
      let j = i + 1;
      // Key periods only grow with time: the first segment of a later one ends this piece.
      while (j < r.count && keyPeriodOf(r.first.startMs + j * r.first.durationMs) === kp) j++;
      out.push({ run: { first: runSegment(r, i), count: j - i }, keyPeriod: kp });
      i = j;
    }
  }
  return out;
}

/**
 * DATAPLANE.md §2.5.9: a new period at every discontinuity (an encoder restart, a change of init
 * segment) and, with key rotation, at every new key period. Periods are cut on a reference track
 * (the first video track) and every other track's segments go to the period of their key period
 * that holds their midpoint.
 */
function splitPeriods(present: readonly OutputTrack[], runs: ReadonlyMap<string, readonly OutputRun[]>, keyPeriodOf: ((startMs: number) => number) | undefined): Period[] {
  const ref = present.find((t) => t.kind !== 'audio') ?? present[0]!;
  const periods: Period[] = [];
  // Only the first segment of a run can be a discontinuity.
  for (const { run: { first: s }, keyPeriod } of byKeyPeriod(runs.get(ref.id)!, keyPeriodOf)) {
    const last = periods[periods.length - 1];
    if (!last || s.discontinuity || last.keyPeriod !== keyPeriod) periods.push({ discSeq: s.discSeq ?? 0, keyPeriod, firstMs: s.startMs, runs: new Map() });
  }
  for (const t of present) {
    for (const { run: r, keyPeriod } of byKeyPeriod(runs.get(t.id)!, keyPeriodOf)) {
      // The periods of this key period (consecutive: key periods only grow with time).
      const lo = periods.findIndex((p) => p.keyPeriod === keyPeriod);
      if (lo < 0) continue;
      let hi = lo;
      while (hi + 1 < periods.length && periods[hi + 1]!.keyPeriod === keyPeriod) hi++;
      const periodOf = (mid: number) => {
        let p = lo;
        while (p + 1 <= hi && periods[p + 1]!.firstMs <= mid) p++;
        return p;
      };
      const { startMs: s0, durationMs: d } = r.first;
      const mid = (i: number) => s0 + i * d + d / 2;
      // Segments i … j−1 of the run have their midpoints in period p: the run splits where a later period begins.
      for (let i = 0; i < r.count; ) {
        const p = periodOf(mid(i));
        let j = r.count;
        const next = p + 1 <= hi ? periods[p + 1] : undefined;
        if (next && d > 0) {
          j = Math.ceil((next.firstMs - s0 - d / 2) / d);
          while (j - 1 > i && mid(j - 1) >= next.firstMs) j--;
          while (j < r.count && mid(j) < next.firstMs) j++;
          j = Math.min(r.count, Math.max(i + 1, j));
        }
        const part = { first: runSegment(r, i), count: j - i };
        const list = periods[p]!.runs.get(t.id);
        if (list) list.push(part);
        else periods[p]!.runs.set(t.id, [part]);
        i = j;
      }
    }
  }
  return periods;
}

/** Tracks whose content ends further apart than this before a discontinuity are cut to the earliest end. */
const RAGGED_END_MS = 500;
const runEnd = (r: OutputRun): number => r.first.startMs + r.count * r.first.durationMs;

/**
 * Where content ends before a discontinuity, each track of the old content can stop at another
 * time (an encoder stopped mid-segment leaves its tracks' last output segments ragged, and a
 * group cut at the restart leaves out its old tail: output-groups.ts). A player that starts in a
 * Period where one track has media and another none stalls there, so the Period ends where every
 * track still has media: a track's segments from there on are left out, and the Period's
 * duration stops at that end (an early-terminated Period, ISO/IEC 23009-1 §5.3.2.1: no media is
 * presented until the next Period starts). Returns each Period's end (epoch ms), undefined where
 * the next Period's start ends it.
 */
function endAtSharedContent(periods: readonly Period[]): (number | undefined)[] {
  return periods.map((p, i) => {
    const next = periods[i + 1];
    if (!next || next.discSeq === p.discSeq) return undefined;
    let endMs = Infinity;
    let maxEndMs = -Infinity;
    for (const runs of p.runs.values()) {
      if (!runs.length) continue;
      const e = runEnd(runs[runs.length - 1]!);
      endMs = Math.min(endMs, e);
      maxEndMs = Math.max(maxEndMs, e);
    }
    // Tracks that end within a few audio frames of each other are not ragged.
    if (!Number.isFinite(endMs) || endMs >= next.firstMs || maxEndMs - endMs <= RAGGED_END_MS) return undefined;
    for (const [id, runs] of p.runs) {
      const kept: OutputRun[] = [];
      for (const r of runs) {
        // The run's segments that start before the shared end by more than half their duration.
        let count = 0;
        while (count < r.count && r.first.startMs + (count + 0.5) * r.first.durationMs < endMs) count++;
        if (count > 0) kept.push(count === r.count ? r : { first: r.first, count });
        if (count < r.count) break;
      }
      if (kept.length) p.runs.set(id, kept);
      else p.runs.delete(id);
    }
    return endMs;
  });
}

export function writeMpd(o: MpdOptions): string {
  const runsOf = o.runs ?? new Map([...o.segments].map(([id, segs]) => [id, singleRuns(segs)]));
  const present = o.tracks.filter((t) => (runsOf.get(t.id)?.length ?? 0) > 0);
  let firstStart = Infinity;
  let lastEnd = -Infinity;
  for (const t of present) {
    for (const r of runsOf.get(t.id)!) {
      firstStart = Math.min(firstStart, r.first.startMs);
      lastEnd = Math.max(lastEnd, runEnd(r));
    }
  }
  const duration = (lastEnd - firstStart) / 1000;
  const ns = o.contentProtection ? ' xmlns:cenc="urn:mpeg:cenc:2013" xmlns:mspr="urn:microsoft:playready"' : '';
  const head = o.closed
    ? `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"${ns} profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="${isoDuration(duration)}" minBufferTime="${isoDuration(o.minBufferTimeSeconds)}">`
    : `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"${ns} profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" id="0" availabilityStartTime="1970-01-01T00:00:00Z" publishTime="${new Date(o.nowMs).toISOString()}" minimumUpdatePeriod="${isoDuration(o.minUpdatePeriodSeconds)}" minBufferTime="${isoDuration(o.minBufferTimeSeconds)}" suggestedPresentationDelay="${isoDuration(o.suggestedPresentationDelaySeconds)}" timeShiftBufferDepth="${isoDuration(duration)}">`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', head];
  const periods = splitPeriods(present, runsOf, o.keyPeriodOf);
  const contentEnds = endAtSharedContent(periods);
  // REFERENCED: every distinct element once, at MPD level (before the first Period), in the order first used.
  const referenced = o.drmSignaling === 'REFERENCED';
  const declared = new Map<string, string>();
  const render = (list: readonly ContentProtection[]): string[] =>
    list.map((cp) => {
      if (!referenced) return protectionXml(cp);
      const full = protectionXml(cp);
      let id = declared.get(full);
      if (id === undefined) {
        id = refIdOf(full);
        declared.set(full, id);
        lines.splice(2 + declared.size - 1, 0, protectionXml(cp, ` refId="${id}"`));
      }
      return protectionXml({ schemeIdUri: cp.schemeIdUri, value: cp.value }, ` ref="${id}"`);
    });
  // Wall-clock start of each period (epoch ms): where the reference track's first segment in it
  // starts, and for the first period of a dynamic MPD the start of its whole run (stable while the
  // window slides); a static MPD's first period starts with its earliest segment.
  const starts = periods.map((p, i) => (i > 0 ? p.firstMs : o.closed ? firstStart : Math.min(o.runStartsMs?.get(p.discSeq) ?? p.firstMs, p.firstMs)));
  periods.forEach((p, i) => {
    const startMs = starts[i]!;
    const offset = o.closed ? startMs - starts[0]! : startMs;
    const next = starts[i + 1];
    const endMs = contentEnds[i] ?? next;
    const dur = endMs !== undefined ? ` duration="${isoDuration((endMs - startMs) / 1000)}"` : '';
    lines.push(`<Period id="${startMs}" start="${isoDuration(offset / 1000)}"${dur}>`);
    let setId = 0;
    // §5.3.3: the video tracks are one AdaptationSet; audio is one per language, which a player
    // picks by AdaptationSet@lang.
    const inPeriod = present.filter((t) => p.runs.has(t.id));
    const audioTags = [...new Set(inPeriod.filter((t) => t.kind === 'audio').map((t) => languageTag(t.language)))];
    const sets = [
      { kind: 'video' as const, tag: undefined, tracks: inPeriod.filter((t) => t.kind !== 'audio') },
      ...audioTags.map((tag) => ({ kind: 'audio' as const, tag, tracks: inPeriod.filter((t) => t.kind === 'audio' && languageTag(t.language) === tag) })),
    ];
    for (const { kind, tag, tracks } of sets) {
      if (!tracks.length) continue;
      const mime = kind === 'audio' ? 'audio/mp4' : 'video/mp4';
      const lang = tag ? ` lang="${tag}"` : '';
      lines.push(`<AdaptationSet id="${setId++}" contentType="${kind}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1"${lang}>`);
      const protections = o.contentProtection ? tracks.map((t) => render(o.contentProtection!(t, p.runs.get(t.id)![0]!.first))) : [];
      const shared = protections.length > 0 && protections.every((p) => p.join('') === protections[0]!.join(''));
      if (shared) lines.push(...protections[0]!);
      for (const [ti, t] of tracks.entries()) {
        const segs = p.runs.get(t.id)!;
        const first = segs[0]!.first;
        // Every track is placed on one wall-clock axis: its first segment sits at its own start time.
        const pto = Math.max(0, Math.round(first.mediaTime - ((first.startMs - startMs) / 1000) * t.timescale));
        const dims = t.width && t.height ? ` width="${t.width}" height="${t.height}"` : '';
        const fr = t.frameRate ? ` frameRate="${Math.round(t.frameRate * 1000)}/1000"` : '';
        const sr = t.sampleRate ? ` audioSamplingRate="${t.sampleRate}"` : '';
        lines.push(`<Representation id="${esc(t.id)}" bandwidth="${t.bandwidth}" codecs="${esc(t.codecs)}"${dims}${fr}${sr}>`);
        if (t.channels) lines.push(`<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${t.channels}"/>`);
        if (!shared && protections[ti]) lines.push(...protections[ti]);
        lines.push(
          `<SegmentTemplate timescale="${t.timescale}" presentationTimeOffset="${pto}" startNumber="${first.seq}" media="${escUri(o.mediaTemplate(t))}" initialization="${escUri(o.initialization(t, segs[segs.length - 1]!.first.initId, segs[segs.length - 1]!.first))}">`,
          `<SegmentTimeline>${timeline(segs)}</SegmentTimeline>`,
          '</SegmentTemplate>',
          '</Representation>',
        );
      }
      lines.push('</AdaptationSet>');
    }
    // ISO/IEC 23009-1 §5.3.2 (Period content model): SupplementalProperty follows the AdaptationSets.
    lines.push(`<SupplementalProperty schemeIdUri="urn:scte:dash:utc-time" value="${new Date(startMs).toISOString()}"/>`);
    lines.push('</Period>');
  });
  if (o.utcTiming && !o.closed) lines.push(`<UTCTiming schemeIdUri="${esc(o.utcTiming.schemeIdUri)}" value="${esc(o.utcTiming.value)}"/>`);
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}
