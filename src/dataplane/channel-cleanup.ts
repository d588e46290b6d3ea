/**
 * What a deleted channel leaves behind goes: its timeline rows, its segment and init segment
 * blobs, and uploads still pending under its ingest folders. Runs right after DeleteChannel (on the
 * node that deleted it) and, as a safety net for a crash or an upload that raced the delete, in a
 * periodic sweep over every channel the timeline knows that no longer exists. A channel created
 * again under the same name therefore starts empty; its sequence numbers carry on (ports.ts).
 */
import type { Logger } from 'pino';
import type { BlobStore, MetadataStore, TimelineStore } from '../domain/ports.js';
import { channelKey } from './ingest/ingest-service.js';

export class ChannelCleanup {
  constructor(private readonly deps: { store: MetadataStore; timeline: TimelineStore; blobs: BlobStore; logger: Logger }) {}

  /** Removes the content of a channel that no longer exists; returns the number of segments removed. */
  async purge(channelArn: string): Promise<number> {
    const { store, timeline, blobs, logger } = this.deps;
    if (await store.getResource(channelArn)) return 0; // created again meanwhile: not ours to remove
    const gone = await timeline.deleteChannel(channelArn);
    const cid = channelKey(channelArn);
    await blobs.deletePrefix(`media/${cid}/`);
    await blobs.deletePrefix(`ingest/${cid}/`);
    logger.info({ channel: channelArn, segments: gone.length }, 'deleted channel: content removed');
    return gone.length;
  }

  /**
   * Empties a channel that was reset: its timeline (sequence counters stay, so URLs are never
   * reused), its segment files and its pending uploads. Nothing of before the reset is served
   * again, even content whose program date-time lies after the reset.
   */
  async reset(channelArn: string): Promise<void> {
    const { timeline, blobs, logger } = this.deps;
    const gone = await timeline.deleteChannel(channelArn);
    const cid = channelKey(channelArn);
    await blobs.deletePrefix(`media/${cid}/`);
    await blobs.deletePrefix(`ingest/${cid}/`);
    logger.info({ channel: channelArn, segments: gone.length }, 'channel reset: content removed');
  }

  /** Purges every channel on the timeline whose resource is gone. */
  async sweep(): Promise<void> {
    for (const arn of await this.deps.timeline.channelArns()) {
      if (!(await this.deps.store.getResource(arn))) await this.purge(arn);
    }
  }
}
