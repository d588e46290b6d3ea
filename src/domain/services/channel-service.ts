/**
 * Channels: CRUD, list, reset and the channel policy. Owns the per-group channel quota, the
 * rule that a channel with origin endpoints cannot be deleted, and the CMAF-only input options.
 */
import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from '../errors.js';
import type { Channel, ConfigDoc, InputType, Tags } from '../model.js';
import { arns } from '../arn.js';
import type { Scope } from '../ports.js';
import { records, requireChannel, requireGroup, type ServiceContext } from './context.js';
import { checkEtag } from './etag.js';
import { pageRequest, pageResult, probe } from './pagination.js';
import { validatePolicy } from './policy.js';

export interface ChannelSettings {
  readonly description?: string | undefined;
  readonly inputSwitchConfiguration?: ConfigDoc | undefined;
  readonly outputHeaderConfiguration?: ConfigDoc | undefined;
}

function checkCmafOnlyOptions(inputType: InputType, s: ChannelSettings): void {
  if (inputType === 'CMAF') return;
  const sw = s.inputSwitchConfiguration;
  if (sw?.['MQCSInputSwitching'] === true) {
    throw new ValidationError('ONLY_CMAF_INPUT_TYPE_ALLOW_MQCS_INPUT_SWITCHING', 'InputSwitchConfiguration.MQCSInputSwitching can only be enabled on a channel whose InputType is CMAF.');
  }
  if (sw?.['PreferredInput'] !== undefined) {
    throw new ValidationError('ONLY_CMAF_INPUT_TYPE_ALLOW_PREFERRED_INPUT_CONFIGURATION', 'InputSwitchConfiguration.PreferredInput can only be set on a channel whose InputType is CMAF.');
  }
  if (s.outputHeaderConfiguration?.['PublishMQCS'] === true) {
    throw new ValidationError('ONLY_CMAF_INPUT_TYPE_ALLOW_MQCS_OUTPUT_CONFIGURATION', 'OutputHeaderConfiguration.PublishMQCS can only be enabled on a channel whose InputType is CMAF.');
  }
}

export class ChannelService {
  constructor(private readonly ctx: ServiceContext) {}

  ingestUrls(groupName: string, channelName: string): { id: string; url: string }[] {
    const { publicUrl, ingestUrls } = this.ctx.settings;
    // Each endpoint may name its own host (two nodes, as AWS's two ingest hosts), else the public URL.
    return ['1', '2'].map((id, i) => ({ id, url: `${ingestUrls?.[i] ?? publicUrl}/in/v1/${groupName}/${id}/${channelName}/index` }));
  }

  async create(
    scope: Scope,
    groupName: string,
    input: ChannelSettings & { name: string; inputType?: InputType | undefined; tags?: Tags | undefined },
  ): Promise<Channel> {
    const { store, clock, ids, settings } = this.ctx;
    const inputType = input.inputType ?? 'HLS';
    checkCmafOnlyOptions(inputType, input);
    return store.transaction(async (tx) => {
      await requireGroup(tx, scope, groupName);
      const arn = arns.channel(scope, groupName, input.name);
      if (await tx.getResource(arn)) {
        throw new ConflictError('RESOURCE_ALREADY_EXISTS', `A channel named ${input.name} already exists in channel group ${groupName}. Choose a different name, or use the existing channel.`);
      }
      const count = await tx.countResources({ kind: 'channel', scope, groupName });
      if (count >= settings.quotas.channelsPerGroup) {
        throw new QuotaExceededError(`Channel group ${groupName} already has ${count} channels, the quota. Delete a channel you no longer need, or raise the quota (--quota-channels-per-group).`);
      }
      const now = clock.now().getTime();
      const channel: Channel = {
        groupName,
        name: input.name,
        arn,
        description: input.description,
        inputType,
        inputSwitchConfiguration: input.inputSwitchConfiguration,
        outputHeaderConfiguration: input.outputHeaderConfiguration,
        createdMs: now,
        modifiedMs: now,
        etag: ids.etag(),
        tags: { ...(input.tags ?? {}) },
      };
      await tx.insertResource(records.channel(scope, channel));
      return channel;
    });
  }

