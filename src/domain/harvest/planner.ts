/**
 * The harvest planner: from a job, its endpoint's configuration and the timeline's tracks and
 * segments in the window, the exact list of objects to write — segments and init segments first
 * (each once, however many manifests share it), then media playlists, multivariant playlists and
 * MPDs, so a reader never finds a manifest naming a missing file. Pure.
 */
import { writeMpd, type ContentProtection } from '../../media/dash/mpd-writer.js';
import { writeMediaPlaylist, writeMultivariant } from '../../media/hls/writer.js';
import { excludesSessionKeys, sessionKeysOf } from '../../encryption/drm-settings.js';
import { parseManifestFilter } from '../../media/manifest-filter.js';
import { initIdOf, outputNames } from '../../media/output-naming.js';
import { matchesFilter } from '../../media/rendition-filter.js';
import type { OutputSegment, OutputTrack } from '../../media/timeline/model.js';
import type { HarvestJob, ManifestDoc, OriginEndpoint } from '../model.js';

/** An output segment of the window: the input segments (blobs) it concatenates. */
export interface WindowSegment extends OutputSegment {
  /** Where the bytes are (blob keys, in order) and how many in all. */
  readonly blobKeys: readonly string[];
  readonly bytes: number;
  readonly initKey?: string | undefined;
  /** TS pieces Packhouse wrote, whose continuity counters are carried on across them (media/package/ts-continuity.ts). */
  readonly tsContinuity?: boolean | undefined;
}

/** A track's output segments in the window, n input segments each (domain/output-groups.ts). */
export interface WindowTrack {
  readonly n: number;
  readonly segments: readonly WindowSegment[];
}

export interface PlannedObject {
  readonly key: string;
  readonly contentType: string;
  readonly bytes: number;
  /** The body: these blobs concatenated, or text. */
  readonly blobKeys?: readonly string[];
  /** Join the blobs with continuous TS counters (WindowSegment.tsContinuity). */
  readonly tsContinuity?: boolean | undefined;
  readonly text?: string;
  /** A media segment or init segment: what encryption on egress needs to know of it. */
  readonly segment?: { readonly trackId: string; readonly seq: number; readonly startMs: number; readonly init: boolean; readonly n: number; readonly initKey?: string | undefined };
}

/** Encrypted endpoints (src/encryption/egress.ts): a track's EXT-X-KEY lines and DASH ContentProtection by segment start. */
export interface HarvestSignaling {
  readonly hlsKeys: ReadonlyMap<string, (startMs: number) => readonly string[]>;
  readonly dashProtection: ReadonlyMap<string, (startMs: number) => readonly ContentProtection[]>;
  /**
   * CMAF key rotation: the key period of a segment by its start. Each key period has its own init
   * segments (named with it) and DASH Period, as on the origin.
   */
  readonly keyPeriodOf?: ((startMs: number) => number) | undefined;
}

export interface HarvestPlan {
  readonly media: readonly PlannedObject[];
  readonly manifests: readonly PlannedObject[];
  readonly segmentCount: number;
}

export class NoContentError extends Error {
  constructor() {
    super('There was no content available for the specified time window.');
  }
}

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

