/**
 * @module http/hardening/token-bucket
 * Token buckets per key (principal or client IP), in process memory, in a
 * map bounded by least-recent use. Each bucket holds at most `burst` tokens
 * and refills at `perSecond`; a request takes one token or is refused with
 * the whole seconds until one is back.
 *
 * Evicting a bucket forgets nothing that matters once it has been idle for
 * `burst / perSecond` seconds (it would be full again by then), so the bound
 * only costs precision under a flood of distinct keys.
 */

/** The outcome of {@link TokenBuckets.take}. */
export type TakeResult = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Token-bucket parameters. */
export interface TokenBucketOptions {
  /** Tokens added per second (the sustained rate); must be positive. */
  readonly perSecond: number;
  /** Bucket capacity (the burst); at least 1. */
  readonly burst: number;
  /** Most keys tracked at once; the least recently used is evicted beyond it. */
  readonly maxKeys?: number;
  /** Clock in milliseconds (tests inject one). */
  readonly now?: () => number;
}

/** Default bound on tracked keys. */
export const DEFAULT_MAX_KEYS = 10_000;

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Token buckets keyed by caller. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: TokenBucketOptions) {
    if (!(options.perSecond > 0) || !Number.isFinite(options.perSecond)) throw new RangeError(`perSecond must be a positive number; got ${options.perSecond}`);
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) throw new RangeError(`burst must be at least 1; got ${options.burst}`);
    this.perSecond = options.perSecond;
    this.burst = options.burst;
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.now = options.now ?? Date.now;
  }

  /** Takes one token from `key`'s bucket, or says how long until one is available. */
  take(key: string): TakeResult {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updatedMs: now };
    } else {
      // Re-insert to mark the key most recently used.
      this.buckets.delete(key);
      const elapsedSeconds = Math.max(0, now - bucket.updatedMs) / 1000;
      bucket.tokens = Math.min(this.burst, bucket.tokens + elapsedSeconds * this.perSecond);
      bucket.updatedMs = now;
    }
    this.buckets.set(key, bucket);
    this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) };
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** True when `key` has a bucket (for tests and diagnostics). */
  has(key: string): boolean {
    return this.buckets.has(key);
  }

  private evict(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) return;
      this.buckets.delete(oldest.value);
    }
  }
}
