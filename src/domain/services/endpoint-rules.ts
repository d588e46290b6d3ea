/**
 * Cross-field rules of an origin endpoint's configuration (what the model's constraint traits
 * cannot say) and the defaults the service fills in. Pure: configuration in, error or value out.
 */
import { QuotaExceededError, ValidationError } from '../errors.js';
import type { ConfigDoc, ContainerType, InputType, ManifestDoc, OriginEndpointConfig } from '../model.js';
import { ManifestFilterError, parseManifestFilter } from '../../media/manifest-filter.js';

/** Defaults filled in when a request leaves a member out (documented in docs/known-differences.md). */
export const SEGMENT_DEFAULTS: ConfigDoc = { SegmentDurationSeconds: 6, SegmentName: 'segment' };
export const HLS_MANIFEST_DEFAULTS: ConfigDoc = { ManifestWindowSeconds: 60 };
export const DASH_MANIFEST_DEFAULTS: ConfigDoc = {
  ManifestWindowSeconds: 60,
  MinUpdatePeriodSeconds: 2,
  MinBufferTimeSeconds: 5,
  SuggestedPresentationDelaySeconds: 10,
  SegmentTemplateFormat: 'NUMBER_WITH_TIMELINE',
};
export const MSS_MANIFEST_DEFAULTS: ConfigDoc = { ManifestWindowSeconds: 60, ManifestLayout: 'FULL' };

function ms(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' || typeof v === 'number') return new Date(v).getTime();
  return undefined;
}

function checkFilter(where: string, f: ConfigDoc | undefined): void {
  if (!f) return;
  const start = ms(f['Start']);
  const end = ms(f['End']);
  const clip = ms(f['ClipStartTime']);
  if (clip !== undefined && (start !== undefined || end !== undefined)) {
    throw new ValidationError('CLIP_START_TIME_WITH_START_OR_END', `${where}.FilterConfiguration sets ClipStartTime together with Start or End; use either ClipStartTime or Start/End.`);
  }
  if (start !== undefined && end !== undefined && end <= start) {
    throw new ValidationError('END_TIME_EARLIER_THAN_START_TIME', `${where}.FilterConfiguration.End must be later than its Start.`);
  }
  const filter = f['ManifestFilter'];
  if (typeof filter === 'string') {
    try {
      parseManifestFilter(filter);
    } catch (err) {
      if (!(err instanceof ManifestFilterError)) throw err;
      throw new ValidationError('INVALID_MANIFEST_FILTER', `${where}.FilterConfiguration.ManifestFilter is invalid: ${err.message}.`);
    }
  }
}

function checkStartTag(where: string, m: ManifestDoc): void {
  const tag = m['StartTag'] as ConfigDoc | undefined;
  const offset = tag?.['TimeOffset'];
  const window = (m['ManifestWindowSeconds'] as number | undefined) ?? 60;
  if (typeof offset === 'number' && Math.abs(offset) > window) {
    throw new ValidationError('START_TAG_TIME_OFFSET_INVALID', `${where}.StartTag.TimeOffset (${offset}) must lie within the manifest window (±${window} seconds).`);
  }
}

function checkDash(where: string, m: ManifestDoc): void {
  const timing = m['UtcTiming'] as ConfigDoc | undefined;
  if (timing) {
    const mode = timing['TimingMode'];
    const source = timing['TimingSource'];
    if (mode === 'UTC_DIRECT' && source !== undefined) {
      throw new ValidationError('DIRECT_MODE_WITH_TIMING_SOURCE', `${where}.UtcTiming: TimingSource cannot be set when TimingMode is UTC_DIRECT.`);
    }
    if ((mode === 'HTTP_HEAD' || mode === 'HTTP_ISO' || mode === 'HTTP_XSDATE') && source === undefined) {
      throw new ValidationError('TIMING_SOURCE_MISSING', `${where}.UtcTiming: TimingMode ${String(mode)} needs a TimingSource URL.`);
    }
  }
  const triggers = m['PeriodTriggers'];
  if (Array.isArray(triggers) && triggers.includes('NONE') && triggers.length > 1) {
    throw new ValidationError('PERIOD_TRIGGERS_NONE_SPECIFIED_WITH_ADDITIONAL_VALUES', `${where}.PeriodTriggers lists NONE together with other triggers; use NONE alone.`);
  }
  const profiles = m['Profiles'];
  const dvb = Array.isArray(profiles) && profiles.includes('DVB_DASH');
  if (!dvb && m['DvbSettings'] !== undefined) {
    throw new ValidationError('DASH_DVB_ATTRIBUTES_WITHOUT_DVB_DASH_PROFILE', `${where}.DvbSettings needs the DVB_DASH profile in Profiles.`);
  }
}