  async get(scope: Scope, g: string, c: string): Promise<Channel> {
    return (await requireChannel(this.ctx.store, scope, g, c)).doc;
  }

  async update(scope: Scope, g: string, c: string, input: ChannelSettings & { etag?: string | undefined }): Promise<Channel> {
    const { store, clock, ids } = this.ctx;
    return store.transaction(async (tx) => {
      const current = (await requireChannel(tx, scope, g, c)).doc;
      checkEtag(input.etag, current.etag, 'channel');
      checkCmafOnlyOptions(current.inputType, input);
      const updated: Channel = {
        ...current,
        description: input.description,
        inputSwitchConfiguration: input.inputSwitchConfiguration,
        outputHeaderConfiguration: input.outputHeaderConfiguration,
        modifiedMs: clock.now().getTime(),
        etag: ids.etag(),
      };
      await tx.updateResource(records.channel(scope, updated));
      return updated;
    });
  }

  async delete(scope: Scope, g: string, c: string): Promise<void> {
    const arn = arns.channel(scope, g, c);
    const deleted = await this.ctx.store.transaction(async (tx) => {
      if (!(await tx.getResource(arn))) return false;
      const endpoints = await tx.countResources({ kind: 'originEndpoint', scope, groupName: g, channelName: c });
      if (endpoints > 0) {
        throw new ConflictError('RESOURCE_IN_USE', 'The channel you tried to delete has origin endpoints attached to it. If you want to delete this channel, you must first delete the origin endpoints attached to it');
      }
      await tx.deleteResource(arn);
      return true;
    });
    if (deleted) this.ctx.hooks?.channelDeleted?.(arn);
  }

  async list(scope: Scope, g: string, maxResults?: number, nextToken?: string): Promise<{ items: Channel[]; nextToken?: string }> {
    await requireGroup(this.ctx.store, scope, g);
    const filters = { op: 'ListChannels', g };
    const page = pageRequest('name', maxResults, nextToken, filters);
    const rows = await this.ctx.store.findResources<Channel>({ kind: 'channel', scope, groupName: g }, probe(page));
    const res = pageResult(rows, page, filters);
    return { items: res.items.map((r) => r.doc), ...(res.nextToken ? { nextToken: res.nextToken } : {}) };
  }

  /**
   * Records the reset instant (content before it is no longer served: the data plane reads resetMs)
   * and removes everything the channel held, whatever its timestamps, so that content stamped in
   * the future cannot outlive a reset.
   */
  async reset(scope: Scope, g: string, c: string): Promise<Channel> {
    const channel = await this.mutate(scope, g, c, (ch, now) => ({ ...ch, resetMs: now }));
    await this.ctx.hooks?.channelReset?.(channel.arn);
    return channel;
  }

  async putPolicy(scope: Scope, g: string, c: string, policy: string): Promise<void> {
    validatePolicy(policy);
    await this.mutate(scope, g, c, (ch) => ({ ...ch, policy }), false);
  }

  async getPolicy(scope: Scope, g: string, c: string): Promise<string> {
    const ch = await this.get(scope, g, c);
    if (ch.policy === undefined) {
      throw new NotFoundError('CHANNEL', `Channel ${c} has no resource policy. Attach one with PutChannelPolicy first.`);
    }
    return ch.policy;
  }

  async deletePolicy(scope: Scope, g: string, c: string): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const rec = await tx.getResource<Channel>(arns.channel(scope, g, c));
      if (!rec || rec.doc.policy === undefined) return;
      const { policy: _dropped, ...rest } = rec.doc;
      await tx.updateResource(records.channel(scope, rest));
    });
  }

  private async mutate(scope: Scope, g: string, c: string, change: (ch: Channel, nowMs: number) => Channel, touch = true): Promise<Channel> {
    const { store, clock, ids } = this.ctx;
    return store.transaction(async (tx) => {
      const current = (await requireChannel(tx, scope, g, c)).doc;
      const now = clock.now().getTime();
      const changed = change(current, now);
      const updated = touch ? { ...changed, modifiedMs: now, etag: ids.etag() } : changed;
      await tx.updateResource(records.channel(scope, updated));
      return updated;
    });
  }
}
