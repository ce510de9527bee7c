/**
 * @module storage/backends/s3/writer
 * Streams an async iterable of bytes into one S3 object with bounded memory:
 * up to the multipart threshold the bytes are buffered and sent as a single
 * PutObject; beyond it they go out as a multipart upload whose parts are
 * uploaded a few at a time while the source keeps being read. Nothing is
 * visible under the key until the PutObject or CompleteMultipartUpload
 * succeeds, and every failure path aborts the multipart upload.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { RegistryError } from '../../../errors/index.js';
import type { EncryptionParams, PublishParams, S3Context } from './context.js';
import { isMissing, storageFailure } from './s3-errors.js';
import { S3_MAX_PARTS } from './settings.js';

/** Parts between two growth steps of the part size (see `multipartChunkBytes`). */
const PARTS_PER_SIZE_STEP = 2000;

/** How {@link writeObject} writes and what it does when things go wrong. */
export interface WriteOptions {
  /** Encryption (and for published objects, storage class) of the object. */
  params: EncryptionParams | PublishParams;
  /** Aborts the write: in-flight requests are cancelled and the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * When the source throws: `discard` stores nothing, `keep` first stores
   * everything the source yielded (then rethrows), so a resumable upload
   * loses as little as possible.
   */
  onSourceFailure: 'discard' | 'keep';
  /** Store no object at all for an empty source (upload parts), rather than an empty one. */
  skipEmpty: boolean;
  /** What the write is, for error details (`writing a staging object`). */
  action: string;
}

/** An error thrown by the source, kept apart from the store's own failures. */
class SourceFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Writes all of `source` to `key` and resolves with the number of bytes
 * stored (0 and nothing stored for an empty source with `skipEmpty`).
 *
 * Rejects with the source's own error when it throws, with the signal's
 * reason when `signal` aborts, and with `STORAGE_FAILURE` when S3 fails. In
 * every rejection nothing is left under `key` and no multipart upload stays
 * open — except with `onSourceFailure: 'keep'`, where a source failure
 * leaves exactly the bytes it yielded stored under `key`.
 */
