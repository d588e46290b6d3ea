/**
 * Every operation's handler in one typed map (a missing operation does not compile).
 */
import { channelGroupHandlers } from './channel-groups.js';
import { channelHandlers } from './channels.js';
import { harvestJobHandlers } from './harvest-jobs.js';
import { originEndpointHandlers } from './origin-endpoints.js';
import { tagHandlers } from './tags.js';
import type { HandlerMap } from './types.js';

export const HANDLERS: HandlerMap = {
  ...channelGroupHandlers,
  ...channelHandlers,
  ...originEndpointHandlers,
  ...harvestJobHandlers,
  ...tagHandlers,
};
