/**
 * @module storage/backend
 * The storage backend SPI: the byte-level contract every backend (local disk,
 * S3-compatible stores, …) implements, and the only surface the data plane
 * uses. It speaks content addresses and opaque keys, never where or how the
 * bytes are kept, so a backend can be swapped without touching a caller.
 */
import type { Readable } from 'node:stream';

/**
 * `highWaterMark` for every stream that writes blob bytes. Measured on the
 * reference machine the default (16 KiB) costs 2–3× the throughput.
 */
export const BLOB_WRITE_HIGH_WATER_MARK = 4 * 1024 * 1024;

/**
 * `highWaterMark` for every stream that reads blob bytes. The default
 * (64 KiB) serves a fraction of what 1 MiB chunks do.
 */
export const BLOB_READ_HIGH_WATER_MARK = 1024 * 1024;

/**
 * A byte range with both ends inclusive, as in an HTTP `Range` header:
 * `{ start: 0, end: 0 }` is the first byte.
 */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a backend knows about one stored object. */
export interface ObjectStat {
  /** Size in bytes. */
  size: number;
}

/** A backend's self-assessment, cheap enough for a health endpoint. */
export interface BackendHealth {
  /** False when the backend cannot currently store or serve objects. */
  ok: boolean;
  /** The backend id (see {@link StorageBackend.id}). */
  backend: string;
  /** Bytes still available to writers, or null when the backend cannot tell. */
  freeBytes: number | null;
  /** Total capacity in bytes, or null when the backend cannot tell (or it is unbounded). */
  totalBytes: number | null;
  /** Why `ok` is false, or other operator-facing notes. */
  detail?: string;
}

/**
 * Bytes written by {@link StorageBackend.stage} but not yet published. The
 * handle is opaque: only the backend that created it can publish or discard
 * it, and it is consumed by the first {@link StorageBackend.put} or
 * {@link StorageBackend.discard}.
 */
export interface StagedObject {
  /** Number of bytes staged. */
  readonly size: number;
}

/** The result of {@link StorageBackend.put}. */
export interface PutOutcome {
  /** The storage key the object lives under (see {@link StorageBackend.keyFor}). */
  key: string;
  /** False when the object already existed, in which case the put changed nothing. */
  created: boolean;
}

/** What {@link StorageBackend.get} hands back. */
export interface ObjectRead {
  /**
   * The bytes (the requested range only, when one was given). The caller must
   * consume or destroy it: an abandoned stream may hold backend resources.
   */
  stream: Readable;
  /** Size of the whole object, whatever the range. */
  size: number;
  /** The range actually served (end clamped to the last byte), or null when none was asked. */
  range: ByteRange | null;
}

/** What a reader may tell {@link StorageBackend.get} about its read; a backend may ignore it. */
export interface ReadHints {
  /**
   * The size the caller has on record for the object (whatever the range):
   * lets a backend choose how to read large objects before it has asked the
   * store.
   */
  readonly expectedSize?: number;
}

/** Options of {@link StorageBackend.directReadUrl}. */
export interface DirectReadOptions {
  /** How long the URL works, in seconds (a backend may cap it). */
  expiresInSeconds: number;
}

/** One staged upload, as {@link StorageBackend.listUploads} reports it. */
export interface UploadInfo {
  /** The upload id (a lowercase UUID). */
  id: string;
  /** Bytes staged so far. */
  size: number;
  /** When bytes were last appended (or the upload was created): what a purge of abandoned uploads goes by. */
  modifiedAt: Date;
}

