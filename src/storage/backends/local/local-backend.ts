/**
 * @module storage/backends/local/local-backend
 * The local-disk backend. Objects live at `<root>/blake3/ab/cd/<hex>`; writes
 * are staged as temporary files in `<root>/.staging/`, and resumable uploads
 * in `<root>/.uploads/<id>` — all on the same filesystem, so publishing is a
 * single atomic directory operation, never a copy.
 */
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, constants as fsConstants, link, lstat, mkdir, open, readdir, realpath, rm, stat, statfs, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RegistryError, isRegistryError } from '../../../errors/index.js';
import {
  BLOB_WRITE_HIGH_WATER_MARK,
  type BackendHealth,
  type ByteRange,
  type ObjectRead,
  type ObjectStat,
  type PutOutcome,
  type StagedObject,
  type StorageBackend,
  type UploadInfo,
} from '../../backend.js';
import { addressForObjectKey, objectKeyFor } from '../../object-key.js';
import { resolveRange } from '../../range.js';
import { FileBody } from './file-body.js';
import { unlinkIfPresent } from './durable-fs.js';
import { errorCode, isMissing, storageFailure } from './fs-errors.js';
import { confinedPath } from './paths.js';
import { publishFile, type PublishMode } from './publish.js';
import { LocalUploads, UPLOADS_DIRECTORY } from './uploads.js';
import { EarlyWriteback } from './writeback.js';

export type { PublishMode };

/** Directory under the root that holds in-flight writes. */
export const STAGING_DIRECTORY = '.staging';

/** Objects at most this large are read in one call instead of streamed. */
const SMALL_OBJECT_BYTES = 64 * 1024;

/** Options of {@link openLocalBackend}. */
export interface LocalBackendOptions {
  /** Storage root; created if missing. Symlinks in it are resolved once, at open. */
  root: string;
  /** Backend id recorded in `storage_locations`; `local` by default. */
  id?: string;
  /** `auto` (default) probes the filesystem for hard-link support at open. */
  publish?: PublishMode | 'auto';
  /**
   * How {@link StorageBackend.removeStaleStaging} tells a leftover from a
   * live write: `pid` (default) removes files whose writer pid is not a
   * running process on this host, and any older than `stagingMaxAgeSeconds`;
   * `age` only those older than that (safe when several hosts share the
   * root, where a pid means nothing); `off` removes nothing.
   */
  stagingCleanup?: StagingCleanupMode;
  /** Age (since the last write, i.e. mtime) beyond which a staging file is stale in every mode but `off`; default 24 h. */
  stagingMaxAgeSeconds?: number;
}

/** The staging cleanup modes of `ARTIFACTSTORE_STAGING_CLEANUP`. */
export type StagingCleanupMode = 'pid' | 'age' | 'off';

/** Default of {@link LocalBackendOptions.stagingMaxAgeSeconds}: far beyond any single write. */
export const DEFAULT_STAGING_MAX_AGE_SECONDS = 24 * 3600;

/** The local-disk {@link StorageBackend}, with what operators and tests need to see of it. */
export interface LocalBackend extends StorageBackend {
  /** The resolved absolute storage root. */
  readonly root: string;
  /** How puts publish on this filesystem. */
  readonly publishMode: PublishMode;
}

/**
 * Opens (creating if needed) a local-disk backend rooted at `options.root`.
 * Does not clean staging leftovers: the caller runs
 * {@link StorageBackend.removeStaleStaging} once it knows no writer is active.
 * @throws RegistryError `STORAGE_FAILURE` when the root cannot be created or used.
 */
export async function openLocalBackend(options: LocalBackendOptions): Promise<LocalBackend> {
  checkCleanupOptions(options);
  try {
    await mkdir(options.root, { recursive: true });
    const root = await realpath(options.root);
    const stagingDir = path.join(root, STAGING_DIRECTORY);
    await mkdir(stagingDir, { recursive: true });
    await mkdir(path.join(root, UPLOADS_DIRECTORY), { recursive: true });
    const requested = options.publish ?? 'auto';
    const publishMode = requested === 'auto' ? ((await supportsHardLinks(stagingDir)) ? 'link' : 'rename') : requested;
    const cleanup = { mode: options.stagingCleanup ?? 'pid', maxAgeMs: (options.stagingMaxAgeSeconds ?? DEFAULT_STAGING_MAX_AGE_SECONDS) * 1000 };
    return new LocalDiskBackend(options.id ?? 'local', root, stagingDir, publishMode, cleanup);
  } catch (error) {
    throw storageFailure('opening the storage root', error);
  }
}

