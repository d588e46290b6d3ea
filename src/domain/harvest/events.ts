/**
 * The EventBridge-shaped harvest-job event (HARVEST.md §10), one outbox delivery per webhook.
 * Sent for COMPLETED and FAILED only.
 */
import { spanIsShort, type HarvestJob } from '../model.js';
import type { OutboxEvent, Scope } from '../ports.js';

const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function harvestEventPayload(job: HarvestJob, scope: Scope, nowMs: number, id: string): object {
  const names = (list: readonly string[]) => list.map((manifestName) => ({ manifestName }));
  return {
    version: '0',
    id,
    'detail-type': 'MediaPackageV2 HarvestJob Notification',
    source: 'aws.mediapackagev2',
    account: scope.accountId,
    time: isoSeconds(nowMs),
    region: scope.region,
    resources: [job.arn],
    detail: {
      harvestJob: {
        harvestJobName: job.name,
        arn: job.arn,
        status: job.status,
        channelGroupName: job.groupName,
        channelName: job.channelName,
        originEndpointName: job.endpointName,
        scheduleConfiguration: { startTime: isoSeconds(job.startMs), endTime: isoSeconds(job.endMs) },
        destination: { s3Destination: { bucketName: job.bucket, destinationPath: job.destinationPath } },
        harvestedManifests: {
          hlsManifests: names(job.manifests.hls),
          dashManifests: names(job.manifests.dash),
          lowLatencyHlsManifests: names(job.manifests.lowLatencyHls),
        },
        message: job.status === 'COMPLETED' ? completedMessage(job) : (job.errorMessage ?? 'The harvest job failed.'),
        // Packhouse's addition when a harvest is short of its window (the stream stopped inside it):
        // the span actually harvested (start of the first segment, end of the last). A whole
        // harvest's event is exactly AWS's.
        ...(job.status === 'COMPLETED' && job.harvested && spanIsShort(job, job.harvested)
          ? { harvestedSpan: { startTime: new Date(job.harvested.startMs).toISOString(), endTime: new Date(job.harvested.endMs).toISOString() } }
          : {}),
      },
    },
  };
}

/** AWS's message; when the stream stopped inside the window, what was harvested of it. */
function completedMessage(job: HarvestJob): string {
  if (!job.harvested || !spanIsShort(job, job.harvested)) return 'Your harvest job is complete.';
  return (
    `Your harvest job is complete. The window asked for was ${isoSeconds(job.startMs)} to ${isoSeconds(job.endMs)}; ` +
    `the stream covered only ${new Date(job.harvested.startMs).toISOString()} to ${new Date(job.harvested.endMs).toISOString()} of it, which was harvested.`
  );
}

export function harvestEvents(job: HarvestJob, scope: Scope, nowMs: number, webhooks: readonly string[], id: string): OutboxEvent[] {
  if (job.status !== 'COMPLETED' && job.status !== 'FAILED') return [];
  const payload = JSON.stringify(harvestEventPayload(job, scope, nowMs, id));
  return webhooks.map((target) => ({ id, target, payload, attempts: 0, nextMs: nowMs }));
}
