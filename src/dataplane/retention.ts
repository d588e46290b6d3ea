/**
 * Keeps a channel's disk use bounded: content older than the longest startover or manifest window
 * of the channel's endpoints (plus a margin), or older than a channel reset, is removed from the
 * timeline and its segment files deleted. Runs after ingest, at most once per interval per channel.
 */
import type { Logger } from 'pino';
import type { Channel, OriginEndpoint } from '../domain/model.js';
import type { BlobStore, Clock, MetadataStore, ResourceRecord, TimelineStore } from '../domain/ports.js';
import { newestSegmentEnd } from './channel-clock.js';

/** Content kept when a channel has no endpoint yet, in seconds. */
export const DEFAULT_RETENTION_SECONDS = 300;
const MARGIN_SECONDS = 60;
const INTERVAL_MS = 10_000;

export function retentionSeconds(endpoints: readonly OriginEndpoint[]): number {
  if (endpoints.length === 0) return DEFAULT_RETENTION_SECONDS;
  let keep = 0;
  for (const e of endpoints) {
    keep = Math.max(keep, e.startoverWindowSeconds ?? 0);
    for (const m of [...e.hlsManifests, ...e.lowLatencyHlsManifests, ...e.dashManifests, ...e.mssManifests]) {
      keep = Math.max(keep, Number(m['ManifestWindowSeconds'] ?? 60));
    }
  }
  return keep + MARGIN_SECONDS;
}

export class RetentionKeeper {
  /** Last run per channel ARN: an optimisation only; any node may run retention at any time. */
  private readonly lastRun = new Map<string, number>();

  constructor(
    private readonly deps: { store: MetadataStore; timeline: TimelineStore; blobs: BlobStore; clock: Clock; logger: Logger },
  ) {}

  /** Runs retention for the channel unless it ran within the last interval. */
  touch(channel: ResourceRecord<Channel>): void {
    const now = this.deps.clock.now().getTime();
    if (now - (this.lastRun.get(channel.arn) ?? 0) < INTERVAL_MS) return;
    this.lastRun.set(channel.arn, now);
    this.run(channel).catch((err: unknown) => this.deps.logger.error({ err, channel: channel.arn }, 'retention failed'));
  }

  async run(channel: ResourceRecord<Channel>): Promise<number> {
    const { store, timeline, blobs, clock } = this.deps;
    const endpoints = await store.findResources<OriginEndpoint>({ kind: 'originEndpoint', scope: { accountId: channel.accountId, region: channel.region }, groupName: channel.groupName, channelName: channel.name });
    const keep = retentionSeconds(endpoints.map((e) => e.doc));
    // Age is measured on the earlier of the server's and the channel's clock: an encoder whose
    // clock runs behind must not see its fresh content removed as old.
    const newest = await newestSegmentEnd(timeline, channel.arn, await timeline.listRenditions(channel.arn), clock.now().getTime());
    const now = Math.min(clock.now().getTime(), newest ?? Number.POSITIVE_INFINITY);
    const before = Math.max(now - keep * 1000, channel.doc.resetMs ?? 0);
    const gone = await timeline.deleteSegmentsBefore(channel.arn, before);
    if (gone.length) await blobs.delete(gone.flatMap((s) => [s.key, ...(s.cmafKey ? [s.cmafKey] : []), ...(s.tsKey ? [s.tsKey] : [])]));
    return gone.length;
  }
}
