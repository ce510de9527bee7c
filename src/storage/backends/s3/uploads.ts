/**
 * @module storage/backends/s3/uploads
 * Staged (resumable) uploads of the S3 backend. S3 cannot append, and OCI
 * clients send chunks of any size (often far below S3's 5 MiB minimum part),
 * so every append becomes its own object:
 *
 *     <prefix>/uploads/<id>/_                       the upload exists (empty marker)
 *     <prefix>/uploads/<id>/0000000000000000        bytes 0…, the first append
 *     <prefix>/uploads/<id>/0000000000070000        bytes 70000…, the next one
 *
 * All state lives in the bucket, so any process sharing it can continue an
 * upload; the size is the sum of the chunk objects. Publishing composes the
 * chunks into the object server-side (UploadPartCopy) when S3's part rules
 * allow it, and otherwise streams them through this process once.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { RegistryError } from '../../../errors/index.js';
import { BLOB_READ_HIGH_WATER_MARK, type PutOutcome, type UploadInfo } from '../../backend.js';
import { KeyedMutex } from '../../keyed-mutex.js';
import { objectKeyFor } from '../../object-key.js';
import { checkUploadId, checkUploadOffset, isUploadId, uploadNotFound, uploadOffsetMismatch } from '../../upload-id.js';
import type { S3Context } from './context.js';
import { copyObject, multipartCopy, splitForCopy } from './copy.js';
import { UPLOAD_MARKER, offsetOfPartName } from './keys.js';
import { deleteKeys, listMultipartUploads, listObjects, type ListedObject } from './listing.js';
import { isMissing, isPreconditionFailed, storageFailure } from './s3-errors.js';
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from './settings.js';
import { abortMultipartUpload, writeObject } from './writer.js';

/**
 * Locks per upload, shared by every S3 backend instance of this process
 * (keyed by endpoint, bucket and key, so two instances over one prefix still
 * serialise). Appending, publishing and deleting one upload take it.
 */
const uploadLocks = new KeyedMutex();

/** One chunk object of an upload. */
export interface UploadPart {
  key: string;
  offset: number;
  size: number;
}

/** An upload as its objects describe it. */
export interface UploadState {
  /** The contiguous chunks from offset 0, in order. */
  parts: UploadPart[];
  /** Bytes in {@link parts}. */
  size: number;
  /** Newest modification of any of its objects. */
  modifiedAt: Date;
  /** Every key under the upload (marker, chunks, anything else), for removal. */
  keys: string[];
  /**
   * True when objects do not form one contiguous run from 0 (a removal that
   * crashed midway, a stranger's object): the upload can be deleted, not
   * continued or composed.
   */
  damaged: boolean;
}

/** The upload half of the S3 backend; see the upload methods of `StorageBackend`. */
export class S3Uploads {
  constructor(private readonly ctx: S3Context) {}

  async create(id: string): Promise<void> {
    checkUploadId(id);
    return this.locked(id, async () => {
      try {
        if ((await this.load(id)) !== null) throw uploadExists(id);
        // The precondition closes the race with another process creating the same id.
        await this.ctx.client.send(
          new PutObjectCommand({ Bucket: this.ctx.bucket, Key: this.ctx.layout.uploadMarkerKey(id), Body: Buffer.alloc(0), ContentLength: 0, IfNoneMatch: '*', ...this.ctx.encryption }),
        );
      } catch (error) {
        if (isPreconditionFailed(error)) throw uploadExists(id);
        throw storageFailure('creating an upload', error);
      }
    });
  }

  async append(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
    checkUploadId(id);
    checkUploadOffset(offset);
    return this.locked(id, async () => {
      signal?.throwIfAborted();
      const state = await this.loadExisting(id, 'inspecting an upload');
      if (state.damaged) throw damaged(id);
      if (state.size !== offset) throw uploadOffsetMismatch(offset, state.size);
      // A chunk of any size is one object; a large one streams as a multipart
      // upload. A source that fails keeps what it sent (the client resumes after it).
      const written = await writeObject(this.ctx, this.ctx.layout.uploadPartKey(id, offset), source, {
        params: this.ctx.encryption,
        signal,
        onSourceFailure: 'keep',
        skipEmpty: true,
        action: 'appending to an upload',
      });
      return offset + written;
    });
  }

