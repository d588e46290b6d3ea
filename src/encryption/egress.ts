/**
 * Encryption on egress, shared by the origin and the harvester so that both send the same bytes:
 * which key protects a track's segment (by the key period its start falls in), the IVs (all
 * derived, never random), the HLS EXT-X-KEY lines and the DASH ContentProtection elements of
 * a key, and the encrypted bytes of TS segments (the container modules of src/media/encrypt do
 * the cipher work).
 */
import { createHash } from 'node:crypto';
import type { OriginEndpoint } from '../domain/model.js';
import { aes128Length, aes128Stream, sampleAesChunk, sequenceIv, TsEncryptError } from '../media/encrypt/ts-encrypt.js';
import { streamContinuous } from '../media/package/ts-continuity.js';
import { CmafEncryptError, DRM_SYSTEM_IDS as CMAF_SYSTEM_IDS, encryptFragment, encryptInit, psshBox, uuidBytes, type CmafTrackEncryption } from '../media/encrypt/cmaf-encrypt.js';
import type { OutputTrack } from '../media/timeline/model.js';
import type { ContentProtection } from '../media/dash/mpd-writer.js';
import { sessionKeysOf } from './drm-settings.js';
import { DRM_SYSTEM_IDS, type DrmSystemName } from './cpix.js';
import { ContentKeys, KeyUnavailableError, type ContentKey, type EndpointEncryption } from './content-keys.js';

/** Encryption an endpoint asks for that this build cannot do: answered 501, never served clear. */
export class EncryptionNotBuiltError extends Error {}

export type TrackFacts = Pick<OutputTrack, 'id' | 'kind' | 'width' | 'height' | 'channels'>;

const hex = (b: Buffer) => `0x${b.toString('hex').toUpperCase()}`;

/** The data of a pssh box (what follows its key ids), or undefined when it is not a pssh box. */
export function psshData(box: Buffer): Buffer | undefined {
  if (box.length < 32 || box.toString('latin1', 4, 8) !== 'pssh') return undefined;
  const version = box[8]!;
  let o = 28;
  if (version > 0) o += 4 + 16 * box.readUInt32BE(28);
  if (o + 4 > box.length) return undefined;
  const size = box.readUInt32BE(o);
  return o + 4 + size <= box.length ? box.subarray(o + 4, o + 4 + size) : undefined;
}

export class Egress {
  constructor(readonly keys: ContentKeys) {}

  /** Refuses what is not built: an endpoint asking for it serves nothing rather than clear content. */
  check(enc: EndpointEncryption, container: string): void {
    const built = container === 'TS' ? enc.method === 'AES_128' || enc.method === 'SAMPLE_AES' : container === 'CMAF' && (enc.method === 'CENC' || enc.method === 'CBCS');
    if (!built) throw new EncryptionNotBuiltError(`${enc.method} encryption of ${container} endpoints is not built yet in Packhouse; this endpoint serves nothing rather than clear content.`);
  }

  /** The key period of an output segment: that of its start (its first input segment's). */
  periodAt(enc: EndpointEncryption, ms: number): number {
    return ContentKeys.periodAt(enc, ms);
  }

  /**
   * The key period an init segment's name carries: on a CMAF endpoint whose keys rotate, the init
   * segment signals one period's key (tenc default_KID, pssh), so each period has its own
   * (output-naming.ts); undefined elsewhere (one init segment whatever the key).
   */
  initPeriod(enc: EndpointEncryption | undefined, container: string, startMs: number): number | undefined {
    return enc?.rotationMs && container === 'CMAF' ? this.periodAt(enc, startMs) : undefined;
  }

  /** The key of a track's segment starting at startMs; undefined when the contract leaves the track clear. */
  keyAt(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, startMs: number): Promise<ContentKey | undefined> {
    return this.keys.keyFor(endpoint, enc, this.periodAt(enc, startMs), track, startMs);
  }

