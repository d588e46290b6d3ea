/**
 * Tagging operations, addressed by resource ARN.
 */
import { checkTags } from '../../domain/services/tag-service.js';
import type { Handler } from './types.js';

export const tagHandlers: {
  TagResource: Handler<'TagResource'>;
  UntagResource: Handler<'UntagResource'>;
  ListTagsForResource: Handler<'ListTagsForResource'>;
} = {
  TagResource: async (input, { scope, services }) => {
    checkTags(input.Tags);
    await services.tags.tag(scope, input.ResourceArn, input.Tags);
    return {};
  },
  UntagResource: async (input, { scope, services }) => {
    await services.tags.untag(scope, input.ResourceArn, input.TagKeys);
    return {};
  },
  ListTagsForResource: async (input, { scope, services }) => ({ Tags: await services.tags.list(scope, input.ResourceArn) }),
};
