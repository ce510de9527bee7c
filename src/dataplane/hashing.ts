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
 * @throws TypeError for a chunk that is not a `Uint8Array`.
 * @throws RegistryError `SIZE_MISMATCH` past `limit`.
 */
export async function* hashing(source: AsyncIterable<Uint8Array>, hasher?: DualDigestHasher, limit?: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('ingest sources must yield Uint8Array chunks');
    // The native BLAKE3 binding crashes the process on views of shared memory.
    const bytes = chunk.buffer instanceof SharedArrayBuffer ? new Uint8Array(chunk) : chunk;
    if (hasher) {
      hasher.update(bytes);
      if (limit !== undefined && hasher.size > limit) throw sizeOverrun(limit, hasher.size);
    }
    yield bytes;
  }
}
