/**
 * @module registry/oci/manifest-bytes
 * An in-process cache of manifest bytes keyed by content address (ADR 0024).
 * A `blake3:` address names one byte sequence forever, so an entry can never
 * be stale: what may change is whether a repository still has the manifest,
 * and that is read from the database on every request before the cache is
 * consulted. The cache only saves the open/stat/read/close of a small file
 * on every manifest GET (clients fetch the same few manifests over and over).
 *
 * Bounded by bytes (least recently used evicted first), holds only objects of
 * at most {@link MAX_ENTRY_BYTES}, and is off when a cold tier is configured,
 * so the tiering data plane decides how archived objects are served.
 */
import type { RegistryContext } from '../context.js';

/** Largest manifest kept (bigger ones are read from storage every time). */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** Most bytes the cache of one registry holds. */
export const MAX_CACHE_BYTES = 16 * 1024 * 1024;

class BytesLru {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  get(address: string): Buffer | undefined {
    const entry = this.entries.get(address);
    if (entry !== undefined) {
      // Most recently used last.
      this.entries.delete(address);
      this.entries.set(address, entry);
    }
    return entry;
  }

  put(address: string, value: Buffer): void {
    if (value.length > MAX_ENTRY_BYTES || this.entries.has(address)) return;
    this.entries.set(address, value);
    this.bytes += value.length;
    for (const [oldest, evicted] of this.entries) {
      if (this.bytes <= MAX_CACHE_BYTES) break;
      this.entries.delete(oldest);
      this.bytes -= evicted.length;
    }
  }
}

const caches = new WeakMap<RegistryContext, BytesLru>();

function cacheOf(ctx: RegistryContext): BytesLru | undefined {
  if (ctx.coldTier !== undefined) return undefined;
  let cache = caches.get(ctx);
  if (cache === undefined) {
    cache = new BytesLru();
    caches.set(ctx, cache);
  }
  return cache;
}

/** The cached bytes of the object at `address`, if any. */
export function cachedManifestBytes(ctx: RegistryContext, address: string): Buffer | undefined {
  return cacheOf(ctx)?.get(address);
}

/**
 * Remembers `bytes` as the content of `address`. The caller vouches that they
 * are: they were read from the store under that address, or hashed to it.
 */
export function rememberManifestBytes(ctx: RegistryContext, address: string, bytes: Uint8Array): void {
  if (bytes.byteLength > MAX_ENTRY_BYTES) return;
  // A private copy: the caller's buffer may be a view of a pooled one.
  cacheOf(ctx)?.put(address, Buffer.from(bytes));
}
