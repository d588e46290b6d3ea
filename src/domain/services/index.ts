/**
 * The domain services of the control plane, built together over one context.
 */
import { ChannelGroupService } from './channel-group-service.js';
import { ChannelService } from './channel-service.js';
import type { ServiceContext } from './context.js';
import { HarvestJobService } from './harvest-job-service.js';
import { OriginEndpointService } from './origin-endpoint-service.js';
import { TagService } from './tag-service.js';

export interface Services {
  readonly channelGroups: ChannelGroupService;
  readonly channels: ChannelService;
  readonly originEndpoints: OriginEndpointService;
  readonly harvestJobs: HarvestJobService;
  readonly tags: TagService;
}

export function createServices(ctx: ServiceContext): Services {
  return {
    channelGroups: new ChannelGroupService(ctx),
    channels: new ChannelService(ctx),
    originEndpoints: new OriginEndpointService(ctx),
    harvestJobs: new HarvestJobService(ctx),
    tags: new TagService(ctx),
  };
}
