/**
 * Origin endpoints: CRUD, list, reset and the endpoint policy. Owns the per-channel endpoint
 * quota, container immutability, and what happens to active harvest jobs when an endpoint goes.
 */
import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from '../errors.js';
import { ACTIVE_HARVEST_STATUSES, type ConfigDoc, type HarvestJob, type ManifestDoc, type OriginEndpoint, type OriginEndpointConfig, type Tags } from '../model.js';
import { arns } from '../arn.js';
import type { Ids, MetadataOps, Scope } from '../ports.js';
import { harvestEvents } from '../harvest/events.js';
import { records, requireChannel, requireEndpoint, requireGroup, type ServiceContext } from './context.js';
import { checkEtag } from './etag.js';
import { normalizeEndpointConfig } from './endpoint-rules.js';
import { pageRequest, pageResult, probe } from './pagination.js';
import { validateCdnAuthConfiguration, validatePolicy } from './policy.js';

export type ManifestKind = 'hls' | 'lowLatencyHls' | 'dash' | 'mss';

export class OriginEndpointService {
  constructor(private readonly ctx: ServiceContext) {}

  /** The egress URL of one manifest (DATAPLANE.md: /out/v1/{group}/{channel}/{endpoint}/...). */
  manifestUrl(e: Pick<OriginEndpoint, 'groupName' | 'channelName' | 'name'>, kind: ManifestKind, manifestName: string): string {
    const base = `${this.ctx.settings.publicUrl}/out/v1/${e.groupName}/${e.channelName}/${e.name}/${manifestName}`;
    if (kind === 'dash') return `${base}.mpd`;
    if (kind === 'mss') return `${base}.ism/Manifest`;
    return `${base}.m3u8`;
  }

  async create(scope: Scope, g: string, c: string, input: OriginEndpointConfig & { name: string; tags?: Tags | undefined }): Promise<OriginEndpoint> {
    const { store, clock, ids, settings } = this.ctx;
    return store.transaction(async (tx) => {
      const channel = (await requireChannel(tx, scope, g, c)).doc;
      const arn = arns.endpoint(scope, g, c, input.name);
      if (await tx.getResource(arn)) {
        throw new ConflictError('RESOURCE_ALREADY_EXISTS', `An origin endpoint named ${input.name} already exists on channel ${c}. Choose a different name, or update the existing endpoint.`);
      }
      const config = normalizeEndpointConfig(input, { channelInputType: channel.inputType, manifestsPerEndpoint: settings.quotas.manifestsPerEndpoint });
      const count = await tx.countResources({ kind: 'originEndpoint', scope, groupName: g, channelName: c });
      if (count >= settings.quotas.endpointsPerChannel) {
        throw new QuotaExceededError(`Channel ${c} already has ${count} origin endpoints, the quota. Delete an endpoint you no longer need, or raise the quota (--quota-endpoints-per-channel).`);
      }
      const now = clock.now().getTime();
      const { name: _n, tags, ...rest } = input;
      const endpoint: OriginEndpoint = {
        ...rest,
        ...config,
        groupName: g,
        channelName: c,
        name: input.name,
        arn,
        createdMs: now,
        modifiedMs: now,
        etag: ids.etag(),
        tags: { ...(tags ?? {}) },
      };
      await tx.insertResource(records.endpoint(scope, endpoint));
      return endpoint;
    });
  }

  async get(scope: Scope, g: string, c: string, e: string): Promise<OriginEndpoint> {
    return (await requireEndpoint(this.ctx.store, scope, g, c, e)).doc;
  }

  async update(scope: Scope, g: string, c: string, e: string, input: OriginEndpointConfig & { etag?: string | undefined }): Promise<OriginEndpoint> {
    const { store, clock, ids, settings } = this.ctx;
    return store.transaction(async (tx) => {
      const channel = (await requireChannel(tx, scope, g, c)).doc;
      const current = (await requireEndpoint(tx, scope, g, c, e)).doc;
      checkEtag(input.etag, current.etag, 'origin endpoint');
      if (input.containerType !== current.containerType) {
        throw new ValidationError('CONTAINER_TYPE_IMMUTABLE', `The ContainerType of an origin endpoint cannot change (it is ${current.containerType}; the request says ${input.containerType}). Create a new endpoint for another container type.`);
      }
      const config = normalizeEndpointConfig(input, { channelInputType: channel.inputType, manifestsPerEndpoint: settings.quotas.manifestsPerEndpoint });
      const updated: OriginEndpoint = {
        groupName: current.groupName,
        channelName: current.channelName,
        name: current.name,
        arn: current.arn,
        createdMs: current.createdMs,
        resetMs: current.resetMs,
        tags: current.tags,
        policy: current.policy,
        cdnAuthConfiguration: current.cdnAuthConfiguration,
        ...config,
        modifiedMs: clock.now().getTime(),
        etag: ids.etag(),
      };
      await tx.updateResource(records.endpoint(scope, updated));
      return updated;
    });
  }