export async function writeObject(ctx: S3Context, key: string, source: AsyncIterable<Uint8Array>, options: WriteOptions): Promise<number> {
  const { signal } = options;
  signal?.throwIfAborted();
  // Cancels our own in-flight requests when the caller aborts or a part fails.
  const requests = new AbortController();
  // Each request in flight listens on it (the SDK adds more than one listener per request).
  setMaxListeners(8 * ctx.settings.multipartConcurrency + 16, requests.signal);
  const onAbort = (): void => requests.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const pending = new ByteQueue();
  let multipart: MultipartWriter | undefined;
  let total = 0;
  const iterator = source[Symbol.asyncIterator]();

  async function finish(): Promise<void> {
    if (multipart) {
      if (pending.size > 0) await multipart.uploadPartFrom(pending, pending.size);
      await multipart.complete();
    } else if (total > 0 || !options.skipEmpty) {
      const body = pending.takeAll();
      await ctx.client.send(
        new PutObjectCommand({ Bucket: ctx.bucket, Key: key, Body: body, ContentLength: body.length, ...options.params }),
        { abortSignal: requests.signal },
      );
    }
  }

  async function discard(): Promise<void> {
    requests.abort();
    if (multipart) await multipart.abort();
    // A PutObject cancelled late may still have landed; the key is ours alone.
    else if (total > 0 || !options.skipEmpty) await deleteQuietly(ctx, key);
  }

  try {
    for (;;) {
      const step = await nextChunk(iterator, signal);
      if (step.done) break;
      const chunk = step.value;
      signal?.throwIfAborted();
      if (chunk.length === 0) continue;
      pending.push(chunk);
      total += chunk.length;
      if (!multipart && pending.size > ctx.settings.multipartThresholdBytes) {
        multipart = await MultipartWriter.start(ctx, key, options.params, requests.signal);
      }
      // Waits for a free slot, not for the upload: reading goes on meanwhile.
      if (multipart) while (pending.size >= multipart.nextPartSize) await multipart.uploadPartFrom(pending, multipart.nextPartSize);
    }
    await finish();
    return total;
  } catch (error) {
    if (error instanceof SourceFailure) {
      if (options.onSourceFailure === 'keep' && !signal?.aborted) {
        try {
          await finish();
        } catch {
          await discard().catch(() => undefined);
        }
      } else {
        await discard().catch(() => undefined);
      }
      throw error.error;
    }
    closeQuietly(iterator);
    await discard().catch(() => undefined);
    if (signal?.aborted) throw signal.reason;
    throw storageFailure(options.action, error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The next step of `iterator`, rejecting with the signal's reason as soon as it aborts, and with a {@link SourceFailure} when the source throws. */
async function nextChunk(iterator: AsyncIterator<Uint8Array>, signal: AbortSignal | undefined): Promise<IteratorResult<Uint8Array>> {
  const pulled = iterator.next().then(
    (step) => step,
    (error: unknown) => {
      throw new SourceFailure(error);
    },
  );
  if (!signal) return pulled;
  // A source stuck in `next()` (a stalled client) must not hold an aborted write.
  pulled.catch(() => undefined);
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([pulled, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Tells the source we stopped reading (destroys a stream), without waiting for it. */
function closeQuietly(iterator: AsyncIterator<Uint8Array>): void {
  try {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  } catch {
    // A source that cannot even be closed is the source's problem.
  }
}

/** Deletes `key`, ignoring every failure: for cleanup paths, where `removeStaleStaging` is the safety net. */
export async function deleteQuietly(ctx: S3Context, key: string): Promise<void> {
  try {
    await ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: key }));
  } catch {
    // Reclaimed later by age.
  }
}

/** A FIFO of byte chunks from which fixed-size pieces are cut. The chunks are not copied until cut. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  size = 0;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Removes the first `length` bytes (at most {@link size}) as one buffer, written into `out` when given. */
  take(length: number, out: Buffer = Buffer.allocUnsafe(length)): Buffer {
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0] as Uint8Array;
      const wanted = length - filled;
      if (chunk.length <= wanted) {
        out.set(chunk, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        out.set(chunk.subarray(0, wanted), filled);
        filled += wanted;
        this.chunks[0] = chunk.subarray(wanted);
      }
    }
    this.size -= length;
    return out;
  }

  /** Removes everything as one buffer (no copy when it is a single chunk). */
  takeAll(): Buffer {
    if (this.chunks.length === 1) {
      const only = this.chunks[0] as Uint8Array;
      this.chunks = [];
      this.size = 0;
      return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
    }
    return this.take(this.size);
  }
}

/**
 * One multipart upload being streamed: parts go out in order, at most
 * `multipartConcurrency` at a time; the first failure stops it.
 */
export class MultipartWriter {
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Part buffers whose upload finished, reused for the next parts: memory
   * stays at `multipartConcurrency` parts however long the stream, and does
   * not wait for the garbage collector.
   */
  private spare: Buffer[] = [];
  private failure: { error: unknown } | undefined;
  private uploaded = 0;

  private constructor(
    private readonly ctx: S3Context,
    private readonly key: string,
    private readonly uploadId: string,
    private readonly signal: AbortSignal,
  ) {}

  /** Opens a multipart upload to `key`. */
  static async start(ctx: S3Context, key: string, params: EncryptionParams | PublishParams, signal: AbortSignal): Promise<MultipartWriter> {
    const created = await ctx.client.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: key, ...params }), { abortSignal: signal });
    if (!created.UploadId) throw new RegistryError('STORAGE_FAILURE', 'the store opened a multipart upload without an upload id');
    return new MultipartWriter(ctx, key, created.UploadId, signal);
  }

  /** Size of the next part: one chunk, plus one more every {@link PARTS_PER_SIZE_STEP} parts. */
  get nextPartSize(): number {
    return this.ctx.settings.multipartChunkBytes * (1 + Math.floor(this.uploaded / PARTS_PER_SIZE_STEP));
  }

  /**
   * Once a slot is free, cuts the next `length` bytes off `queue` and starts
   * uploading them as the next part; rejects with the first failure of any part.
   */
  async uploadPartFrom(queue: ByteQueue, length: number): Promise<void> {
    while (this.inFlight.size >= this.ctx.settings.multipartConcurrency) {
      this.throwIfFailed();
      await Promise.race(this.inFlight);
    }
    this.throwIfFailed();
    if (this.uploaded >= S3_MAX_PARTS) {
      throw new RegistryError('STORAGE_FAILURE', `object exceeds ${S3_MAX_PARTS} parts; raise multipartChunkBytes`);
    }
    const buffer = this.spareBuffer(length);
    const body = queue.take(length, buffer);
    const partNumber = ++this.uploaded;
    const task = this.ctx.client
      .send(
        new UploadPartCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
        { abortSignal: this.signal },
      )
      .then(
        (result) => {
          this.parts[partNumber - 1] = { PartNumber: partNumber, ETag: result.ETag };
          // The request is over (retries included): nothing reads the buffer any more.
          if (buffer) this.spare.push(buffer);
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Waits for every part, then completes the upload: the object appears whole. */
  async complete(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    await this.ctx.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
      { abortSignal: this.signal },
    );
  }

  /** Waits for the parts in flight to settle, then aborts the upload. Never throws for an upload already gone. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await abortMultipartUpload(this.ctx, this.key, this.uploadId);
  }

  /** A buffer of exactly `length` bytes to fill, reused when one is free; undefined for a short last part. */
  private spareBuffer(length: number): Buffer | undefined {
    if (length !== this.nextPartSize) return undefined;
    // The part size grew: the smaller buffers are of no more use.
    this.spare = this.spare.filter((buffer) => buffer.length === length);
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(length);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** Aborts a multipart upload; one that no longer exists counts as aborted. */
export async function abortMultipartUpload(ctx: S3Context, key: string, uploadId: string): Promise<void> {
  try {
    await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
