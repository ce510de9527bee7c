/**
 * @module dataplane/running-digests
 * Digests of uploads in progress, kept between chunks so that an upload whose
 * chunks all reach this process is hashed as it arrives and never re-read.
 * The cache is only an optimisation: an entry that is missing or evicted
 * costs one re-read of the staged bytes at completion, never a wrong digest.
 */
import type { DualDigestHasher } from '../identity/index.js';

/** The digest of an upload's first `size` bytes, still open for more. */
export interface RunningDigest {
  readonly hasher: DualDigestHasher;
  /** Bytes the backend confirmed holding; the entry is only trusted while `hasher.size` equals it. */
  readonly size: number;
}

/**
 * A bounded map of upload id to running digest with least-recently-used
 * eviction. Each idle hasher holds a few KiB of native and JS state, so the bound
 * keeps thousands of abandoned sessions from holding memory.
 *
 * Entries are taken out while in use (an append in flight, a completion):
 * a hasher that saw half a failed chunk must never be found by anyone else.
 */
export class RunningDigests {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, RunningDigest>();

  /** @param capacity Most entries kept; 0 disables the cache. */
  constructor(readonly capacity: number) {}

  /** Removes and returns the entry of `id`, if any. */
  take(id: string): RunningDigest | undefined {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    return entry;
  }

  /** Stores `entry` as the most recently used, evicting the least recently used beyond capacity. */
  put(id: string, entry: RunningDigest): void {
    this.entries.delete(id);
    if (this.capacity === 0) return;
    // An idle hasher hands over what it gathered, so it holds no buffer while it waits.
    entry.hasher.flush();
    this.entries.set(id, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Forgets `id`. */
  delete(id: string): void {
    this.entries.delete(id);
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }
}
