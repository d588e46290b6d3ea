/**
 * Origin-endpoint operations (CRUD, list, reset, endpoint policy): wire shapes in and out.
 * Packaging configuration passes through in the model's own shape; manifest URLs are added here.
 */
import type { ConfigDoc, ManifestDoc, OriginEndpoint, OriginEndpointConfig } from '../../domain/model.js';
import type { Services } from '../../domain/services/index.js';
import type { ManifestKind } from '../../domain/services/origin-endpoint-service.js';
import { checkTags } from '../../domain/services/tag-service.js';
import type { CdnAuthConfiguration, CreateOriginEndpointRequest, GetOriginEndpointResponse } from '../generated/types.js';
import { date, optionalDate, type Handler } from './types.js';

type ConfigInput = Pick<
  CreateOriginEndpointRequest,
  'ContainerType' | 'Segment' | 'Description' | 'StartoverWindowSeconds' | 'HlsManifests' | 'LowLatencyHlsManifests' | 'DashManifests' | 'MssManifests' | 'ForceEndpointErrorConfiguration' | 'UriSeparator'
>;

const docs = (list: readonly object[] | undefined): ManifestDoc[] => (list ?? []) as unknown as ManifestDoc[];

function config(input: ConfigInput): OriginEndpointConfig {
  return {
    containerType: input.ContainerType,
    description: input.Description,
    segment: (input.Segment ?? {}) as ConfigDoc,
    startoverWindowSeconds: input.StartoverWindowSeconds,
    hlsManifests: docs(input.HlsManifests),
    lowLatencyHlsManifests: docs(input.LowLatencyHlsManifests),
    dashManifests: docs(input.DashManifests),
    mssManifests: docs(input.MssManifests),
    forceEndpointErrorConfiguration: input.ForceEndpointErrorConfiguration as ConfigDoc | undefined,
    extra: input.UriSeparator === undefined ? {} : { UriSeparator: input.UriSeparator },
  };
}

function manifests(services: Services, e: OriginEndpoint, kind: ManifestKind, list: readonly ManifestDoc[]) {
  return list.map((m) => ({ ...m, Url: services.originEndpoints.manifestUrl(e, kind, m.ManifestName) }));
}

function wire(e: OriginEndpoint, services: Services): GetOriginEndpointResponse {
  const out = {
    ...e.extra,
    Arn: e.arn,
    ChannelGroupName: e.groupName,
    ChannelName: e.channelName,
    OriginEndpointName: e.name,
    ContainerType: e.containerType,
    Segment: e.segment,
    CreatedAt: date(e.createdMs),
    ModifiedAt: date(e.modifiedMs),
    ResetAt: optionalDate(e.resetMs),
    Description: e.description,
    StartoverWindowSeconds: e.startoverWindowSeconds,
    HlsManifests: manifests(services, e, 'hls', e.hlsManifests),
    LowLatencyHlsManifests: manifests(services, e, 'lowLatencyHls', e.lowLatencyHlsManifests),
    DashManifests: manifests(services, e, 'dash', e.dashManifests),
    MssManifests: manifests(services, e, 'mss', e.mssManifests),
    ForceEndpointErrorConfiguration: e.forceEndpointErrorConfiguration,
    ETag: e.etag,
    Tags: e.tags,
  };
  // The stored configuration was validated against these very shapes when it was accepted.
  return out;
}

export const originEndpointHandlers: {
  CreateOriginEndpoint: Handler<'CreateOriginEndpoint'>;
  GetOriginEndpoint: Handler<'GetOriginEndpoint'>;
  UpdateOriginEndpoint: Handler<'UpdateOriginEndpoint'>;
  DeleteOriginEndpoint: Handler<'DeleteOriginEndpoint'>;
  ListOriginEndpoints: Handler<'ListOriginEndpoints'>;
  ResetOriginEndpointState: Handler<'ResetOriginEndpointState'>;
  PutOriginEndpointPolicy: Handler<'PutOriginEndpointPolicy'>;
  GetOriginEndpointPolicy: Handler<'GetOriginEndpointPolicy'>;
  DeleteOriginEndpointPolicy: Handler<'DeleteOriginEndpointPolicy'>;
} = {
  CreateOriginEndpoint: async (input, { scope, services }) => {
    checkTags(input.Tags);
    const e = await services.originEndpoints.create(scope, input.ChannelGroupName, input.ChannelName, {
      ...config(input),
      name: input.OriginEndpointName,
      tags: input.Tags,
    });
    return wire(e, services);
  },
  GetOriginEndpoint: async (input, { scope, services }) =>
    wire(await services.originEndpoints.get(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName), services),
  UpdateOriginEndpoint: async (input, { scope, services }) =>
    wire(
      await services.originEndpoints.update(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName, {
        ...config(input),
        etag: input.ETag,
      }),
      services,
    ),
  DeleteOriginEndpoint: async (input, { scope, services }) => {
    await services.originEndpoints.delete(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName);
    return {};
  },
  ListOriginEndpoints: async (input, { scope, services }) => {
    const page = await services.originEndpoints.list(scope, input.ChannelGroupName, input.ChannelName, input.MaxResults, input.NextToken);
    // List items carry a subset of each manifest; the serializer keeps only the modelled members.
    return { Items: page.items.map((e) => wire(e, services)), NextToken: page.nextToken };
  },
  ResetOriginEndpointState: async (input, { scope, services }) => {
    const e = await services.originEndpoints.reset(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName);
    return { ChannelGroupName: e.groupName, ChannelName: e.channelName, OriginEndpointName: e.name, Arn: e.arn, ResetAt: date(e.resetMs ?? e.modifiedMs) };
  },
  PutOriginEndpointPolicy: async (input, { scope, services }) => {
    await services.originEndpoints.putPolicy(
      scope,
      input.ChannelGroupName,
      input.ChannelName,
      input.OriginEndpointName,
      input.Policy,
      input.CdnAuthConfiguration as ConfigDoc | undefined,
    );
    return {};
  },
  GetOriginEndpointPolicy: async (input, { scope, services }) => {
    const p = await services.originEndpoints.getPolicy(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName);
    return {
      ChannelGroupName: input.ChannelGroupName,
      ChannelName: input.ChannelName,
      OriginEndpointName: input.OriginEndpointName,
      Policy: p.policy,
      CdnAuthConfiguration: p.cdnAuthConfiguration as CdnAuthConfiguration | undefined,
    };
  },
  DeleteOriginEndpointPolicy: async (input, { scope, services }) => {
    await services.originEndpoints.deletePolicy(scope, input.ChannelGroupName, input.ChannelName, input.OriginEndpointName);
    return {};
  },
};
