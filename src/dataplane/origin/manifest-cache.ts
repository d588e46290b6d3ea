/**
 * Rendered manifests of closed time-shift windows, kept in memory. A closed window's manifest is
 * the same on every request until the endpoint or channel changes (their ETags and reset times are
 * part of the key) or its start falls out of the startover window (each entry expires then), so a
 * 24-hour catch-up playlist is rendered once rather than on every request. The cache only saves
 * work: every node keeps its own and a miss renders from the database as before. Bounded by bytes,
 * least recently used first out.
 */

export interface CachedManifest {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer | string;
}

interface Entry {
  readonly value: CachedManifest;
  readonly bytes: number;
  readonly expiresMs: number;
}

export class ManifestCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): CachedManifest | undefined {
    const e = this.entries.get(key);
    if (!e || e.expiresMs <= nowMs) {
      if (e) this.drop(key, e);
      this.misses++;
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.value;
  }

  set(key: string, value: CachedManifest, expiresMs: number): void {
    const bytes = (typeof value.body === 'string' ? Buffer.byteLength(value.body) : value.body.length) + key.length;
    if (bytes > this.maxBytes / 4) return; // one huge manifest must not flush everything else
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { value, bytes, expiresMs });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(k, e);
    }
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}
