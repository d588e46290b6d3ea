/**
 * Channel-group operations: wire shapes in and out, the service does the work.
 */
import type { ChannelGroup } from '../../domain/model.js';
import { checkTags } from '../../domain/services/tag-service.js';
import { date, type Handler } from './types.js';

function wire(g: ChannelGroup) {
  return {
    ChannelGroupName: g.name,
    Arn: g.arn,
    EgressDomain: g.egressDomain,
    CreatedAt: date(g.createdMs),
    ModifiedAt: date(g.modifiedMs),
    Description: g.description,
    ETag: g.etag,
    Tags: g.tags,
  };
}

export const channelGroupHandlers: {
  CreateChannelGroup: Handler<'CreateChannelGroup'>;
  GetChannelGroup: Handler<'GetChannelGroup'>;
  UpdateChannelGroup: Handler<'UpdateChannelGroup'>;
  DeleteChannelGroup: Handler<'DeleteChannelGroup'>;
  ListChannelGroups: Handler<'ListChannelGroups'>;
} = {
  CreateChannelGroup: async (input, { scope, services }) => {
    checkTags(input.Tags);
    return wire(await services.channelGroups.create(scope, { name: input.ChannelGroupName, description: input.Description, tags: input.Tags }));
  },
  GetChannelGroup: async (input, { scope, services }) => wire(await services.channelGroups.get(scope, input.ChannelGroupName)),
  UpdateChannelGroup: async (input, { scope, services }) =>
    wire(await services.channelGroups.update(scope, input.ChannelGroupName, { description: input.Description, etag: input.ETag })),
  DeleteChannelGroup: async (input, { scope, services }) => {
    await services.channelGroups.delete(scope, input.ChannelGroupName);
    return {};
  },
  ListChannelGroups: async (input, { scope, services }) => {
    const page = await services.channelGroups.list(scope, input.MaxResults, input.NextToken);
    return {
      Items: page.items.map((g) => ({ ChannelGroupName: g.name, Arn: g.arn, CreatedAt: date(g.createdMs), ModifiedAt: date(g.modifiedMs), Description: g.description })),
      NextToken: page.nextToken,
    };
  },
};
