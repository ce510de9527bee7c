/**
 * @module client/upload
 * Resumable chunked upload of one byte source into an upload session. The
 * server's offset is the truth: chunks go where the server says the upload
 * ends (two in flight, the second sent once the first is on the wire), and
 * after any failed chunk the offset is read again (HEAD) and the source
 * re-read from there. Both digests are computed over the source, each byte
 * once, as it is sent, and compared with the file the server records.
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
 * larger chunks amortise that; each chunk in flight (two per file) is also
 * held in memory until answered, per file uploaded in parallel.
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

  const hasher = new SourceHasher(source);
  await hasher.advance(offset);
  options.onProgress?.(offset, size);

  let failures = 0;
  // Chunks in flight, oldest first. The next chunk goes out once the one
  // before it is on the wire, so it travels while the server syncs that one.
  const flights: Flight[] = [];
  // A buffer per chunk in flight, reused for the whole upload.
  const buffers: Buffer[] = [];
  let sendAt = offset;
  try {
    while (offset < size) {
      signal?.throwIfAborted();
      while (flights.length < CHUNKS_IN_FLIGHT && sendAt < size) {
        const previous = flights.at(-1);
        if (previous !== undefined) await Promise.race([previous.sent, previous.settled]);
        const length = Math.min(chunkSize, size - sendAt);
        const buffer = freeBuffer(buffers, flights, Math.min(chunkSize, size - offset));
        const bytes = await source.read(sendAt, length, buffer);
        if (bytes.byteLength !== length) throw new RegistryError('SIZE_MISMATCH', `the source ended at ${sendAt + bytes.byteLength} bytes; ${size} were announced`);
        flights.push(launch(client, uploadId, sendAt, bytes, buffer, size, hasher, signal));
        sendAt += length;
      }
      const head = flights[0]!;
      let next: number;
      let failed = false;
      try {
        next = await head.answer;
      } catch (error) {
        failed = true;
        // Chunks sent after it were aimed past where the upload may end.
        await Promise.all(flights.map((flight) => flight.settled));
        if (isAbort(error, signal)) throw error;
        const misplaced = isRemoteError(error, 'UPLOAD_OFFSET_MISMATCH');
        if (!misplaced && !isTransient(error)) throw error;
        failures += 1;
        if (failures >= policy.attempts) throw error instanceof TransportError ? new TransportError(error.request, failures, error.cause) : error;
        if (!misplaced) await sleep(retryDelay(policy, failures, error), signal);
        // Where does the upload really end? (the chunk may have landed, wholly or in part)
        next = (await client.uploadStatus(uploadId, call)).offset;
      }
      await head.settled;
      flights.shift();
      if (next > size) throw new RegistryError('SIZE_MISMATCH', `upload ${uploadId} reports ${next} bytes; the source has only ${size}`);
      if (next > offset) {
        failures = 0;
      } else if (!failed && ++failures >= policy.attempts) {
        throw protocolError(`PATCH /uploads/${uploadId}`, `the server acknowledged chunks at ${offset} without the upload growing`);
      }
      if (failed || next !== head.offset + head.bytes.byteLength) {
        // Resume from the server's offset: what is still in flight is moot.
        await Promise.all(flights.map((flight) => flight.settled));
        flights.length = 0;
        sendAt = next;
      }
      await hasher.advance(next);
      offset = next;
      options.onProgress?.(offset, size);
    }
  } catch (error) {
    // Leave no request behind: what was sent is then all the server will
    // get, and the offset a resumed push reads is final.
    await Promise.all(flights.map((flight) => flight.settled));
    throw error;
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

/** Chunks of one upload in flight at once (see ADR 0030). */
const CHUNKS_IN_FLIGHT = 2;

/** One chunk on its way. */
interface Flight {
  readonly offset: number;
  readonly bytes: Uint8Array;
  /** The buffer `bytes` lives in; free again once `settled` resolves. */
  readonly buffer: Buffer;
  /** The server's offset after it, or the failure. */
  readonly answer: Promise<number>;
  /** Resolves once the whole chunk has been handed to the connection. */
  readonly sent: Promise<void>;
  /** Resolves (never rejects) once the answer is in and the chunk is hashed: its buffer may be reused. */
  readonly settled: Promise<void>;
}

/** Sends `bytes` at `offset` and hashes them while they travel. */
function launch(client: NativeApi, uploadId: string, offset: number, bytes: Uint8Array, buffer: Buffer, size: number, hasher: SourceHasher, signal: AbortSignal | undefined): Flight {
  let onSent!: () => void;
  const sent = new Promise<void>((resolve) => (onSent = resolve));
  const answer = client.appendChunk(uploadId, bytes, offset, size, { ...(signal ? { signal } : {}), onSent }).then((reply) => reply.offset);
  // Awaited by the loop only for the oldest chunk; a later one's failure is read through `settled`.
  answer.catch(() => undefined);
  const hashed = hasher.speculate(offset, bytes);
  const settled = Promise.allSettled([answer, hashed]).then(() => undefined);
  return { offset, bytes, buffer, answer, sent, settled };
}

/** A buffer of at least `length` bytes that no chunk in flight uses. */
function freeBuffer(buffers: Buffer[], flights: readonly Flight[], length: number): Buffer {
  const free = buffers.find((buffer) => buffer.byteLength >= length && !flights.some((flight) => flight.buffer === buffer));
  if (free !== undefined) return free;
  const buffer = Buffer.allocUnsafeSlow(length);
  buffers.push(buffer);
  return buffer;
}

/**
 * Dual digest of the source, each byte hashed once, in order: chunks are
 * hashed as they are sent, and the rest read from the source when the
 * server holds more than was sent from here (a session continued). Bytes
 * sent again after a failure are not hashed again; they are the same bytes
 * of the same source. The final comparison with the server's record catches
 * a server that holds anything else.
 */
class SourceHasher {
  private readonly hasher = new DualDigestHasher();
  private hashed = 0;
  /** The hashing of chunks is chained so they are hashed in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly source: ChunkSource) {}

  /**
   * Hashes `bytes`, which sit at `offset`, when they continue the digest, in
   * slices with a turn of the event loop between them so the requests in
   * flight keep flowing. Resolves once done (or skipped); never rejects.
   */
  speculate(offset: number, bytes: Uint8Array): Promise<void> {
    const run = async (): Promise<void> => {
      if (offset !== this.hashed) return;
      const slice = 1 << 20;
      for (let at = 0; at < bytes.byteLength; at += slice) {
        if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const piece = bytes.subarray(at, Math.min(at + slice, bytes.byteLength));
        this.hasher.update(piece);
        this.hashed += piece.byteLength;
      }
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Makes sure the digest covers at least `[0, target)`, reading from the source what was not hashed yet. */
  async advance(target: number): Promise<void> {
    if (target <= this.hashed) return;
    await this.queue;
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
