/**
 * @module identity/dual-digest
 * SHA-256 and BLAKE3 over the same bytes in a single pass. Each chunk is fed to
 * both hashers as it flows, so a stream is read once whatever its size; the
 * two hashes of a large stream run on two threads.
 */
import { createHash as createSha256 } from 'node:crypto';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { createHash as createBlake3 } from './blake3.js';
import { OffloadedSha256, SLOT_BYTES } from './sha256-thread.js';

/** The result of hashing one byte sequence with both algorithms. */
export interface DualDigest {
  /** BLAKE3-256, 64 lowercase hex. */
  readonly blake3: string;
  /** SHA-256, 64 lowercase hex. */
  readonly sha256: string;
  /** Number of bytes hashed. */
  readonly size: number;
}

/** Gathering buffers of finished or idle hashers, for the next ones. */
const spareStaging: Uint8Array[] = [];
const SPARE_STAGING_LIMIT = 32;

function takeStaging(): Uint8Array {
  return spareStaging.pop() ?? new Uint8Array(SLOT_BYTES);
}

/**
 * Incremental dual hasher. Feed chunks with {@link DualDigestHasher.update};
 * {@link DualDigestHasher.digest} may be called once.
 *
 * Chunks are gathered into a buffer of {@link SLOT_BYTES}; each time it is
 * full it is hashed with BLAKE3 here and handed to the SHA-256 thread, so the two
 * digests are computed in parallel. An input that never fills one buffer
 * (a manifest, a small blob) is hashed here at {@link DualDigestHasher.digest}
 * and never leaves this thread. Both calls are synchronous and may block
 * briefly on the SHA-256 thread (see identity/sha256-thread).
 */
export class DualDigestHasher {
  private readonly blake3 = createBlake3();
  private sha256: OffloadedSha256 | undefined;
  private staging: Uint8Array | undefined;
  private filled = 0;
  private bytes = 0;
  private finished = false;

  /** Adds a chunk to both digests. */
  update(chunk: Uint8Array): this {
    if (this.finished) throw new Error('DualDigestHasher: update after digest');
    for (let at = 0; at < chunk.byteLength; ) {
      if (this.filled === 0 && chunk.byteLength - at >= SLOT_BYTES) {
        // A whole slot's worth in hand: no need to gather it first.
        this.handOver(chunk.subarray(at, at + SLOT_BYTES));
        at += SLOT_BYTES;
        continue;
      }
      this.staging ??= takeStaging();
      const take = Math.min(chunk.byteLength - at, this.staging.byteLength - this.filled);
      this.staging.set(take === chunk.byteLength ? chunk : chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.staging.byteLength) this.handOver(this.staging);
    }
    this.bytes += chunk.byteLength;
    return this;
  }

  /**
   * Hands over what is gathered so far, so that a hasher left idle between
   * chunks (a resumable upload's running digest) holds no buffer.
   */
  flush(): this {
    if (this.filled > 0) this.handOver(this.staging!.subarray(0, this.filled));
    this.releaseStaging();
    return this;
  }

  /** Number of bytes fed so far. */
  get size(): number {
    return this.bytes;
  }

  /** Finishes both digests. */
  digest(): DualDigest {
    if (this.finished) throw new Error('DualDigestHasher: digest called twice');
    this.finished = true;
    let sha256: string;
    if (this.sha256 === undefined) {
      const rest = this.staging?.subarray(0, this.filled) ?? new Uint8Array(0);
      this.blake3.update(rest);
      sha256 = createSha256('sha256').update(rest).digest('hex');
    } else {
      this.flush();
      sha256 = this.sha256.digest().toString('hex');
    }
    this.releaseStaging();
    const blake3 = this.blake3.digest('hex');
    this.blake3.dispose();
    return { blake3, sha256, size: this.bytes };
  }

  /** Hashes `slot` (at most {@link SLOT_BYTES}) with BLAKE3 here and queues it for SHA-256; empties the gathering buffer. */
  private handOver(slot: Uint8Array): void {
    this.blake3.update(slot);
    (this.sha256 ??= new OffloadedSha256()).update(slot);
    this.filled = 0;
  }

  private releaseStaging(): void {
    if (this.staging === undefined) return;
    if (spareStaging.length < SPARE_STAGING_LIMIT) spareStaging.push(this.staging);
    this.staging = undefined;
  }
}

/** Hashes a whole in-memory buffer with both algorithms. */
export function dualDigestOf(bytes: Uint8Array): DualDigest {
  return new DualDigestHasher().update(bytes).digest();
}

/**
 * A pass-through stream that hashes what flows through it. The digest is
 * available from {@link DualDigestStream.result} once the stream has ended.
 */
export class DualDigestStream extends Transform {
  private readonly hasher = new DualDigestHasher();
  private computed: DualDigest | undefined;

  constructor(options: { highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hasher.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.computed = this.hasher.digest();
    callback();
  }

  /** The digest; throws if the stream has not finished. */
  result(): DualDigest {
    if (!this.computed) throw new Error('DualDigestStream: result() before the stream ended');
    return this.computed;
  }
}

/** Consumes `stream` entirely and returns its dual digest. */
export async function dualDigestOfStream(stream: Readable | AsyncIterable<Uint8Array>): Promise<DualDigest> {
  const hasher = new DualDigestHasher();
  for await (const chunk of stream as AsyncIterable<Uint8Array>) hasher.update(chunk);
  return hasher.digest();
}

/** Digests of the empty byte sequence, per algorithm. */
export const EMPTY_DIGESTS = {
  blake3: 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
} as const;
