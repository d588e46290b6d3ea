/**
 * The origin: answers GET/HEAD /out/v1/{group}/{channel}/{endpoint}/{file} with the endpoint's
 * HLS multivariant and media playlists, DASH MPDs, and the segments they name, live or over a
 * `start`/`end` window of the startover window. Segments are passed through byte for byte.
 */
import type { Channel, ConfigDoc, ManifestDoc, OriginEndpoint } from '../../domain/model.js';
import type { BlobStore, Clock, MetadataStore, RenditionRecord, SegmentRecord, TimelineStore } from '../../domain/ports.js';
import { writeMpd } from '../../media/dash/mpd-writer.js';
import { writeMediaPlaylist, writeMultivariant } from '../../media/hls/writer.js';
import { ManifestFilterError, parseManifestFilter } from '../../media/manifest-filter.js';
import type { OutputSegment, OutputTrack } from '../../media/timeline/model.js';
import { DataplaneError, locateChannel, locateEndpoint } from '../channel-locator.js';
import { initIdOf, outputNames } from '../../media/output-naming.js';
import { matchesFilter } from '../../media/rendition-filter.js';
import { resolveWindow, type TimeWindow } from './window.js';

export interface OriginResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer | string;
}

export interface OriginRequest {
  readonly groupName: string;
  readonly channelName: string;
  readonly endpointName: string;
  readonly file: string;
  readonly query: URLSearchParams;
}

type ManifestKind = 'hls' | 'llhls' | 'dash';

const SEGMENT_MAX_AGE = 1_209_600;

/** A stored configuration string, or the fallback when absent. */
const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);


function toTrack(r: RenditionRecord): OutputTrack {
  return {
    id: r.id,
    kind: r.kind,
    container: r.container,
    codecs: r.codecs,
    bandwidth: r.bandwidth,
    width: r.width,
    height: r.height,
    frameRate: r.frameRate,
    sampleRate: r.sampleRate,
    channels: r.channels,
    language: r.language,
    timescale: r.timescale,
  };
}

function toSegment(s: SegmentRecord): OutputSegment {
  return {
    seq: s.seq,
    startMs: s.startMs,
    durationMs: s.durationMs,
    mediaTime: s.mediaTime,
    mediaDuration: s.mediaDuration,
    discontinuity: s.discontinuity,
    initId: initIdOf(s.initKey),
  };
}

export class OriginService {
  constructor(
    private readonly deps: {
      readonly store: MetadataStore;
      readonly timeline: TimelineStore;
      readonly blobs: BlobStore;
      readonly clock: Clock;
    },
  ) {}

  async serve(req: OriginRequest): Promise<OriginResponse> {
    const endpointRec = await locateEndpoint(this.deps.store, req.groupName, req.channelName, req.endpointName);
    const channel = (await locateChannel(this.deps.store, req.groupName, req.channelName)).doc;
    const endpoint = endpointRec.doc;
    if (endpoint.containerType === 'ISM') throw new DataplaneError(501, 'MSS (ISM) output is not built yet in Packhouse.');
    const container = endpoint.containerType === 'TS' ? 'ts' : 'fmp4';
    const segName = text(endpoint.segment['SegmentName'], 'segment');
    const renditions = (await this.deps.timeline.listRenditions(channel.arn)).filter((r) => r.container === container);
    const all = await this.deps.timeline.listRenditions(channel.arn);
    if (renditions.length === 0 && all.length > 0) {
      const have = all[0]!.container === 'ts' ? 'MPEG-TS' : 'fMP4/CMAF';
      throw new DataplaneError(
        415,
        `Channel ${channel.name} receives ${have} segments, but origin endpoint ${endpoint.name} is ${endpoint.containerType}; Packhouse does not remux between containers yet. Use a ${have === 'MPEG-TS' ? 'TS' : 'CMAF'} endpoint.`,
      );
    }
    const file = req.file;
    const manifest = this.findManifest(endpoint, file);
    if (manifest) {
      return this.manifest(channel, endpoint, manifest.kind, manifest.doc, manifest.child, renditions, req.query);
    }
    return this.segment(channel, endpoint, segName, renditions, file);
  }

  private findManifest(e: OriginEndpoint, file: string): { kind: ManifestKind; doc: ManifestDoc; child?: string } | undefined {
    const lists: [ManifestKind, readonly ManifestDoc[], string][] = [
      ['hls', e.hlsManifests, '.m3u8'],
      ['llhls', e.lowLatencyHlsManifests, '.m3u8'],
      ['dash', e.dashManifests, '.mpd'],
    ];
    for (const [kind, list, ext] of lists) {
      for (const doc of list) {
        if (file === `${doc.ManifestName}${ext}`) return { kind, doc };
        if (kind !== 'dash' && file.endsWith('.m3u8')) {
          const prefix = `${doc.ChildManifestName ?? doc.ManifestName}_`;
          if (file.startsWith(prefix)) return { kind, doc, child: file.slice(prefix.length, -'.m3u8'.length) };
        }
      }
    }
    return undefined;
  }

