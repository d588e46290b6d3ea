/**
 * The origin: answers GET/HEAD /out/v1/{group}/{channel}/{endpoint}/{file} with the endpoint's
 * HLS multivariant and media playlists, DASH MPDs, and the segments they name, live or over a
 * `start`/`end` window of the startover window. Every manifest lists output segments of N input
 * segments each (domain/output-groups.ts), served as the concatenation of the input segments'
 * bytes; LL-HLS media playlists also list every input segment as a part, with blocking playlist
 * reload and blocking preload-hinted parts.
 */
import type { Channel, ConfigDoc, ManifestDoc, OriginEndpoint } from '../../domain/model.js';
import type { BlobStore, Clock, MetadataStore, RenditionRecord, SegmentRecord, TimelineStore } from '../../domain/ports.js';
import { writeMpd, type ContentProtection } from '../../media/dash/mpd-writer.js';
import { mediaPlaylistHead, mediaPlaylistTail, writeMediaPlaylist, writeMultivariant, type MediaPlaylistOptions } from '../../media/hls/writer.js';
import { ManifestFilterError, parseManifestFilter } from '../../media/manifest-filter.js';
import { runSegment, runsCount, singleRuns, type OutputRun, type OutputTrack } from '../../media/timeline/model.js';
import { windowRuns, type SegmentRun, type WindowItem } from '../../domain/timeline-runs.js';
import { outputTrack } from '../../domain/output-model.js';
import { newestRunEnd, newestSegmentEnd } from '../channel-clock.js';
import { retentionSeconds } from '../retention.js';
import { DataplaneError, locateEndpoint } from '../channel-locator.js';
import { outputNames, parseSegmentName } from '../../media/output-naming.js';
import { matchesFilter } from '../../media/rendition-filter.js';
import { resolveWindow, type TimeWindow } from './window.js';
import { childQueryString, parseOriginQuery, type OriginQuery } from './query.js';
import { ManifestCache } from './manifest-cache.js';
import { MIN_CACHED_SEGMENTS } from './playlist-lines.js';
import { PlaylistRenderer, type LinesSpec } from './playlist-renderer.js';
import { metrics } from '../../metrics/metrics.js';
import { endpointRenditions, isRepackagedTs, unsupportedMessage } from '../../domain/repackaging.js';
import { streamContinuous } from '../../media/package/ts-continuity.js';
import { firstSeqOf, groupEndMs, groupIndexOf, groupOf, groupSegment, groupSize, windowGroups, type OutputGroup, type WindowGroups } from '../../domain/output-groups.js';
import type { PartialSegment, RenditionReport } from '../../media/hls/writer.js';
import { encryptionOf, KeyUnavailableError, type EndpointEncryption } from '../../encryption/content-keys.js';
import { collect, Egress, EncryptionNotBuiltError } from '../../encryption/egress.js';
import { excludesSessionKeys } from '../../encryption/drm-settings.js';

/**
 * A body written piece by piece: an output segment of several input segments is streamed, one
 * input segment in memory at a time, never concatenated.
 */
export interface StreamedBody {
  /** Total bytes (the content-length), when known before the first byte is sent. */
  readonly length: number | undefined;
  /** The pieces in order; rejects when one has gone meanwhile (the response is then cut short). */
  chunks(): AsyncIterable<Buffer>;
  /** Releases what was opened ahead (a HEAD request, or a client gone before the first chunk). */
  discard(): void;
}

export interface OriginResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer | string | StreamedBody;
}

export interface OriginRequest {
  readonly groupName: string;
  readonly channelName: string;
  readonly endpointName: string;
  readonly file: string;
  readonly query: URLSearchParams;
  /** Access control, called with the endpoint before any work is done; throws to refuse (egress-access.ts). */
  readonly authorize?: (endpoint: OriginEndpoint) => void;
}

type ManifestKind = 'hls' | 'llhls' | 'dash';

/** Where an LL-HLS media playlist ends: what blocking reload (RFC 8216bis §6.2.5.2) compares against. */
interface LlEdge {
  /** Media sequence number of the last complete segment (−1 without one). */
  readonly lastCompleteMsn: number;
  /** The last segment listed (complete or only as parts) and the index of its last part. */
  readonly lastMsn: number;
  readonly lastPart: number;
  /** Output target duration in seconds (the blocking bound is three times it). */
  readonly targetSeconds: number;
}

type ManifestResponse = OriginResponse & { readonly body: Buffer | string; readonly llEdge?: LlEdge };

/** One manifest request, resolved to its endpoint, manifest and (for a media playlist) rendition. */
interface ManifestAsk {
  readonly channel: Channel;
  readonly endpoint: OriginEndpoint;
  readonly kind: ManifestKind;
  readonly doc: ManifestDoc;
  readonly child: string | undefined;
  readonly renditions: readonly RenditionRecord[];
  /** Where the segments are read: the stored timeline, or its CMAF view (TS input, CMAF endpoint). */
  readonly timeline: TimelineStore;
  /** That view of a rendition's runs. */
  readonly runsView: (rendition: string, runs: readonly SegmentRun[]) => readonly SegmentRun[];
  readonly query: OriginQuery;
}

/**
 * A closed window's manifest is cached once the channel's clock is this far past the window's end,
 * so that late input (a lagging rendition, the redundant input) has landed.
 */
const CACHE_SETTLE_MS = 30_000;

/** How often a blocked request looks at the timeline again. */
const BLOCK_POLL_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const SEGMENT_MAX_AGE = 1_209_600;

/** A stored configuration string, or the fallback when absent. */
const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);


