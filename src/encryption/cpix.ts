/**
 * CPIX documents as SPEKE v2.0 (CPIX 2.3) and v2.1 (CPIX 2.4) use them (the AWS "SPEKE API v2"
 * and "SPEKE API v2.1" pages: standard payload components, encryption contract): the request
 * Packhouse posts to a key provider, and reading the provider's answer (content keys in
 * pskc:PlainValue, and each DRM system's signaling).
 */
import { childNamed, childrenNamed, parseXml, xmlEscape, XmlError, type XmlElement } from './xml.js';

export type DrmSystemName = 'WIDEVINE' | 'PLAYREADY' | 'FAIRPLAY' | 'IRDETO' | 'CLEAR_KEY_AES_128';

/** DRM system ids (DASH-IF identifiers; CLEAR_KEY_AES_128 is the id SPEKE gives HLS AES-128). */
export const DRM_SYSTEM_IDS: Readonly<Record<DrmSystemName, string>> = {
  WIDEVINE: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  PLAYREADY: '9a04f079-9840-4286-ab92-e65be0885f95',
  FAIRPLAY: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  IRDETO: '80a6be7e-1448-4c37-9e70-d5aebe04c8d2',
  CLEAR_KEY_AES_128: '3ea8778f-7742-4bf9-b18b-e834b2acbd47',
};

/** One content key of the encryption contract: which tracks it protects. */
export interface KeySlot {
  /** ContentKeyUsageRule@intendedTrackType (e.g. VIDEO, SD, HD, AUDIO, STEREO_AUDIO, ALL). */
  readonly trackType: string;
  readonly video?: { readonly minPixels?: number; readonly maxPixels?: number } | undefined;
  readonly audio?: { readonly minChannels?: number; readonly maxChannels?: number } | undefined;
}

const SD = 1024 * 576;
const HD1 = 1280 * 720;
const HD = 1920 * 1080;
const UHD1 = 4096 * 2160;

const v = (trackType: string, minPixels?: number, maxPixels?: number): KeySlot => ({ trackType, video: { ...(minPixels ? { minPixels } : {}), ...(maxPixels ? { maxPixels } : {}) } });
const a = (trackType: string, minChannels?: number, maxChannels?: number): KeySlot => ({ trackType, audio: { ...(minChannels ? { minChannels } : {}), ...(maxChannels ? { maxChannels } : {}) } });

const VIDEO_PRESETS: Readonly<Record<string, readonly KeySlot[]>> = {
  PRESET_VIDEO_1: [v('VIDEO')],
  PRESET_VIDEO_2: [v('SD', undefined, SD), v('HD', SD + 1)],
  PRESET_VIDEO_3: [v('SD', undefined, SD), v('HD', SD + 1, HD), v('UHD', HD + 1)],
  PRESET_VIDEO_4: [v('SD', undefined, SD), v('HD', SD + 1, HD), v('UHD1', HD + 1, UHD1), v('UHD2', UHD1 + 1)],
  PRESET_VIDEO_5: [v('SD', undefined, SD), v('HD1', SD + 1, HD1), v('HD2', HD1 + 1, HD), v('UHD1', HD + 1, UHD1), v('UHD2', UHD1 + 1)],
  PRESET_VIDEO_6: [v('SD', undefined, SD), v('HD1', SD + 1, HD1), v('HD2', HD1 + 1, HD), v('UHD', HD + 1)],
  PRESET_VIDEO_7: [v('SD+HD1', undefined, HD1), v('HD2', HD1 + 1, HD), v('UHD', HD + 1)],
  PRESET_VIDEO_8: [v('SD+HD1', undefined, HD1), v('HD2', HD1 + 1, HD), v('UHD1', HD + 1, UHD1), v('UHD2', UHD1 + 1)],
};

const AUDIO_PRESETS: Readonly<Record<string, readonly KeySlot[]>> = {
  PRESET_AUDIO_1: [a('AUDIO')],
  PRESET_AUDIO_2: [a('STEREO_AUDIO', undefined, 2), a('MULTICHANNEL_AUDIO', 3)],
  PRESET_AUDIO_3: [a('STEREO_AUDIO', undefined, 2), a('MULTICHANNEL_AUDIO_3_6', 3, 6), a('MULTICHANNEL_AUDIO_7', 7)],
};