  /**
   * Per key period of the given segment starts, something made from the period's key, looked up
   * once per period (the latest start of each period drives the prefetch of the next).
   */
  private async perPeriod<T>(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, starts: Iterable<number>, make: (key: ContentKey | undefined) => T): Promise<(startMs: number) => T> {
    const latest = new Map<number, number>();
    for (const ms of starts) {
      const p = this.periodAt(enc, ms);
      latest.set(p, Math.max(latest.get(p) ?? ms, ms));
    }
    const byPeriod = new Map<number, T>();
    for (const [p, ms] of latest) byPeriod.set(p, make(await this.keys.keyFor(endpoint, enc, p, track, ms)));
    return (ms) => {
      const got = byPeriod.get(this.periodAt(enc, ms));
      if (got === undefined) throw new Error(`no key looked up for the key period of ${ms}`);
      return got;
    };
  }

  /** The IV of a TS segment (AES-128 and SAMPLE-AES): the constant IV, else the media sequence number (RFC 8216 §5.2). */
  tsIv(enc: EndpointEncryption, seq: number): Buffer {
    return enc.constantIv ?? sequenceIv(seq);
  }

  /** The EXT-X-KEY lines of a media playlist for segments protected by `key`. */
  hlsKeyLines(enc: EndpointEncryption, key: ContentKey | undefined): string[] {
    if (!key) return ['#EXT-X-KEY:METHOD=NONE'];
    const iv = enc.constantIv && (enc.method === 'AES_128' || enc.method === 'SAMPLE_AES') ? `,IV=${hex(enc.constantIv)}` : '';
    const uriOf = (s: DrmSystemName) => key.drm[s]?.uriExtXKey;
    if (enc.method === 'AES_128') {
      const uri = uriOf('CLEAR_KEY_AES_128');
      if (!uri) throw new KeyUnavailableError('AES_128 encryption needs CLEAR_KEY_AES_128 in SpekeKeyProvider.DrmSystems: its URIExtXKey is the key URI players fetch.');
      return [`#EXT-X-KEY:METHOD=AES-128,URI="${uri}"${iv}`];
    }
    const lines: string[] = [];
    const method = enc.method === 'CENC' ? 'SAMPLE-AES-CTR' : 'SAMPLE-AES';
    const kidAttr = enc.method === 'CENC' || enc.method === 'CBCS' ? `,KEYID=${hex(key.kidBytes)}` : '';
    for (const s of enc.systems) {
      const sig = key.drm[s];
      if (s === 'FAIRPLAY' && sig?.uriExtXKey && enc.method !== 'CENC') {
        lines.push(`#EXT-X-KEY:METHOD=${method},URI="${sig.uriExtXKey}",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"${iv}`);
      } else if (s === 'CLEAR_KEY_AES_128' && sig?.uriExtXKey && enc.method === 'SAMPLE_AES') {
        lines.push(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="${sig.uriExtXKey}"${iv}`);
      } else if ((s === 'WIDEVINE' || s === 'IRDETO') && sig?.pssh && (enc.method === 'CENC' || enc.method === 'CBCS')) {
        lines.push(`#EXT-X-KEY:METHOD=${method},URI="data:text/plain;base64,${sig.pssh.toString('base64')}"${kidAttr},KEYFORMAT="urn:uuid:${DRM_SYSTEM_IDS[s]}",KEYFORMATVERSIONS="1"`);
      } else if (s === 'PLAYREADY' && sig?.pssh && (enc.method === 'CENC' || enc.method === 'CBCS')) {
        const pro = psshData(sig.pssh) ?? sig.pssh;
        lines.push(`#EXT-X-KEY:METHOD=${method},URI="data:text/plain;charset=UTF-16;base64,${pro.toString('base64')}"${kidAttr},KEYFORMAT="com.microsoft.playready",KEYFORMATVERSIONS="1"`);
      }
    }
    if (lines.length === 0) throw new KeyUnavailableError(`None of the endpoint's DRM systems (${enc.systems.join(', ')}) can be signaled in HLS for ${enc.method}.`);
    return lines;
  }

  /**
   * The EXT-X-SESSION-KEY lines of a multivariant playlist (RFC 8216 §4.3.4.5): the EXT-X-KEY lines
   * its media playlists carry for the segment of each rendition starting at `startOf(track)`; a tag
   * with the same METHOD, URI, IV, KEYFORMAT and KEYFORMATVERSIONS as an earlier one is left out
   * (§4.3.4.5 allows it once, whatever its KEYID); a rendition the contract leaves clear adds none
   * (METHOD=NONE has no session key).
   */
  async hlsSessionKeys<T extends TrackFacts>(endpoint: OriginEndpoint, enc: EndpointEncryption, tracks: readonly T[], startOf: (track: T) => number): Promise<string[]> {
    const lines: string[] = [];
    for (const t of tracks) {
      const key = await this.keyAt(endpoint, enc, t, startOf(t));
      if (key) lines.push(...this.hlsKeyLines(enc, key));
    }
    return sessionKeysOf(lines);
  }

  /**
   * The media playlist's EXT-X-KEY lines per listed segment: one set per key period, looked up
   * once per period.
   */
  hlsKeysFor(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, starts: Iterable<number>): Promise<(startMs: number) => readonly string[]> {
    return this.perPeriod(endpoint, enc, track, starts, (key) => this.hlsKeyLines(enc, key));
  }

  /** A DASH Representation's ContentProtection elements per listed segment: one set per key period (a DASH Period each). */
  dashProtectionFor(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, starts: Iterable<number>): Promise<(startMs: number) => readonly ContentProtection[]> {
    return this.perPeriod(endpoint, enc, track, starts, (key) => this.dashProtection(enc, key));
  }

  /**
   * A TS output segment encrypted. AES_128: the whole segment, streamed over its chunks, with
   * its exact length. SAMPLE_AES: each input segment (a whole `piece`) re-muxed with sample
   * encryption, then joined with continuous counters; every piece is encrypted before this
   * returns, so the length is exact and content that cannot be encrypted fails with a status
   * rather than a cut response.
   */
  async tsSegment(
    endpoint: OriginEndpoint,
    enc: EndpointEncryption,
    track: TrackFacts,
    seq: number,
    startMs: number,
    body: { readonly chunks: () => AsyncIterable<Buffer>; readonly pieces: () => AsyncIterable<Buffer>; readonly length: number | undefined },
  ): Promise<{ chunks: AsyncIterable<Buffer>; length: number | undefined }> {
    const key = await this.keyAt(endpoint, enc, track, startMs);
    if (!key) return { chunks: body.chunks(), length: body.length };
    const iv = this.tsIv(enc, seq);
    if (enc.method === 'AES_128') return { chunks: aes128Stream(body.chunks(), key.key, iv), length: body.length === undefined ? undefined : aes128Length(body.length) };
    if (enc.method !== 'SAMPLE_AES') throw new EncryptionNotBuiltError(`${enc.method} encryption of TS segments is not built yet in Packhouse; this endpoint serves nothing rather than clear segments.`);
    const seal = (piece: Buffer): Buffer => {
      try {
        return sampleAesChunk(piece, key.key, iv);
      } catch (err) {
        if (err instanceof TsEncryptError) throw new EncryptionNotBuiltError(`Rendition ${track.id} cannot be sample-encrypted (SAMPLE_AES): ${err.message}`);
        throw err;
      }
    };
    // Every piece is encrypted before answering: re-inserted emulation prevention bytes make the
    // encrypted length depend on the ciphertext, and this way it goes out as an exact Content-Length
    // (joining the pieces only rewrites continuity counters, which keeps the length).
    const sealedPieces: Buffer[] = [];
    for await (const piece of body.pieces()) sealedPieces.push(seal(piece));
    const length = sealedPieces.reduce((n, b) => n + b.length, 0);
    async function* wrapped(): AsyncIterable<Iterable<Buffer>> {
      for (const b of sealedPieces) yield [b];
    }
    return { chunks: streamContinuous(wrapped()), length };
  }

  /** How a CMAF track is encrypted for a fragment that is input segment `inputSeq`; undefined when the contract leaves it clear. */
  async cmafTrack(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, startMs: number, inputSeq: number): Promise<CmafTrackEncryption | undefined> {
    const key = await this.keyAt(endpoint, enc, track, startMs);
    if (!key) return undefined;
    const pssh: Buffer[] = [];
    for (const s of enc.systems) {
      const box = key.drm[s]?.pssh;
      if (box && (s === 'WIDEVINE' || s === 'PLAYREADY' || s === 'IRDETO')) pssh.push(box);
    }
    // The W3C common pssh (the ClearKey key system reads its key ids from it).
    pssh.push(psshBox(uuidBytes(CMAF_SYSTEM_IDS.W3C_COMMON), Buffer.alloc(0), [key.kidBytes]));
    const iv =
      enc.method === 'CENC'
        ? this.cencIv(endpoint, track.id, inputSeq)
        : (enc.constantIv ?? createHash('sha256').update('packhouse-cbcs-iv\0').update(key.kidBytes).digest().subarray(0, 16));
    return { scheme: enc.method === 'CENC' ? 'cenc' : 'cbcs', kid: key.kidBytes, key: key.key, iv, pssh, includePsshInFragments: !enc.excludeSegmentDrm };
  }

  /** A CMAF init segment with its encryption signaled (sinf/tenc, pssh). */
  async cmafInit(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, init: Buffer, startMs: number): Promise<Buffer> {
    const t = await this.cmafTrack(endpoint, enc, track, startMs, 0);
    if (!t) return init;
    const { key: _key, ...signaled } = t;
    return this.guard(track, () => encryptInit(init, signaled));
  }

  /** A CMAF fragment (one input segment) encrypted. */
  async cmafFragment(endpoint: OriginEndpoint, enc: EndpointEncryption, track: TrackFacts, fragment: Buffer, clearInit: Buffer, startMs: number, inputSeq: number): Promise<Buffer> {
    const t = await this.cmafTrack(endpoint, enc, track, startMs, inputSeq);
    if (!t) return fragment;
    return this.guard(track, () => encryptFragment(fragment, clearInit, t));
  }

  private guard<T>(track: TrackFacts, work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (err instanceof CmafEncryptError) throw new EncryptionNotBuiltError(`Rendition ${track.id} cannot be encrypted: ${err.message}`);
      throw err;
    }
  }

