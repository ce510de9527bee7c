/**
 * @module storage/backends/local/uploads
 * Staged uploads of the local backend: one file per upload at
 * `<root>/.uploads/<id>`, on the same filesystem as the objects so that
 * publishing is a link or a rename, never a copy. Any process that opens the
 * same root sees the same uploads, which is what lets a chunked upload
 * continue on another replica.
 */
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError, isRegistryError } from '../../../errors/index.js';
import { BLOB_READ_HIGH_WATER_MARK, BLOB_WRITE_HIGH_WATER_MARK, type PutOutcome, type UploadInfo } from '../../backend.js';
import { KeyedInFlight, KeyedMutex } from '../../keyed-mutex.js';
import { checkUploadId, checkUploadOffset, isUploadId, uploadNotFound, uploadOffsetMismatch } from '../../upload-id.js';
import { ensureDirectoryDurably, fsyncDirectory, unlinkIfPresent } from './durable-fs.js';
import { errorCode, isMissing, storageFailure } from './fs-errors.js';
import { confinedPath } from './paths.js';
import { publishFile, type PublishMode } from './publish.js';
import { EarlyWriteback, UPLOAD_WRITEBACK_EVERY_BYTES } from './writeback.js';

/** Directory under the root that holds staged uploads. */
export const UPLOADS_DIRECTORY = '.uploads';

/**
 * Locks per upload file, shared by every backend instance of this process
 * (keyed by absolute path, so two instances over one root still serialise).
 * Appending, publishing and deleting one upload take it: a publish that
 * linked a file still being appended to would publish bytes nobody hashed.
 */
const uploadLocks = new KeyedMutex();

/** Appends of this process whose bytes are written but maybe not yet synced, per upload file: publishing waits for them. */
const syncing = new KeyedInFlight();

/** Where an object goes: its key and the absolute path of that key. */
export type ObjectLocator = (address: string) => { key: string; path: string };

/** The upload half of the local backend; see the upload methods of `StorageBackend`. */
export class LocalUploads {
  constructor(
    private readonly root: string,
    private readonly uploadsDir: string,
    private readonly publishMode: PublishMode,
    private readonly locate: ObjectLocator,
  ) {}

  async create(id: string): Promise<void> {
    const file = this.file(id);
    try {
      // Recreated if an operator removed it: uploads are created rarely enough.
      await ensureDirectoryDurably(this.uploadsDir);
      const handle = await open(file, 'wx', 0o644);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The new entry must survive a power cut, or a session recorded in the
      // database would point at nothing.
      await fsyncDirectory(this.uploadsDir);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') throw new RegistryError('UPLOAD_EXISTS', `an upload ${id} already exists`);
      throw storageFailure('creating an upload', error);
    }
  }

  async append(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void): Promise<number> {
    const file = this.file(id);
    checkUploadOffset(offset);
    // The lock covers checking the offset and writing; the fsync that makes
    // the chunk durable runs after it, so a client with the next chunk
    // already on the wire is not held up by this one's sync.
    const { written, durable } = await uploadLocks.run(file, async () => {
      signal?.throwIfAborted();
      let handle: FileHandle;
      try {
        handle = await open(file, 'r+');
      } catch (error) {
        if (isMissing(error)) throw uploadNotFound(id);
        throw storageFailure('opening an upload', error);
      }
      // Checking the size and writing through one descriptor: the file the
      // size was read from is the file written to.
      let size: number;
      try {
        size = (await handle.stat()).size;
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw storageFailure('inspecting an upload', error);
      }
      if (size !== offset) {
        await handle.close().catch(() => undefined);
        throw uploadOffsetMismatch(offset, size);
      }
      const written = await writeAt(file, handle, offset, source, signal);
      // Tracked before the lock is released, so a publish or delete queued
      // behind this append finds the sync to wait for.
      return { written, durable: syncing.track(file, written.durable()) };
    });
    if (written.sourceFailure === undefined) onStored?.(written.size);
    await durable;
    if (written.sourceFailure !== undefined) throw written.sourceFailure.error;
    return written.size;
  }

  async size(id: string): Promise<number | null> {
    const file = this.file(id);
    try {
      const info = await stat(file);
      return info.isFile() ? info.size : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw storageFailure('inspecting an upload', error);
    }
  }

