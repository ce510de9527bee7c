/**
 * @module client/upload
 * Resumable chunked upload of one byte source into an upload session. The
 * server's offset is the truth: every chunk goes where the server says the
 * upload ends, and after any failed chunk the offset is read again (HEAD) and
 * the source re-read from there. Both digests are computed over exactly the
 * bytes the server acknowledged, and compared with the file it records.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { RegistryError } from '../errors/index.js';
import { DualDigestHasher, type DualDigest } from '../identity/index.js';
import type { NativeApi } from './api.js';
import { TransportError, isRemoteError, isTransient, protocolError } from './errors.js';
import { isAbort, retryDelay, sleep } from './transport.js';
import type { FileRecord } from './types.js';

/**
 * 32 MiB: the default chunk of a PATCH. Each chunk costs the server a fixed
 * session read and one fsync (the offset it acknowledges is durable), so
 * larger chunks amortise that; each chunk is also held in memory (to hash on
 * acknowledgement and to resend), per file uploaded in parallel.
 */
export const DEFAULT_CHUNK_SIZE = 32 << 20;

/** Random access to the bytes being uploaded. */
export interface ChunkSource {
  /** Total bytes the source will deliver. */
  readonly size: number;
  /**
   * Up to `length` bytes at `offset`; fewer only at the end. With `into`
   * (at least `length` bytes), a source may read into it and return a view
   * of it instead of allocating (the caller reuses one buffer per upload).
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A {@link ChunkSource} over a local file (positional reads: "seek to the offset"). */
export async function openFileSource(path: string, expectedSize?: number): Promise<ChunkSource> {
  const handle: FileHandle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (expectedSize !== undefined && size !== expectedSize) {
      throw new RegistryError('SIZE_MISMATCH', `${path} is ${size} bytes now, ${expectedSize} when the push started`);
    }
    return {
      size,
      read: async (offset, length, into) => {
        // A fresh buffer this size is fresh pages to fault in; a reused one is not.
        const buffer = into !== undefined && into.byteLength >= length ? into : Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled === buffer.byteLength ? buffer : buffer.subarray(0, filled);
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Options of {@link uploadSource}. */
export interface UploadOptions {
  /** Bytes per PATCH (default {@link DEFAULT_CHUNK_SIZE}, 32 MiB). */
  readonly chunkSize?: number;
  readonly signal?: AbortSignal;
  /** The server's offset when the caller already read it (saves a HEAD). */
  readonly offset?: number;
  /** Where the session belongs; lets a lost `complete` answer be recovered from the package's file list. */
  readonly session?: { readonly package_id: string; readonly relative_path: string };
  /** Called after every acknowledged chunk with the server's offset. */
  readonly onProgress?: (offset: number, size: number) => void;
}

/** Uploads `source` into session `uploadId`; see the module comment. */
export async function uploadSource(client: NativeApi, uploadId: string, source: ChunkSource, options: UploadOptions = {}): Promise<FileRecord> {
  const size = source.size;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new TypeError(`chunk size must be a positive integer, got ${chunkSize}`);
  const policy = client.transport.retry;
  const signal = options.signal;
  const call = signal ? { signal } : {};

  let offset: number;
  if (options.offset !== undefined) {
    offset = options.offset;
  } else {
    const status = await client.uploadStatus(uploadId, call);
    if (status.size !== null && status.size !== size) {
      throw new RegistryError('SIZE_MISMATCH', `upload ${uploadId} was declared as ${status.size} bytes; the source has ${size}`);
    }
    offset = status.offset;
  }
  if (offset > size) throw new RegistryError('SIZE_MISMATCH', `upload ${uploadId} already holds ${offset} bytes; the source has only ${size}`);

  const hasher = new PrefixHasher(source);
  await hasher.advance(offset);
  options.onProgress?.(offset, size);

  let failures = 0;
  // One chunk buffer for the whole upload: a chunk is done with (acknowledged
  // and hashed) before the next one is read.
  const buffer = Buffer.allocUnsafeSlow(Math.min(chunkSize, size - offset));
  while (offset < size) {
    signal?.throwIfAborted();
    const length = Math.min(chunkSize, size - offset);
    const bytes = await source.read(offset, length, buffer);
    if (bytes.byteLength !== length) throw new RegistryError('SIZE_MISMATCH', `the source ended at ${offset + bytes.byteLength} bytes; ${size} were announced`);
    let next: number;
    let failed = false;
    // The chunk is hashed while it travels, ahead of its acknowledgement;
    // `advance` below takes the digest back to what the server really holds.
    const hashing = hasher.speculate(offset, bytes);
    try {
      next = (await client.appendChunk(uploadId, bytes, offset, size, call)).offset;
    } catch (error) {
      await hashing;
      failed = true;
      if (isAbort(error, signal)) throw error;
      const misplaced = isRemoteError(error, 'UPLOAD_OFFSET_MISMATCH');
      if (!misplaced && !isTransient(error)) throw error;
      failures += 1;
      if (failures >= policy.attempts) throw error instanceof TransportError ? new TransportError(error.request, failures, error.cause) : error;
      if (!misplaced) await sleep(retryDelay(policy, failures, error), signal);
      // Where does the upload really end? (the chunk may have landed, wholly or in part)
      next = (await client.uploadStatus(uploadId, call)).offset;
    }
    await hashing;
    if (next > size) throw new RegistryError('SIZE_MISMATCH', `upload ${uploadId} reports ${next} bytes; the source has only ${size}`);
    if (next > offset) {
      failures = 0;
    } else if (!failed && ++failures >= policy.attempts) {
      throw protocolError(`PATCH /uploads/${uploadId}`, `the server acknowledged chunks at ${offset} without the upload growing`);
    }
    await hasher.advance(next, { offset, bytes });
    offset = next;
    options.onProgress?.(offset, size);
  }

  const file = await completeWithRecovery(client, uploadId, options, policy);
  const digest = hasher.finish(size);
  const expected = { size, content_address: `blake3:${digest.blake3}`, digest_sha256: `sha256:${digest.sha256}` };
  if (file.size !== expected.size || file.content_address !== expected.content_address || file.digest_sha256 !== expected.digest_sha256) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `${file.relative_path}: the server recorded ${file.size} bytes ${file.content_address} ${file.digest_sha256}; the client sent ${size} bytes ${expected.content_address} ${expected.digest_sha256}`,
      { file_id: file.id, relative_path: file.relative_path, expected, actual: { size: file.size, content_address: file.content_address, digest_sha256: file.digest_sha256 } },
    );
  }
  return file;
}

/**
 * `complete`, and when its answer is lost: retry while the session still
 * exists, or find the file it became in the package once it no longer does.
 */
async function completeWithRecovery(client: NativeApi, uploadId: string, options: UploadOptions, policy: { attempts: number; baseDelayMs: number; maxDelayMs: number }): Promise<FileRecord> {
  const call = options.signal ? { signal: options.signal } : {};
  for (let tried = 1; ; tried += 1) {
    try {
      return await client.completeUpload(uploadId, call);
    } catch (error) {
      if (isAbort(error, options.signal) || !isTransient(error) || tried >= policy.attempts) throw error;
      await sleep(retryDelay(policy, tried, error), options.signal);
      try {
        await client.getUpload(uploadId, call);
        continue; // still open: complete again
      } catch (lookup) {
        if (!isRemoteError(lookup, 'UPLOAD_NOT_FOUND') || !options.session) throw error;
      }
      const found = (await client.listFiles(options.session.package_id, call)).find((file) => file.relative_path === options.session!.relative_path);
      if (found) return found;
      throw error;
    }
  }
}

/** Dual digest of the source's prefix [0, hashed), advanced as the server acknowledges bytes. */
class PrefixHasher {
  private hasher = new DualDigestHasher();
  private hashed = 0;

  constructor(private readonly source: ChunkSource) {}

  /**
   * Hashes `bytes`, which sit at `offset`, before the server has acknowledged
   * them (only when they continue the digest), in slices with a turn of the
   * event loop between them so the request carrying them keeps flowing. A
   * later {@link advance} to a smaller target starts over from the source.
   */
  async speculate(offset: number, bytes: Uint8Array): Promise<void> {
    if (offset !== this.hashed) return;
    const slice = 1 << 20;
    for (let at = 0; at < bytes.byteLength; at += slice) {
      if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const piece = bytes.subarray(at, Math.min(at + slice, bytes.byteLength));
      this.hasher.update(piece);
      this.hashed += piece.byteLength;
    }
  }

  /** Extends the digest to `[0, target)`, from `window` when it covers the gap, else from the source. */
  async advance(target: number, window?: { offset: number; bytes: Uint8Array }): Promise<void> {
    if (target < this.hashed) {
      // The server went back (a session restarted): hash again from the start.
      this.hasher = new DualDigestHasher();
      this.hashed = 0;
    }
    if (target === this.hashed) return;
    if (window && window.offset <= this.hashed && window.offset + window.bytes.byteLength >= target) {
      this.hasher.update(window.bytes.subarray(this.hashed - window.offset, target - window.offset));
      this.hashed = target;
      return;
    }
    const step = 4 << 20;
    while (this.hashed < target) {
      const length = Math.min(step, target - this.hashed);
      const bytes = await this.source.read(this.hashed, length);
      if (bytes.byteLength !== length) throw new RegistryError('SIZE_MISMATCH', `the source ended at ${this.hashed + bytes.byteLength} bytes while hashing its first ${target}`);
      this.hasher.update(bytes);
      this.hashed += length;
    }
  }

  finish(size: number): DualDigest {
    if (this.hashed !== size) throw new Error(`internal: hashed ${this.hashed} of ${size} bytes`);
    return this.hasher.digest();
  }
}