function checkEncryption(container: ContainerType, segment: ConfigDoc): void {
  const enc = segment['Encryption'] as ConfigDoc | undefined;
  const method = enc?.['EncryptionMethod'] as ConfigDoc | undefined;
  if (method) {
    const expected = container === 'TS' ? 'TsEncryptionMethod' : container === 'CMAF' ? 'CmafEncryptionMethod' : 'IsmEncryptionMethod';
    const given = Object.keys(method).filter((k) => method[k] !== undefined);
    if (given.length !== 1 || given[0] !== expected) {
      throw new ValidationError('ENCRYPTION_METHOD_CONTAINER_TYPE_MISMATCH', `Segment.Encryption.EncryptionMethod must set ${expected} (and only it) for a ${container} endpoint.`);
    }
  }
  if (container === 'ISM' && segment['Scte'] !== undefined) {
    throw new ValidationError('ISM_CONTAINER_TYPE_WITH_SCTE', 'Segment.Scte is not supported on ISM endpoints.');
  }
}

export interface EndpointRuleContext {
  readonly channelInputType: InputType;
  readonly manifestsPerEndpoint: number;
}

/** Validates a requested configuration and returns it with the service defaults filled in. */
export function normalizeEndpointConfig(config: OriginEndpointConfig, ctx: EndpointRuleContext): OriginEndpointConfig {
  const c = config.containerType;
  const lists = {
    HlsManifests: config.hlsManifests,
    LowLatencyHlsManifests: config.lowLatencyHlsManifests,
    DashManifests: config.dashManifests,
    MssManifests: config.mssManifests,
  };
  if (c === 'ISM') {
    if (lists.HlsManifests.length) throw new ValidationError('ISM_CONTAINER_TYPE_WITH_HLS_MANIFEST', 'ISM endpoints serve MSS manifests only: remove HlsManifests.');
    if (lists.LowLatencyHlsManifests.length) throw new ValidationError('ISM_CONTAINER_TYPE_WITH_LL_HLS_MANIFEST', 'ISM endpoints serve MSS manifests only: remove LowLatencyHlsManifests.');
    if (lists.DashManifests.length) throw new ValidationError('ISM_CONTAINER_TYPE_WITH_DASH_MANIFEST', 'ISM endpoints serve MSS manifests only: remove DashManifests.');
  } else if (lists.MssManifests.length) {
    throw new ValidationError(c === 'TS' ? 'TS_CONTAINER_TYPE_WITH_MSS_MANIFEST' : 'CMAF_CONTAINER_TYPE_WITH_MSS_MANIFEST', `MSS manifests need an ISM endpoint; this endpoint's ContainerType is ${c}.`);
  }
  if (c === 'TS' && lists.DashManifests.length) {
    throw new ValidationError('TS_CONTAINER_TYPE_WITH_DASH_MANIFEST', 'DASH manifests need a CMAF endpoint; this endpoint\'s ContainerType is TS. Remove DashManifests or use ContainerType CMAF.');
  }
  const total = Object.values(lists).reduce((n, l) => n + l.length, 0);
  if (total > ctx.manifestsPerEndpoint) {
    throw new QuotaExceededError(`An origin endpoint can have at most ${ctx.manifestsPerEndpoint} manifests; this request has ${total}. Remove some, or raise the quota (--quota-manifests-per-endpoint).`);
  }
  const seen = new Map<string, string>();
  const claim = (name: string, where: string): void => {
    const other = seen.get(name);
    if (other !== undefined) {
      throw new ValidationError('MANIFEST_NAME_COLLISION', `The manifest name ${name} is used by both ${other} and ${where}. Manifest and child manifest names must be unique within an origin endpoint.`);
    }
    seen.set(name, where);
  };
  for (const [listName, list] of Object.entries(lists)) {
    list.forEach((m, i) => {
      const where = `${listName}[${i}]`;
      claim(m.ManifestName, `${where}.ManifestName`);
      if (m.ChildManifestName !== undefined && m.ChildManifestName !== m.ManifestName) claim(m.ChildManifestName, `${where}.ChildManifestName`);
      checkFilter(where, m.FilterConfiguration);
      if (listName !== 'MssManifests') checkStartTag(where, m);
      if (listName === 'DashManifests') checkDash(where, m);
    });
  }
  const conditions = config.forceEndpointErrorConfiguration?.['EndpointErrorConditions'];
  if (Array.isArray(conditions) && conditions.length > 0 && ctx.channelInputType !== 'CMAF') {
    throw new ValidationError('ONLY_CMAF_INPUT_TYPE_ALLOW_FORCE_ENDPOINT_ERROR_CONFIGURATION', 'ForceEndpointErrorConfiguration needs a channel whose InputType is CMAF.');
  }
  const segment = { ...SEGMENT_DEFAULTS, ...config.segment };
  checkEncryption(c, segment);
  const withDefaults = (defaults: ConfigDoc) => (m: ManifestDoc): ManifestDoc => ({ ...defaults, ...m });
  return {
    ...config,
    segment,
    hlsManifests: config.hlsManifests.map(withDefaults(HLS_MANIFEST_DEFAULTS)),
    lowLatencyHlsManifests: config.lowLatencyHlsManifests.map(withDefaults(HLS_MANIFEST_DEFAULTS)),
    dashManifests: config.dashManifests.map(withDefaults(DASH_MANIFEST_DEFAULTS)),
    mssManifests: config.mssManifests.map(withDefaults(MSS_MANIFEST_DEFAULTS)),
  };
}