/** The content keys an EncryptionContractConfiguration asks for (SHARED: one key for every track). */
export function keySlots(videoPreset: string, audioPreset: string): KeySlot[] {
  if (videoPreset === 'SHARED' || audioPreset === 'SHARED') return [{ trackType: 'ALL', video: {}, audio: {} }];
  return [...(VIDEO_PRESETS[videoPreset] ?? []), ...(AUDIO_PRESETS[audioPreset] ?? [])];
}

/** The slot whose filter a track meets; undefined: the track stays clear (UNENCRYPTED, or no slot fits). */
export function slotFor(slots: readonly KeySlot[], track: { kind: 'video' | 'audio' | 'muxed'; width?: number | undefined; height?: number | undefined; channels?: number | undefined }): KeySlot | undefined {
  if (track.kind === 'audio') {
    const ch = track.channels ?? 2;
    return slots.find((s) => s.audio && ch >= (s.audio.minChannels ?? 0) && ch <= (s.audio.maxChannels ?? Infinity));
  }
  const px = (track.width ?? 0) * (track.height ?? 0);
  return slots.find((s) => s.video && px >= (s.video.minPixels ?? 0) && px <= (s.video.maxPixels ?? Infinity));
}

export interface CpixKeyRequest {
  readonly kid: string;
  readonly slot: KeySlot;
  /** ContentKeyPeriod@index, when keys rotate. */
  readonly period?: number | undefined;
}

/** The SPEKE version a request speaks: 2.1 sends CPIX 2.4, 2.0 sends CPIX 2.3. */
export type SpekeVersion = '2.0' | '2.1';

export const CPIX_VERSION: Readonly<Record<SpekeVersion, string>> = { '2.0': '2.3', '2.1': '2.4' };

export interface CpixRequest {
  /** Default 2.0. */
  readonly spekeVersion?: SpekeVersion | undefined;
  readonly contentId: string;
  /** commonEncryptionScheme of every key: cenc, cbcs, or (TS) cbcs for SAMPLE-AES and cbc1 for AES-128 is not asked; omitted there. */
  readonly scheme: 'cenc' | 'cbcs' | undefined;
  readonly keys: readonly CpixKeyRequest[];
  readonly systems: readonly DrmSystemName[];
  /** Explicit IV to ask for (AES-128 with ConstantInitializationVector), base64. */
  readonly explicitIv?: string | undefined;
  /**
   * Key period length in ms (KeyRotationIntervalSeconds): with SPEKE 2.1 a ContentKeyPeriod
   * also carries the wall-clock times it covers (@start/@end, live), index × length on.
   */
  readonly periodMs?: number | undefined;
}

/** xs:dateTime of an instant, without a zero fraction. */
const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

const periodId = (index: number) => `keyPeriod_${index}`;

