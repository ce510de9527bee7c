/**
 * @module dataplane/uploads
 * Resumable uploads in the data plane: chunks go to the backend's staged
 * upload, and are hashed on the way when this process has seen every earlier
 * chunk, so the common case (one client, one replica) reads each byte once.
 * Whenever that running digest cannot be trusted — the upload was started or
 * continued by another process, a chunk failed midway, the entry was evicted
 * — completion re-reads the staged bytes instead. Both paths give the same
 * receipt; only the cost differs.
 */
import type { Readable } from 'node:stream';
import { RegistryError, isRegistryError } from '../errors/index.js';
import { DualDigestHasher, dualDigestOfStream, type DualDigest } from '../identity/index.js';
import { KeyedInFlight, KeyedMutex, checkUploadId, type StorageBackend, type UploadInfo } from '../storage/index.js';
import type { IngestExpectation, IngestReceipt } from './data-plane.js';
import { checkExpectation, expectationMismatch, sizeMismatch } from './expectations.js';
import { hashing } from './hashing.js';
import { primaryAddressOf, receiptFor } from './receipt.js';
import { RunningDigests } from './running-digests.js';

/** Default bound of the running-digest cache. */
export const DEFAULT_UPLOAD_DIGEST_CACHE_ENTRIES = 1000;

/** The upload operations of the in-process data plane, over one backend. */
export class UploadSessions {
  private readonly digests: RunningDigests;
  /**
   * Appends, completions and cancellations of one upload run one at a time
   * in this process, so a completion never hashes bytes an append is still
   * adding, and the running digest sees chunks in the order they are stored.
   * An append holds the lock until its bytes are stored, not until they are
   * durable: the next chunk is written while this one syncs.
   */
  private readonly locks = new KeyedMutex();
  /**
   * Uploads whose running digest must not be used: an append reported its
   * bytes stored, then failed to make them durable. Kept until completion
   * or cancellation, which re-read what is staged.
   */
  private readonly distrusted = new Set<string>();
  /** Appends not settled yet, per upload: a completion waits for them to be durable (or to have failed). */
  private readonly unsettled = new KeyedInFlight();

  constructor(
    private readonly backend: StorageBackend,
    cacheEntries: number,
  ) {
    this.digests = new RunningDigests(cacheEntries);
  }

  async start(id: string): Promise<void> {
    checkUploadId(id);
    await this.backend.createUpload(id);
    this.digests.put(id, { hasher: new DualDigestHasher(), size: 0 });
  }

  async append(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
    checkUploadId(id);
    return this.unsettled.track(id, this.appendInOrder(id, offset, source, signal));
  }

  /** {@link append} once the appends queued before it have stored their bytes. */
  private async appendInOrder(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
    const release = await this.locks.acquire(id);
    let stored = false;
    try {
      const entry = this.digests.take(id);
      // Hash along only when the chunk continues exactly what the entry has
      // seen; otherwise some bytes were stored without passing through here.
      const running = entry !== undefined && entry.size === offset && entry.hasher.size === offset ? entry : undefined;
      try {
        // Once the backend holds every byte, the next append may start (and
        // take the running digest) while this one waits for its fsync.
        const size = await this.backend.appendUpload(id, offset, hashing(source, running?.hasher), signal, (storedSize) => {
          stored = true;
          if (running && running.hasher.size === storedSize) this.digests.put(id, { hasher: running.hasher, size: storedSize });
          release();
        });
        // A backend that never reported the bytes stored (the callback is optional to call): the digest goes back now.
        if (!stored && running && running.hasher.size === size) this.digests.put(id, { hasher: running.hasher, size });
        return size;
      } catch (error) {
        if (stored) {
          // The bytes this append reported did not become durable, yet the
          // running digest (perhaps already in the next append's hands)
          // counts them: only a re-read of what is staged can be trusted.
          this.distrusted.add(id);
          this.digests.delete(id);
        } else if (
          // A refused offset stored nothing and hashed nothing: an entry that
          // agrees with the size the backend reports is as good as before.
          // After any other failure the hasher may have seen bytes the
          // backend did not keep, so it is dropped.
          entry !== undefined &&
          entry.hasher.size === entry.size &&
          isRegistryError(error, 'UPLOAD_OFFSET_MISMATCH') &&
          error.extra?.['size'] === entry.size
        ) {
          this.digests.put(id, entry);
        }
        throw error;
      }
    } finally {
      release();
    }
  }

  async size(id: string): Promise<number | null> {
    return this.backend.uploadSize(checkUploadId(id));
  }

  async read(id: string): Promise<Readable> {
    return this.backend.readUpload(checkUploadId(id));
  }

  async complete(id: string, expect: IngestExpectation | undefined): Promise<IngestReceipt> {
    checkUploadId(id);
    const expected = checkExpectation(expect);
    return this.locks.run(id, async () => {
      // Earlier appends have stored their bytes (they released the lock) but
      // may still be syncing: publish only durable bytes, and learn first
      // whether any of them failed.
      await this.unsettled.settled(id);
      const size = await this.backend.uploadSize(id);
      if (size === null) throw new RegistryError('UPLOAD_NOT_FOUND', `no staged upload ${id}`);
      // A wrong size needs no hashing to be refused.
      if (expected.size !== undefined && expected.size !== size) throw sizeMismatch(expected.size, size);
      const actual = await this.digestOf(id, size);
      // Checked before publishing, and the upload is kept on a mismatch: the
      // client may retry the completion (with another digest, or after
      // appending what was missing).
      const mismatch = expectationMismatch(expected, actual);
      if (mismatch) throw mismatch;
      const outcome = await this.backend.publishUpload(id, primaryAddressOf(actual));
      return receiptFor(this.backend.id, actual, outcome);
    });
  }

  async cancel(id: string): Promise<boolean> {
    checkUploadId(id);
    return this.locks.run(id, async () => {
      this.digests.delete(id);
      this.distrusted.delete(id);
      return this.backend.deleteUpload(id);
    });
  }

  list(): AsyncIterable<UploadInfo> {
    return this.backend.listUploads();
  }

  /** Forgets every running digest (they only ever save a re-read). */
  clear(): void {
    this.digests.clear();
  }

  /**
   * The digest of the `size` staged bytes of `id`: the running one when it
   * saw exactly those bytes, otherwise from a re-read. The running entry is
   * consumed either way (finishing a hasher ends it), so a completion retried
   * after a mismatch re-reads.
   */
  private async digestOf(id: string, size: number): Promise<DualDigest> {
    const entry = this.digests.take(id);
    const trusted = !this.distrusted.delete(id);
    if (trusted && entry !== undefined && entry.size === size && entry.hasher.size === size) return entry.hasher.digest();
    const stream = await this.backend.readUpload(id);
    let actual: DualDigest;
    try {
      actual = await dualDigestOfStream(stream);
    } catch (error) {
      stream.destroy();
      if (isRegistryError(error)) throw error;
      throw new RegistryError('STORAGE_FAILURE', `re-reading upload ${id} failed`, undefined, { cause: error });
    }
    // Publishing bytes other than the ones hashed would store an object
    // under a wrong address; a size that moved means someone else (another
    // process, which is not supported) is writing to this upload.
    if (actual.size !== size) {
      throw new RegistryError('STORAGE_FAILURE', `upload ${id} changed while being completed: read ${actual.size} bytes of ${size}`);
    }
    return actual;
  }
}
