/**
 * BlobStore on the local disk under one root directory. Writes go to a temporary file and are
 * renamed into place, so a reader never sees half a segment and a crash leaves no torn file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { BlobStore } from '../../domain/ports.js';
import { writeViaTemporary } from '../atomic-write.js';

export class DiskBlobStore implements BlobStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    const p = resolve(join(this.root, key));
    if (!p.startsWith(this.root + sep)) throw new Error(`blob key escapes the store: ${key}`);
    return p;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const target = this.path(key);
    const write = () => writeViaTemporary(`${target}.${randomBytes(6).toString('hex')}.tmp`, target, data);
    // The folder is made only when missing: most writes go to one that exists (one call less per write).
    await write().catch(async (err: unknown) => {
      if (!isMissing(err)) throw err;
      await mkdir(dirname(target), { recursive: true });
      await write();
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.path(key));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async stream(key: string): Promise<(AsyncIterable<Buffer> & { destroy(): void }) | undefined> {
    try {
      // Opened now, so that a missing file is known before the first chunk is asked for.
      const handle = await open(this.path(key), 'r');
      return handle.createReadStream({ highWaterMark: 256 * 1024 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.path(to);
    const source = this.path(from);
    await rename(source, target).catch(async (err: unknown) => {
      if (!isMissing(err)) throw err;
      // The target's folder, or the source, is missing: with the folder made, a missing source still fails (ENOENT).
      await mkdir(dirname(target), { recursive: true });
      await rename(source, target);
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.path(k), { force: true })));
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.path(prefix), { withFileTypes: true });
      return entries.filter((e) => e.isFile() && !e.name.endsWith('.tmp')).map((e) => `${prefix}${e.name}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix takes a folder ending in "/": ${prefix}`);
    await rm(this.path(prefix), { recursive: true, force: true });
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