  async read(id: string): Promise<Readable> {
    const file = this.file(id);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isMissing(error)) throw uploadNotFound(id);
      throw storageFailure('opening an upload', error);
    }
    try {
      // Bounded by the size at open, so bytes appended meanwhile (by a
      // misbehaving client) cannot slip into a digest computed from this read.
      const { size } = await handle.stat();
      if (size === 0) {
        await handle.close();
        return Readable.from([], { objectMode: false, highWaterMark: BLOB_READ_HIGH_WATER_MARK });
      }
      return handle.createReadStream({ start: 0, end: size - 1, highWaterMark: BLOB_READ_HIGH_WATER_MARK });
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw storageFailure('reading an upload', error);
    }
  }

  async publish(id: string, address: string): Promise<PutOutcome> {
    const file = this.file(id);
    const { key, path: target } = this.locate(address);
    return uploadLocks.run(file, async () => {
      // Appends release the lock before their fsync; publish durable bytes only.
      await syncing.settled(file);
      try {
        await stat(file);
      } catch (error) {
        if (isMissing(error)) throw uploadNotFound(id);
        throw storageFailure('inspecting an upload', error);
      }
      // Every append fsynced its bytes, so the file is durable as it stands.
      let created: boolean;
      try {
        created = await publishFile(file, target, this.publishMode);
      } catch (error) {
        throw storageFailure('publishing an upload', error);
      }
      try {
        await unlinkIfPresent(file);
      } catch (error) {
        throw storageFailure('removing a published upload', error);
      }
      return { key, created };
    });
  }

  async delete(id: string): Promise<boolean> {
    const file = this.file(id);
    return uploadLocks.run(file, async () => {
      // An append that released the lock may still be syncing this file.
      await syncing.settled(file);
      // Not made durable: an upload resurrected by a power cut is an orphan
      // the purge of abandoned uploads removes.
      try {
        await unlink(file);
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw storageFailure('deleting an upload', error);
      }
    });
  }

  async *list(): AsyncIterable<UploadInfo> {
    let names: string[];
    try {
      const entries = await readdir(this.uploadsDir, { withFileTypes: true });
      // Anything not named like an upload is not one (an operator's file, a
      // leftover of another tool): never report, and so never purge, it.
      names = entries.filter((entry) => entry.isFile() && isUploadId(entry.name)).map((entry) => entry.name);
    } catch (error) {
      if (isMissing(error)) return;
      throw storageFailure('listing uploads', error);
    }
    for (const id of names.sort()) {
      let info;
      try {
        info = await stat(path.join(this.uploadsDir, id));
      } catch (error) {
        // Published or deleted since the directory was read.
        if (isMissing(error)) continue;
        throw storageFailure('listing uploads', error);
      }
      yield { id, size: info.size, modifiedAt: info.mtime };
    }
  }

  private file(id: string): string {
    return confinedPath(this.root, `${UPLOADS_DIRECTORY}/${checkUploadId(id)}`);
  }
}

/** What {@link writeAt} left: bytes written but not yet durable. */
interface Written {
  /** The upload's size after the write. */
  readonly size: number;
  /** Set when the source failed: what it yielded before is written all the same. */
  readonly sourceFailure: { readonly error: unknown } | undefined;
  /** Fsyncs the upload file; rejects with `STORAGE_FAILURE` when the sync fails. */
  durable(): Promise<void>;
}

/**
 * Writes `source` into `handle` from `offset` on and resolves once every byte
 * is written, leaving the final fsync to {@link Written.durable}. The write
 * stream owns `handle` and closes it in every outcome; the sync goes through
 * a new descriptor (an fsync covers the file, whichever descriptor asks).
 *
 * A source that fails does not abort the write: what it yielded before
 * failing is still written (and made durable by `durable()`), and its error
 * is returned for the caller to rethrow unchanged. An abort or a disk error
 * destroys the stream and rejects, dropping what was still buffered; the
 * bytes already written remain, a prefix of the source.
 */
async function writeAt(file: string, handle: FileHandle, offset: number, source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<Written> {
  let sourceFailure: { error: unknown } | undefined;
  const out = handle.createWriteStream({ start: offset, highWaterMark: BLOB_WRITE_HIGH_WATER_MARK });
  const writeback = new EarlyWriteback(() => handle.fd, UPLOAD_WRITEBACK_EVERY_BYTES);
  async function* untilFailure(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) {
        yield chunk;
        writeback.wrote(chunk.byteLength);
      }
    } catch (error) {
      sourceFailure = { error };
    } finally {
      // No background sync may land on the descriptor after the stream closes it.
      await writeback.settle();
    }
  }
  try {
    await (signal ? pipeline(untilFailure(), out, { signal }) : pipeline(untilFailure(), out));
  } catch (error) {
    out.destroy();
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    if (sourceFailure) throw sourceFailure.error;
    if (signal?.aborted || isRegistryError(error)) throw error;
    throw storageFailure('appending to an upload', error);
  }
  const durable = async (): Promise<void> => {
    try {
      const sync = await open(file, 'r+');
      try {
        await sync.datasync();
      } finally {
        await sync.close();
      }
    } catch (error) {
      throw storageFailure('syncing an upload', error);
    }
  };
  return { size: offset + out.bytesWritten, sourceFailure, durable };
}
