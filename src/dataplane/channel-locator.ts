/**
 * Finds the channel (and endpoint) a data-plane URL names. The URLs carry group and channel names
 * but no account (AWS puts the account in the host name), so they rest on one rule: a channel
 * group name belongs to one account and Region of a Packhouse (CreateChannelGroup refuses a name
 * another account or Region holds). The group's owner is found first, and the channel and endpoint
 * are then looked up in that owner's account and Region only.
 */
import { arns } from '../domain/arn.js';
import type { Channel, ChannelGroup, OriginEndpoint } from '../domain/model.js';
import type { MetadataOps, ResourceRecord, Scope } from '../domain/ports.js';

export class DataplaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The account and Region that own the channel group `groupName`. */
async function ownerOf(store: MetadataOps, groupName: string): Promise<Scope> {
  const groups = await store.locateGroups<ChannelGroup>(groupName);
  if (groups.length === 0) throw new DataplaneError(404, `There is no channel group ${groupName}. Create it with CreateChannelGroup first.`);
  if (groups.length > 1) {
    // Only a database from before group names were unique per Packhouse can hold this.
    throw new DataplaneError(
      409,
      `Channel group ${groupName} exists in several accounts or Regions of this Packhouse (created before group names were unique), so its data-plane URLs are ambiguous. Delete all but one of them.`,
    );
  }
  const g = groups[0]!;
  return { accountId: g.accountId, region: g.region };
}

export async function locateChannel(store: MetadataOps, groupName: string, channelName: string): Promise<ResourceRecord<Channel>> {
  return channelOf(store, await ownerOf(store, groupName), groupName, channelName);
}

async function channelOf(store: MetadataOps, owner: Scope, groupName: string, channelName: string): Promise<ResourceRecord<Channel>> {
  const found = await store.getResource<Channel>(arns.channel(owner, groupName, channelName));
  if (!found) throw new DataplaneError(404, `There is no channel ${channelName} in channel group ${groupName}. Create it with CreateChannel first.`);
  return found;
}

/**
 * An origin endpoint and its channel, with the group's owner found once. `authorize` sees the
 * endpoint before the channel is read (egress access is decided before any other work).
 */
export async function locateEndpoint(
  store: MetadataOps,
  groupName: string,
  channelName: string,
  endpointName: string,
  authorize?: (endpoint: OriginEndpoint) => void,
): Promise<{ endpoint: ResourceRecord<OriginEndpoint>; channel: ResourceRecord<Channel> }> {
  const owner = await ownerOf(store, groupName);
  const endpoint = await store.getResource<OriginEndpoint>(arns.endpoint(owner, groupName, channelName, endpointName));
  if (!endpoint) throw new DataplaneError(404, `There is no origin endpoint ${endpointName} on channel ${groupName}/${channelName}.`);
  authorize?.(endpoint.doc);
  return { endpoint, channel: await channelOf(store, owner, groupName, channelName) };
}