export class OriginService {
  constructor(
    private readonly deps: {
      readonly store: MetadataStore;
      readonly timeline: TimelineStore;
      readonly blobs: BlobStore;
      readonly clock: Clock;
      /**
       * Memory for rendered manifests, half for closed windows (manifest-cache.ts) and half for the
       * segment lines of long media playlists (playlist-lines.ts); 0 or absent: none.
       */
      readonly manifestCacheBytes?: number;
      /** Threads writing long playlists' segment lines (playlist-renderer.ts); 0 or absent: the main thread. */
      readonly renderThreads?: number;
      /** Nice steps below the process for the render threads (Linux). */
      readonly renderThreadNice?: number;
      /** Encryption on egress (keys from SPEKE providers); without it an encrypting endpoint serves nothing. */
      readonly egress?: Egress | undefined;
    },
  ) {
    this.cache = deps.manifestCacheBytes ? new ManifestCache(deps.manifestCacheBytes / 2) : undefined;
    this.lines = deps.manifestCacheBytes ? new PlaylistRenderer(deps.manifestCacheBytes / 2, deps.renderThreads ?? 0, deps.renderThreadNice ?? 0) : undefined;
  }

  /** Rendered manifests of closed windows; undefined when turned off. */
  readonly cache: ManifestCache | undefined;
  /** The segment lines of long media playlists, extended or cut per request; undefined when turned off. */
  readonly lines: PlaylistRenderer | undefined;

  /** Stops the render thread. */
  async close(): Promise<void> {
    await this.lines?.close();
  }

  async serve(req: OriginRequest): Promise<OriginResponse> {
    try {
      return await this.serveClear(req);
    } catch (err) {
      // An endpoint that encrypts never falls back to clear output: no key, no content.
      if (err instanceof KeyUnavailableError) throw new DataplaneError(503, err.message);
      if (err instanceof EncryptionNotBuiltError) throw new DataplaneError(501, err.message);
      throw err;
    }
  }

  /** The encryption an endpoint asks for, checked against what this origin can do. */
  private encryption(endpoint: OriginEndpoint): EndpointEncryption | undefined {
    const enc = encryptionOf(endpoint);
    if (!enc) return undefined;
    if (!this.deps.egress) throw new EncryptionNotBuiltError(`Origin endpoint ${endpoint.name} is configured to encrypt, and this origin has no key service; nothing is served unencrypted.`);
    this.deps.egress.check(enc, endpoint.containerType);
    return enc;
  }

  private async serveClear(req: OriginRequest): Promise<OriginResponse> {
    const located = await locateEndpoint(this.deps.store, req.groupName, req.channelName, req.endpointName, req.authorize);
    const channel = located.channel.doc;
    const endpoint = located.endpoint.doc;
    if (endpoint.containerType === 'ISM') throw new DataplaneError(501, 'MSS (ISM) output is not built yet in Packhouse.');
    const enc = this.encryption(endpoint);
    const segName = text(endpoint.segment['SegmentName'], 'segment');
    const view = await endpointRenditions(this.deps.timeline, channel.arn, endpoint.containerType);
    const { renditions, timeline, runsView } = view;
    const file = req.file;
    const manifest = this.findManifest(endpoint, file);
    if (manifest && view.unsupported.length > 0) {
      throw new DataplaneError(415, unsupportedMessage(channel.name, endpoint.name, endpoint.containerType, view.unsupported));
    }
    if (manifest) {
      const query = parseOriginQuery(req.query);
      const blocking = query.blocking;
      const llMedia = manifest.kind === 'llhls' && manifest.child !== undefined;
      if (blocking && !llMedia) {
        throw new DataplaneError(400, '_HLS_msn and _HLS_part are accepted only on the media playlists of a low-latency HLS manifest.');
      }
      const build = () => this.manifest({ channel, endpoint, kind: manifest.kind, doc: manifest.doc, child: manifest.child, renditions, timeline, runsView, query });
      let res = await build();
      if (blocking && res.llEdge) res = await this.blockFor(blocking, res, build);
      const { llEdge: _edge, ...plain } = res;
      return plain;
    }
    return this.segment(channel, endpoint, segName, renditions, timeline, file, enc);
  }

