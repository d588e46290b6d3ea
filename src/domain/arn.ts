/**
 * Builds and reads MediaPackage v2 ARNs (model `aws.api#arn` templates). Pure string work.
 */
import type { ResourceKind, Scope } from './ports.js';

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function prefix(scope: Scope): string {
  return `arn:${partitionOf(scope.region)}:mediapackagev2:${scope.region}:${scope.accountId}:`;
}

export const arns = {
  group: (s: Scope, g: string) => `${prefix(s)}channelGroup/${g}`,
  channel: (s: Scope, g: string, c: string) => `${prefix(s)}channelGroup/${g}/channel/${c}`,
  endpoint: (s: Scope, g: string, c: string, e: string) => `${prefix(s)}channelGroup/${g}/channel/${c}/originEndpoint/${e}`,
  harvestJob: (s: Scope, g: string, c: string, e: string, j: string) =>
    `${prefix(s)}channelGroup/${g}/channel/${c}/originEndpoint/${e}/harvestJob/${j}`,
};

export interface ParsedArn {
  readonly scope: Scope;
  readonly kind: ResourceKind;
  readonly groupName: string;
  readonly channelName?: string;
  readonly endpointName?: string;
  readonly jobName?: string;
}

const NAME = '[a-zA-Z0-9_-]{1,256}';
const ARN_RE = new RegExp(
  `^arn:(aws|aws-cn|aws-us-gov):mediapackagev2:([a-z0-9-]+):(\\d{12}):channelGroup/(${NAME})` +
    `(?:/channel/(${NAME})(?:/originEndpoint/(${NAME})(?:/harvestJob/(${NAME}))?)?)?$`,
);

/** Parses a resource ARN; undefined when it is not a MediaPackage v2 resource ARN. */
export function parseArn(arn: string): ParsedArn | undefined {
  const m = ARN_RE.exec(arn);
  if (!m) return undefined;
  const [, , region, accountId, g, c, e, j] = m;
  if (region === undefined || accountId === undefined || g === undefined) return undefined;
  const scope = { region, accountId };
  if (j !== undefined && c !== undefined && e !== undefined)
    return { scope, kind: 'harvestJob', groupName: g, channelName: c, endpointName: e, jobName: j };
  if (e !== undefined && c !== undefined) return { scope, kind: 'originEndpoint', groupName: g, channelName: c, endpointName: e };
  if (c !== undefined) return { scope, kind: 'channel', groupName: g, channelName: c };
  return { scope, kind: 'channelGroup', groupName: g };
}
