/**
 * The resources Packhouse keeps, as the domain sees them. Top-level fields are the domain's own;
 * packaging configuration (segments, manifests, filters) is kept in the model's own shape, because
 * it is data the service stores and echoes rather than interprets here. Times are epoch milliseconds.
 */

export type Tags = Record<string, string>;

/** A configuration sub-document in the MediaPackage model's shape (member names as modelled). */
export type ConfigDoc = { readonly [member: string]: unknown };

export interface ChannelGroup {
  readonly name: string;
  readonly arn: string;
  readonly description?: string | undefined;
  readonly egressDomain: string;
  readonly createdMs: number;
  readonly modifiedMs: number;
  readonly etag: string;
  readonly tags: Tags;
}

export type InputType = 'HLS' | 'CMAF';

export interface Channel {
  readonly groupName: string;
  readonly name: string;
  readonly arn: string;
  readonly description?: string | undefined;
  readonly inputType: InputType;
  readonly inputSwitchConfiguration?: ConfigDoc | undefined;
  readonly outputHeaderConfiguration?: ConfigDoc | undefined;
  readonly createdMs: number;
  readonly modifiedMs: number;
  readonly resetMs?: number | undefined;
  readonly etag: string;
  readonly tags: Tags;
  readonly policy?: string | undefined;
}

export type ContainerType = 'TS' | 'CMAF' | 'ISM';

/** A manifest configuration as stored (model shape, plus the fields the domain reads). */
export interface ManifestDoc extends ConfigDoc {
  readonly ManifestName: string;
  readonly ChildManifestName?: string;
  readonly FilterConfiguration?: ConfigDoc;
}

export interface OriginEndpointConfig {
  readonly containerType: ContainerType;
  readonly description?: string | undefined;
  readonly segment: ConfigDoc;
  readonly startoverWindowSeconds?: number | undefined;
  readonly hlsManifests: readonly ManifestDoc[];
  readonly lowLatencyHlsManifests: readonly ManifestDoc[];
  readonly dashManifests: readonly ManifestDoc[];
  readonly mssManifests: readonly ManifestDoc[];
  readonly forceEndpointErrorConfiguration?: ConfigDoc | undefined;
  /** Members newer than the Smithy model (botocore's UriSeparator, ...), kept and echoed. */
  readonly extra: ConfigDoc;
}

export interface OriginEndpoint extends OriginEndpointConfig {
  readonly groupName: string;
  readonly channelName: string;
  readonly name: string;
  readonly arn: string;
  readonly createdMs: number;
  readonly modifiedMs: number;
  readonly resetMs?: number | undefined;
  readonly etag: string;
  readonly tags: Tags;
  readonly policy?: string | undefined;
  readonly cdnAuthConfiguration?: ConfigDoc | undefined;
}

export type HarvestJobStatus = 'QUEUED' | 'IN_PROGRESS' | 'CANCELLED' | 'COMPLETED' | 'FAILED';
export const ACTIVE_HARVEST_STATUSES: readonly HarvestJobStatus[] = ['QUEUED', 'IN_PROGRESS'];

export interface HarvestedManifestLists {
  readonly hls: readonly string[];
  readonly lowLatencyHls: readonly string[];
  readonly dash: readonly string[];
}

export interface HarvestJob {
  readonly groupName: string;
  readonly channelName: string;
  readonly endpointName: string;
  readonly name: string;
  readonly arn: string;
  readonly description?: string | undefined;
  readonly manifests: HarvestedManifestLists;
  readonly startMs: number;
  readonly endMs: number;
  readonly bucket: string;
  readonly destinationPath: string;
  readonly createdMs: number;
  readonly modifiedMs: number;
  readonly status: HarvestJobStatus;
  readonly errorMessage?: string | undefined;
  readonly etag: string;
  readonly tags: Tags;
  /** Which worker runs the job, until when (IN_PROGRESS only); another may take over after. */
  readonly lease?: { readonly owner: string; readonly untilMs: number } | undefined;
  readonly progress?: HarvestProgress | undefined;
  /**
   * COMPLETED only: the span actually harvested (start of its first segment, end of its last, on
   * the channel's clock). Shorter than the window when the stream stopped inside it.
   */
  readonly harvested?: HarvestedSpan | undefined;
}

export interface HarvestedSpan {
  readonly startMs: number;
  readonly endMs: number;
}

/** Whether a harvested span falls short of its job's window (the stream stopped, or began late). */
export function spanIsShort(job: Pick<HarvestJob, 'startMs' | 'endMs'>, span: HarvestedSpan): boolean {
  return span.startMs > job.startMs || span.endMs < job.endMs;
}

export interface HarvestProgress {
  readonly objectsWritten: number;
  readonly objectsTotal: number;
  readonly bytesWritten: number;
  readonly bytesTotal: number;
}