/**
 * A place that stores immutable objects under their primary (`blake3:`)
 * content address.
 *
 * Writing is two-phase so that nothing becomes visible before the caller has
 * checked the bytes: {@link stage} stores them out of sight,
 * {@link put} publishes them atomically under an address (or drops them when
 * that address already exists). Backends do not hash: the caller vouches that
 * the staged bytes match the address.
 *
 * Bytes that arrive in several requests, possibly to several processes
 * (OCI chunked uploads, resumable native uploads), go through *staged
 * uploads* instead: {@link createUpload}, {@link appendUpload} as often as
 * needed, then {@link publishUpload} or {@link deleteUpload}. An upload is
 * named by a caller-chosen id and kept in the store itself, so every process
 * sharing the store can continue it; the session bookkeeping (who owns it,
 * when it expires) is the caller's, in the database.
 *
 * Every method that takes an address refuses anything that is not a valid
 * `blake3:<64 lowercase hex>` address with `CONTENT_ADDRESS_INVALID`; every
 * method that takes an upload id refuses anything but a lowercase UUID
 * (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits `0-9a-f`) with
 * `UPLOAD_ID_INVALID`, before touching storage.
 * Failures of the underlying store surface as `STORAGE_FAILURE`.
 */
export interface StorageBackend {
  /** Backend id recorded in `storage_locations` (e.g. `local`). */
  readonly id: string;

  /**
   * The storage key of `address`, derived from the primary digest only:
   * `blake3/<hex[0:2]>/<hex[2:4]>/<hex>`. Pure; does not check existence.
   * @throws RegistryError `CONTENT_ADDRESS_INVALID` for a malformed or non-blake3 address.
   */
  keyFor(address: string): string;

  /**
   * Writes all of `source` somewhere invisible to readers. When the promise
   * resolves the bytes are durable. When `source` throws, `signal` aborts, or
   * the store fails, nothing remains and the promise rejects: with the
   * source's own error, with the abort error, or with `STORAGE_FAILURE`.
   */
  stage(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedObject>;

  /**
   * Publishes `staged` atomically under `address`: readers see either no
   * object or all of it. When an object already exists there, nothing changes
   * (`created: false`) and the staged bytes are dropped — content addressing
   * makes both copies the same. `staged` is consumed in every outcome,
   * including failures.
   * @throws RegistryError `INTERNAL` when `staged` is not a live handle from this backend.
   */
  put(staged: StagedObject, address: string): Promise<PutOutcome>;

  /** Drops staged bytes. Idempotent: a consumed handle is ignored. */
  discard(staged: StagedObject): Promise<void>;

  /**
   * Opens the object for reading, optionally a byte range of it.
   * The end of `range` is clamped to the last byte.
   * @throws RegistryError `OBJECT_NOT_FOUND` when nothing is stored under `address`.
   * @throws RegistryError `RANGE_NOT_SATISFIABLE` when `start > end`, `start >= size`
   *   (so any range of an empty object), or either end is not a non-negative integer.
   */
  get(address: string, range?: ByteRange, hints?: ReadHints): Promise<ObjectRead>;

  /** The object's size, or null when nothing is stored under `address`. */
  head(address: string): Promise<ObjectStat | null>;

  /** Removes the object. True when something was removed, false when it was absent. */
  delete(address: string): Promise<boolean>;

  /**
   * Every stored content address (`blake3:…`), in ascending order, for
   * verification and garbage collection. Objects put or deleted during the
   * walk may or may not appear.
   */
  list(): AsyncIterable<string>;

  /**
   * Creates an empty staged upload named `id`. Durable when the promise
   * resolves. Creating is not idempotent, so that two sessions can never
   * share bytes by accident: an existing id is refused.
   * @throws RegistryError `UPLOAD_EXISTS` when an upload with this id exists.
   */
  createUpload(id: string): Promise<void>;

  /**
   * Appends all of `source` to upload `id` and resolves with its new size.
   * `offset` must equal the upload's current size: a chunk that would leave
   * a gap or overwrite staged bytes is refused before `source` is read, so
   * bytes already staged are never changed.
   *
   * When the promise resolves, the appended bytes are durable. When `source`
   * throws or `signal` aborts midway, the bytes that reached the store stay
   * staged — a prefix of what `source` yielded, possibly all of it, possibly
   * none — and the promise rejects with the source's own error or the abort
   * error; the caller resumes from {@link uploadSize}. (The local backend
   * keeps everything a failing source yielded before its failure; a backend
   * that buffers parts may keep less.) A store failure rejects with
   * `STORAGE_FAILURE`, with the same guarantee.
   *
   * Appends to one id are serialised within a process, in call order (a
   * second append waits for the first, then sees the offset the first
   * left), and so are {@link publishUpload} and {@link deleteUpload} of that
   * id. Concurrent appends to one upload from two processes are not
   * supported: OCI clients send chunks in order, one at a time.
   *
   * `onStored`, when given, is called at most once, with the new size, as
   * soon as every byte of `source` is in the store and the next append to
   * this id may begin — possibly before those bytes are durable (the local
   * backend lets the next chunk write while this one fsyncs). A successful
   * append always calls it before resolving; an append that fails after
   * calling it (its fsync failed) rejects with `STORAGE_FAILURE`, and the
   * bytes it reported may not survive a crash.
   * @throws RegistryError `UPLOAD_OFFSET_MISMATCH` (416) when `offset` is not
   *   the current size, with that size in `extra.size`; `UPLOAD_NOT_FOUND`;
   *   `FIELD_INVALID` when `offset` is not a non-negative safe integer.
   */
  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void): Promise<number>;