  /**
   * Blocking playlist reload (RFC 8216bis §6.2.5.2): holds the request until the playlist holds
   * segment `msn` (complete), or part `part` of it, or anything later; polls the timeline every
   * 100 ms. A request more than two segments beyond the last one listed is answered 400 at once
   * (the RFC's "SHOULD immediately return Bad Request"); one not satisfied within three target
   * durations gets 503, as the RFC advises.
   */
  private async blockFor(want: { msn: number; part?: number }, first: ManifestResponse, build: () => Promise<ManifestResponse>): Promise<ManifestResponse> {
    const done = (e: LlEdge) =>
      e.lastCompleteMsn >= want.msn || (want.part !== undefined && (e.lastMsn > want.msn || (e.lastMsn === want.msn && e.lastPart >= want.part)));
    let res = first;
    const edge0 = first.llEdge!;
    if (done(edge0)) return res;
    if (want.msn > edge0.lastMsn + 2) {
      throw new DataplaneError(400, `_HLS_msn=${want.msn} is more than two segments beyond the last one in the playlist (${edge0.lastMsn}).`);
    }
    const until = Date.now() + 3 * edge0.targetSeconds * 1000;
    while (Date.now() < until) {
      await sleep(Math.min(BLOCK_POLL_MS, Math.max(1, until - Date.now())));
      res = await build();
      if (res.llEdge && done(res.llEdge)) return res;
    }
    throw new DataplaneError(503, `Segment ${want.msn}${want.part !== undefined ? ` part ${want.part}` : ''} did not become available within three target durations (${3 * edge0.targetSeconds} s).`);
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

  private async manifest(m: ManifestAsk): Promise<ManifestResponse> {
    const { channel, endpoint, kind, doc, child, renditions, query } = m;
    const now = this.deps.clock.now().getTime();
    // The renditions' runs, where the store keeps them (LL-HLS reads groups with their pieces).
    const base = this.deps.timeline;
    const held = kind !== 'llhls' && base.segmentRuns ? await base.segmentRuns(channel.arn, renditions.map((r) => r.id)) : undefined;
    // With no content yet, the channel's clock is the server's.
    const channelNowMs = (held ? newestRunEnd(held, renditions, now) : await newestSegmentEnd(base, channel.arn, renditions, now)) ?? now;
    const window = resolveWindow({ channel, endpoint, manifest: doc, query, nowMs: now, channelNowMs });
    const cacheKey =
      this.cache && window.closed && window.explicit && channelNowMs >= window.toMs + CACHE_SETTLE_MS
        ? JSON.stringify([endpoint.arn, endpoint.etag, endpoint.resetMs ?? 0, channel.etag, channel.resetMs ?? 0, kind, doc.ManifestName, child ?? '', query])
        : undefined;
    if (cacheKey !== undefined) {
      const hit = this.cache!.get(cacheKey, now);
      metrics.manifestCache(hit !== undefined);
      if (hit) return { ...hit, headers: { ...hit.headers } };
    }
    const { response, startsMs } = await this.renderBody(m, window, now, held);
    if (cacheKey !== undefined) {
      // Valid until the startover window begins after the earliest segment listed.
      const expiresMs = Math.min(...startsMs) + (endpoint.startoverWindowSeconds ?? 0) * 1000;
      if (expiresMs > now) this.cache!.set(cacheKey, { status: response.status, headers: response.headers, body: response.body }, expiresMs);
    }
    return response;
  }

  /** A manifest from the timeline, and where each listed rendition begins (for the cache's expiry). */
  private async renderBody(m: ManifestAsk, window: TimeWindow, now: number, held: ReadonlyMap<string, readonly SegmentRun[]> | undefined): Promise<{ response: ManifestResponse; startsMs: number[] }> {
    const { channel, endpoint, kind, doc, child, renditions, query, timeline, runsView } = m;
    const segDurS = Number(endpoint.segment['SegmentDurationSeconds'] ?? 6);
    let tracks = renditions.map(outputTrack);
    const staticFilter = doc.FilterConfiguration?.['ManifestFilter'];
    const queryFilter = query.manifestFilter;
    // DATAPLANE.md §3.1.3 and §3.1.5: filters apply to multivariant playlists and MPDs only, and a
    // manifest with its own ManifestFilter does not take another from the query.
    if (queryFilter !== undefined && child !== undefined) {
      throw new DataplaneError(400, 'aws.manifestfilter applies to multivariant playlists and DASH manifests, not to media playlists.');
    }
    if (queryFilter !== undefined && staticFilter !== undefined) {
      throw new DataplaneError(404, 'This manifest has its own ManifestFilter (FilterConfiguration), so aws.manifestfilter cannot be applied to it.');
    }
    const filterText = staticFilter ?? queryFilter;
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
    // Per track: what it lists (runs of complete output segments), its grouping, where it begins.
    const listedRuns = new Map<string, OutputRun[]>();
    const groupN = new Map<string, number>();
    const startsMs: number[] = [];
    // LL-HLS reads groups with their pieces (parts); the other manifests read runs where the store keeps them.
    const groups = new Map<string, WindowGroups>();
    const wanted = tracks.filter((t) => child === undefined || t.id === child);
    let anyGroups = false;
    for (const t of wanted) {
      const stored = held?.get(t.id);
      if (stored) {
        const wr = windowRuns(runsView(t.id, stored), window.fromMs, window.toMs, segDurS, window.notBeforeMs);
        groupN.set(t.id, wr.n);
        const first = wr.items[0];
        if (first) startsMs.push(first.run.first.startMs);
        anyGroups ||= wr.items.length > 0;
        listedRuns.set(t.id, listedOf(wr.items, window.explicit ? undefined : window.toMs + 1));
        continue;
      }
      const wg = await windowGroups(timeline, channel.arn, t.id, window.fromMs, window.toMs, segDurS, (s) => s.startMs >= window.notBeforeMs);
      groups.set(t.id, wg);
      groupN.set(t.id, wg.n);
      if (wg.groups.length) startsMs.push(wg.groups[0]!.pieces[0]!.startMs);
      anyGroups ||= wg.groups.length > 0;
      // A media playlist lists complete output segments; the live window only those that ended by its edge.
      const listed = wg.groups.filter((g) => g.complete && (window.explicit || groupEndMs(g) <= window.toMs + 1));
      listedRuns.set(t.id, singleRuns(listed.map(groupSegment)));
    }
    const listedCount = (id: string) => listedRuns.get(id)?.length ?? 0;
    if (child !== undefined && !tracks.some((t) => t.id === child)) throw new DataplaneError(404, `No rendition ${child} on this endpoint.`);
    const haveAny = [...listedRuns.values()].some((s) => s.length > 0) || (kind === 'llhls' && !window.closed && anyGroups);
    if (!haveAny) {
      if (window.explicit) throw new DataplaneError(404, 'No content is held for the requested start/end window: it lies outside the startover window or before the stream started.');
      throw new DataplaneError(404, `Channel ${channel.name} has no content yet: nothing has been ingested, or the last segment is older than the manifest window.`);
    }
    const ttl = kind === 'llhls' ? 1 : Math.max(1, Math.floor(segDurS / 2));
    const cache = window.closed ? `max-age=${SEGMENT_MAX_AGE}` : `max-age=${ttl}`;
    const segName = text(endpoint.segment['SegmentName'], 'segment');
    const qs = childQueryString(query, doc['UrlEncodeChildManifest'] === true);
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
      const present = tracks.filter((t) => listedCount(t.id) > 0);
      if (present.length === 0) throw new DataplaneError(404, `Channel ${channel.name} has no complete segment in this window yet.`);
      // The first period keeps its start while the window slides: the start of its run on the reference track.
      const ref = present.find((t) => t.kind !== 'audio') ?? present[0]!;
      const d0 = listedRuns.get(ref.id)![0]!.first.discSeq ?? 0;
      let runStart = window.closed ? undefined : await timeline.runStartMs(channel.arn, ref.id, d0);
      const dashEnc = encryptionOf(endpoint);
      const egress = this.deps.egress;
      const protection = new Map<string, (startMs: number) => readonly ContentProtection[]>();
      if (dashEnc) {
        for (const t of present) protection.set(t.id, await egress!.dashProtectionFor(endpoint, dashEnc, t, runStarts(listedRuns.get(t.id)!)));
      }
      const keyPeriodOf = dashEnc?.rotationMs ? (ms: number) => egress!.periodAt(dashEnc, ms) : undefined;
      if (keyPeriodOf && runStart !== undefined) {
        // A Period opened by a new key period keeps its start (and id) while the window slides
        // through it: the start of the reference track's first output segment in that key period.
        const refRuns = listedRuns.get(ref.id)!;
        const firstMs = refRuns[0]!.first.startMs;
        const keyStartMs = keyPeriodOf(firstMs) * dashEnc!.rotationMs!;
        // Segments follow each other: that segment starts within one (output) segment duration of the key period's start.
        const withinMs = 2 * Math.max(...refRuns.map((r) => r.first.durationMs));
        if (runStart < keyStartMs) runStart = (await firstGroupStartAtOrAfter(timeline, channel.arn, ref.id, keyStartMs, Math.min(firstMs, keyStartMs + withinMs), groupN.get(ref.id) ?? 1)) ?? firstMs;
      }
      const body = writeMpd({
        contentProtection: dashEnc ? (t, s) => protection.get(t.id)!(s.startMs) : undefined,
        keyPeriodOf,
        drmSignaling: dash['DrmSignaling'] === 'REFERENCED' ? 'REFERENCED' : 'INDIVIDUAL',
        tracks: present,
        segments: new Map(),
        runs: listedRuns,
        closed: window.closed,
        nowMs: now,
        runStartsMs: runStart !== undefined ? new Map([[d0, runStart]]) : undefined,
        mediaTemplate: (t) => outputNames.dashMediaTemplate(segName, groupN.get(t.id) ?? 1),
        initialization: (t, id, s) => outputNames.init(segName, t.id, id, egress?.initPeriod(dashEnc, endpoint.containerType, s.startMs)),
        minUpdatePeriodSeconds: Number(dash['MinUpdatePeriodSeconds'] ?? 2),
        minBufferTimeSeconds: Number(dash['MinBufferTimeSeconds'] ?? 5),
        suggestedPresentationDelaySeconds: Number(dash['SuggestedPresentationDelaySeconds'] ?? 10),
        utcTiming:
          typeof mode === 'string' && schemes[mode]
            ? { schemeIdUri: schemes[mode], value: mode === 'UTC_DIRECT' ? new Date(now).toISOString() : text(utc?.['TimingSource'], '') }
            : undefined,
      });
      return { response: { status: 200, headers: { 'content-type': 'application/dash+xml', 'cache-control': cache }, body }, startsMs };
    }
    // KEYFORMAT (SAMPLE-AES key lines) needs version 5 (RFC 8216 §7).
    const version = endpoint.containerType === 'TS' ? (encryptionOf(endpoint)?.method === 'SAMPLE_AES' ? 5 : 3) : 6;
    const childName = doc.ChildManifestName ?? doc.ManifestName;
    if (child === undefined) {
      const listed = tracks.filter((t) => listedCount(t.id) > 0 || (kind === 'llhls' && (groups.get(t.id)?.groups.length ?? 0) > 0));
      // EXT-X-SESSION-KEY unless DrmSettings (static, which a query cannot override) or aws.drmsettings leaves it out.
      const staticDrm = doc.FilterConfiguration?.['DrmSettings'];
      if (query.drmSettings && typeof staticDrm === 'string') throw new DataplaneError(404, 'This manifest has its own DrmSettings (FilterConfiguration), so aws.drmsettings cannot be applied to it.');
      const excluded = typeof staticDrm === 'string' ? excludesSessionKeys(staticDrm) : query.drmSettings?.excludeSessionKeys === true;
      const mvEnc = encryptionOf(endpoint);
      // The key of the segment a player starts with: at the live edge live, at the start of a closed window.
      const startOf = (t: OutputTrack): number => {
        const runs = listedRuns.get(t.id) ?? [];
        const pick = window.closed ? runs[0] : runs[runs.length - 1];
        if (pick) return window.closed ? pick.first.startMs : pick.first.startMs + (pick.count - 1) * pick.first.durationMs;
        return groups.get(t.id)?.groups.at(-1)?.pieces[0]?.startMs ?? now;
      };
      const sessionKeyLines = mvEnc && !excluded ? await this.deps.egress!.hlsSessionKeys(endpoint, mvEnc, listed, startOf) : undefined;
      const body = writeMultivariant({ tracks: listed, playlistUri: (t) => `${outputNames.childPlaylist(childName, t.id)}${qs}`, version, sessionKeyLines });
      return { response: { status: 200, headers: { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': cache }, body }, startsMs };
    }
    const track = tracks.find((t) => t.id === child)!;
    const runs = listedRuns.get(child) ?? [];
    if (runs.length === 0 && kind !== 'llhls') throw new DataplaneError(404, `Rendition ${child} has no segment in this window.`);
    const pdt = doc['ProgramDateTimeIntervalSeconds'];
    const startTag = doc['StartTag'] as ConfigDoc | undefined;
    if (kind === 'llhls') {
      // The other renditions of this manifest (after its own filter), where their playlists end now.
      const staticFilterText = doc.FilterConfiguration?.['ManifestFilter'];
      const others = (typeof staticFilterText === 'string' ? tracks.filter((t) => matchesFilter(t, parseManifestFilter(staticFilterText))) : tracks).filter((t) => t.id !== child);
      const renditionReports: RenditionReport[] = [];
      if (!window.closed) {
        for (const t of others) {
          const w = await windowGroups(timeline, channel.arn, t.id, window.fromMs, window.toMs, segDurS, (s) => s.startMs >= window.notBeforeMs);
          const at = llLast(llListed(w, window.explicit ? undefined : window.toMs, false), w.n);
          if (at) renditionReports.push({ uri: `${outputNames.childPlaylist(childName, t.id)}${qs}`, ...at });
        }
      }
      const wg = groups.get(child)!;
      const llEnc = encryptionOf(endpoint);
      const llKeys = llEnc ? await this.deps.egress!.hlsKeysFor(endpoint, llEnc, track, wg.groups.map((g) => g.pieces[0]!.startMs)) : undefined;
      const response = this.llMediaPlaylist({
        keyLines: llKeys,
        initPeriod: (ms) => this.deps.egress?.initPeriod(llEnc, endpoint.containerType, ms),
        renditionReports,
        endpoint,
        track,
        window: wg,
        liveEdgeMs: window.explicit ? undefined : window.toMs,
        segName,
        version,
        closed: window.closed,
        cache,
        programDateTimeIntervalSeconds: typeof pdt === 'number' ? pdt : 1,
        startTag: startTag ? { timeOffset: Number(startTag['TimeOffset']), precise: startTag['Precise'] === true } : undefined,
      });
      return { response, startsMs };
    }
    const n = groupN.get(child) ?? 1;
    const enc = encryptionOf(endpoint);
    // Keys by key period: the start of every listed segment (an encrypted playlist costs its segments).
    const keyLines = enc ? await this.deps.egress!.hlsKeysFor(endpoint, enc, track, runStarts(runs)) : undefined;
    const options: MediaPlaylistOptions = {
      keyLines: keyLines && ((s) => keyLines(s.startMs)),
      track,
      segments: [],
      runs,
      segmentUri: (s) => outputNames.segment(segName, child, s.seq, n, track.container),
      segmentUriAffixes: outputNames.segmentAffixes(segName, child, n, track.container),
      initUri: endpoint.containerType === 'TS' ? undefined : (s) => outputNames.init(segName, child, s.initId, this.deps.egress?.initPeriod(enc, endpoint.containerType, s.startMs)),
      version,
      closed: window.closed,
      minTargetDuration: Math.round(segDurS),
      programDateTimeIntervalSeconds: typeof pdt === 'number' ? pdt : undefined,
      startTag: startTag ? { timeOffset: Number(startTag['TimeOffset']), precise: startTag['Precise'] === true } : undefined,
    };
    // A long playlist's segment lines are cut from (or extended past) those written for an earlier
    // request of the rendition, whatever its start, off the main thread (playlist-renderer.ts);
    // encrypted ones carry key lines and are written whole.
    let body: string | Buffer;
    if (this.lines !== undefined && !keyLines && runsCount(runs) >= MIN_CACHED_SEGMENTS) {
      const affixes = options.segmentUriAffixes!;
      const [initPrefix, initSuffix] = outputNames.init(segName, child, '\u0000').split('\u0000');
      const init = endpoint.containerType === 'TS' ? undefined : { prefix: initPrefix!, suffix: initSuffix! };
      const spec: LinesSpec = { segmentPrefix: affixes.prefix, segmentSuffix: affixes.suffix, init, programDateTimeIntervalSeconds: options.programDateTimeIntervalSeconds };
      const key = JSON.stringify([endpoint.arn, endpoint.etag, endpoint.resetMs ?? 0, channel.etag, channel.resetMs ?? 0, doc.ManifestName, child, n, spec]);
      body = await this.lines.playlist(key, runs, spec, mediaPlaylistHead(options, runs), mediaPlaylistTail(options));
    } else body = writeMediaPlaylist(options);
    const lastRun = runs[runs.length - 1]!;
    const last = runSegment(lastRun, lastRun.count - 1);
    const response = {
      status: 200,
      headers: {
        'content-type': 'application/vnd.apple.mpegurl',
        'cache-control': cache,
        'x-mediapackage-manifest-last-sequence': String(last.seq),
        'x-mediapackage-manifest-last-updated': String(last.startMs + last.durationMs),
      },
      body,
    };
    return { response, startsMs };
  }

  /**
   * An LL-HLS media playlist (DATAPLANE.md §2.4): output segments of N input segments, each input
   * segment one part; parts are listed for the segments of the last three target durations, the
   * segment being built is listed as parts only, and a preload hint names the next part. A closed
   * (time-shifted, ended) window lists the complete segments without parts.
   */
  private llMediaPlaylist(o: {
    endpoint: OriginEndpoint;
    track: OutputTrack;
    window: WindowGroups;
    /** The live window's edge: complete segments ending after it are not listed yet (a time delay). */
    liveEdgeMs: number | undefined;
    segName: string;
    version: number;
    closed: boolean;
    cache: string;
    programDateTimeIntervalSeconds: number;
    startTag: { timeOffset: number; precise: boolean } | undefined;
    /** EXT-X-RENDITION-REPORT of the manifest's other renditions (RFC 8216bis §4.4.5.4). */
    renditionReports: readonly RenditionReport[];
    /** EXT-X-KEY lines by segment start (encrypted endpoints). */
    keyLines: ((startMs: number) => readonly string[]) | undefined;
    /** The key period an init segment's name carries, by segment start (CMAF key rotation). */
    initPeriod: (startMs: number) => number | undefined;
  }): ManifestResponse {
    const { track, segName } = o;
    const { n, typicalMs: typical } = o.window;
    const listed = llListed(o.window, o.liveEdgeMs, o.closed);
    if (listed.length === 0) throw new DataplaneError(404, `Rendition ${track.id} has no segment in this window.`);
    const last = listed[listed.length - 1]!;
    const complete = last.complete ? listed : listed.slice(0, -1);
    const tail = last.complete ? undefined : last;
    const out = new Map(listed.map((g) => [g.k, groupSegment(g)]));
    const targetSeconds = Math.max(1, Math.round((n * (typical ?? 1000)) / 1000));
    const lastPiece = last.pieces[last.pieces.length - 1]!;
    const endMs = lastPiece.startMs + lastPiece.durationMs;
    const partsOf = (g: OutputGroup): PartialSegment[] =>
      g.pieces.map((p) => ({ durationMs: p.durationMs, uri: outputNames.part(segName, track.id, g.k, n, p.seq - firstSeqOf(g.k, n), track.container), independent: true }));
    const recent = new Set(complete.filter((g) => endMs - groupEndMs(g) <= 3 * targetSeconds * 1000).map((g) => g.k));
    const partGroups = [...complete.filter((g) => recent.has(g.k)), ...(tail ? [tail] : [])];
    const partTargetMs = Math.max(typical ?? 1000, ...partGroups.flatMap((g) => g.pieces.map((p) => p.durationMs)));
    const nextSeq = lastPiece.seq + 1;
    const nextK = groupIndexOf(nextSeq, n);
    const keyLines = o.keyLines;
    const body = writeMediaPlaylist({
      keyLines: keyLines && ((s) => keyLines(s.startMs)),
      track,
      segments: complete.map((g) => out.get(g.k)!),
      segmentUri: (s) => outputNames.segment(segName, track.id, s.seq, n, track.container),
      initUri: o.endpoint.containerType === 'TS' ? undefined : (s) => outputNames.init(segName, track.id, s.initId, o.initPeriod(s.startMs)),
      version: o.version,
      closed: o.closed,
      programDateTimeIntervalSeconds: o.programDateTimeIntervalSeconds,
      startTag: o.startTag,
      minTargetDuration: targetSeconds,
      lowLatency: o.closed
        ? undefined
        : {
            partTargetSeconds: partTargetMs / 1000,
            parts: (s) => (recent.has(s.seq) ? partsOf(complete.find((g) => g.k === s.seq)!) : undefined),
            tail: tail ? { segment: out.get(tail.k)!, parts: partsOf(tail) } : undefined,
            preloadHintUri: outputNames.part(segName, track.id, nextK, n, nextSeq - firstSeqOf(nextK, n), track.container),
            renditionReports: o.renditionReports,
          },
    });
    const lastPart = lastPiece.seq - firstSeqOf(last.k, n);
    return {
      status: 200,
      headers: {
        'content-type': 'application/vnd.apple.mpegurl',
        'cache-control': o.cache,
        'x-mediapackage-manifest-last-sequence': String(last.k),
        'x-mediapackage-manifest-last-updated': String(endMs),
        ...(o.closed ? {} : { 'x-amzn-mediapackage-manifest-last-part': String(lastPart) }),
      },
      body,
      // A closed (ended, time-shifted) playlist never grows: a blocking request gets it at once.
      ...(o.closed ? {} : { llEdge: { lastCompleteMsn: complete.length ? complete[complete.length - 1]!.k : -1, lastMsn: last.k, lastPart, targetSeconds } }),
    };
  }

  /**
   * An input segment by seq; one that is the next or the one after the newest of its rendition
   * (what an EXT-X-PRELOAD-HINT names) is waited for, polling every 100 ms for at most three
   * times the endpoint's segment duration (RFC 8216bis §6.2.6: the server holds a preload-hinted
   * part request until the part is ready).
   */
  private async awaitSegment(timeline: TimelineStore, channel: Channel, endpoint: OriginEndpoint, rendition: string, seq: number): Promise<SegmentRecord | undefined> {
    const seg = await timeline.getSegment(channel.arn, rendition, seq);
    if (seg) return seg;
    const latest = await timeline.latestSegment(channel.arn, rendition);
    if (!latest || seq <= latest.seq || seq > latest.seq + 2) return undefined;
    const until = Date.now() + 3 * Number(endpoint.segment['SegmentDurationSeconds'] ?? 6) * 1000;
    while (Date.now() < until) {
      await sleep(BLOCK_POLL_MS);
      const got = await timeline.getSegment(channel.arn, rendition, seq);
      if (got) return got;
    }
    return undefined;
  }

  /**
   * An init segment of a key period is served for periods the endpoint can list: from the oldest
   * content it keeps (its startover or manifest window back from the rendition's newest segment)
   * to the newest segment's. Any other period is 404, so that a request cannot make Packhouse ask
   * the key provider for keys of arbitrary periods.
   */
  private async checkKeyPeriod(channel: Channel, endpoint: OriginEndpoint, rendition: RenditionRecord, keyMs: number, rotationMs: number, notFound: () => DataplaneError): Promise<void> {
    const latest = await this.deps.timeline.latestSegment(channel.arn, rendition.id);
    if (!latest) throw notFound();
    const keepMs = retentionSeconds([endpoint]) * 1000;
    const lastStartMs = Math.floor(latest.startMs / rotationMs) * rotationMs;
    if (keyMs > lastStartMs || keyMs + rotationMs <= latest.startMs - keepMs) throw notFound();
  }

  /**
   * One fMP4 input segment encrypted as the endpoint asks, with the clear init segment it needs
   * (cached per request), under the key of the key period of `keyMs`: the start of the output
   * segment it is part of, so that all of an output segment has one key (its init segment's).
   */
  private async sealFragment(endpoint: OriginEndpoint, enc: EndpointEncryption, rendition: RenditionRecord, seg: SegmentRecord, bytes: Buffer, inits: Map<string, Buffer>, keyMs: number): Promise<Buffer> {
    const initKey = seg.initKey ?? rendition.initKey;
    if (!initKey) throw new DataplaneError(404, `The init segment of rendition ${rendition.id} is not held.`);
    let init = inits.get(initKey);
    if (!init) {
      init = await this.deps.blobs.get(initKey);
      if (!init) throw new DataplaneError(404, `The init segment of rendition ${rendition.id} is not held.`);
      inits.set(initKey, init);
    }
    return this.deps.egress!.cmafFragment(endpoint, enc, outputTrack(rendition), bytes, init, keyMs, seg.seq);
  }

  private async segment(channel: Channel, endpoint: OriginEndpoint, segName: string, renditions: readonly RenditionRecord[], timeline: TimelineStore, file: string, enc: EndpointEncryption | undefined): Promise<OriginResponse> {
    const prefix = `${segName}_`;
    const notFound = () => new DataplaneError(404, `${file} is not a manifest or segment of origin endpoint ${endpoint.name}.`);
    if (!file.startsWith(prefix)) throw notFound();
    const rest = file.slice(prefix.length);
    const init = /^(.+)_init-([0-9a-f]+)(?:\.k(\d{1,15}))?\.mp4$/.exec(rest);
    if (init) {
      const rendition = renditions.find((r) => r.id === init[1]);
      if (!rendition) throw notFound();
      // With rotating keys, an init segment per key period (output-naming.ts), else one.
      const rotationMs = enc && endpoint.containerType === 'CMAF' ? enc.rotationMs : undefined;
      if ((init[3] !== undefined) !== (rotationMs !== undefined)) throw notFound();
      const key = `${rendition.initKey?.replace(/init-[0-9a-f]+\.mp4$/, '') ?? ''}init-${init[2]}.mp4`;
      let keyMs = this.deps.clock.now().getTime();
      if (rotationMs !== undefined) {
        keyMs = Number(init[3]) * rotationMs;
        await this.checkKeyPeriod(channel, endpoint, rendition, keyMs, rotationMs, notFound);
      }
      const clearInit = await this.deps.blobs.get(key);
      if (!clearInit) throw notFound();
      const bytes = enc ? await this.deps.egress!.cmafInit(endpoint, enc, outputTrack(rendition), clearInit, keyMs) : clearInit;
      return { status: 200, headers: { 'content-type': rendition.kind === 'audio' ? 'audio/mp4' : 'video/mp4', 'cache-control': `max-age=${SEGMENT_MAX_AGE}` }, body: bytes };
    }
    const name = parseSegmentName(rest);
    if (!name) throw notFound();
    const rendition = renditions.find((r) => r.id === name.track);
    const { k, n } = name;
    if (!rendition || (name.ext === 'ts') !== (rendition.container === 'ts') || k < 1 || n < 1 || n > 1000 || !Number.isSafeInteger(k * n + n)) throw notFound();
    const resetMs = Math.max(channel.resetMs ?? 0, endpoint.resetMs ?? 0);
    const type = rendition.container === 'ts' ? 'video/mp2t' : rendition.kind === 'audio' ? 'audio/mp4' : 'video/mp4';
    const ok = (body: Buffer | StreamedBody) => ({ status: 200, headers: { 'content-type': type, 'cache-control': `max-age=${SEGMENT_MAX_AGE}` }, body });
    if (name.part !== undefined) {
      if (name.part >= n) throw notFound();
      if (enc && rendition.container === 'ts' && enc.method !== 'SAMPLE_AES') {
        throw new EncryptionNotBuiltError(`LL-HLS partial segments of an ${enc.method} TS endpoint are not built yet in Packhouse; play the whole segments (the HLS manifest) instead.`);
      }
      const seq = firstSeqOf(k, n) + name.part;
      const seg = await this.awaitSegment(timeline, channel, endpoint, rendition.id, seq);
      if (!seg || seg.startMs < resetMs) throw notFound();
      const bytes = await this.deps.blobs.get(seg.key);
      if (!bytes) throw notFound();
      if (!enc) return ok(bytes);
      // The key is that of the output segment's start: its first part's.
      const head = name.part === 0 ? seg : await timeline.getSegment(channel.arn, rendition.id, firstSeqOf(k, n));
      if (!head || head.startMs < resetMs) throw notFound();
      if (rendition.container === 'ts') {
        // SAMPLE-AES: the part is its input segment sample-encrypted as in the whole segment, with
        // the key and IV of the parent segment (its media sequence number, or the constant IV).
        const one = async function* () {
          yield bytes;
        };
        const sealed = await this.deps.egress!.tsSegment(endpoint, enc, outputTrack(rendition), k, head.startMs, { chunks: one, pieces: one, length: bytes.length });
        return ok(await collect(sealed.chunks));
      }
      return ok(await this.sealFragment(endpoint, enc, rendition, seg, bytes, new Map(), head.startMs));
    }
    const found = (await timeline.segmentsBySeq(channel.arn, rendition.id, firstSeqOf(k, n), k * n)).filter((s) => s.startMs >= resetMs);
    const group = groupOf(k, n, found);
    if (!group?.complete) throw notFound();
    // Only the grouping this endpoint's SegmentDurationSeconds gives for these input segments is
    // served: a name cannot ask for output segments of any other size.
    if (n > 1 && !groupingFits(n, Number(endpoint.segment['SegmentDurationSeconds'] ?? 6), group.pieces)) throw notFound();
    const blobs = this.deps.blobs;
    const egress = this.deps.egress;
    const track = outputTrack(rendition);
    const startMs = group.pieces[0]!.startMs;
    if (enc && rendition.container === 'fmp4') {
      // Each input segment is one fragment, encrypted on its own (its IVs from its own sequence
      // number), so a part and the whole segment carry the same bytes. All are encrypted before
      // answering: each grows by its senc/saiz/saio (and pssh), by as much as its samples'
      // subsample layout needs, and the response carries the exact Content-Length.
      const inits = new Map<string, Buffer>();
      const sealed: Buffer[] = [];
      for (const p of group.pieces) {
        const b = await blobs.get(p.key);
        if (!b) throw notFound();
        sealed.push(await this.sealFragment(endpoint, enc, rendition, p, b, inits, startMs));
      }
      return ok(sealed.length === 1 ? sealed[0]! : Buffer.concat(sealed));
    }
    if (group.pieces.length === 1) {
      const bytes = await blobs.get(group.pieces[0]!.key);
      if (!bytes) throw notFound();
      if (!enc) return ok(bytes);
      const one = async function* () {
        yield bytes;
      };
      const sealed = await egress!.tsSegment(endpoint, enc, track, k, startMs, { chunks: one, pieces: one, length: bytes.length });
      return ok(await collect(sealed.chunks));
    }
    // A piece at a time, read in chunks where the store can: memory per response stays small.
    const read = async (key: string): Promise<(AsyncIterable<Buffer> | Iterable<Buffer>) & { destroy?(): void } | undefined> => {
      if (blobs.stream) return blobs.stream(key);
      const bytes = await blobs.get(key);
      return bytes ? [bytes] : undefined;
    };
    // The length from the stored files (a record's byte count is its input's, not a repackaging's).
    let length: number | undefined;
    if (blobs.size) {
      length = 0;
      for (const p of group.pieces) {
        const size = await blobs.size(p.key);
        if (size === undefined) throw notFound();
        length += size;
      }
    }
    const [first, ...others] = group.pieces;
    const head = await read(first!.key);
    if (!head) throw notFound();
    const trackId = rendition.id;
    async function* pieces() {
      yield head!;
      for (const p of others) {
        const piece = await read(p.key);
        if (!piece) throw new Error(`input segment ${p.seq} of ${trackId} went while its output segment was served`);
        yield piece;
      }
    }
    // TS that Packhouse wrote (fMP4 input) starts its continuity counters at 0 in every piece:
    // they are carried on across the pieces, so the output segment has no counter jump.
    const continuous = rendition.container === 'ts' && isRepackagedTs(first!);
    async function* clear(): AsyncIterable<Buffer> {
      if (continuous) yield* streamContinuous(pieces());
      else for await (const piece of pieces()) yield* piece;
    }
    if (!enc) return ok({ length, discard: () => head.destroy?.(), chunks: clear });
    let sealed: { chunks: AsyncIterable<Buffer>; length: number | undefined };
    try {
      const whole = async function* () {
        for (const p of group.pieces) {
          const b = await blobs.get(p.key);
          if (!b) throw new Error(`input segment ${p.seq} of ${trackId} went while its output segment was served`);
          yield b;
        }
      };
      sealed = await egress!.tsSegment(endpoint, enc, track, k, startMs, { chunks: clear, pieces: whole, length });
      // Sample encryption reads whole pieces on its own: the stream opened ahead is not needed.
      if (enc.method !== 'AES_128') head.destroy?.();
    } catch (err) {
      head.destroy?.();
      throw err;
    }
    return ok({ length: sealed.length, discard: () => head.destroy?.(), chunks: () => sealed.chunks });
  }
}

/**
 * Whether output segments of n input segments each are what an endpoint with this segment
 * duration lists for these input segments: n = SegmentDurationSeconds / the typical input
 * duration, rounded (output-groups.ts). Manifests take the typical duration over their window, so
 * any n between the groupings of the longest and the shortest piece is accepted.
 */
export function groupingFits(n: number, segmentDurationSeconds: number, pieces: readonly SegmentRecord[]): boolean {
  const durations = pieces.map((p) => p.durationMs);
  return groupSize(segmentDurationSeconds, Math.max(...durations)) <= n && n <= groupSize(segmentDurationSeconds, Math.min(...durations));
}

/**
 * The complete output segments of a window, as runs; with a live edge, only those ending by it
 * (a run is cut where its segments start ending later).
 */
function listedOf(items: readonly WindowItem[], edgeMs: number | undefined): OutputRun[] {
  const out: OutputRun[] = [];
  for (const item of items) {
    if (!item.complete) continue;
    if (edgeMs === undefined) {
      out.push(item.run);
      continue;
    }
    if (item.kind === 'group') {
      if (item.endMs <= edgeMs) out.push(item.run);
      continue;
    }
    const { first, count } = item.run;
    // Segment i ends at first.startMs + (i + 1)·durationMs.
    const d = first.durationMs;
    let fits = d > 0 ? Math.min(count, Math.floor((edgeMs - first.startMs) / d)) : first.startMs <= edgeMs ? count : 0;
    while (fits > 0 && first.startMs + fits * d > edgeMs) fits--;
    while (fits < count && first.startMs + (fits + 1) * d <= edgeMs) fits++;
    if (fits > 0) out.push({ first, count: fits });
  }
  return out;
}

/** The groups an LL-HLS media playlist lists: complete ones up to the live edge and the segment being built (closed: complete only). */
function llListed(w: WindowGroups, liveEdgeMs: number | undefined, closed: boolean): OutputGroup[] {
  const inEdge = (g: OutputGroup) => liveEdgeMs === undefined || groupEndMs(g) <= liveEdgeMs + 1;
  return closed ? w.groups.filter((g) => g.complete) : w.groups.filter((g) => !g.complete || inEdge(g));
}

/** Where an LL-HLS media playlist ends: its last segment (complete or being built) and that segment's last part. */
function llLast(listed: readonly OutputGroup[], n: number): { lastMsn: number; lastPart: number } | undefined {
  const last = listed[listed.length - 1];
  if (!last) return undefined;
  return { lastMsn: last.k, lastPart: last.pieces[last.pieces.length - 1]!.seq - firstSeqOf(last.k, n) };
}

/** The start of every segment of the runs. */
function* runStarts(runs: readonly OutputRun[]): Iterable<number> {
  for (const r of runs) for (let i = 0; i < r.count; i++) yield r.first.startMs + i * r.first.durationMs;
}

/**
 * Where the first output segment (of n input segments) starting in [fromMs, toMs] starts: the
 * first segment of a key period (CMAF key rotation); undefined when none is held.
 */
async function firstGroupStartAtOrAfter(timeline: TimelineStore, channelArn: string, rendition: string, fromMs: number, toMs: number, n: number): Promise<number | undefined> {
  const found = await timeline.findSegments(channelArn, rendition, fromMs, toMs + 1);
  return found.find((s) => s.startMs >= fromMs && firstSeqOf(groupIndexOf(s.seq, n), n) === s.seq)?.startMs;
}