  async size(id: string): Promise<number | null> {
    checkUploadId(id);
    const state = await this.loadWrapped(id, 'inspecting an upload');
    return state === null ? null : state.size;
  }

  async read(id: string): Promise<Readable> {
    checkUploadId(id);
    // Listed now: chunks appended after this call are not part of the read.
    const state = await this.loadExisting(id, 'reading an upload');
    if (state.damaged) throw damaged(id);
    return Readable.from(this.streamParts(state.parts), { objectMode: false, highWaterMark: BLOB_READ_HIGH_WATER_MARK });
  }

  async publish(id: string, address: string): Promise<PutOutcome> {
    checkUploadId(id);
    const key = objectKeyFor(address);
    const target = this.ctx.layout.objectKey(address);
    return this.locked(id, async () => {
      const state = await this.loadExisting(id, 'inspecting an upload');
      let created: boolean;
      try {
        if (await this.exists(target)) {
          created = false;
        } else {
          if (state.damaged) throw damaged(id);
          await this.compose(state.parts, target);
          created = true;
        }
      } catch (error) {
        throw storageFailure('publishing an upload', error);
      }
      try {
        await this.removeKeys(state.keys, id);
      } catch (error) {
        throw storageFailure('removing a published upload', error);
      }
      return { key, created };
    });
  }

  async delete(id: string): Promise<boolean> {
    checkUploadId(id);
    return this.locked(id, async () => {
      try {
        // Chunks whose multipart upload never completed (a crashed append) are invisible to listings but cost storage.
        for await (const upload of listMultipartUploads(this.ctx, this.ctx.layout.uploadPrefix(id))) {
          await abortMultipartUpload(this.ctx, upload.key, upload.uploadId);
        }
        const state = await this.load(id);
        if (state === null) return false;
        await this.removeKeys(state.keys, id);
        return true;
      } catch (error) {
        throw storageFailure('deleting an upload', error);
      }
    });
  }

  async *list(): AsyncIterable<UploadInfo> {
    let group: { id: string; entries: ListedObject[] } | undefined;
    const emit = (current: { id: string; entries: ListedObject[] }): UploadInfo | null => {
      // Anything not named like an upload is not one: never report, and so never purge, it.
      if (!isUploadId(current.id)) return null;
      const state = describeUpload(this.ctx, current.entries);
      return { id: current.id, size: state.size, modifiedAt: state.modifiedAt };
    };
    try {
      // Keys arrive sorted, so the objects of one upload are consecutive.
      for await (const entry of listObjects(this.ctx, this.ctx.layout.uploadsPrefix)) {
        const split = this.ctx.layout.splitUploadKey(entry.key);
        if (split === null) continue;
        if (group && group.id !== split.id) {
          const info = emit(group);
          if (info) yield info;
          group = undefined;
        }
        group ??= { id: split.id, entries: [] };
        group.entries.push(entry);
      }
    } catch (error) {
      throw storageFailure('listing uploads', error);
    }
    if (group) {
      const info = emit(group);
      if (info) yield info;
    }
  }

  /** Runs `task` under the upload's lock. */
  private locked<T>(id: string, task: () => Promise<T>): Promise<T> {
    const lockKey = `${this.ctx.settings.endpointUrl ?? 'aws'}\n${this.ctx.bucket}\n${this.ctx.layout.uploadPrefix(id)}`;
    return uploadLocks.run(lockKey, task);
  }

  /** The upload's state, or null when no object exists under it. */
  private async load(id: string): Promise<UploadState | null> {
    const entries: ListedObject[] = [];
    for await (const entry of listObjects(this.ctx, this.ctx.layout.uploadPrefix(id))) entries.push(entry);
    return entries.length === 0 ? null : describeUpload(this.ctx, entries);
  }

  private async loadWrapped(id: string, action: string): Promise<UploadState | null> {
    try {
      return await this.load(id);
    } catch (error) {
      throw storageFailure(action, error);
    }
  }

