/**
 * Writing a file so that no reader ever sees part of it: the bytes go to a temporary beside the
 * target, which is renamed into place; a failed write (a full disk, most often) removes the
 * temporary. Shared by the disk segment store and the built-in S3 store.
 */
import { rename, rm, writeFile } from 'node:fs/promises';

export async function writeViaTemporary(tmp: string, target: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