/** The CPIX document of a SPEKE key request: CPIX 2.3 for SPEKE v2.0, CPIX 2.4 for v2.1. */
export function cpixRequest(r: CpixRequest): string {
  const x = xmlEscape;
  const speke = r.spekeVersion ?? '2.0';
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" contentId="${x(r.contentId)}" version="${CPIX_VERSION[speke]}">`,
    '<cpix:ContentKeyList>',
    ...r.keys.map((k) => `<cpix:ContentKey kid="${k.kid}"${r.scheme ? ` commonEncryptionScheme="${r.scheme}"` : ''}${r.explicitIv ? ` explicitIV="${r.explicitIv}"` : ''}/>`),
    '</cpix:ContentKeyList>',
    '<cpix:DRMSystemList>',
  ];
  for (const k of r.keys) {
    for (const sys of r.systems) {
      const hls = sys === 'FAIRPLAY' || sys === 'CLEAR_KEY_AES_128' || r.scheme !== undefined;
      lines.push(
        `<cpix:DRMSystem kid="${k.kid}" systemId="${DRM_SYSTEM_IDS[sys]}">`,
        ...(sys === 'WIDEVINE' || sys === 'PLAYREADY' || sys === 'IRDETO' ? ['<cpix:PSSH/>', '<cpix:ContentProtectionData/>'] : []),
        ...(hls ? ['<cpix:HLSSignalingData playlist="media"/>', '<cpix:HLSSignalingData playlist="master"/>'] : []),
        ...(sys === 'FAIRPLAY' || sys === 'CLEAR_KEY_AES_128' ? ['<cpix:URIExtXKey/>'] : []),
        '</cpix:DRMSystem>',
      );
    }
  }
  lines.push('</cpix:DRMSystemList>');
  const periods = [...new Set(r.keys.flatMap((k) => (k.period === undefined ? [] : [k.period])))];
  if (periods.length) {
    const span = (p: number) => (speke === '2.1' && r.periodMs ? ` start="${isoTime(p * r.periodMs)}" end="${isoTime((p + 1) * r.periodMs)}"` : '');
    lines.push('<cpix:ContentKeyPeriodList>', ...periods.map((p) => `<cpix:ContentKeyPeriod id="${periodId(p)}" index="${p}"${span(p)}/>`), '</cpix:ContentKeyPeriodList>');
  }
  lines.push('<cpix:ContentKeyUsageRuleList>');
  for (const k of r.keys) {
    const { video, audio } = k.slot;
    const attrs = (o: Record<string, number | undefined>) => Object.entries(o).flatMap(([n, val]) => (val === undefined ? [] : [` ${n}="${val}"`])).join('');
    lines.push(
      `<cpix:ContentKeyUsageRule kid="${k.kid}" intendedTrackType="${x(k.slot.trackType)}">`,
      ...(k.period !== undefined ? [`<cpix:KeyPeriodFilter periodId="${periodId(k.period)}"/>`] : []),
      ...(video ? [`<cpix:VideoFilter${attrs({ minPixels: video.minPixels, maxPixels: video.maxPixels })}/>`] : []),
      ...(audio ? [`<cpix:AudioFilter${attrs({ minChannels: audio.minChannels, maxChannels: audio.maxChannels })}/>`] : []),
      '</cpix:ContentKeyUsageRule>',
    );
  }
  lines.push('</cpix:ContentKeyUsageRuleList>', '</cpix:CPIX>');
  return `${lines.join('\n')}\n`;
}

/** What the provider answered for one DRM system of one key. */
export interface DrmSignaling {
  /** A complete pssh box. */
  readonly pssh?: Buffer | undefined;
  /** Decoded ContentProtectionData (DASH XML the provider suggests). */
  readonly contentProtectionData?: string | undefined;
  /** Decoded HLSSignalingData lines (media and master playlists). */
  readonly hlsMedia?: string | undefined;
  readonly hlsMaster?: string | undefined;
  /** The URI of EXT-X-KEY, as given (URIExtXKey, base64-decoded). */
  readonly uriExtXKey?: string | undefined;
}

export interface CpixKey {
  readonly kid: string;
  readonly key: Buffer;
  readonly explicitIv?: Buffer | undefined;
  /** By DRM system name. */
  readonly drm: Partial<Record<DrmSystemName, DrmSignaling>>;
}

export class CpixError extends Error {}

const B64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

function b64(el: XmlElement | undefined, what: string, maxBytes = 64 * 1024): Buffer | undefined {
  if (!el) return undefined;
  const t = el.text.trim();
  if (!t) return undefined;
  if (!B64.test(t)) throw new CpixError(`${what} is not base64`);
  const out = Buffer.from(t, 'base64');
  if (out.length > maxBytes) throw new CpixError(`${what} is larger than ${maxBytes} bytes`);
  return out;
}

const normKid = (kid: string) => kid.trim().toLowerCase();