/** Checks the cleanup options before anything touches the disk (they often come from untyped configuration). */
function checkCleanupOptions(options: LocalBackendOptions): void {
  const { stagingCleanup: mode, stagingMaxAgeSeconds: age } = options;
  if (mode !== undefined && mode !== 'pid' && mode !== 'age' && mode !== 'off') {
    throw new RegistryError('CONFIG_INVALID', `local storage: stagingCleanup must be pid, age or off; got ${JSON.stringify(mode)}`);
  }
  if (age !== undefined && (!Number.isSafeInteger(age) || age < 0)) {
    throw new RegistryError('CONFIG_INVALID', `local storage: stagingMaxAgeSeconds must be a whole number of seconds ≥ 0; got ${String(age)}`);
  }
}

class LocalDiskBackend implements LocalBackend {
  /** Staged handles still owned by this backend, to the temp file holding their bytes. */
  private readonly staged = new WeakMap<StagedObject, string>();
  private readonly uploads: LocalUploads;

  constructor(
    readonly id: string,
    readonly root: string,
    private readonly stagingDir: string,
    readonly publishMode: PublishMode,
    private readonly cleanup: { mode: StagingCleanupMode; maxAgeMs: number },
  ) {
    this.uploads = new LocalUploads(root, path.join(root, UPLOADS_DIRECTORY), publishMode, (address) => {
      const key = this.keyFor(address);
      return { key, path: confinedPath(root, key) };
    });
  }

  keyFor(address: string): string {
    return objectKeyFor(address);
  }

