/**
 * @module storage/backends/s3/s3-backend
 * The S3 backend: objects in one bucket under `<prefix>/blake3/ab/cd/<hex>`.
 * Writes stream to a staging key first (`<prefix>/staging/<pid>-<uuid>`,
 * PutObject or a multipart upload with bounded memory); `put` copies the
 * staged object server-side to its content address and deletes the staging
 * key, so an object only ever appears under its verified address, whole.
 * Resumable uploads keep their chunks as objects in the bucket
 * (see `uploads.ts`), so every replica can continue them.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { RegistryError } from '../../../errors/index.js';
import {
  BLOB_READ_HIGH_WATER_MARK,
  type BackendHealth,
  type ByteRange,
  type DirectReadOptions,
  type ObjectRead,
  type ObjectStat,
  type ReadHints,
  type PutOutcome,
  type StagedObject,
  type StorageBackend,
  type UploadInfo,
} from '../../backend.js';
import { objectKeyFor } from '../../object-key.js';
import { resolveRange } from '../../range.js';
import { attachS3Context, createS3Context, type S3Context } from './context.js';
import { copyObject } from './copy.js';
import { deleteKeys, listMultipartUploads, listObjects } from './listing.js';
import { presignWithContext } from './presign.js';
import { describeS3Error, isInvalidRange, isMissing, storageFailure } from './s3-errors.js';
import { resolveS3Settings, type S3BackendOptions } from './settings.js';
import { socketGet } from './socket-read.js';
import { S3Uploads } from './uploads.js';
import { abortMultipartUpload, deleteQuietly, writeObject } from './writer.js';

/** The S3 {@link StorageBackend}, with what operators and tests need to see of it. */
export interface S3Backend extends StorageBackend {
  /** The bucket. */
  readonly bucket: string;
  /** The normalised key prefix (no leading or trailing slash; empty for the bucket root). */
  readonly keyPrefix: string;
  /** The full key in the bucket of `address`: the prefix, then {@link StorageBackend.keyFor}. */
  bucketKeyFor(address: string): string;
}

export { s3ContextOf } from './context.js';

/**
 * Opens an S3 backend and checks that the bucket answers (HeadBucket).
 * Does not clean staging leftovers: the caller runs
 * {@link StorageBackend.removeStaleStaging} once it knows no writer is active.
 * @throws RegistryError `CONFIG_INVALID` for invalid options; `STORAGE_FAILURE`
 *   when the bucket cannot be reached or does not exist.
 */
export async function openS3Backend(options: S3BackendOptions): Promise<S3Backend> {
  const settings = resolveS3Settings(options);
  const ctx = createS3Context(settings);
  try {
    await ctx.client.send(new HeadBucketCommand({ Bucket: ctx.bucket }));
  } catch (error) {
    ctx.client.destroy();
    throw storageFailure('opening the bucket', error);
  }
  const backend = new S3ObjectBackend(ctx);
  attachS3Context(backend, ctx);
  return backend;
}

/**
 * Objects at least this large are read on a socket of our own when the store
 * speaks plain HTTP (ADR 0033). Below it, the SDK's pooled connection beats
 * a new one per read.
 */
const SOCKET_READ_MIN_BYTES = 4 * 1024 * 1024;
/** Lifetime of the URL a socket read presigns for itself (used at once). */
const SOCKET_READ_URL_SECONDS = 60;

/** A staged object: the staging key and its size. */
interface StagedEntry {
  key: string;
  size: number;
}

class S3ObjectBackend implements S3Backend {
  readonly id: string;
  readonly bucket: string;
  readonly keyPrefix: string;
  /** Staged handles still owned by this backend, to their staging key. */
  private readonly staged = new WeakMap<StagedObject, StagedEntry>();
  private readonly uploads: S3Uploads;
  private closed = false;
  /** Whether large reads go over a socket of our own (a plain-HTTP endpoint). */
  private readonly socketReads: boolean;

  constructor(private readonly ctx: S3Context) {
    this.socketReads = ctx.settings.endpointUrl !== undefined && new URL(ctx.settings.endpointUrl).protocol === 'http:';
    this.id = ctx.settings.id;
    this.bucket = ctx.bucket;
    this.keyPrefix = ctx.layout.prefix;
    this.uploads = new S3Uploads(ctx);
  }

  keyFor(address: string): string {
    return objectKeyFor(address);
  }

  bucketKeyFor(address: string): string {
    return this.ctx.layout.objectKey(address);
  }