  /** Bytes staged so far under `id`, or null when there is no such upload. */
  uploadSize(id: string): Promise<number | null>;

  /**
   * The bytes staged under `id` when the call was made (bytes appended
   * afterwards are not included), for re-hashing or re-reading. The caller
   * must consume or destroy the stream.
   * @throws RegistryError `UPLOAD_NOT_FOUND`.
   */
  readUpload(id: string): Promise<Readable>;

  /**
   * Publishes the staged bytes of `id` under `address` with the semantics of
   * {@link put} — atomic, and a no-op (`created: false`) when an object
   * already exists there — then removes the upload. Like `put`, it does not
   * hash: the caller vouches that the bytes match `address`, so it must not
   * append to the upload between hashing and publishing. A failure before
   * the object is published leaves the upload as it was, so the call can be
   * retried; one after leaves the object published, and a retry reports
   * `created: false`.
   * @throws RegistryError `UPLOAD_NOT_FOUND`; `CONTENT_ADDRESS_INVALID`.
   */
  publishUpload(id: string, address: string): Promise<PutOutcome>;

  /** Removes upload `id` and its bytes. True when it existed, false otherwise. */
  deleteUpload(id: string): Promise<boolean>;

  /**
   * Every staged upload with its size and last modification, in no
   * particular order, so abandoned sessions can be purged. Uploads created
   * or removed during the walk may or may not appear.
   */
  listUploads(): AsyncIterable<UploadInfo>;

  /** Reports whether the backend can serve, with capacity figures when known. Never throws. */
  health(): Promise<BackendHealth>;

  /**
   * Optional: a URL from which anyone holding it can GET the object's bytes
   * directly from the store (no credentials needed, any `Range` honoured)
   * for `expiresInSeconds`. Signs without asking the store: the caller checks
   * that the object exists. Backends that cannot hand out such URLs leave
   * this undefined (or resolve with null).
   * @throws RegistryError `CONTENT_ADDRESS_INVALID`; `INTERNAL` for an expiry the backend cannot sign.
   */
  directReadUrl?(address: string, options: DirectReadOptions): Promise<string | null>;

  /**
   * Removes the leftovers of writes that never completed (crashes, abandoned
   * staged handles) and returns how many it removed. Backends spare what they
   * can tell belongs to another live writer (the local backend: files named
   * after a running pid), but not this process's own, so call it at startup,
   * before this process writes. Staged uploads are not staging leftovers
   * (other processes may continue them): this never touches them.
   */
  removeStaleStaging(): Promise<number>;

  /** Releases the backend's resources. Idempotent. */
  close(): Promise<void>;
}
