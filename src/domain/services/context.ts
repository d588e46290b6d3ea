/**
 * What every domain service is given: the store, a clock, ids and the service settings.
 * Also the lookups every service shares (find a group, channel or endpoint or say which is missing).
 */
import { NotFoundError, type ResourceType } from '../errors.js';
import { ACTIVE_HARVEST_STATUSES, type Channel, type ChannelGroup, type HarvestJob, type OriginEndpoint } from '../model.js';
import { arns } from '../arn.js';
import type { Clock, Ids, MetadataOps, MetadataStore, ResourceRecord, Scope } from '../ports.js';

export interface Quotas {
  readonly channelGroupsPerAccount: number;
  readonly channelsPerGroup: number;
  readonly endpointsPerChannel: number;
  readonly manifestsPerEndpoint: number;
  readonly activeHarvestJobsPerGroup: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  channelGroupsPerAccount: 3,
  channelsPerGroup: 10,
  endpointsPerChannel: 10,
  manifestsPerEndpoint: 25,
  activeHarvestJobsPerGroup: 10,
};

export interface ServiceSettings {
  /** Base of every URL handed out (ingest and egress), without a trailing slash. */
  readonly publicUrl: string;
  /** Base of each ingest endpoint's URL (endpoint 1, endpoint 2), without a trailing slash; default publicUrl. */
  readonly ingestUrls?: readonly [string, string] | undefined;
  readonly quotas: Quotas;
  /** How long harvest-job records are kept after creation (HARVEST.md §7: 15 days). */
  readonly harvestJobRetentionMs: number;
  /** Where harvest-job events go (also for jobs failed by a deletion). */
  readonly eventWebhooks: readonly string[];
  /** ARNs of the CDN identifier secrets this Packhouse is configured with (CdnAuthConfiguration). */
  readonly cdnSecretArns?: ReadonlySet<string> | undefined;
}

export interface ServiceContext {
  readonly store: MetadataStore;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly settings: ServiceSettings;
  /** Told after a change has committed (e.g. to remove a deleted channel's media); never fails the request. */
  readonly hooks?:
    | {
        readonly channelDeleted?: (channelArn: string) => void;
        /** After an origin endpoint is deleted: what a node holds for it in memory (its content keys) goes. */
        readonly originEndpointDeleted?: (endpointArn: string) => void;
        /** Awaited by ResetChannelState: removes the content the channel held (a reset always starts it afresh). */
        readonly channelReset?: (channelArn: string) => Promise<void>;
        /**
         * A harvest job was queued, due to run from `dueMs` (its window's end): this node's runner
         * looks for due jobs now, rather than at its next poll, when that time has come.
         */
        readonly harvestJobQueued?: (dueMs: number) => void;
      }
    | undefined;
}

export const MESSAGES = {
  groupNotFound:
    "MediaPackage can't process your request because we can't find your channel group. Verify your channel group name or add a channel group and then try again",
  channelNotFound:
    "MediaPackage can't process your request because we can't find your channel. Verify your channel name or add a channel and then try again",
  endpointNotFound:
    "MediaPackage can't process your request because we can't find your origin endpoint. Verify your origin endpoint name or add an origin endpoint and then try again",
  harvestJobNotFound:
    "MediaPackage can't process your request because we can't find your harvest job. Verify your harvest job name and then try again",
};

export async function requireGroup(tx: MetadataOps, scope: Scope, g: string): Promise<ResourceRecord<ChannelGroup>> {
  const rec = await tx.getResource<ChannelGroup>(arns.group(scope, g));
  if (!rec) throw new NotFoundError('CHANNEL_GROUP', MESSAGES.groupNotFound);
  return rec;
}

/** The resource and its parents in one read; NotFound names the first level missing (group, then channel, then endpoint). */
async function requirePath(tx: MetadataOps, path: readonly { arn: string; kind: ResourceType; message: string }[]): Promise<ResourceRecord> {
  const found = new Map((await tx.getResources(path.map((p) => p.arn))).map((r) => [r.arn, r]));
  let rec: ResourceRecord | undefined;
  for (const level of path) {
    rec = found.get(level.arn);
    if (!rec) throw new NotFoundError(level.kind, level.message);
  }
  return rec!;
}

export async function requireChannel(tx: MetadataOps, scope: Scope, g: string, c: string): Promise<ResourceRecord<Channel>> {
  return (await requirePath(tx, [
    { arn: arns.group(scope, g), kind: 'CHANNEL_GROUP', message: MESSAGES.groupNotFound },
    { arn: arns.channel(scope, g, c), kind: 'CHANNEL', message: MESSAGES.channelNotFound },
  ])) as ResourceRecord<Channel>;
}

export async function requireEndpoint(
  tx: MetadataOps,
  scope: Scope,
  g: string,
  c: string,
  e: string,
): Promise<ResourceRecord<OriginEndpoint>> {
  return (await requirePath(tx, [
    { arn: arns.group(scope, g), kind: 'CHANNEL_GROUP', message: MESSAGES.groupNotFound },
    { arn: arns.channel(scope, g, c), kind: 'CHANNEL', message: MESSAGES.channelNotFound },
    { arn: arns.endpoint(scope, g, c, e), kind: 'ORIGIN_ENDPOINT', message: MESSAGES.endpointNotFound },
  ])) as ResourceRecord<OriginEndpoint>;
}

function record<D>(
  scope: Scope,
  kind: ResourceRecord['kind'],
  doc: D & { arn: string; createdMs: number },
  names: { g: string; c?: string; e?: string; n: string },
  extra: { status?: string; expiresMs?: number; dueMs?: number } = {},
): ResourceRecord<D> {
  return {
    arn: doc.arn,
    kind,
    accountId: scope.accountId,
    region: scope.region,
    groupName: names.g,
    channelName: names.c ?? null,
    endpointName: names.e ?? null,
    name: names.n,
    status: extra.status ?? null,
    createdMs: doc.createdMs,
    expiresMs: extra.expiresMs ?? null,
    dueMs: extra.dueMs ?? null,
    doc,
  };
}

export const records = {
  group: (s: Scope, g: ChannelGroup) => record(s, 'channelGroup', g, { g: g.name, n: g.name }),
  channel: (s: Scope, c: Channel) => record(s, 'channel', c, { g: c.groupName, c: c.name, n: c.name }),
  endpoint: (s: Scope, e: OriginEndpoint) =>
    record(s, 'originEndpoint', e, { g: e.groupName, c: e.channelName, e: e.name, n: e.name }),
  harvestJob: (s: Scope, j: HarvestJob, retentionMs: number) =>
    record(s, 'harvestJob', j, { g: j.groupName, c: j.channelName, e: j.endpointName, n: j.name }, {
      status: j.status,
      // An active job never expires early (HARVEST.md §7.2); a finished one goes retentionMs after creation.
      ...(ACTIVE_HARVEST_STATUSES.includes(j.status) ? {} : { expiresMs: j.createdMs + retentionMs }),
      // When the runner looks at it next: a queued job not before its window ends, a running one when its lease runs out.
      ...(j.status === 'QUEUED' ? { dueMs: j.endMs } : j.status === 'IN_PROGRESS' ? { dueMs: j.lease?.untilMs ?? 0 } : {}),
    }),
};
