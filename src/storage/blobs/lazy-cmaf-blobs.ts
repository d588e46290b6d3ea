/**
 * The CMAF fragment of a TS segment, written on first read (docs/design/010-packager.md).
 *
 * Ingest repackages every TS segment (that settles its init segment, codecs and whether CMAF
 * endpoints can serve it) but stores the fragment only while the channel has a CMAF endpoint.
 * A segment registered without one names its fragment `<segment key>.cmaf.mp4`; the first read
 * of that key (an origin request or a harvest, on any node) repackages the stored TS again and
 * stores the result, unless another reader stored it first. Repackaging is a function of the
 * segment's bytes alone, so every node and every read gets the bytes ingest would have written.
 */
import type { BlobStore } from '../../domain/ports.js';
import { RepackageError, repackageTs } from '../../media/package/ts-to-cmaf.js';

const SUFFIX = '.cmaf.mp4';

/** The key of a TS segment's CMAF fragment that a read may write: the segment's own key plus `.cmaf.mp4`. */
export function lazyCmafKey(segmentKey: string): string {
  return `${segmentKey}${SUFFIX}`;
}

/** The TS segment a lazily written fragment comes from (keys of the form `….ts.cmaf.mp4` and the like). */
function sourceOf(key: string): string | undefined {
  if (!key.endsWith(SUFFIX)) return undefined;
  const source = key.slice(0, -SUFFIX.length);
  // Fragments written at ingest before this scheme replaced the segment's extension: no source to read.
  return /\.[A-Za-z0-9]+$/.test(source.slice(source.lastIndexOf('/') + 1)) ? source : undefined;
}

/** `inner`, whose reads of a missing `….cmaf.mp4` fragment make it from its TS segment. */
export function withLazyCmaf(inner: BlobStore): BlobStore {
  /** Fragments being made in this process, so that concurrent readers repackage once. */
  const making = new Map<string, Promise<Buffer | undefined>>();
  const make = (key: string): Promise<Buffer | undefined> => {
    const source = sourceOf(key);
    if (source === undefined) return Promise.resolve(undefined);
    let p = making.get(key);
    if (!p) {
      p = (async () => {
        const ts = await inner.get(source);
        if (!ts) return undefined; // the segment was removed (retention, a reset)
        let media: Buffer;
        try {
          media = Buffer.from(repackageTs(ts).media);
        } catch (err) {
          // Ingest gives no fragment key to a segment it could not repackage; nothing to serve.
          if (err instanceof RepackageError) return undefined;
          throw err;
        }
        // Write once: another node may have stored the same bytes meanwhile.
        if (!(await inner.exists(key))) {
          await inner.put(key, media);
          // Retention (or a reset) that removed the segment while it was being repackaged found no
          // fragment to remove with it: take the fragment away too, or it would stay for good. A
          // removal after this check finds the fragment and removes it itself.
          if (!(await inner.exists(source))) {
            await inner.delete([key]);
            return undefined;
          }
        }
        return media;
      })().finally(() => making.delete(key));
      making.set(key, p);
    }
    return p;
  };
  const store: BlobStore = {
    put: (key, data) => inner.put(key, data),
    get: async (key) => (await inner.get(key)) ?? make(key),
    exists: async (key) => (await inner.exists(key)) || (await make(key)) !== undefined,
    move: (from, to) => inner.move(from, to),
    delete: (keys) => inner.delete(keys),
    list: (prefix) => inner.list(prefix),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
  };
  if (inner.stream) {
    const stream = inner.stream.bind(inner);
    store.stream = async (key) => {
      const s = await stream(key);
      if (s !== undefined || (await make(key)) === undefined) return s;
      return stream(key);
    };
  }
  if (inner.size) {
    const size = inner.size.bind(inner);
    store.size = async (key) => (await size(key)) ?? (await make(key))?.length;
  }
  return store;
}
