/**
 * Channel operations (CRUD, list, reset, channel policy): wire shapes in and out.
 */
import type { Channel, ConfigDoc } from '../../domain/model.js';
import type { Services } from '../../domain/services/index.js';
import { checkTags } from '../../domain/services/tag-service.js';
import type { InputSwitchConfiguration, OutputHeaderConfiguration } from '../generated/types.js';
import { date, optionalDate, type Handler } from './types.js';

/**
 * AWS answers a channel created without InputSwitchConfiguration or OutputHeaderConfiguration with
 * both switched off ({"MQCSInputSwitching": false}, {"PublishMQCS": false}) on Create, Get and
 * Update; a configuration given without the flag gets it as false too.
 */
function wire(c: Channel, services: Services, options: { inputType?: boolean } = {}) {
  return {
    Arn: c.arn,
    ChannelName: c.name,
    ChannelGroupName: c.groupName,
    CreatedAt: date(c.createdMs),
    ModifiedAt: date(c.modifiedMs),
    ResetAt: optionalDate(c.resetMs),
    Description: c.description,
    IngestEndpoints: services.channels.ingestUrls(c.groupName, c.name).map((e) => ({ Id: e.id, Url: e.url })),
    InputType: options.inputType === false ? undefined : c.inputType,
    ETag: c.etag,
    Tags: c.tags,
    InputSwitchConfiguration: { MQCSInputSwitching: false, ...c.inputSwitchConfiguration } as InputSwitchConfiguration,
    OutputHeaderConfiguration: { PublishMQCS: false, ...c.outputHeaderConfiguration } as OutputHeaderConfiguration,
  };
}

const doc = (v: object | undefined): ConfigDoc | undefined => v as ConfigDoc | undefined;

export const channelHandlers: {
  CreateChannel: Handler<'CreateChannel'>;
  GetChannel: Handler<'GetChannel'>;
  UpdateChannel: Handler<'UpdateChannel'>;
  DeleteChannel: Handler<'DeleteChannel'>;
  ListChannels: Handler<'ListChannels'>;
  ResetChannelState: Handler<'ResetChannelState'>;
  PutChannelPolicy: Handler<'PutChannelPolicy'>;
  GetChannelPolicy: Handler<'GetChannelPolicy'>;
  DeleteChannelPolicy: Handler<'DeleteChannelPolicy'>;
} = {
  CreateChannel: async (input, { scope, services }) => {
    checkTags(input.Tags);
    const c = await services.channels.create(scope, input.ChannelGroupName, {
      name: input.ChannelName,
      description: input.Description,
      inputType: input.InputType,
      inputSwitchConfiguration: doc(input.InputSwitchConfiguration),
      outputHeaderConfiguration: doc(input.OutputHeaderConfiguration),
      tags: input.Tags,
    });
    // As AWS: the response names InputType only when the request set it (GetChannel always does).
    return wire(c, services, { inputType: input.InputType !== undefined });
  },
  GetChannel: async (input, { scope, services }) => wire(await services.channels.get(scope, input.ChannelGroupName, input.ChannelName), services),
  UpdateChannel: async (input, { scope, services }) =>
    wire(
      await services.channels.update(scope, input.ChannelGroupName, input.ChannelName, {
        description: input.Description,
        inputSwitchConfiguration: doc(input.InputSwitchConfiguration),
        outputHeaderConfiguration: doc(input.OutputHeaderConfiguration),
        etag: input.ETag,
      }),
      services,
    ),
  DeleteChannel: async (input, { scope, services }) => {
    await services.channels.delete(scope, input.ChannelGroupName, input.ChannelName);
    return {};
  },
  ListChannels: async (input, { scope, services }) => {
    const page = await services.channels.list(scope, input.ChannelGroupName, input.MaxResults, input.NextToken);
    return {
      Items: page.items.map((c) => ({
        Arn: c.arn,
        ChannelName: c.name,
        ChannelGroupName: c.groupName,
        CreatedAt: date(c.createdMs),
        ModifiedAt: date(c.modifiedMs),
        Description: c.description,
        InputType: c.inputType,
      })),
      NextToken: page.nextToken,
    };
  },
  ResetChannelState: async (input, { scope, services }) => {
    const c = await services.channels.reset(scope, input.ChannelGroupName, input.ChannelName);
    return { ChannelGroupName: c.groupName, ChannelName: c.name, Arn: c.arn, ResetAt: date(c.resetMs ?? c.modifiedMs) };
  },
  PutChannelPolicy: async (input, { scope, services }) => {
    await services.channels.putPolicy(scope, input.ChannelGroupName, input.ChannelName, input.Policy);
    return {};
  },
  GetChannelPolicy: async (input, { scope, services }) => ({
    ChannelGroupName: input.ChannelGroupName,
    ChannelName: input.ChannelName,
    Policy: await services.channels.getPolicy(scope, input.ChannelGroupName, input.ChannelName),
  }),
  DeleteChannelPolicy: async (input, { scope, services }) => {
    await services.channels.deletePolicy(scope, input.ChannelGroupName, input.ChannelName);
    return {};
  },
};
