/**
 * Finds the channel (and endpoint) a data-plane URL names. The URLs carry group and channel names
 * but no account (AWS puts the account in the host name), so names must be unambiguous across the
 * accounts and Regions of one Packhouse.
 */
import type { Channel, OriginEndpoint } from '../domain/model.js';
import type { MetadataStore, ResourceRecord } from '../domain/ports.js';

export class DataplaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function locateChannel(store: MetadataStore, groupName: string, channelName: string): Promise<ResourceRecord<Channel>> {
  const found = await store.locateResources<Channel>('channel', groupName, channelName);
  if (found.length === 0) throw new DataplaneError(404, `There is no channel ${channelName} in channel group ${groupName}. Create it with CreateChannel first.`);
  if (found.length > 1) {
    throw new DataplaneError(409, `Channel ${groupName}/${channelName} exists in several accounts or Regions of this Packhouse, so its data-plane URL is ambiguous. Rename one of them.`);
  }
  return found[0]!;
}

export async function locateEndpoint(store: MetadataStore, groupName: string, channelName: string, endpointName: string): Promise<ResourceRecord<OriginEndpoint>> {
  const found = await store.locateResources<OriginEndpoint>('originEndpoint', groupName, channelName, endpointName);
  if (found.length === 0) throw new DataplaneError(404, `There is no origin endpoint ${endpointName} on channel ${groupName}/${channelName}.`);
  if (found.length > 1) {
    throw new DataplaneError(409, `Origin endpoint ${groupName}/${channelName}/${endpointName} exists in several accounts or Regions of this Packhouse, so its URL is ambiguous.`);
  }
  return found[0]!;
}
