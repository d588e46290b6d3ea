/**
 * Harvest-job records: the create-time rules of HARVEST.md §4, reads, listing and cancel (§6).
 * Running a job (QUEUED -> IN_PROGRESS -> COMPLETED/FAILED) belongs to the harvest worker; this
 * service only stores, validates and changes status on request.
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { ACTIVE_HARVEST_STATUSES, type HarvestJob, type HarvestJobStatus, type ManifestDoc, type OriginEndpoint, type Tags } from '../model.js';
import { arns } from '../arn.js';
import type { MetadataOps, Scope } from '../ports.js';
import { MESSAGES, records, requireChannel, requireEndpoint, requireGroup, type ServiceContext } from './context.js';
import { checkEtag } from './etag.js';
import { pageRequest, pageResult, probe } from './pagination.js';
import { harvestDestinationProblem } from '../s3-names.js';

export const MAX_HARVEST_WINDOW_MS = 24 * 3600 * 1000;

export interface CreateHarvestJobInput {
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly manifests: { hls: string[]; lowLatencyHls: string[]; dash: string[] };
  readonly startMs: number;
  readonly endMs: number;
  readonly bucket: string;
  readonly destinationPath: string;
  readonly tags?: Tags | undefined;
}

function dedupe(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function checkManifests(endpoint: OriginEndpoint, wanted: CreateHarvestJobInput['manifests']): void {
  const groups: [string, readonly string[], readonly ManifestDoc[]][] = [
    ['HlsManifests', wanted.hls, endpoint.hlsManifests],
    ['LowLatencyHlsManifests', wanted.lowLatencyHls, endpoint.lowLatencyHlsManifests],
    ['DashManifests', wanted.dash, endpoint.dashManifests],
  ];
  for (const [list, names, available] of groups) {
    for (const name of names) {
      const manifest = available.find((m) => m.ManifestName === name);
      if (!manifest) {
        const have = available.map((m) => m.ManifestName);
        throw new ValidationError(
          'HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT',
          `HarvestedManifests.${list} names ${name}, which is not one of the ${list} of origin endpoint ${endpoint.name}` +
            (have.length ? ` (it has: ${have.join(', ')}).` : ' (it has none).'),
        );
      }
      const filter = manifest.FilterConfiguration;
      const blocking = ['Start', 'End', 'ClipStartTime', 'TimeDelaySeconds'].filter((k) => filter?.[k] !== undefined);
      if (blocking.length) {
        throw new ValidationError(
          'HARVESTED_MANIFEST_HAS_START_END_FILTER_CONFIGURATION',
          `Manifest ${name} cannot be harvested because its FilterConfiguration sets ${blocking.join(', ')}. Harvest a manifest without time filters.`,
        );
      }
    }
  }
}

/** The bucket and path must make S3 keys (never paths): checked before anything is queued. */
function checkDestination(bucket: string, destinationPath: string, manifests: CreateHarvestJobInput['manifests']): void {
  const names = [...manifests.hls.map((m) => `${m}.m3u8`), ...manifests.lowLatencyHls.map((m) => `${m}.m3u8`), ...manifests.dash.map((m) => `${m}.mpd`)];
  const longest = names.reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a), '');
  const problem = harvestDestinationProblem(bucket, destinationPath, longest);
  if (problem) throw new ValidationError('MEMBER_INVALID', problem);
}

export class HarvestJobService {
  constructor(private readonly ctx: ServiceContext) {}

  async create(scope: Scope, g: string, c: string, e: string, input: CreateHarvestJobInput): Promise<HarvestJob> {
    const { store, clock, ids, settings } = this.ctx;
    const job = await store.transaction(async (tx) => {
      const endpoint = (await requireEndpoint(tx, scope, g, c, e)).doc;
      const now = clock.now().getTime();
      const name = input.name ?? `HarvestJob-${now}-${ids.uuid().slice(0, 8)}`;
      const sameName = await tx.findResources({ kind: 'harvestJob', scope, groupName: g, channelName: c, name, liveAtMs: now });
      if (sameName.length > 0) {
        throw new ConflictError('RESOURCE_ALREADY_EXISTS', `A harvest job named ${name} already exists in channel ${c}. Harvest job names are unique within a channel until the earlier job expires; choose another name.`);
      }
      const manifests = { hls: dedupe(input.manifests.hls), lowLatencyHls: dedupe(input.manifests.lowLatencyHls), dash: dedupe(input.manifests.dash) };
      if (manifests.hls.length + manifests.lowLatencyHls.length + manifests.dash.length === 0) {
        throw new ValidationError('NUM_MANIFESTS_LOW', 'HarvestedManifests names no manifest: list at least one of the endpoint\'s HLS, low-latency HLS or DASH manifests.');
      }
      checkManifests(endpoint, manifests);
      checkDestination(input.bucket, input.destinationPath, manifests);
      checkWindow(endpoint, input.startMs, input.endMs, now);
      const active = await tx.countResources({ kind: 'harvestJob', scope, groupName: g, statuses: ACTIVE_HARVEST_STATUSES });
      if (active >= settings.quotas.activeHarvestJobsPerGroup) {
        throw new ValidationError('TOO_MANY_IN_PROGRESS_HARVEST_JOBS', `Channel group ${g} already has ${active} queued or in-progress harvest jobs, the quota. Wait for one to finish or cancel one, or raise the quota (--quota-active-harvest-jobs).`);
      }
      const job: HarvestJob = {
        groupName: g,
        channelName: c,
        endpointName: e,
        name,
        arn: arns.harvestJob(scope, g, c, e, name),
        description: input.description,
        manifests,
        startMs: input.startMs,
        endMs: input.endMs,
        bucket: input.bucket,
        destinationPath: input.destinationPath,
        createdMs: now,
        modifiedMs: now,
        status: 'QUEUED',
        etag: ids.etag(),
        tags: { ...(input.tags ?? {}) },
      };
      await tx.insertResource(records.harvestJob(scope, job, settings.harvestJobRetentionMs));
      return job;
    });
    this.ctx.hooks?.harvestJobQueued?.(job.endMs);
    return job;
  }

