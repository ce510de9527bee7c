/**
 * @module dataplane/hashing
 * The one wrapper every byte source passes through on its way to a backend:
 * it checks the chunks are bytes, makes them safe for the native hasher, and
 * hashes them as they flow, so bytes are read once.
 */
import type { DualDigestHasher } from '../identity/index.js';
import { sizeOverrun } from './expectations.js';

/**
 * Yields the chunks of `source`, feeding each to `hasher` (when given) on its
 * way to the backend. Stops a source as soon as it overruns `limit`, the size
 * the producer promised, so an oversized upload costs no more disk than the
 * promise.
 *
 * A chunk is hashed just after it is handed on, in a macrotask: the backend's
 * write of chunk n (in libuv's thread pool) then runs while this thread
 * hashes it, instead of one after the other. At most one chunk is pending,
 * chunks are hashed in order, and every chunk yielded has been hashed when
 * the generator finishes, however it finishes, so the hasher has seen
 * exactly the bytes handed on.
 * @throws TypeError for a chunk that is not a `Uint8Array`.
 * @throws RegistryError `SIZE_MISMATCH` past `limit`.
 */
export async function* hashing(source: AsyncIterable<Uint8Array>, hasher?: DualDigestHasher, limit?: number): AsyncGenerator<Uint8Array> {
  let size = hasher?.size ?? 0;
  let pending: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const settle = async (): Promise<void> => {
    await pending;
    pending = undefined;
    if (failure) throw failure.error;
  };
  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError('ingest sources must yield Uint8Array chunks');
      // The native BLAKE3 binding crashes the process on views of shared memory.
      const bytes = chunk.buffer instanceof SharedArrayBuffer ? new Uint8Array(chunk) : chunk;
      if (hasher) {
        size += bytes.byteLength;
        if (limit !== undefined && size > limit) throw sizeOverrun(limit, size);
        await settle();
        pending = new Promise<void>((resolve) => {
          setImmediate(() => {
            try {
              hasher.update(bytes);
            } catch (error) {
              failure ??= { error };
            }
            resolve();
          });
        });
      }
      yield bytes;
    }
    await settle();
  } finally {
    await pending;
  }
}
