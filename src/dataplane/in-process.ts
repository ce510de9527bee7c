/**
 * @module dataplane/in-process
 * The data plane running inside the registry process, over one storage
 * backend. Hashing happens on the chunks as they flow to the backend's
 * staging write, so every byte is read once.
 */
import type { Readable } from 'node:stream';
import { RegistryError, isRegistryError } from '../errors/index.js';
import { DualDigestHasher, dualDigestOfStream, parseContentAddress, PRIMARY_ALGORITHM, type DualDigest } from '../identity/index.js';
import type { BackendHealth, ByteRange, ObjectStat, ReadHints, StorageBackend, UploadInfo } from '../storage/index.js';
import type { DataPlane, IngestExpectation, IngestReceipt, ServedObject, VerifyExpectation, VerifyResult } from './data-plane.js';
import { checkExpectation, expectationMismatch } from './expectations.js';
import { hashing } from './hashing.js';
import { primaryAddressOf, receiptFor } from './receipt.js';
import { DEFAULT_UPLOAD_DIGEST_CACHE_ENTRIES, UploadSessions } from './uploads.js';

/** Tuning of {@link createDataPlane}. */
export interface DataPlaneOptions {
  /**
   * How many uploads in progress keep a running digest between chunks
   * (least recently used evicted first; 0 disables). An upload without one
   * is re-read once at completion. Default 1,000.
   */
  uploadDigestCacheEntries?: number;
}

/**
 * A {@link DataPlane} over `backend`, which it owns from now on (its
 * `close` closes the backend). Stale staging is not cleaned here; the
 * composition root calls the backend's `removeStaleStaging` before serving.
 * @throws RegistryError `CONFIG_INVALID` for options out of range.
 */
export function createDataPlane(backend: StorageBackend, options: DataPlaneOptions = {}): DataPlane {
  const cacheEntries = options.uploadDigestCacheEntries ?? DEFAULT_UPLOAD_DIGEST_CACHE_ENTRIES;
  if (!Number.isSafeInteger(cacheEntries) || cacheEntries < 0) {
    throw new RegistryError('CONFIG_INVALID', `uploadDigestCacheEntries must be a non-negative integer, got ${String(cacheEntries)}`);
  }
  return new InProcessDataPlane(backend, new UploadSessions(backend, cacheEntries));
}

class InProcessDataPlane implements DataPlane {
  constructor(
    private readonly backend: StorageBackend,
    private readonly uploads: UploadSessions,
  ) {}

  get backendId(): string {
    return this.backend.id;
  }

  async ingestStream(source: AsyncIterable<Uint8Array>, expect?: IngestExpectation, signal?: AbortSignal): Promise<IngestReceipt> {
    const expected = checkExpectation(expect);
    const hasher = new DualDigestHasher();
    const staged = await this.backend.stage(hashing(source, hasher, expected.size), signal);
    try {
      const actual = hasher.digest();
      if (staged.size !== actual.size) {
        throw new RegistryError('STORAGE_FAILURE', `backend staged ${staged.size} bytes of a ${actual.size}-byte stream`);
      }
      const mismatch = expectationMismatch(expected, actual);
      if (mismatch) throw mismatch;
      const outcome = await this.backend.put(staged, primaryAddressOf(actual));
      return receiptFor(this.backend.id, actual, outcome);
    } finally {
      // A no-op once put has consumed the handle. A failed discard only
      // leaves a leftover for the next startup; it must not hide the error
      // that brought us here.
      await this.backend.discard(staged).catch(() => undefined);
    }
  }

  async serveObject(address: string, range?: ByteRange, hints?: ReadHints): Promise<ServedObject> {
    return this.backend.get(primary(address), range, hints);
  }

  async statObject(address: string): Promise<ObjectStat | null> {
    return this.backend.head(primary(address));
  }

  async directUrl(address: string, options: { expiresInSeconds: number }): Promise<string | null> {
    const target = primary(address);
    if (this.backend.directReadUrl === undefined) return null;
    // A URL to nothing would fail at the store, far from the cause: check here.
    if ((await this.backend.head(target)) === null) throw new RegistryError('OBJECT_NOT_FOUND', target);
    return this.backend.directReadUrl(target, options);
  }

  async verifyObject(address: string, expected: VerifyExpectation): Promise<VerifyResult> {
    const target = primary(address);
    const { sha256, size } = checkExpectation({ sha256: expected.sha256, size: expected.size });
    let read: ServedObject;
    try {
      read = await this.backend.get(target, undefined, size === undefined ? undefined : { expectedSize: size });
    } catch (error) {
      if (isRegistryError(error, 'OBJECT_NOT_FOUND')) return { ok: false, actual: null, problems: [`object ${target} not found`] };
      throw error;
    }
    let actual: DualDigest;
    try {
      actual = await dualDigestOfStream(read.stream);
    } catch (error) {
      read.stream.destroy();
      if (isRegistryError(error)) throw error;
      throw new RegistryError('STORAGE_FAILURE', `re-reading ${target} failed`, undefined, { cause: error });
    }
    const problems: string[] = [];
    if (`${PRIMARY_ALGORITHM}:${actual.blake3}` !== target) {
      problems.push(`stored bytes hash to ${PRIMARY_ALGORITHM}:${actual.blake3}, not to their address`);
    }
    if (actual.size !== read.size) problems.push(`read ${actual.size} bytes where the backend reports ${read.size}`);
    if (size !== undefined && actual.size !== size) problems.push(`size is ${actual.size}, expected ${size}`);
    if (sha256 !== undefined && actual.sha256 !== sha256) problems.push(`sha256 is sha256:${actual.sha256}, expected sha256:${sha256}`);
    return { ok: problems.length === 0, actual, problems };
  }

  async deleteObject(address: string): Promise<boolean> {
    return this.backend.delete(primary(address));
  }

  listObjects(): AsyncIterable<string> {
    return this.backend.list();
  }

  async startUpload(id: string): Promise<void> {
    return this.uploads.start(id);
  }

  async appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
    return this.uploads.append(id, offset, source, signal);
  }

  async uploadSize(id: string): Promise<number | null> {
    return this.uploads.size(id);
  }

  async readUpload(id: string): Promise<Readable> {
    return this.uploads.read(id);
  }

  async completeUpload(id: string, expect?: IngestExpectation): Promise<IngestReceipt> {
    return this.uploads.complete(id, expect);
  }

  async cancelUpload(id: string): Promise<boolean> {
    return this.uploads.cancel(id);
  }

  listUploads(): AsyncIterable<UploadInfo> {
    return this.uploads.list();
  }

  async backendHealth(): Promise<BackendHealth> {
    try {
      return await this.backend.health();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, backend: this.backend.id, freeBytes: null, totalBytes: null, detail: `health check failed: ${reason}` };
    }
  }

  async close(): Promise<void> {
    this.uploads.clear();
    await this.backend.close();
  }
}

/**
 * The address itself when it is a valid primary address. A `sha256:`
 * address gets a message pointing to the object index rather than the
 * backend's generic refusal.
 */
function primary(address: string): string {
  const { algorithm } = parseContentAddress(address);
  if (algorithm !== PRIMARY_ALGORITHM) {
    throw new RegistryError(
      'CONTENT_ADDRESS_INVALID',
      `the data plane addresses objects by ${PRIMARY_ALGORITHM}; resolve ${algorithm} digests through the object index first`,
    );
  }
  return address;
}
