/**
 * What a process that alone writes its segment store may remember of it instead of asking the
 * file system again (docs/design/016-ingest-file-calls.md).
 *
 * The disk store is one process's own (one process per data directory; several nodes share S3,
 * which this is never used for). Every upload to an ingest input lists the input's folder and reads
 * its playlists back, and placing a segment reads back the bytes just written: dozens of file
 * calls per encoder cycle, each a trip through libuv's thread pool and the event loop. Since every
 * write goes through this object, it can answer those from memory:
 *  - the listing of each folder it has listed, kept up to date by its own puts, moves and deletes;
 *  - the bytes of the files it wrote whose keys `keepBytes` selects (pending ingest uploads),
 *    until they are moved or deleted, within `maxBytes` (the oldest go first; a read of one that
 *    went reads the file).
 * Whenever what the file system holds could differ from what is remembered (a write that failed,
 * two writes of one key at once, a listing read while a write was under way), the memory is
 * dropped and the next call asks the file system.
 */
import { Readable } from 'node:stream';
import type { BlobStore } from '../../domain/ports.js';

export interface ExclusiveCacheOptions {
  /** Which keys' bytes are kept from their write until their move or delete. */
  readonly keepBytes: (key: string) => boolean;
  /** Bytes kept at most, across keys. */
  readonly maxBytes: number;
  /** Folder listings kept at most. */
  readonly maxFolders: number;
}

/** The folder of a key, as list() takes it: everything up to and including its last "/". */
function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

export class ExclusiveStoreCache implements BlobStore {
  /** Folder -> the keys directly in it, for folders listed and not since dropped. */
  private readonly folders = new Map<string, Set<string>>();
  /**
   * Folder -> the listings of it being read from the file system. A change to the folder that ends
   * meanwhile marks them stale (what they read may predate it), and a stale one is not kept; a
   * change that ends after a listing is kept is applied to it.
   */
  private readonly reading = new Map<string, Set<{ stale: boolean }>>();
  /**
   * Key -> changes of it under way, and whether two overlapped: the order in which overlapping
   * changes of one key reach the disk is not the order in which they are seen to end, so a change
   * that overlapped another drops its folders' listings instead of applying itself.
   */
  private readonly keysUnderWay = new Map<string, { count: number; overlapped: boolean }>();
  /** Bumped by every deletePrefix, begun and ended. */
  private sweeps = 0;
  /** Key -> its bytes as this process last wrote them. */
  private readonly bytes = new Map<string, Buffer>();
  private keptBytes = 0;
  private readonly counts = { listed: 0, listedFromMemory: 0, read: 0, readFromMemory: 0 };

  constructor(
    private readonly inner: BlobStore,
    private readonly options: ExclusiveCacheOptions,
  ) {}

  async stream(key: string): Promise<(AsyncIterable<Buffer> & { destroy(): void }) | undefined> {
    if (this.inner.stream) return this.inner.stream(key);
    const bytes = await this.get(key);
    return bytes === undefined ? undefined : Readable.from([bytes]);
  }

  /** How many lists and reads were answered from memory (for tests and benchmarks). */
  stats(): Readonly<typeof this.counts> {
    return { ...this.counts };
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const sweeps = this.sweeps;
    this.forgetBytes(key);
    const alone = await this.change([key], () => this.inner.put(key, data), () => this.listed(key, true));
    // Kept only when no other change of the key overlapped this write (which one won is unknown).
    if (alone && this.sweeps === sweeps && this.options.keepBytes(key) && Buffer.isBuffer(data)) this.keepBytes(key, data);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const kept = this.bytes.get(key);
    if (kept !== undefined) {
      this.counts.readFromMemory++;
      return kept;
    }
    this.counts.read++;
    return this.inner.get(key);
  }

  async exists(key: string): Promise<boolean> {
    if (this.bytes.has(key)) return true;
    return this.inner.exists(key);
  }