/** Reads a provider's CPIX answer: a key for every kid asked, and the signaling of every system asked. */
export function parseCpixResponse(body: string | Buffer, asked: { kids: readonly string[]; systems: readonly DrmSystemName[] }): CpixKey[] {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (err) {
    if (err instanceof XmlError) throw new CpixError(`the answer is not well-formed XML: ${err.message}`);
    throw err;
  }
  if (root.name !== 'CPIX') throw new CpixError(`the answer's root element is <${root.name.slice(0, 40)}>, not <cpix:CPIX>`);
  const keyList = childNamed(root, 'ContentKeyList');
  if (!keyList) throw new CpixError('the answer has no ContentKeyList');
  const byKid = new Map<string, { key: Buffer; iv?: Buffer | undefined }>();
  for (const ck of childrenNamed(keyList, 'ContentKey')) {
    const kid = normKid(ck.attrs['kid'] ?? '');
    const data = childNamed(ck, 'Data');
    const secret = data && childNamed(data, 'Secret');
    if (secret && childNamed(secret, 'EncryptedValue')) throw new CpixError(`the key ${kid} is encrypted (EncryptedValue); Packhouse asks for clear keys only (no CertificateArn support)`);
    const key = b64(secret && childNamed(secret, 'PlainValue'), `the PlainValue of key ${kid}`);
    if (!key) continue;
    if (key.length !== 16) throw new CpixError(`the key ${kid} is ${key.length} bytes, not 16`);
    const ivText = ck.attrs['explicitIV'];
    let iv: Buffer | undefined;
    if (ivText) {
      iv = Buffer.from(ivText, 'base64');
      if (iv.length !== 16) throw new CpixError(`the explicitIV of key ${kid} is ${iv.length} bytes, not 16`);
    }
    byKid.set(kid, { key, iv });
  }
  const drmByKid = new Map<string, Partial<Record<DrmSystemName, DrmSignaling>>>();
  const systemsList = childNamed(root, 'DRMSystemList');
  const names = new Map(Object.entries(DRM_SYSTEM_IDS).map(([n, id]) => [id, n as DrmSystemName]));
  for (const sys of systemsList ? childrenNamed(systemsList, 'DRMSystem') : []) {
    const kid = normKid(sys.attrs['kid'] ?? '');
    const name = names.get((sys.attrs['systemId'] ?? '').trim().toLowerCase());
    if (!name) continue;
    const text = (el: XmlElement | undefined, what: string) => b64(el, what)?.toString('utf8');
    const hls = childrenNamed(sys, 'HLSSignalingData');
    const sig: DrmSignaling = {
      pssh: b64(childNamed(sys, 'PSSH'), `the PSSH of ${name} for key ${kid}`),
      contentProtectionData: text(childNamed(sys, 'ContentProtectionData'), `the ContentProtectionData of ${name}`),
      hlsMedia: text(hls.find((h) => (h.attrs['playlist'] ?? 'media') === 'media'), `the HLSSignalingData of ${name}`),
      hlsMaster: text(hls.find((h) => h.attrs['playlist'] === 'master'), `the HLSSignalingData of ${name}`),
      uriExtXKey: text(childNamed(sys, 'URIExtXKey'), `the URIExtXKey of ${name}`),
    };
    const m = drmByKid.get(kid) ?? {};
    m[name] = sig;
    drmByKid.set(kid, m);
  }
  return asked.kids.map((kidRaw) => {
    const kid = normKid(kidRaw);
    const got = byKid.get(kid);
    if (!got) throw new CpixError(`the answer has no key for kid ${kid}`);
    const drm = drmByKid.get(kid) ?? {};
    for (const s of asked.systems) {
      if (!drm[s]) throw new CpixError(`the answer has no DRMSystem ${s} (${DRM_SYSTEM_IDS[s]}) for kid ${kid}`);
      const uri = drm[s].uriExtXKey;
      if ((s === 'FAIRPLAY' || s === 'CLEAR_KEY_AES_128') && !uri) throw new CpixError(`the answer's DRMSystem ${s} for kid ${kid} has no URIExtXKey`);
      if (uri !== undefined && (uri.length > 2048 || /[\s"]/.test(uri) || [...uri].some((ch) => ch.charCodeAt(0) < 0x20))) throw new CpixError(`the URIExtXKey of ${s} for kid ${kid} is not a single URI of at most 2048 characters`);
      if ((s === 'WIDEVINE' || s === 'PLAYREADY') && !drm[s].pssh) throw new CpixError(`the answer's DRMSystem ${s} for kid ${kid} has no PSSH`);
    }
    return { kid, key: got.key, explicitIv: got.iv, drm };
  });
}
