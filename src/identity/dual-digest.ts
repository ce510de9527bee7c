/**
 * @module identity/dual-digest
 * SHA-256 and BLAKE3 over the same bytes in a single pass. Each chunk is fed to
 * both hashers as it flows, so a stream is read once whatever its size.
 */
import { createHash as createSha256, type Hash } from 'node:crypto';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { createHash as createBlake3 } from './blake3.js';

/** The result of hashing one byte sequence with both algorithms. */
export interface DualDigest {
  /** BLAKE3-256, 64 lowercase hex. */
  readonly blake3: string;
  /** SHA-256, 64 lowercase hex. */
  readonly sha256: string;
  /** Number of bytes hashed. */
  readonly size: number;
}

/**
 * Incremental dual hasher. Feed chunks with {@link DualDigestHasher.update};
 * {@link DualDigestHasher.digest} may be called once.
 */
export class DualDigestHasher {
  private readonly sha256: Hash = createSha256('sha256');
  private readonly blake3 = createBlake3();
  private bytes = 0;
  private finished = false;

  /** Adds a chunk to both digests. */
  update(chunk: Uint8Array): this {
    if (this.finished) throw new Error('DualDigestHasher: update after digest');
    this.sha256.update(chunk);
    this.blake3.update(chunk);
    this.bytes += chunk.byteLength;
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
    const blake3 = this.blake3.digest('hex');
    this.blake3.dispose();
    return { blake3, sha256: this.sha256.digest('hex'), size: this.bytes };
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
