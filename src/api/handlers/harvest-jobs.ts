/**
 * Harvest-job operations (Create, Get, List, Cancel): wire shapes in and out.
 */
import { ValidationError } from '../../domain/errors.js';
import type { HarvestJob } from '../../domain/model.js';
import { checkTags } from '../../domain/services/tag-service.js';
import type { CreateHarvestJobRequest } from '../generated/types.js';
import { date, type Handler } from './types.js';

function wire(j: HarvestJob) {
  const names = (list: readonly string[]) => (list.length ? list.map((ManifestName) => ({ ManifestName })) : undefined);
  return {
    ChannelGroupName: j.groupName,
    ChannelName: j.channelName,
    OriginEndpointName: j.endpointName,
    Destination: { S3Destination: { BucketName: j.bucket, DestinationPath: j.destinationPath } },
    HarvestJobName: j.name,
    HarvestedManifests: {
      HlsManifests: names(j.manifests.hls),
      DashManifests: names(j.manifests.dash),
      LowLatencyHlsManifests: names(j.manifests.lowLatencyHls),
    },
    Description: j.description,
    ScheduleConfiguration: { StartTime: date(j.startMs), EndTime: date(j.endMs) },
    Arn: j.arn,
    CreatedAt: date(j.createdMs),
    ModifiedAt: date(j.modifiedMs),
    Status: j.status,
    ErrorMessage: j.errorMessage,
    ETag: j.etag,
    Tags: j.tags,
  };
}

/**
 * HARVEST.md §4 step 2: a missing or incomplete S3 destination has its own error type, checked
 * before the generic shape validation would call it MEMBER_MISSING.
 */
export function precheckCreateHarvestJob(input: Record<string, unknown>): void {
  const dest = input['Destination'] as Record<string, unknown> | undefined;
  const s3 = dest?.['S3Destination'] as Record<string, unknown> | undefined;
  const missing = ['BucketName', 'DestinationPath'].filter((k) => typeof s3?.[k] !== 'string' || s3[k] === '');
  if (typeof s3 !== 'object' || s3 === null || missing.length) {
    throw new ValidationError(
      'HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE',
      `Destination.S3Destination must give both BucketName and DestinationPath${missing.length && s3 ? ` (missing: ${missing.join(', ')})` : ''}.`,
    );
  }
}

const names = (list: CreateHarvestJobRequest['HarvestedManifests']['HlsManifests']) => (list ?? []).map((m) => m.ManifestName);

export const harvestJobHandlers: {
  CreateHarvestJob: Handler<'CreateHarvestJob'>;
  GetHarvestJob: Handler<'GetHarvestJob'>;
  ListHarvestJobs: Handler<'ListHarvestJobs'>;
  CancelHarvestJob: Handler<'CancelHarvestJob'>;
} = {
  CreateHarvestJob: async (input, { scope, services }) => {
    checkTags(input.Tags);
    const job = await services.harvestJobs.create(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName, {
      name: input.HarvestJobName,
      description: input.Description,
      manifests: {
        hls: names(input.HarvestedManifests.HlsManifests),
        lowLatencyHls: names(input.HarvestedManifests.LowLatencyHlsManifests),
        dash: names(input.HarvestedManifests.DashManifests),
      },
      startMs: input.ScheduleConfiguration.StartTime.getTime(),
      endMs: input.ScheduleConfiguration.EndTime.getTime(),
      bucket: input.Destination.S3Destination.BucketName,
      destinationPath: input.Destination.S3Destination.DestinationPath,
      tags: input.Tags,
    });
    return wire(job);
  },
  GetHarvestJob: async (input, { scope, services }) =>
    wire(await services.harvestJobs.get(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName, input.HarvestJobName)),
  ListHarvestJobs: async (input, { scope, services }) => {
    const page = await services.harvestJobs.list(
      scope,
      input.ChannelGroupName,
      { channelName: input.ChannelName, endpointName: input.OriginEndpointName, status: input.Status },
      input.MaxResults,
      input.NextToken,
    );
    return { Items: page.items.map(wire), NextToken: page.nextToken };
  },
  CancelHarvestJob: async (input, { scope, services }) => {
    await services.harvestJobs.cancel(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName, input.HarvestJobName, input.ETag);
    return {};
  },
};