  /** Deletes the endpoint; its active harvest jobs end FAILED (HARVEST.md §8.2), their records stay. */
  async delete(scope: Scope, g: string, c: string, e: string): Promise<void> {
    const { store, clock, ids, settings } = this.ctx;
    const arn = arns.endpoint(scope, g, c, e);
    const deleted = await store.transaction(async (tx) => {
      if (!(await tx.getResource(arn))) return false;
      await failActiveJobs(tx, scope, { groupName: g, channelName: c, endpointName: e }, `The origin endpoint ${e} was deleted before the harvest job could finish.`, {
        nowMs: clock.now().getTime(),
        ids,
        retentionMs: settings.harvestJobRetentionMs,
        webhooks: settings.eventWebhooks,
      });
      await tx.deleteResource(arn);
      return true;
    });
    if (deleted) this.ctx.hooks?.originEndpointDeleted?.(arn);
  }

  async list(scope: Scope, g: string, c: string, maxResults?: number, nextToken?: string): Promise<{ items: OriginEndpoint[]; nextToken?: string }> {
    await requireChannel(this.ctx.store, scope, g, c);
    const filters = { op: 'ListOriginEndpoints', g, c };
    const page = pageRequest('name', maxResults, nextToken, filters);
    const rows = await this.ctx.store.findResources<OriginEndpoint>({ kind: 'originEndpoint', scope, groupName: g, channelName: c }, probe(page));
    const res = pageResult(rows, page, filters);
    return { items: res.items.map((r) => r.doc), ...(res.nextToken ? { nextToken: res.nextToken } : {}) };
  }

  async reset(scope: Scope, g: string, c: string, e: string): Promise<OriginEndpoint> {
    return this.mutate(scope, g, c, e, (ep, now) => ({ ...ep, resetMs: now }), true);
  }

  async putPolicy(scope: Scope, g: string, c: string, e: string, policy: string, cdnAuthConfiguration?: ConfigDoc): Promise<void> {
    validatePolicy(policy);
    validateCdnAuthConfiguration(cdnAuthConfiguration, scope, this.ctx.settings.cdnSecretArns ?? new Set());
    await this.mutate(scope, g, c, e, (ep) => ({ ...ep, policy, cdnAuthConfiguration }), false);
  }

  async getPolicy(scope: Scope, g: string, c: string, e: string): Promise<{ policy: string; cdnAuthConfiguration?: ConfigDoc | undefined }> {
    const ep = await this.get(scope, g, c, e);
    if (ep.policy === undefined) {
      throw new NotFoundError('ORIGIN_ENDPOINT', `Origin endpoint ${e} has no resource policy. Attach one with PutOriginEndpointPolicy first.`);
    }
    return { policy: ep.policy, cdnAuthConfiguration: ep.cdnAuthConfiguration };
  }

  async deletePolicy(scope: Scope, g: string, c: string, e: string): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const rec = await tx.getResource<OriginEndpoint>(arns.endpoint(scope, g, c, e));
      if (!rec || rec.doc.policy === undefined) return;
      const { policy: _p, cdnAuthConfiguration: _c, ...rest } = rec.doc;
      await tx.updateResource(records.endpoint(scope, rest));
    });
  }

  private async mutate(scope: Scope, g: string, c: string, e: string, change: (ep: OriginEndpoint, nowMs: number) => OriginEndpoint, touch: boolean): Promise<OriginEndpoint> {
    const { store, clock, ids } = this.ctx;
    return store.transaction(async (tx) => {
      await requireGroup(tx, scope, g);
      const current = (await requireEndpoint(tx, scope, g, c, e)).doc;
      const now = clock.now().getTime();
      const changed = change(current, now);
      const updated = touch ? { ...changed, modifiedMs: now, etag: ids.etag() } : changed;
      await tx.updateResource(records.endpoint(scope, updated));
      return updated;
    });
  }
}

/**
 * Moves the active harvest jobs of an endpoint (or channel) to FAILED with the given reason, and
 * queues their FAILED events in the same transaction (HARVEST.md §10.2).
 */
export async function failActiveJobs(
  tx: MetadataOps,
  scope: Scope,
  where: { groupName: string; channelName: string; endpointName?: string },
  message: string,
  o: { nowMs: number; ids: Ids; retentionMs: number; webhooks: readonly string[] },
): Promise<number> {
  const jobs = await tx.findResources<HarvestJob>({ kind: 'harvestJob', scope, ...where, statuses: ACTIVE_HARVEST_STATUSES });
  for (const rec of jobs) {
    const { lease: _lease, ...job } = rec.doc;
    const failed: HarvestJob = { ...job, status: 'FAILED', errorMessage: message, modifiedMs: o.nowMs, etag: o.ids.etag() };
    await tx.updateResource(records.harvestJob(scope, failed, o.retentionMs));
    await tx.enqueueEvents(harvestEvents(failed, scope, o.nowMs, o.webhooks, o.ids.uuid()));
  }
  return jobs.length;
}

export type { ManifestDoc };
