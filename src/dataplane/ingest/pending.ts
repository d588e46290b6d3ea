/**
 * What waits under an ingest input (ingest/{channel}/{1|2}/): playlists, and segments no playlist
 * has placed on the timeline yet. Every upload reconciles the input, so the work of one upload
 * must not grow with what others left behind:
 *  - a playlist is parsed once per content: the parsed form is kept in memory with its bytes
 *    (bounded), and reused while the stored bytes are the same;
 *  - the segment keys a playlist lists are resolved once, so placing segments walks the files
 *    present, not every entry of every playlist;
 *  - a playlist whose content has not changed, or a segment not placed, for `pendingMs` (as
 *    observed by this process) expires and is deleted. Ages are per process: another node, or a
 *    restart, only ever sees a file as younger than it is, so nothing expires early.
 */
import { posix } from 'node:path';
import { isMultivariant, parseMediaPlaylist, parseMultivariantPlaylist, type MediaPlaylist, type MultivariantPlaylist } from '../../media/hls/playlist.js';

export const PLAYLIST_RE = /\.m3u8$/i;

export type ParsedPlaylist =
  | { readonly kind: 'multivariant'; readonly playlist: MultivariantPlaylist }
  | {
      readonly kind: 'media';
      readonly playlist: MediaPlaylist;
      /** Per entry, the pending key of the segment it names (undefined for absolute URIs). */
      readonly keys: readonly (string | undefined)[];
      /** Entry index by pending key (the last entry naming a key wins, as before). */
      readonly byKey: ReadonlyMap<string, number>;
      /** Per entry, seconds from its end to the end of the playlist's last entry, in ms. */
      readonly toEndMs: readonly number[];
      /** Pending keys of the init segments (EXT-X-MAP) it names: kept as long as the playlist is. */
      readonly mapKeys: ReadonlySet<string>;
    }
  | { readonly kind: 'invalid'; readonly reason: string };

interface Entry {
  bytes: Buffer;
  /** When this process first saw these bytes. */
  sinceMs: number;
  parsed: ParsedPlaylist;
}

/** Parses a stored playlist once per content. `prefix` is the input's folder, `rel` the playlist's path in it. */
function parse(prefix: string, rel: string, bytes: Buffer): ParsedPlaylist {
  const text = bytes.toString('utf8');
  try {
    if (isMultivariant(text)) return { kind: 'multivariant', playlist: parseMultivariantPlaylist(text) };
    const playlist = parseMediaPlaylist(text);
    const dir = posix.dirname(rel);
    const keyOf = (uri: string) => (/^[a-z]+:/i.test(uri) ? undefined : `${prefix}${posix.normalize(dir === '.' ? uri : `${dir}/${uri}`)}`);
    const keys = playlist.segments.map((s) => keyOf(s.uri));
    const mapKeys = new Set<string>();
    for (const s of playlist.segments) {
      const k = s.map ? keyOf(s.map.uri) : undefined;
      if (k !== undefined) mapKeys.add(k);
    }
    const byKey = new Map<string, number>();
    keys.forEach((k, i) => {
      if (k !== undefined) byKey.set(k, i);
    });
    const toEndMs: number[] = new Array<number>(playlist.segments.length);
    let t = 0;
    for (let i = playlist.segments.length - 1; i >= 0; i--) {
      toEndMs[i] = t;
      t += playlist.segments[i]!.duration * 1000;
    }
    return { kind: 'media', playlist, keys, byKey, toEndMs, mapKeys };
  } catch (err) {
    return { kind: 'invalid', reason: (err as Error).message };
  }
}

export class PendingIndex {
  /** Per input folder: playlist key -> parsed content. */
  private readonly playlists = new Map<string, Map<string, Entry>>();
  /** Per input folder: pending segment key -> when this process first saw it. */
  private readonly segments = new Map<string, Map<string, number>>();
  private cachedBytes = 0;

  constructor(
    private readonly pendingMs: number,
    /** Memory for cached playlist bytes across all inputs; the oldest entries go first. */
    private readonly maxCachedBytes = 128 * 1024 * 1024,
  ) {}

  /** Records a playlist this process has just stored (so that its age starts now). */
  stored(prefix: string, key: string, bytes: Buffer, nowMs: number): void {
    this.remember(prefix, key, { bytes, sinceMs: nowMs, parsed: parse(prefix, key.slice(prefix.length), bytes) });
  }

  /** The parsed playlist for these stored bytes (parsed again only when they changed). */
  playlist(prefix: string, key: string, bytes: Buffer, nowMs: number): { parsed: ParsedPlaylist; sinceMs: number } {
    const cached = this.playlists.get(prefix)?.get(key);
    if (cached !== undefined && (cached.bytes === bytes || cached.bytes.equals(bytes))) return cached;
    const entry = { bytes, sinceMs: nowMs, parsed: parse(prefix, key.slice(prefix.length), bytes) };
    this.remember(prefix, key, entry);
    return entry;
  }

  /** When this process first saw a pending segment (now, the first time it is asked). */
  segmentSince(prefix: string, key: string, nowMs: number): number {
    let m = this.segments.get(prefix);
    if (m === undefined) this.segments.set(prefix, (m = new Map<string, number>()));
    const since = m.get(key);
    if (since !== undefined) return since;
    m.set(key, nowMs);
    return nowMs;
  }

  expired(sinceMs: number, nowMs: number): boolean {
    return nowMs - sinceMs > this.pendingMs;
  }

  /** Forgets every key of the input that is no longer stored. */
  prune(prefix: string, present: ReadonlySet<string>): void {
    const pl = this.playlists.get(prefix);
    if (pl !== undefined) {
      for (const [k, e] of pl) {
        if (!present.has(k)) {
          pl.delete(k);
          this.cachedBytes -= e.bytes.length;
        }
      }
      if (pl.size === 0) this.playlists.delete(prefix);
    }
    const seg = this.segments.get(prefix);
    if (seg !== undefined) {
      for (const k of seg.keys()) if (!present.has(k)) seg.delete(k);
      if (seg.size === 0) this.segments.delete(prefix);
    }
  }

  /** Forgets an input entirely (its files were removed). */
  forget(prefixStart: string): void {
    for (const p of [...this.playlists.keys()]) if (p.startsWith(prefixStart)) this.prune(p, new Set());
    for (const p of [...this.segments.keys()]) if (p.startsWith(prefixStart)) this.segments.delete(p);
  }

  private remember(prefix: string, key: string, entry: Entry): void {
    let m = this.playlists.get(prefix);
    if (m === undefined) this.playlists.set(prefix, (m = new Map<string, Entry>()));
    const old = m.get(key);
    if (old !== undefined) {
      this.cachedBytes -= old.bytes.length;
      m.delete(key);
    }
    m.set(key, entry);
    this.cachedBytes += entry.bytes.length;
    // Over budget: drop the least recently stored entries of any input (they are parsed again if needed).
    for (const [p, pm] of this.playlists) {
      if (this.cachedBytes <= this.maxCachedBytes) break;
      for (const [k, e] of pm) {
        if (this.cachedBytes <= this.maxCachedBytes || (p === prefix && k === key)) break;
        pm.delete(k);
        this.cachedBytes -= e.bytes.length;
      }
    }
  }
}