  async size(key: string): Promise<number | undefined> {
    const kept = this.bytes.get(key);
    if (kept !== undefined) return kept.length;
    return this.inner.size ? this.inner.size(key) : (await this.inner.get(key))?.length;
  }

  async move(from: string, to: string): Promise<void> {
    this.forgetBytes(from);
    this.forgetBytes(to);
    await this.change([from, to], () => this.inner.move(from, to), () => {
      this.listed(from, false);
      this.listed(to, true);
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.forgetBytes(k);
    await this.change([...new Set(keys)], () => this.inner.delete(keys), () => {
      for (const k of keys) this.listed(k, false);
    });
  }

  async list(prefix: string): Promise<string[]> {
    const known = this.folders.get(prefix);
    if (known !== undefined) {
      // Most recently used last: the oldest listing is the first dropped.
      this.folders.delete(prefix);
      this.folders.set(prefix, known);
      this.counts.listedFromMemory++;
      return [...known];
    }
    this.counts.listed++;
    const read = { stale: false };
    const sweeps = this.sweeps;
    let readers = this.reading.get(prefix);
    if (readers === undefined) this.reading.set(prefix, (readers = new Set()));
    readers.add(read);
    try {
      const keys = await this.inner.list(prefix);
      if (!read.stale && this.sweeps === sweeps) {
        this.folders.set(prefix, new Set(keys));
        if (this.folders.size > this.options.maxFolders) this.folders.delete(this.folders.keys().next().value!);
      }
      return keys;
    } finally {
      readers.delete(read);
      if (readers.size === 0 && this.reading.get(prefix) === readers) this.reading.delete(prefix);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.sweeps++;
    const drop = () => {
      for (const f of [...this.folders.keys()]) if (f.startsWith(prefix)) this.folders.delete(f);
      for (const k of [...this.bytes.keys()]) if (k.startsWith(prefix)) this.forgetBytes(k);
    };
    drop();
    try {
      await this.inner.deletePrefix(prefix);
    } finally {
      this.sweeps++;
      drop();
    }
  }

  /** Runs a change to the given keys: applied to their folders' listings when it succeeds alone, the listings dropped otherwise. */
  private async change(keys: readonly string[], run: () => Promise<void>, apply: () => void): Promise<boolean> {
    const marks = keys.map((k) => {
      const mark = this.keysUnderWay.get(k);
      if (mark === undefined) {
        const fresh = { count: 1, overlapped: false };
        this.keysUnderWay.set(k, fresh);
        return fresh;
      }
      mark.count++;
      mark.overlapped = true;
      return mark;
    });
    let ok = false;
    let overlapped = false;
    try {
      await run();
      ok = true;
    } finally {
      overlapped = marks.some((m) => m.overlapped);
      keys.forEach((k, i) => {
        if (--marks[i]!.count === 0) this.keysUnderWay.delete(k);
      });
      const folders = new Set(keys.map(folderOf));
      for (const f of folders) for (const read of this.reading.get(f) ?? []) read.stale = true;
      if (ok && !overlapped) apply();
      else for (const f of folders) this.folders.delete(f);
    }
    return ok && !overlapped;
  }

  /** Records in a kept listing that a key is now there, or gone. */
  private listed(key: string, present: boolean): void {
    const set = this.folders.get(folderOf(key));
    if (set === undefined) return;
    if (present) set.add(key);
    else set.delete(key);
  }

  private keepBytes(key: string, data: Buffer): void {
    if (data.length > this.options.maxBytes) return;
    this.bytes.set(key, data);
    this.keptBytes += data.length;
    for (const [k] of this.bytes) {
      if (this.keptBytes <= this.options.maxBytes) break;
      this.forgetBytes(k);
    }
  }

  private forgetBytes(key: string): void {
    const kept = this.bytes.get(key);
    if (kept === undefined) return;
    this.bytes.delete(key);
    this.keptBytes -= kept.length;
  }
}