export function planHarvest(job: HarvestJob, endpoint: OriginEndpoint, tracks: readonly OutputTrack[], windowTracks: ReadonlyMap<string, WindowTrack>, signaling?: HarvestSignaling): HarvestPlan {
  const segments = new Map([...windowTracks].map(([id, w]) => [id, w.segments]));
  const n = (t: OutputTrack) => windowTracks.get(t.id)?.n ?? 1;
  const prefix = job.destinationPath.replace(/\/+$/, '');
  const at = (name: string) => `${prefix}/${name}`;
  const segName = text(endpoint.segment['SegmentName'], 'segment');
  const keyPeriodOf = signaling?.keyPeriodOf;
  const initName = (trackId: string, initId: string | undefined, startMs: number) => outputNames.init(segName, trackId, initId, keyPeriodOf?.(startMs));
  const present = tracks.filter((t) => (segments.get(t.id)?.length ?? 0) > 0);
  if (present.length === 0) throw new NoContentError();

  const media = new Map<string, PlannedObject>();
  const manifests: PlannedObject[] = [];
  const used = (list: readonly OutputTrack[]) => {
    for (const t of list) {
      const ct = t.container === 'ts' ? 'video/mp2t' : t.kind === 'audio' ? 'audio/mp4' : 'video/mp4';
      for (const s of segments.get(t.id) ?? []) {
        const key = at(outputNames.segment(segName, t.id, s.seq, n(t), t.container));
        if (!media.has(key)) media.set(key, { key, contentType: ct, bytes: s.bytes, blobKeys: s.blobKeys, ...(s.tsContinuity ? { tsContinuity: true } : {}), segment: { trackId: t.id, seq: s.seq, startMs: s.startMs, init: false, n: n(t), initKey: s.initKey } });
        if (s.initKey && t.container !== 'ts') {
          const initKey = at(initName(t.id, initIdOf(s.initKey), s.startMs));
          if (!media.has(initKey)) media.set(initKey, { key: initKey, contentType: ct === 'audio/mp4' ? 'audio/mp4' : 'video/mp4', bytes: 0, blobKeys: [s.initKey], segment: { trackId: t.id, seq: s.seq, startMs: s.startMs, init: true, n: n(t), initKey: s.initKey } });
        }
      }
    }
  };
  const selected = (doc: ManifestDoc): OutputTrack[] => {
    const filter = (doc.FilterConfiguration)?.['ManifestFilter'];
    return typeof filter === 'string' ? present.filter((t) => matchesFilter(t, parseManifestFilter(filter))) : [...present];
  };
  const hlsLike: { doc: ManifestDoc; suffix: string }[] = [
    ...endpoint.hlsManifests.filter((m) => job.manifests.hls.includes(m.ManifestName)).map((doc) => ({ doc, suffix: '' })),
    ...endpoint.lowLatencyHlsManifests.filter((m) => job.manifests.lowLatencyHls.includes(m.ManifestName)).map((doc) => ({ doc, suffix: '' })),
  ];
  // KEYFORMAT (SAMPLE-AES key lines) needs version 5 (RFC 8216 §7).
  const sampleAes = (endpoint.segment['Encryption'] as { EncryptionMethod?: { TsEncryptionMethod?: string } } | undefined)?.EncryptionMethod?.TsEncryptionMethod === 'SAMPLE_AES';
  const version = endpoint.containerType === 'TS' ? (sampleAes ? 5 : 3) : 6;
  const multivariants: PlannedObject[] = [];
  for (const { doc } of hlsLike) {
    const list = selected(doc);
    used(list);
    const child = doc.ChildManifestName ?? doc.ManifestName;
    for (const t of list) {
      const lines = signaling?.hlsKeys.get(t.id);
      const body = writeMediaPlaylist({
        keyLines: lines && ((s) => lines(s.startMs)),
        track: t,
        segments: segments.get(t.id)!,
        segmentUri: (s) => outputNames.segment(segName, t.id, s.seq, n(t), t.container),
        initUri: t.container === 'ts' ? undefined : (s) => initName(t.id, s.initId, s.startMs),
        version,
        closed: true,
        minTargetDuration: Math.round(Number(endpoint.segment['SegmentDurationSeconds'] ?? 6)),
        programDateTimeIntervalSeconds: typeof doc['ProgramDateTimeIntervalSeconds'] === 'number' ? doc['ProgramDateTimeIntervalSeconds'] : 1,
      });
      manifests.push({ key: at(outputNames.childPlaylist(child, t.id)), contentType: 'application/vnd.apple.mpegurl', bytes: Buffer.byteLength(body), text: body });
    }
    // EXT-X-SESSION-KEY: the key lines of each rendition's first segment, each once, unless the manifest's DrmSettings leaves them out.
    const sessionKeyLines = signaling && !excludesSessionKeys(doc.FilterConfiguration?.['DrmSettings']) ? sessionKeysOf(list.flatMap((t) => signaling.hlsKeys.get(t.id)?.(segments.get(t.id)![0]!.startMs) ?? [])) : undefined;
    const mv = writeMultivariant({ tracks: list, playlistUri: (t) => outputNames.childPlaylist(child, t.id), version, sessionKeyLines });
    multivariants.push({ key: at(`${doc.ManifestName}.m3u8`), contentType: 'application/vnd.apple.mpegurl', bytes: Buffer.byteLength(mv), text: mv });
  }
  for (const doc of endpoint.dashManifests.filter((m) => job.manifests.dash.includes(m.ManifestName))) {
    const list = selected(doc);
    used(list);
    const body = writeMpd({
      contentProtection: signaling ? (t, s) => signaling.dashProtection.get(t.id)!(s.startMs) : undefined,
      keyPeriodOf,
      tracks: list,
      segments,
      closed: true,
      nowMs: job.endMs,
      mediaTemplate: (t) => outputNames.dashMediaTemplate(segName, n(t)),
      drmSignaling: doc['DrmSignaling'] === 'REFERENCED' ? 'REFERENCED' : 'INDIVIDUAL',
      initialization: (t, id, s) => initName(t.id, id, s.startMs),
      minUpdatePeriodSeconds: 2,
      minBufferTimeSeconds: Number(doc['MinBufferTimeSeconds'] ?? 5),
      suggestedPresentationDelaySeconds: 0,
    });
    multivariants.push({ key: at(`${doc.ManifestName}.mpd`), contentType: 'application/dash+xml', bytes: Buffer.byteLength(body), text: body });
  }
  const mediaList = [...media.values()];
  return { media: mediaList, manifests: [...manifests, ...multivariants], segmentCount: mediaList.filter((o) => !/_init-[^/]*\.mp4$/.test(o.key)).length };
}