  /** The DASH ContentProtection elements of a key (mp4protection with default_KID, then one per DRM system). */
  dashProtection(enc: EndpointEncryption, key: ContentKey | undefined): ContentProtection[] {
    if (!key) return [];
    const out: ContentProtection[] = [{ schemeIdUri: 'urn:mpeg:dash:mp4protection:2011', value: enc.method === 'CENC' ? 'cenc' : 'cbcs', attributes: ` cenc:default_KID="${key.kid}"` }];
    for (const s of enc.systems) {
      const sig = key.drm[s];
      if (!sig?.pssh || !(s === 'WIDEVINE' || s === 'PLAYREADY' || s === 'IRDETO')) continue;
      const pro = s === 'PLAYREADY' ? psshData(sig.pssh) : undefined;
      const value = s === 'WIDEVINE' ? 'Widevine' : s === 'PLAYREADY' ? 'MSPR 2.0' : undefined;
      out.push({ schemeIdUri: `urn:uuid:${DRM_SYSTEM_IDS[s]}`, value, children: `<cenc:pssh>${sig.pssh.toString('base64')}</cenc:pssh>${pro ? `<mspr:pro>${pro.toString('base64')}</mspr:pro>` : ''}` });
    }
    // W3C ClearKey (urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e): players with the keys at hand (EME ClearKey) find the key id here.
    out.push({ schemeIdUri: 'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e', value: 'ClearKey1.0' });
    return out;
  }

  /** CENC IV base of a fragment: derived from (endpoint, rendition, input sequence), low 16 bits zero for the sample counter. */
  cencIv(endpoint: OriginEndpoint, trackId: string, inputSeq: number): Buffer {
    const h = createHash('sha256').update(`packhouse-iv\0${endpoint.arn}\0${trackId}\0${inputSeq}`).digest().subarray(0, 8);
    h[6] = 0;
    h[7] = 0;
    return Buffer.from(h);
  }
}

/** Collects an async iterable into one buffer (a single-piece segment encrypted whole). */
export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}
