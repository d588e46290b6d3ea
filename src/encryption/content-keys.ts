/**
 * Content keys per origin endpoint and key period: derived key ids, fetched once from the
 * endpoint's SPEKE v2 key provider, kept in the metadata store (so every node, restart and harvest
 * encrypts identically), cached in memory, and fetched ahead of a rotation. A key that cannot be
 * had is a KeyUnavailableError carrying the provider's reason; a key is never logged.
 */
import { createHash } from 'node:crypto';
import type { ConfigDoc, OriginEndpoint } from '../domain/model.js';
import type { MetadataStore } from '../domain/ports.js';
import { cpixRequest, keySlots, parseCpixResponse, slotFor, CpixError, type CpixKey, type DrmSignaling, type DrmSystemName, type KeySlot, type SpekeVersion } from './cpix.js';
import { requestKeys, SpekeError, SpekeVersions, type SpekeClientOptions } from './speke-client.js';

export type EncryptionMethodName = 'AES_128' | 'SAMPLE_AES' | 'CENC' | 'CBCS';

/** What an endpoint's Segment.Encryption asks for, read from its stored configuration. */
export interface EndpointEncryption {
  readonly method: EncryptionMethodName;
  readonly url: string;
  readonly resourceId: string;
  readonly systems: readonly DrmSystemName[];
  readonly slots: readonly KeySlot[];
  /** Key period length in ms; undefined: one key period for ever. */
  readonly rotationMs: number | undefined;
  /** ConstantInitializationVector, 16 bytes. */
  readonly constantIv: Buffer | undefined;
  /** CmafExcludeSegmentDrmMetadata: no pssh boxes in fragments. */
  readonly excludeSegmentDrm: boolean;
}

/** The endpoint's encryption settings, or undefined for a clear endpoint. */
const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);

export function encryptionOf(endpoint: OriginEndpoint): EndpointEncryption | undefined {
  const enc = endpoint.segment['Encryption'] as ConfigDoc | undefined;
  if (!enc) return undefined;
  const m = (enc['EncryptionMethod'] ?? {}) as ConfigDoc;
  const method = (m['TsEncryptionMethod'] ?? m['CmafEncryptionMethod'] ?? m['IsmEncryptionMethod']) as EncryptionMethodName;
  const sp = (enc['SpekeKeyProvider'] ?? {}) as ConfigDoc;
  const contract = (sp['EncryptionContractConfiguration'] ?? {}) as ConfigDoc;
  const rotation = Number(enc['KeyRotationIntervalSeconds'] ?? 0);
  const ivText = enc['ConstantInitializationVector'];
  const iv = typeof ivText === 'string' && /^[0-9a-fA-F]{32}$/.test(ivText) ? Buffer.from(ivText, 'hex') : undefined;
  return {
    method,
    url: str(sp['Url'], ''),
    resourceId: str(sp['ResourceId'], ''),
    systems: ((sp['DrmSystems'] as string[] | undefined) ?? []) as DrmSystemName[],
    slots: keySlots(str(contract['PresetSpeke20Video'], 'SHARED'), str(contract['PresetSpeke20Audio'], 'SHARED')),
    rotationMs: rotation > 0 ? rotation * 1000 : undefined,
    constantIv: iv,
    excludeSegmentDrm: enc['CmafExcludeSegmentDrmMetadata'] === true,
  };
}

/** The content key of one slot in one key period, with what the provider said for each DRM system. */
export interface ContentKey {
  readonly trackType: string;
  readonly kid: string;
  readonly kidBytes: Buffer;
  readonly key: Buffer;
  readonly explicitIv: Buffer | undefined;
  readonly drm: Partial<Record<DrmSystemName, DrmSignaling>>;
}

export interface PeriodKeys {
  readonly period: number;
  /** By intended track type. */
  readonly keys: ReadonlyMap<string, ContentKey>;
}

/** A key an encrypted endpoint needs and Packhouse cannot get: served as 503 with this message. */
export class KeyUnavailableError extends Error {}