  async stage(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedObject> {
    signal?.throwIfAborted();
    // The writer's pid in the name lets startup cleanup spare the objects of
    // other live processes on this host.
    const key = this.ctx.layout.newStagingKey();
    const size = await writeObject(this.ctx, key, source, {
      params: this.ctx.encryption,
      signal,
      onSourceFailure: 'discard',
      skipEmpty: false,
      action: 'writing a staging object',
    });
    const staged: StagedObject = Object.freeze({ size });
    this.staged.set(staged, { key, size });
    return staged;
  }

  async put(staged: StagedObject, address: string): Promise<PutOutcome> {
    const entry = this.take(staged);
    try {
      const key = this.keyFor(address);
      const target = this.bucketKeyFor(address);
      let created: boolean;
      try {
        if (await this.exists(target)) {
          created = false;
        } else {
          // Server-side: the bytes do not come back through this process.
          await copyObject(this.ctx, entry.key, entry.size, target);
          created = true;
        }
      } catch (error) {
        throw storageFailure('publishing an object', error);
      }
      return { key, created };
    } finally {
      await deleteQuietly(this.ctx, entry.key);
    }
  }

  async discard(staged: StagedObject): Promise<void> {
    const entry = this.staged.get(staged);
    if (entry === undefined) return;
    this.staged.delete(staged);
    try {
      await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: entry.key }));
    } catch (error) {
      throw storageFailure('discarding a staging object', error);
    }
  }

  async get(address: string, range?: ByteRange, hints?: ReadHints): Promise<ObjectRead> {
    const key = this.bucketKeyFor(address);
    // A malformed range cannot be sent; refuse it with the object's size, as every backend does.
    if (range !== undefined && !isSendableRange(range)) throw await this.unsatisfiable(address, range);
    if (this.socketReads && (hints?.expectedSize ?? 0) >= SOCKET_READ_MIN_BYTES) {
      const read = await this.getOverSocket(address, range);
      if (read !== null) return read;
    }
    let response;
    try {
      response = await this.ctx.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
    } catch (error) {
      if (isMissing(error)) throw new RegistryError('OBJECT_NOT_FOUND', address);
      if (range !== undefined && isInvalidRange(error)) throw await this.unsatisfiable(address, range);
      throw storageFailure('reading an object', error);
    }
    const body = response.Body as Readable;
    const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? '');
    if (range !== undefined && served) {
      const [, start, end, total] = served as unknown as [string, string, string, string];
      return { stream: body, size: Number(total), range: { start: Number(start), end: Number(end) } };
    }
    const size = response.ContentLength ?? 0;
    if (range === undefined) return { stream: body, size, range: null };
    // The store ignored the range and sent the whole object (some do for
    // zero-length objects): apply it here.
    let resolved: ByteRange | null;
    try {
      resolved = resolveRange(range, size);
    } catch (error) {
      body.destroy();
      throw error;
    }
    const whole = resolved === null || (resolved.start === 0 && resolved.end === size - 1);
    return { stream: whole ? body : sliceStream(body, resolved as ByteRange), size, range: resolved };
  }

  /**
   * {@link get} on a socket of our own (ADR 0033), or null when the store's
   * answer is not a plain sized body: the SDK then reads (and maps errors).
   */
  private async getOverSocket(address: string, range: ByteRange | undefined): Promise<ObjectRead | null> {
    const presigned = await presignWithContext(this.ctx, address, SOCKET_READ_URL_SECONDS, range);
    let response;
    try {
      response = await socketGet(new URL(presigned.url), presigned.headers);
    } catch (error) {
      throw storageFailure('reading an object', error);
    }
    if (response === null) return null;
    const length = Number(response.headers.get('content-length'));
    if (range === undefined && response.status === 200) return { stream: response.body, size: length, range: null };
    const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
    if (range !== undefined && response.status === 206 && served) {
      const [, start, end, total] = served as unknown as [string, string, string, string];
      if (Number(end) - Number(start) + 1 === length) return { stream: response.body, size: Number(total), range: { start: Number(start), end: Number(end) } };
    }
    response.body.destroy();
    return null;
  }

  async head(address: string): Promise<ObjectStat | null> {
    const key = this.bucketKeyFor(address);
    try {
      const response = await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: response.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return null;
      throw storageFailure('inspecting an object', error);
    }
  }

  async delete(address: string): Promise<boolean> {
    const key = this.bucketKeyFor(address);
    // DeleteObject succeeds for absent keys, so existence is asked first; two
    // concurrent deletes of one object may both report true.
    try {
      if (!(await this.exists(key))) return false;
      await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      throw storageFailure('deleting an object', error);
    }
  }

  async *list(): AsyncIterable<string> {
    const pages = listObjects(this.ctx, this.ctx.layout.objectsPrefix);
    for (;;) {
      let step: IteratorResult<{ key: string }>;
      try {
        step = await pages.next();
      } catch (error) {
        throw storageFailure('listing objects', error);
      }
      if (step.done) return;
      // S3 lists keys in ascending byte order, and the fan-out directories are
      // prefixes of the hex, so addresses come out ascending too.
      const address = this.ctx.layout.addressOf(step.value.key);
      if (address !== null) yield address;
    }
  }

  createUpload(id: string): Promise<void> {
    return this.uploads.create(id);
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void): Promise<number> {
    // A part in S3 is durable once stored: nothing is left to overlap.
    const size = await this.uploads.append(id, offset, source, signal);
    onStored?.(size);
    return size;
  }

  uploadSize(id: string): Promise<number | null> {
    return this.uploads.size(id);
  }

  readUpload(id: string): Promise<Readable> {
    return this.uploads.read(id);
  }

  publishUpload(id: string, address: string): Promise<PutOutcome> {
    return this.uploads.publish(id, address);
  }

  deleteUpload(id: string): Promise<boolean> {
    return this.uploads.delete(id);
  }

  listUploads(): AsyncIterable<UploadInfo> {
    return this.uploads.list();
  }

  /** A presigned GET of the object, valid `expiresInSeconds` (1 s to 7 days); any `Range` the client sends is served. */
  async directReadUrl(address: string, options: DirectReadOptions): Promise<string> {
    return (await presignWithContext(this.ctx, address, options.expiresInSeconds)).url;
  }

  async health(): Promise<BackendHealth> {
    try {
      await this.ctx.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      // S3 has no capacity to report.
      return { ok: true, backend: this.id, freeBytes: null, totalBytes: null };
    } catch (error) {
      return { ok: false, backend: this.id, freeBytes: null, totalBytes: null, detail: `bucket unusable (${describeS3Error(error)})` };
    }
  }

  /**
   * Removes staging objects and aborts multipart uploads under the staging
   * prefix that are older than `staleStagingAgeSeconds`, or (unless
   * `staleStagingByPid` is off) whose writer pid is this process or no running
   * process on this host. Also aborts multipart uploads of upload chunks
   * older than the age limit (the leftovers of appends that crashed); the
   * chunks of staged uploads themselves are never touched. Counts each
   * object and each multipart upload. Removes nothing with `stagingCleanup: 'off'`.
   */
  async removeStaleStaging(): Promise<number> {
    const { staleStagingAgeMs, staleStagingByPid, staleStagingEnabled } = this.ctx.settings;
    if (!staleStagingEnabled) return 0;
    const now = Date.now();
    const stagingPrefix = this.ctx.layout.stagingPrefix;
    const isStale = (key: string, since: Date): boolean =>
      now - since.getTime() >= staleStagingAgeMs || (staleStagingByPid && !writerIsAlive(key.slice(stagingPrefix.length)));
    let removed = 0;
    try {
      const leftovers: string[] = [];
      for await (const entry of listObjects(this.ctx, stagingPrefix)) {
        if (isStale(entry.key, entry.lastModified)) leftovers.push(entry.key);
      }
      await deleteKeys(this.ctx, leftovers);
      removed += leftovers.length;
      for await (const upload of listMultipartUploads(this.ctx, stagingPrefix)) {
        if (!isStale(upload.key, upload.initiated)) continue;
        await abortMultipartUpload(this.ctx, upload.key, upload.uploadId);
        removed += 1;
      }
      for await (const upload of listMultipartUploads(this.ctx, this.ctx.layout.uploadsPrefix)) {
        if (now - upload.initiated.getTime() < staleStagingAgeMs) continue;
        await abortMultipartUpload(this.ctx, upload.key, upload.uploadId);
        removed += 1;
      }
      return removed;
    } catch (error) {
      throw storageFailure('cleaning staging leftovers', error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ctx.client.destroy();
  }

  private take(staged: StagedObject): StagedEntry {
    const entry = this.staged.get(staged);
    if (entry === undefined) {
      throw new RegistryError('INTERNAL', 'staged object is not from this backend or was already put or discarded');
    }
    this.staged.delete(staged);
    return entry;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /** The `RANGE_NOT_SATISFIABLE` for `range` (or `OBJECT_NOT_FOUND`), judged against the object's size. */
  private async unsatisfiable(address: string, range: ByteRange): Promise<RegistryError> {
    const stat = await this.head(address);
    if (stat === null) return new RegistryError('OBJECT_NOT_FOUND', address);
    try {
      resolveRange(range, stat.size);
    } catch (error) {
      if (error instanceof RegistryError) return error;
      throw error;
    }
    // The store refused a range that is satisfiable for the size it reports.
    return new RegistryError('STORAGE_FAILURE', `the store refused range ${range.start}-${range.end} of a ${stat.size}-byte object`);
  }
}

/** True when `range` has non-negative safe-integer ends in order, so it can go into a Range header. */
function isSendableRange(range: ByteRange): boolean {
  const { start, end } = range;
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end;
}

/** The bytes `range` selects from a stream of a whole object. */
function sliceStream(body: Readable, range: ByteRange): Readable {
  async function* slice(): AsyncGenerator<Buffer> {
    let position = 0;
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      const from = Math.max(range.start - position, 0);
      const to = Math.min(range.end + 1 - position, buffer.length);
      if (from < to) yield buffer.subarray(from, to);
      position += buffer.length;
      if (position > range.end) break;
    }
  }
  return Readable.from(slice(), { objectMode: false, highWaterMark: BLOB_READ_HIGH_WATER_MARK });
}

/**
 * True when a staging name was written by another process that still runs
 * on this host. Our own pid counts as dead: cleanup runs before this process
 * writes. Names without a pid count as dead.
 */
function writerIsAlive(name: string): boolean {
  const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? NaN);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