  private async manifest(
    channel: Channel,
    endpoint: OriginEndpoint,
    kind: ManifestKind,
    doc: ManifestDoc,
    child: string | undefined,
    renditions: readonly RenditionRecord[],
    query: URLSearchParams,
  ): Promise<OriginResponse> {
    const now = this.deps.clock.now().getTime();
    const channelNowMs = await this.channelNow(channel, renditions);
    const segDurS = Number(endpoint.segment['SegmentDurationSeconds'] ?? 6);
    const window = resolveWindow({ channel, endpoint, manifest: doc, query, nowMs: now, channelNowMs });
    let tracks = renditions.map(toTrack);
    const filterText = (doc.FilterConfiguration)?.['ManifestFilter'] ?? query.get('aws.manifestfilter') ?? undefined;
    if (typeof filterText === 'string' && child === undefined) {
      let filter;
      try {
        filter = parseManifestFilter(filterText);
      } catch (err) {
        if (err instanceof ManifestFilterError) throw new DataplaneError(400, `The manifest filter is invalid: ${err.message}.`);
        throw err;
      }
      tracks = tracks.filter((t) => matchesFilter(t, filter));
      if (tracks.length === 0) throw new DataplaneError(400, 'The manifest filter leaves no rendition to serve.');
    }
    const segments = new Map<string, OutputSegment[]>();
    for (const t of tracks) {
      if (child !== undefined && t.id !== child) continue;
      const segs = await this.segmentsIn(channel, t.id, window);
      segments.set(t.id, segs.map(toSegment));
    }
    if (child !== undefined && !tracks.some((t) => t.id === child)) throw new DataplaneError(404, `No rendition ${child} on this endpoint.`);
    const haveAny = [...segments.values()].some((s) => s.length > 0);
    if (!haveAny) {
      if (window.explicit) throw new DataplaneError(404, 'No content is held for the requested start/end window: it lies outside the startover window or before the stream started.');
      throw new DataplaneError(404, `Channel ${channel.name} has no content yet: nothing has been ingested, or the last segment is older than the manifest window.`);
    }
    const ttl = kind === 'llhls' ? 1 : Math.max(1, Math.floor(segDurS / 2));
    const cache = window.closed ? `max-age=${SEGMENT_MAX_AGE}` : `max-age=${ttl}`;
    const segName = text(endpoint.segment['SegmentName'], 'segment');
    const qs = childQuery(query, doc['UrlEncodeChildManifest'] === true);
    if (kind === 'dash') {
      const dash = doc as ConfigDoc;
      const utc = dash['UtcTiming'] as ConfigDoc | undefined;
      const mode = utc?.['TimingMode'];
      const schemes: Record<string, string> = {
        HTTP_HEAD: 'urn:mpeg:dash:utc:http-head:2014',
        HTTP_ISO: 'urn:mpeg:dash:utc:http-iso:2014',
        HTTP_XSDATE: 'urn:mpeg:dash:utc:http-xsdate:2014',
        UTC_DIRECT: 'urn:mpeg:dash:utc:direct:2014',
      };
      const body = writeMpd({
        tracks: tracks.filter((t) => (segments.get(t.id)?.length ?? 0) > 0),
        segments,
        closed: window.closed,
        nowMs: now,
        mediaTemplate: outputNames.dashMediaTemplate(segName),
        initialization: (t, id) => outputNames.init(segName, t.id, id),
        minUpdatePeriodSeconds: Number(dash['MinUpdatePeriodSeconds'] ?? 2),
        minBufferTimeSeconds: Number(dash['MinBufferTimeSeconds'] ?? 30),
        suggestedPresentationDelaySeconds: Number(dash['SuggestedPresentationDelaySeconds'] ?? 10),
        utcTiming:
          typeof mode === 'string' && schemes[mode]
            ? { schemeIdUri: schemes[mode], value: mode === 'UTC_DIRECT' ? new Date(now).toISOString() : text(utc?.['TimingSource'], '') }
            : undefined,
      });
      return { status: 200, headers: { 'content-type': 'application/dash+xml', 'cache-control': cache }, body };
    }
    const version = endpoint.containerType === 'TS' ? 3 : 6;
    const childName = doc.ChildManifestName ?? doc.ManifestName;
    if (child === undefined) {
      const body = writeMultivariant({ tracks: tracks.filter((t) => (segments.get(t.id)?.length ?? 0) > 0), playlistUri: (t) => `${outputNames.childPlaylist(childName, t.id)}${qs}`, version });
      return { status: 200, headers: { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': cache }, body };
    }
    const track = tracks.find((t) => t.id === child)!;
    const segs = segments.get(child) ?? [];
    if (segs.length === 0) throw new DataplaneError(404, `Rendition ${child} has no segment in this window.`);
    const pdt = doc['ProgramDateTimeIntervalSeconds'];
    const startTag = doc['StartTag'] as ConfigDoc | undefined;
    const body = writeMediaPlaylist({
      track,
      segments: segs,
      segmentUri: (s) => outputNames.segment(segName, child, s.seq, track.container),
      initUri: endpoint.containerType === 'TS' ? undefined : (s) => outputNames.init(segName, child, s.initId),
      version,
      closed: window.closed,
      programDateTimeIntervalSeconds: typeof pdt === 'number' ? pdt : kind === 'llhls' ? 1 : undefined,
      startTag: startTag ? { timeOffset: Number(startTag['TimeOffset']), precise: startTag['Precise'] === true } : undefined,
    });
    const last = segs[segs.length - 1]!;
    return {
      status: 200,
      headers: {
        'content-type': 'application/vnd.apple.mpegurl',
        'cache-control': cache,
        'x-mediapackage-manifest-last-sequence': String(last.seq),
        'x-mediapackage-manifest-last-updated': String(last.startMs + last.durationMs),
      },
      body,
    };
  }

  /**
   * The channel's clock (DATAPLANE.md §1.2.8): "now" is the end of the newest input segment, which
   * carries the encoder's program date-time, so an encoder whose clock is off still gets a live
   * window; with no content yet it is the server's clock.
   */
  private async channelNow(channel: Channel, renditions: readonly RenditionRecord[]): Promise<number> {
    let newest: number | undefined;
    for (const r of renditions) {
      const last = await this.deps.timeline.latestSegment(channel.arn, r.id);
      if (last) newest = Math.max(newest ?? 0, last.startMs + last.durationMs);
    }
    return newest ?? this.deps.clock.now().getTime();
  }

  /** Segments of a track in the window, hiding content from before a reset. */
  private async segmentsIn(channel: Channel, rendition: string, w: TimeWindow): Promise<SegmentRecord[]> {
    const segs = await this.deps.timeline.findSegments(channel.arn, rendition, w.fromMs, w.toMs);
    return segs.filter((s) => s.startMs >= w.notBeforeMs && (w.explicit ? true : s.startMs + s.durationMs <= w.toMs + 1));
  }

  private async segment(channel: Channel, endpoint: OriginEndpoint, segName: string, renditions: readonly RenditionRecord[], file: string): Promise<OriginResponse> {
    const prefix = `${segName}_`;
    const notFound = () => new DataplaneError(404, `${file} is not a manifest or segment of origin endpoint ${endpoint.name}.`);
    if (!file.startsWith(prefix)) throw notFound();
    const rest = file.slice(prefix.length);
    const init = /^(.+)_init-([0-9a-f]+)\.mp4$/.exec(rest);
    const media = /^(.+)_(\d+)\.(ts|mp4)$/.exec(rest);
    if (init) {
      const rendition = renditions.find((r) => r.id === init[1]);
      if (!rendition) throw notFound();
      const key = `${rendition.initKey?.replace(/init-[0-9a-f]+\.mp4$/, '') ?? ''}init-${init[2]}.mp4`;
      const bytes = await this.deps.blobs.get(key);
      if (!bytes) throw notFound();
      return { status: 200, headers: { 'content-type': rendition.kind === 'audio' ? 'audio/mp4' : 'video/mp4', 'cache-control': `max-age=${SEGMENT_MAX_AGE}` }, body: bytes };
    }
    if (media) {
      const rendition = renditions.find((r) => r.id === media[1]);
      if (!rendition) throw notFound();
      const seg = await this.deps.timeline.getSegment(channel.arn, rendition.id, Number(media[2]));
      const resetMs = Math.max(channel.resetMs ?? 0, endpoint.resetMs ?? 0);
      if (!seg || seg.startMs < resetMs) throw notFound();
      const bytes = await this.deps.blobs.get(seg.key);
      if (!bytes) throw notFound();
      const type = rendition.container === 'ts' ? 'video/mp2t' : rendition.kind === 'audio' ? 'audio/mp4' : 'video/mp4';
      return { status: 200, headers: { 'content-type': type, 'cache-control': `max-age=${SEGMENT_MAX_AGE}` }, body: bytes };
    }
    throw notFound();
  }
}

/** DATAPLANE.md §3.2.6: the request's time-shift parameters travel on to child playlists. */
function childQuery(query: URLSearchParams, encode: boolean): string {
  const keep = [...query.entries()].filter(([k]) => ['start', 'end', 'time_delay', 'aws.manifestsettings'].includes(k)).sort(([a], [b]) => (a < b ? -1 : 1));
  if (keep.length === 0) return '';
  return `?${keep.map(([k, v]) => `${k}=${encode ? encodeURIComponent(v) : v}`).join('&')}`;
}
