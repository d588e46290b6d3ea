/**
 * Channel groups: create, read, update, delete, list. Owns the per-account group quota and the
 * rule that a group with channels cannot be deleted. No HTTP, no SQL.
 */
import { ConflictError, QuotaExceededError } from '../errors.js';
import type { ChannelGroup, Tags } from '../model.js';
import { arns } from '../arn.js';
import type { Scope } from '../ports.js';
import { records, requireGroup, type ServiceContext } from './context.js';
import { checkEtag } from './etag.js';
import { pageRequest, pageResult, probe } from './pagination.js';

export interface CreateChannelGroupInput {
  readonly name: string;
  readonly description?: string | undefined;
  readonly tags?: Tags | undefined;
}

export class ChannelGroupService {
  constructor(private readonly ctx: ServiceContext) {}

  private egressDomain(): string {
    return new URL(this.ctx.settings.publicUrl).host;
  }

  async create(scope: Scope, input: CreateChannelGroupInput): Promise<ChannelGroup> {
    const { store, clock, ids, settings } = this.ctx;
    return store.transaction(async (tx) => {
      const arn = arns.group(scope, input.name);
      if (await tx.getResource(arn)) {
        throw new ConflictError(
          'RESOURCE_ALREADY_EXISTS',
          `A channel group named ${input.name} already exists in this account and Region. Choose a different name, or use the existing channel group.`,
        );
      }
      // Data-plane URLs (/in/v1/{group}/..., /out/v1/{group}/...) name a group without its account,
      // so a name held by another account or Region is refused: a URL names one channel, always.
      const elsewhere = (await tx.locateGroups(input.name)).some((r) => r.accountId !== scope.accountId || r.region !== scope.region);
      if (elsewhere) {
        throw new ConflictError(
          'RESOURCE_ALREADY_EXISTS',
          `The channel group name ${input.name} is already used by another account or Region of this Packhouse. Ingest and origin URLs (/in/v1/${input.name}/..., /out/v1/${input.name}/...) carry no account, so channel group names are unique across the whole installation. Choose a different name.`,
        );
      }
      const count = await tx.countResources({ kind: 'channelGroup', scope });
      if (count >= settings.quotas.channelGroupsPerAccount) {
        throw new QuotaExceededError(
          `You have reached the quota of ${settings.quotas.channelGroupsPerAccount} channel groups in this account and Region. Delete a channel group you no longer need, or raise the quota (--quota-channel-groups).`,
        );
      }
      const now = clock.now().getTime();
      const group: ChannelGroup = {
        name: input.name,
        arn,
        description: input.description,
        egressDomain: this.egressDomain(),
        createdMs: now,
        modifiedMs: now,
        etag: ids.etag(),
        tags: { ...(input.tags ?? {}) },
      };
      await tx.insertResource(records.group(scope, group));
      return group;
    });
  }

  async get(scope: Scope, name: string): Promise<ChannelGroup> {
    return (await requireGroup(this.ctx.store, scope, name)).doc;
  }

  async update(scope: Scope, name: string, input: { description?: string | undefined; etag?: string | undefined }): Promise<ChannelGroup> {
    const { store, clock, ids } = this.ctx;
    return store.transaction(async (tx) => {
      const current = (await requireGroup(tx, scope, name)).doc;
      checkEtag(input.etag, current.etag, 'channel group');
      const updated: ChannelGroup = {
        ...current,
        description: input.description,
        modifiedMs: clock.now().getTime(),
        etag: ids.etag(),
      };
      await tx.updateResource(records.group(scope, updated));
      return updated;
    });
  }

  async delete(scope: Scope, name: string): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const arn = arns.group(scope, name);
      if (!(await tx.getResource(arn))) return;
      const channels = await tx.countResources({ kind: 'channel', scope, groupName: name });
      if (channels > 0) {
        throw new ConflictError(
          'RESOURCE_IN_USE',
          'The channel group you tried to delete has channels attached to it. If you want to delete this channel group, you must first delete the channels attached to it',
        );
      }
      await tx.deleteResource(arn);
    });
  }

  async list(scope: Scope, maxResults?: number, nextToken?: string): Promise<{ items: ChannelGroup[]; nextToken?: string }> {
    const filters = { op: 'ListChannelGroups' };
    const page = pageRequest('name', maxResults, nextToken, filters);
    const rows = await this.ctx.store.findResources<ChannelGroup>({ kind: 'channelGroup', scope }, probe(page));
    const res = pageResult(rows, page, filters);
    return { items: res.items.map((r) => r.doc), ...(res.nextToken ? { nextToken: res.nextToken } : {}) };
  }
}