  async get(scope: Scope, g: string, c: string, e: string, name: string): Promise<HarvestJob> {
    return (await this.require(this.ctx.store, scope, g, c, e, name)).doc;
  }

  async list(
    scope: Scope,
    g: string,
    filter: { channelName?: string | undefined; endpointName?: string | undefined; status?: HarvestJobStatus | undefined },
    maxResults?: number,
    nextToken?: string,
  ): Promise<{ items: HarvestJob[]; nextToken?: string }> {
    const { store, clock } = this.ctx;
    if (filter.endpointName !== undefined && filter.channelName === undefined) {
      throw new ValidationError('MEMBER_MISSING', 'originEndpointName needs channelName too: origin endpoint names are only unique within a channel.');
    }
    await requireGroup(store, scope, g);
    const filters = { op: 'ListHarvestJobs', g, ...filter };
    const page = pageRequest('newest', maxResults, nextToken, filters);
    const rows = await store.findResources<HarvestJob>(
      {
        kind: 'harvestJob',
        scope,
        groupName: g,
        channelName: filter.channelName,
        endpointName: filter.endpointName,
        statuses: filter.status ? [filter.status] : undefined,
        liveAtMs: clock.now().getTime(),
      },
      probe(page),
    );
    const res = pageResult(rows, page, filters);
    return { items: res.items.map((r) => r.doc), ...(res.nextToken ? { nextToken: res.nextToken } : {}) };
  }

  async cancel(scope: Scope, g: string, c: string, e: string, name: string, etag?: string): Promise<HarvestJob> {
    const { store, clock, ids, settings } = this.ctx;
    return store.transaction(async (tx) => {
      const job = (await this.require(tx, scope, g, c, e, name)).doc;
      checkEtag(etag, job.etag, 'harvest job');
      if (job.status === 'CANCELLED') return job;
      if (job.status === 'COMPLETED' || job.status === 'FAILED') {
        throw new ValidationError('HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION', `Harvest job ${name} is already ${job.status}; only QUEUED or IN_PROGRESS jobs can be cancelled.`);
      }
      const cancelled: HarvestJob = { ...job, status: 'CANCELLED', modifiedMs: clock.now().getTime(), etag: ids.etag() };
      await tx.updateResource(records.harvestJob(scope, cancelled, settings.harvestJobRetentionMs));
      return cancelled;
    });
  }

  /** The job by its full path; when missing, names the first missing level (HARVEST.md §6.7). */
  private async require(tx: MetadataOps, scope: Scope, g: string, c: string, e: string, name: string) {
    const rec = await tx.getResource<HarvestJob>(arns.harvestJob(scope, g, c, e, name));
    const now = this.ctx.clock.now().getTime();
    if (rec && (rec.expiresMs === null || rec.expiresMs > now)) return rec;
    // Job records outlive their endpoint (HARVEST.md §8.3), so parents are only checked on a miss.
    await requireChannel(tx, scope, g, c);
    if (!(await tx.getResource(arns.endpoint(scope, g, c, e)))) {
      const anyJob = await tx.countResources({ kind: 'harvestJob', scope, groupName: g, channelName: c, endpointName: e, liveAtMs: now });
      if (anyJob === 0) throw new NotFoundError('ORIGIN_ENDPOINT', MESSAGES.endpointNotFound);
    }
    throw new NotFoundError('HARVEST_JOB', MESSAGES.harvestJobNotFound);
  }
}

/** HARVEST.md §3: the window's order, length, and place in the endpoint's startover window. */
export function checkWindow(endpoint: OriginEndpoint, startMs: number, endMs: number, nowMs: number): void {
  if (endMs <= startMs) {
    throw new ValidationError('END_TIME_EARLIER_THAN_START_TIME', 'ScheduleConfiguration.EndTime must be later than StartTime.');
  }
  if (startMs >= nowMs) {
    throw new ValidationError('INVALID_HARVEST_JOB_DURATION', 'ScheduleConfiguration.StartTime must be in the past; the end may be in the future.');
  }
  if (endMs - startMs > MAX_HARVEST_WINDOW_MS) {
    throw new ValidationError('INVALID_HARVEST_JOB_DURATION', `The harvest window is ${((endMs - startMs) / 3600000).toFixed(2)} hours long; the maximum is 24 hours.`);
  }
  const startover = endpoint.startoverWindowSeconds ?? 0;
  if (startover <= 0) {
    throw new ValidationError('INVALID_HARVEST_JOB_DURATION', `Origin endpoint ${endpoint.name} has no startover window (StartoverWindowSeconds), so no past content can be harvested from it. Set StartoverWindowSeconds on the endpoint first.`);
  }
  if (endMs - startMs > startover * 1000) {
    throw new ValidationError('INVALID_HARVEST_JOB_DURATION', `The harvest window (${(endMs - startMs) / 1000} s) is longer than the endpoint's startover window (${startover} s).`);
  }
  if (startMs < nowMs - startover * 1000) {
    throw new ValidationError('INVALID_HARVEST_JOB_DURATION', `StartTime is older than the endpoint's startover window of ${startover} s, so that content is no longer held. Choose a StartTime within the last ${startover} seconds.`);
  }
}
