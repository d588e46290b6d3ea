/**
 * Tags on every taggable resource, addressed by ARN (TagResource, UntagResource,
 * ListTagsForResource), and the AWS tagging limits that apply wherever tags are given.
 */
import { ValidationError } from '../errors.js';
import type { Tags } from '../model.js';
import { parseArn } from '../arn.js';
import type { MetadataOps, ResourceRecord, Scope } from '../ports.js';
import type { ServiceContext } from './context.js';

export const MAX_TAGS = 50;

/** AWS tagging rules: at most 50 tags, keys 1-128 characters, values up to 256, no `aws:` prefix. */
export function checkTags(tags: Tags | undefined, where = 'Tags'): void {
  if (!tags) return;
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) throw new ValidationError('MEMBER_MAX_LENGTH', `${where} has ${keys.length} tags; a resource can have at most ${MAX_TAGS}.`);
  for (const k of keys) {
    if (k.length < 1 || k.length > 128) throw new ValidationError(k.length < 1 ? 'MEMBER_MIN_LENGTH' : 'MEMBER_MAX_LENGTH', `Tag key "${k.slice(0, 40)}" must be 1 to 128 characters long.`);
    if (k.toLowerCase().startsWith('aws:')) throw new ValidationError('MEMBER_INVALID', `Tag key "${k}" uses the reserved prefix aws:.`);
    const v = tags[k]!;
    if (v.length > 256) throw new ValidationError('MEMBER_MAX_LENGTH', `The value of tag "${k}" is ${v.length} characters long; the maximum is 256.`);
  }
}

export class TagService {
  constructor(private readonly ctx: ServiceContext) {}

  private async resolve(scope: Scope, arn: string, tx: MetadataOps = this.ctx.store): Promise<ResourceRecord<{ tags: Tags }>> {
    const parsed = parseArn(arn);
    if (!parsed) {
      throw new ValidationError('INVALID_ARN', `${arn} is not a MediaPackage v2 resource ARN (arn:aws:mediapackagev2:{region}:{account}:channelGroup/...).`);
    }
    if (parsed.scope.accountId !== scope.accountId || parsed.scope.region !== scope.region) {
      throw new ValidationError('INVALID_ARN', `${arn} belongs to account ${parsed.scope.accountId} in ${parsed.scope.region}, but the request was signed for account ${scope.accountId} in ${scope.region}.`);
    }
    const rec = await tx.getResource<{ tags: Tags }>(arn);
    if (!rec || (rec.expiresMs !== null && rec.expiresMs <= this.ctx.clock.now().getTime())) {
      throw new ValidationError('INVALID_ARN', `No resource exists with the ARN ${arn}. Check the ARN, or create the resource first.`);
    }
    return rec;
  }

  async list(scope: Scope, arn: string): Promise<Tags> {
    return (await this.resolve(scope, arn)).doc.tags;
  }

  async tag(scope: Scope, arn: string, tags: Tags): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const rec = await this.resolve(scope, arn, tx);
      const merged = { ...rec.doc.tags, ...tags };
      checkTags(merged);
      await tx.updateResource({ ...rec, doc: { ...rec.doc, tags: merged } });
    });
  }

  async untag(scope: Scope, arn: string, keys: readonly string[]): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const rec = await this.resolve(scope, arn, tx);
      const remaining = Object.fromEntries(Object.entries(rec.doc.tags).filter(([k]) => !keys.includes(k)));
      await tx.updateResource({ ...rec, doc: { ...rec.doc, tags: remaining } });
    });
  }
}