  private async loadExisting(id: string, action: string): Promise<UploadState> {
    const state = await this.loadWrapped(id, action);
    if (state === null) throw uploadNotFound(id);
    return state;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.ctx.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /**
   * Writes the concatenation of `parts` to `key`. Server-side when possible:
   * one chunk is a plain copy; several, when all but the last are at least
   * 5 MiB, are copied as the parts of a multipart upload. Otherwise (small
   * chunks, S3 refuses them as parts) the bytes stream through once.
   */
  private async compose(parts: UploadPart[], key: string): Promise<void> {
    const chunks = parts.filter((part) => part.size > 0);
    const last = chunks[chunks.length - 1];
    if (last === undefined) {
      await this.ctx.client.send(new PutObjectCommand({ Bucket: this.ctx.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, ...this.ctx.publish }));
      return;
    }
    if (chunks.length === 1) {
      await copyObject(this.ctx, last.key, last.size, key);
      return;
    }
    if (chunks.slice(0, -1).every((part) => part.size >= S3_MIN_PART_BYTES)) {
      const segments = chunks.flatMap((part) => splitForCopy(part.key, part.size, this.ctx.settings.multipartCopyPartBytes));
      if (segments.length <= S3_MAX_PARTS) {
        await multipartCopy(this.ctx, segments, key);
        return;
      }
    }
    await writeObject(this.ctx, key, this.streamParts(chunks), {
      params: this.ctx.publish,
      onSourceFailure: 'discard',
      skipEmpty: false,
      action: 'composing an upload',
    });
  }

  /** The bytes of `parts`, in order, one GetObject at a time. */
  private async *streamParts(parts: UploadPart[]): AsyncGenerator<Buffer> {
    for (const part of parts) {
      if (part.size === 0) continue;
      let body: Readable;
      try {
        const response = await this.ctx.client.send(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: part.key }));
        body = response.Body as Readable;
      } catch (error) {
        throw storageFailure('reading an upload chunk', error);
      }
      let received = 0;
      try {
        for await (const chunk of body) {
          received += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } catch (error) {
        throw storageFailure('reading an upload chunk', error);
      }
      if (received !== part.size) {
        throw new RegistryError('STORAGE_FAILURE', `an upload chunk changed size while being read (${part.size} → ${received} bytes)`);
      }
    }
  }

  /** Removes an upload's objects, the marker last so a crash midway leaves the upload visible (and purgeable). */
  private async removeKeys(keys: string[], id: string): Promise<void> {
    const marker = this.ctx.layout.uploadMarkerKey(id);
    await deleteKeys(
      this.ctx,
      keys.filter((key) => key !== marker),
    );
    await deleteKeys(this.ctx, [marker]);
  }
}

/** Reads an upload's state from its listed objects (all under one upload prefix). */
export function describeUpload(ctx: S3Context, entries: ListedObject[]): UploadState {
  const parts: UploadPart[] = [];
  let modifiedAt = new Date(0);
  let damaged = false;
  for (const entry of entries) {
    if (entry.lastModified > modifiedAt) modifiedAt = entry.lastModified;
    const name = ctx.layout.splitUploadKey(entry.key)?.name ?? '';
    if (name === UPLOAD_MARKER) continue;
    const offset = offsetOfPartName(name);
    if (offset === null) {
      damaged = true;
      continue;
    }
    parts.push({ key: entry.key, offset, size: entry.size });
  }
  parts.sort((a, b) => a.offset - b.offset);
  const contiguous: UploadPart[] = [];
  let size = 0;
  for (const part of parts) {
    if (part.offset !== size) {
      damaged = true;
      break;
    }
    contiguous.push(part);
    size += part.size;
  }
  return { parts: contiguous, size, modifiedAt, keys: entries.map((entry) => entry.key), damaged };
}

function uploadExists(id: string): RegistryError {
  return new RegistryError('UPLOAD_EXISTS', `an upload ${id} already exists`);
}

function damaged(id: string): RegistryError {
  return new RegistryError('STORAGE_FAILURE', `upload ${id} is damaged (its chunks are not contiguous); delete it`);
}