export interface KeyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A key id (UUID form) derived from what identifies the key, so that every node asks for the same one. */
export function deriveKid(endpointArn: string, resourceId: string, trackType: string, period: number): string {
  const h = createHash('sha256').update(`packhouse-kid\0${endpointArn}\0${resourceId}\0${trackType}\0${period}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8: a custom (hash-derived) UUID
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const kidBytes = (kid: string) => Buffer.from(kid.replace(/-/g, ''), 'hex');

interface StoredDoc {
  readonly period: number;
  readonly keys: { trackType: string; kid: string; key: string; iv?: string | undefined; drm: Record<string, { pssh?: string; cpd?: string; hlsMedia?: string; hlsMaster?: string; uri?: string }> }[];
}

function toDoc(period: number, slots: readonly KeySlot[], got: readonly CpixKey[]): StoredDoc {
  return {
    period,
    keys: got.map((k, i) => ({
      trackType: slots[i]!.trackType,
      kid: k.kid,
      key: k.key.toString('base64'),
      ...(k.explicitIv ? { iv: k.explicitIv.toString('base64') } : {}),
      drm: Object.fromEntries(
        Object.entries(k.drm).map(([name, s]) => [
          name,
          {
            ...(s.pssh ? { pssh: s.pssh.toString('base64') } : {}),
            ...(s.contentProtectionData ? { cpd: s.contentProtectionData } : {}),
            ...(s.hlsMedia ? { hlsMedia: s.hlsMedia } : {}),
            ...(s.hlsMaster ? { hlsMaster: s.hlsMaster } : {}),
            ...(s.uriExtXKey ? { uri: s.uriExtXKey } : {}),
          },
        ]),
      ),
    })),
  };
}

function fromDoc(doc: StoredDoc): PeriodKeys {
  const keys = new Map<string, ContentKey>();
  for (const k of doc.keys) {
    keys.set(k.trackType, {
      trackType: k.trackType,
      kid: k.kid,
      kidBytes: kidBytes(k.kid),
      key: Buffer.from(k.key, 'base64'),
      explicitIv: k.iv ? Buffer.from(k.iv, 'base64') : undefined,
      drm: Object.fromEntries(
        Object.entries(k.drm).map(([name, s]) => [
          name,
          { pssh: s.pssh ? Buffer.from(s.pssh, 'base64') : undefined, contentProtectionData: s.cpd, hlsMedia: s.hlsMedia, hlsMaster: s.hlsMaster, uriExtXKey: s.uri },
        ]),
      ),
    });
  }
  return { period: doc.period, keys };
}

export interface ContentKeysOptions {
  readonly store: MetadataStore;
  readonly logger: KeyLogger;
  readonly speke: SpekeClientOptions;
  /** Period documents kept in memory. */
  readonly cacheEntries?: number | undefined;
  /** After a failed fetch, requests for the same keys are answered with its reason for this long before the provider is asked again. */
  readonly retryAfterMs?: number | undefined;
  readonly now?: () => number;
}

export class ContentKeys {
  private readonly cache = new Map<string, PeriodKeys>();
  /** The endpoint ARN of each cached id (for forget). */
  private readonly arnOf = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<PeriodKeys>>();
  private readonly failures = new Map<string, { untilMs: number; message: string }>();
  /** Providers that answered 'Unsupported SPEKE version' to v2.1 (asked with v2.0 from then on). */
  private readonly versions = new SpekeVersions();

  constructor(private readonly o: ContentKeysOptions) {}

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** The key period a wall-clock instant falls in. */
  static periodAt(enc: EndpointEncryption, ms: number): number {
    return enc.rotationMs ? Math.floor(ms / enc.rotationMs) : 0;
  }

  /**
   * The content key that protects a track in a period; undefined when the contract leaves the
   * track clear. `atMs`: the media time that needs it (a segment's start), which decides whether
   * the next period's keys are fetched ahead (see periodKeys).
   */
  async keyFor(endpoint: OriginEndpoint, enc: EndpointEncryption, period: number, track: Parameters<typeof slotFor>[1], atMs?: number): Promise<ContentKey | undefined> {
    const slot = slotFor(enc.slots, track);
    if (!slot) return undefined;
    const keys = await this.periodKeys(endpoint, enc, period, atMs);
    return keys.keys.get(slot.trackType);
  }

  /**
   * Every key of a period (fetched from the provider once, then from the store or memory). With
   * rotation, a lookup for media at `atMs` (default: the server's clock) in the later part of its
   * period also starts fetching the next period's keys, so that they are stored before the first
   * segment of that period is asked for. Media times follow the encoder's clock (the channel's
   * clock), which is what decides the key period of a segment, so the prefetch follows it too.
   */
  async periodKeys(endpoint: OriginEndpoint, enc: EndpointEncryption, period: number, atMs?: number): Promise<PeriodKeys> {
    const id = this.idOf(endpoint, enc, period);
    const hit = this.cache.get(id);
    if (enc.rotationMs) this.prefetchNext(endpoint, enc, period, atMs ?? this.now());
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    let p = this.inflight.get(id);
    if (!p) {
      p = this.load(id, endpoint, enc, period).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /**
   * Fetches the next period's keys once media at `atMs`, in this period, is past the period's
   * middle (at least a minute before its end). A failure is logged by load and remembered; the
   * lookup that needs the keys later answers it.
   */
  private prefetchNext(endpoint: OriginEndpoint, enc: EndpointEncryption, period: number, atMs: number): void {
    const len = enc.rotationMs!;
    const nextStart = (period + 1) * len;
    if (atMs < nextStart - Math.max(len / 2, 60_000) || atMs >= nextStart) return;
    const id = this.idOf(endpoint, enc, period + 1);
    if (this.cache.has(id) || this.inflight.has(id)) return;
    this.periodKeys(endpoint, enc, period + 1, nextStart).catch(() => undefined);
  }

  private idOf(endpoint: OriginEndpoint, enc: EndpointEncryption, period: number): string {
    const what = JSON.stringify([endpoint.arn, enc.url, enc.resourceId, enc.method, [...enc.systems].sort(), enc.slots.map((s) => s.trackType), enc.constantIv?.toString('hex') ?? '', period]);
    return createHash('sha256').update(what).digest('hex');
  }

  /**
   * Drops what this node holds for a deleted origin endpoint (its keys in memory, a remembered
   * provider failure), so that an endpoint created again under the same name asks its provider
   * afresh here as on every other node (its stored keys went with it: MetadataStore.deleteResource).
   */
  forget(endpointArn: string): void {
    for (const [id, arn] of this.arnOf) {
      if (arn !== endpointArn) continue;
      this.cache.delete(id);
      this.failures.delete(id);
      this.arnOf.delete(id);
    }
  }

  private remember(id: string, keys: PeriodKeys, endpointArn: string): PeriodKeys {
    this.cache.set(id, keys);
    this.arnOf.set(id, endpointArn);
    const max = this.o.cacheEntries ?? 1000;
    while (this.cache.size > max) {
      const oldest = this.cache.keys().next().value!;
      this.cache.delete(oldest);
      this.arnOf.delete(oldest);
    }
    return keys;
  }

  private async load(id: string, endpoint: OriginEndpoint, enc: EndpointEncryption, period: number): Promise<PeriodKeys> {
    const stored = await this.o.store.getContentKeys(id);
    if (stored) return this.remember(id, fromDoc(JSON.parse(stored) as StoredDoc), endpoint.arn);
    const failed = this.failures.get(id);
    if (failed && failed.untilMs > this.now()) throw new KeyUnavailableError(failed.message);
    const kids = enc.slots.map((s) => deriveKid(endpoint.arn, enc.resourceId, s.trackType, period));
    const scheme = enc.method === 'CENC' ? 'cenc' : enc.method === 'CBCS' || enc.method === 'SAMPLE_AES' ? 'cbcs' : undefined;
    const body = (spekeVersion: SpekeVersion) =>
      cpixRequest({
        spekeVersion,
        contentId: enc.resourceId,
        scheme,
        keys: enc.slots.map((slot, i) => ({ kid: kids[i]!, slot, period: enc.rotationMs ? period : undefined })),
        systems: enc.systems,
        explicitIv: enc.method === 'AES_128' && enc.constantIv ? enc.constantIv.toString('base64') : undefined,
        periodMs: enc.rotationMs,
      });
    const started = Date.now();
    let got: CpixKey[];
    let spekeVersion: SpekeVersion;
    try {
      const answer = await requestKeys(enc.url, body, this.o.speke, this.versions);
      spekeVersion = answer.version;
      got = parseCpixResponse(answer.answer, { kids, systems: enc.systems });
    } catch (err) {
      if (!(err instanceof SpekeError || err instanceof CpixError)) throw err;
      const message = `The content keys of origin endpoint ${endpoint.name} (key period ${period}) could not be had from its SPEKE key provider: ${err.message}. Nothing is served unencrypted; the endpoint answers 503 until the provider answers.`;
      this.failures.set(id, { untilMs: this.now() + (this.o.retryAfterMs ?? 2000), message });
      this.o.logger.warn({ endpoint: endpoint.arn, keyPeriod: period, provider: enc.url.replace(/[?#].*$/, ''), reason: err.message }, 'encryption: key provider request failed');
      throw new KeyUnavailableError(message);
    }
    this.failures.delete(id);
    const doc = JSON.stringify(toDoc(period, enc.slots, got));
    const kept = await this.o.store.putContentKeys(id, endpoint.arn, doc, this.now());
    this.o.logger.info({ endpoint: endpoint.arn, keyPeriod: period, kids, systems: enc.systems, spekeVersion, ms: Date.now() - started }, 'encryption: content keys fetched from the key provider');
    return this.remember(id, fromDoc(JSON.parse(kept) as StoredDoc), endpoint.arn);
  }
}