  async stage(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedObject> {
    signal?.throwIfAborted();
    // The writer's pid in the name lets startup cleanup spare files of other
    // live processes (a CLI ingest running beside the server).
    const file = path.join(this.stagingDir, `${process.pid}-${randomUUID()}.partial`);
    // Errors thrown by the source are the caller's (a dropped upload, a
    // digest check in a wrapper) and must reach it unchanged; everything
    // else that fails here is the disk's.
    let sourceFailure: { error: unknown } | undefined;
    // `flush` fsyncs before the descriptor closes, and the pipeline settles
    // only after the close, so a resolved stage is on disk.
    const out = createWriteStream(file, { flags: 'wx', mode: 0o644, highWaterMark: BLOB_WRITE_HIGH_WATER_MARK, flush: true });
    // WriteStream has `fd` once open (null before); @types/node does not declare it.
    const writeback = new EarlyWriteback(() => (out as unknown as { fd: number | null }).fd);
    async function* guarded(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of source) {
          yield chunk;
          writeback.wrote(chunk.byteLength);
        }
      } catch (error) {
        sourceFailure = { error };
        throw error;
      } finally {
        await writeback.settle();
      }
    }
    try {
      await (signal ? pipeline(guarded(), out, { signal }) : pipeline(guarded(), out));
    } catch (error) {
      // The open may still be in flight; removing the file before the stream
      // has closed could let the open recreate it afterwards.
      out.destroy();
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await rm(file, { force: true }).catch(() => undefined);
      if (sourceFailure) throw sourceFailure.error;
      if (signal?.aborted || isRegistryError(error)) throw error;
      throw storageFailure('writing a staging file', error);
    }
    const staged: StagedObject = Object.freeze({ size: out.bytesWritten });
    this.staged.set(staged, file);
    return staged;
  }

  async put(staged: StagedObject, address: string): Promise<PutOutcome> {
    const file = this.take(staged);
    try {
      const key = this.keyFor(address);
      const created = await publishFile(file, confinedPath(this.root, key), this.publishMode);
      return { key, created };
    } catch (error) {
      throw storageFailure('publishing an object', error);
    } finally {
      await unlinkIfPresent(file).catch(() => undefined);
    }
  }

  async discard(staged: StagedObject): Promise<void> {
    const file = this.staged.get(staged);
    if (file === undefined) return;
    this.staged.delete(staged);
    try {
      await unlinkIfPresent(file);
    } catch (error) {
      throw storageFailure('discarding a staging file', error);
    }
  }

  async get(address: string, range?: ByteRange): Promise<ObjectRead> {
    const file = this.objectPath(address);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isMissing(error)) throw new RegistryError('OBJECT_NOT_FOUND', address);
      throw storageFailure('opening an object', error);
    }
    // Sizing and reading through one descriptor means a concurrent delete
    // cannot make the size and the bytes disagree.
    try {
      const { size } = await handle.stat();
      const served = resolveRange(range, size);
      if (size <= SMALL_OBJECT_BYTES) {
        // Manifests and configs: one read into an exact-size buffer beats a
        // read stream that allocates a full high-water-mark chunk and makes
        // several thread-pool round trips for a few hundred bytes.
        const start = served?.start ?? 0;
        const length = served ? served.end - served.start + 1 : size;
        const bytes = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(bytes, filled, length - filled, start + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        await handle.close();
        return { stream: Readable.from([bytes.subarray(0, filled)], { objectMode: false }), size, range: served };
      }
      const stream = new FileBody(handle, served?.start ?? 0, served ? served.end + 1 : size);
      return { stream, size, range: served };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw storageFailure('reading an object', error);
    }
  }

  async head(address: string): Promise<ObjectStat | null> {
    const file = this.objectPath(address);
    try {
      const info = await stat(file);
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw storageFailure('inspecting an object', error);
    }
  }

  async delete(address: string): Promise<boolean> {
    const file = this.objectPath(address);
    // Empty fan-out directories stay: removing them would race with a put
    // that has just created them and is about to link into them.
    try {
      await unlink(file);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw storageFailure('deleting an object', error);
    }
  }

  async *list(): AsyncIterable<string> {
    const top = path.join(this.root, 'blake3');
    for (const first of await this.sortedEntries(top, 'dir')) {
      for (const second of await this.sortedEntries(path.join(top, first), 'dir')) {
        for (const name of await this.sortedEntries(path.join(top, first, second), 'file')) {
          const address = addressForObjectKey(`blake3/${first}/${second}/${name}`);
          if (address !== null) yield address;
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    return this.uploads.create(id);
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void): Promise<number> {
    return this.uploads.append(id, offset, source, signal, onStored);
  }

  async uploadSize(id: string): Promise<number | null> {
    return this.uploads.size(id);
  }

  async readUpload(id: string): Promise<Readable> {
    return this.uploads.read(id);
  }

  async publishUpload(id: string, address: string): Promise<PutOutcome> {
    return this.uploads.publish(id, address);
  }

  async deleteUpload(id: string): Promise<boolean> {
    return this.uploads.delete(id);
  }

  listUploads(): AsyncIterable<UploadInfo> {
    return this.uploads.list();
  }

  async health(): Promise<BackendHealth> {
    try {
      await access(this.root, fsConstants.W_OK);
      await access(this.stagingDir, fsConstants.W_OK);
      const fs = await statfs(this.root);
      return { ok: true, backend: this.id, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
    } catch (error) {
      return { ok: false, backend: this.id, freeBytes: null, totalBytes: null, detail: `storage root unusable (${errorCode(error)})` };
    }
  }

  async removeStaleStaging(): Promise<number> {
    // Only `.staging`: uploads in `.uploads` belong to sessions that any
    // process may continue, and are purged by their own (database-driven) rule.
    try {
      await mkdir(this.stagingDir, { recursive: true });
      const { mode, maxAgeMs } = this.cleanup;
      if (mode === 'off') return 0;
      const now = Date.now();
      let removed = 0;
      for (const entry of await readdir(this.stagingDir)) {
        const file = path.join(this.stagingDir, entry);
        // A live writer keeps its file's mtime fresh; a dead one stops it.
        const stats = await lstat(file).catch(() => null);
        if (stats === null) continue;
        const old = now - stats.mtimeMs >= maxAgeMs;
        if (!old && (mode === 'age' || writerIsAlive(entry))) continue;
        await rm(file, { recursive: true, force: true });
        removed += 1;
      }
      return removed;
    } catch (error) {
      throw storageFailure('cleaning the staging directory', error);
    }
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: read streams own their descriptors.
  }

  private take(staged: StagedObject): string {
    const file = this.staged.get(staged);
    if (file === undefined) {
      throw new RegistryError('INTERNAL', 'staged object is not from this backend or was already put or discarded');
    }
    this.staged.delete(staged);
    return file;
  }

  private objectPath(address: string): string {
    return confinedPath(this.root, this.keyFor(address));
  }

  private async sortedEntries(dir: string, kind: 'dir' | 'file'): Promise<string[]> {
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries
        .filter((entry) => (kind === 'dir' ? entry.isDirectory() : entry.isFile()))
        .map((entry) => entry.name)
        .sort();
    } catch (error) {
      // A fan-out directory can vanish under us (an operator, a test); a walk
      // reports what exists, so that is not a failure.
      if (isMissing(error)) return [];
      throw storageFailure('listing objects', error);
    }
  }
}

/** Whether `dir`'s filesystem supports hard links (FAT, some network mounts do not). */
async function supportsHardLinks(dir: string): Promise<boolean> {
  const probe = path.join(dir, `${randomUUID()}.probe`);
  const probeLink = `${probe}-link`;
  await writeFile(probe, '');
  try {
    await link(probe, probeLink);
    return true;
  } catch (error) {
    if (['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'].includes(errorCode(error))) return false;
    throw error;
  } finally {
    await rm(probeLink, { force: true });
    await rm(probe, { force: true });
  }
}

/**
 * True when a staging entry was written by another process that still runs.
 * Our own pid counts as dead: cleanup runs before this process writes.
 */
function writerIsAlive(entry: string): boolean {
  const pid = Number(/^(\d+)-/.exec(entry)?.[1] ?? NaN);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
