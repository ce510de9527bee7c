/**
 * @module dataplane/data-plane
 * The data plane contract: the narrow set of byte operations the registry is
 * allowed to ask for. Registry logic, HTTP handlers, retention and audit talk
 * to this interface and never to a storage backend, so the hot path can move
 * to native code (or another process) without touching them.
 */
import type { Readable } from 'node:stream';
import type { DualDigest } from '../identity/index.js';
import type { BackendHealth, ByteRange, ObjectRead, ObjectStat, ReadHints, UploadInfo } from '../storage/index.js';

// Re-exported so the data plane's users never need to import storage.
export type { BackendHealth, ByteRange, ObjectStat, ReadHints, UploadInfo };

/**
 * What the producer claims about the bytes it sends. Digests are full
 * content addresses (`blake3:<hex>`, `sha256:<hex>`), each of its own
 * algorithm; every field is optional.
 */
export interface IngestExpectation {
  blake3?: string;
  sha256?: string;
  size?: number;
}

/** Proof of one ingest: where the bytes are and what they hash to. */
export interface IngestReceipt {
  /** Primary content address, `blake3:<hex>`. */
  contentAddress: string;
  /** `sha256:<hex>` of the same bytes. */
  digestSha256: string;
  size: number;
  /** Id of the backend holding the object. */
  backend: string;
  /** Key of the object inside that backend. */
  objectKey: string;
  /** Objects are written hot; colder tiers are a later transition. */
  retrievalTier: 'hot';
  /** False when the content was already stored (dedup): the ingest added nothing. */
  created: boolean;
}

/**
 * An object opened for serving: `stream` (the range only, when one was given;
 * consume or destroy it), `size` of the whole object, and the `range` served
 * with its end clamped to the last byte (null when none was asked).
 */
export type ServedObject = ObjectRead;

/** What {@link DataPlane.verifyObject} compares the stored bytes against. */
export interface VerifyExpectation {
  /** Full `sha256:<hex>` address the bytes should hash to. */
  sha256?: string;
  size?: number;
}

/** The outcome of re-reading and re-hashing one object. */
export interface VerifyResult {
  /** True when no problem was found. */
  ok: boolean;
  /** Digests of the bytes actually stored; null when the object is missing. */
  actual: DualDigest | null;
  /** One human-readable line per discrepancy; empty when `ok`. */
  problems: string[];
}

/**
 * Byte operations over one storage backend. Objects are addressed by their
 * primary `blake3:` address only; mapping a `sha256:` digest to it is the
 * registry's job (its object index). Any other address is refused with
 * `CONTENT_ADDRESS_INVALID`.
 */
export interface DataPlane {
  /** Id of the backend behind this data plane (recorded in `storage_locations`). */
  readonly backendId: string;

  /**
   * Stores `source`, computing BLAKE3 and SHA-256 in the same single pass as
   * the write. Expectations are checked before anything becomes visible:
   * on a mismatch the promise rejects with `SIZE_MISMATCH` or
   * `DIGEST_MISMATCH` (carrying `expected` and `actual` in `extra`) and
   * nothing is kept. A source longer than an expected size is cut off as soon
   * as it overruns. Identical content is stored once: a second ingest
   * resolves with `created: false`.
   *
   * Expectations are validated before the source is read: a digest that is
   * not a full address of its own algorithm is `CONTENT_ADDRESS_INVALID`, a
   * size that is not a non-negative integer is `FIELD_INVALID`. Errors thrown
   * by `source` and aborts through `signal` reject unchanged.
   */
  ingestStream(source: AsyncIterable<Uint8Array>, expect?: IngestExpectation, signal?: AbortSignal): Promise<IngestReceipt>;

  /**
   * Opens an object for reading, optionally an inclusive byte range.
   * @throws RegistryError `OBJECT_NOT_FOUND`; `RANGE_NOT_SATISFIABLE` when
   *   `start > end` or `start >= size`, with the object size in `extra.size`.
   */
  serveObject(address: string, range?: ByteRange, hints?: ReadHints): Promise<ServedObject>;

  /** The object's size, or null when it is not stored. */
  statObject(address: string): Promise<ObjectStat | null>;

  /**
   * A short-lived URL from which a client can GET the object's bytes
   * straight from the store (honouring any `Range` it sends), valid for
   * `expiresInSeconds`; null when the backend cannot hand out such URLs
   * (then serve the bytes with {@link serveObject}). Anyone holding the URL
   * can read the object until it expires: authorize first.
   * @throws RegistryError `OBJECT_NOT_FOUND` when the object is not stored
   *   (checked only when the backend can hand out URLs).
   */
  directUrl(address: string, options: { expiresInSeconds: number }): Promise<string | null>;

  /**
   * Re-reads the whole object and re-hashes it with both algorithms. Reports
   * (rather than throws) a missing object, bytes that no longer match the
   * address, and any difference from `expected`. Throws only when the bytes
   * could not be read to the end (`STORAGE_FAILURE`).
   */
  verifyObject(address: string, expected: VerifyExpectation): Promise<VerifyResult>;

  /** Removes the object; true when something was removed. */
  deleteObject(address: string): Promise<boolean>;

  /**
   * Opens an empty resumable upload named `id` (a lowercase UUID the caller
   * generates and records with the session in the database). Its bytes live
   * in the backend, so any process sharing the backend can continue it.
   * @throws RegistryError `UPLOAD_ID_INVALID`; `UPLOAD_EXISTS`.
   */
  startUpload(id: string): Promise<void>;

  /**
   * Appends `source` to upload `id` at `offset`, which must be the upload's
   * current size, and resolves with the new size once the bytes are durable.
   *
   * When `source` throws or `signal` aborts midway, a prefix of what it sent
   * stays staged and the promise rejects with that error unchanged: read the
   * size back with {@link uploadSize} and resume from there. Appends to one
   * upload are serialised within this process; appending to one upload from
   * two processes at once is not supported.
   *
   * Chunks are hashed as they pass when this process has seen every earlier
   * chunk; that only saves a re-read at {@link completeUpload}.
   * @throws RegistryError `UPLOAD_OFFSET_MISMATCH` (416) with the current size
   *   in `extra.size`; `UPLOAD_NOT_FOUND`; `UPLOAD_ID_INVALID`; `FIELD_INVALID`
   *   for an offset that is not a non-negative integer.
   * @throws TypeError when `source` yields something other than bytes (what
   *   came before stays staged).
   */
  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<number>;

  /**
   * Bytes staged under `id`, or null when there is no such upload: the offset
   * the next chunk must start at, and what an OCI status request reports.
   * @throws RegistryError `UPLOAD_ID_INVALID`.
   */
  uploadSize(id: string): Promise<number | null>;

  /**
   * The bytes staged under `id` so far (e.g. to compute a digest the data
   * plane does not, such as sha512). Consume or destroy the stream.
   * @throws RegistryError `UPLOAD_NOT_FOUND`; `UPLOAD_ID_INVALID`.
   */
  readUpload(id: string): Promise<Readable>;

  /**
   * Publishes upload `id` as an object and ends it. Computes both digests —
   * from the running digest when this process saw every chunk, otherwise by
   * re-reading the staged bytes — and checks `expect` *before* publishing: on
   * a mismatch it rejects with `SIZE_MISMATCH` or `DIGEST_MISMATCH` (with
   * `expected` and `actual` in `extra`) and keeps the upload, so the client
   * can retry. Identical content already stored resolves with
   * `created: false`. Expectations are validated as in {@link ingestStream}.
   * @throws RegistryError `UPLOAD_NOT_FOUND`; `UPLOAD_ID_INVALID`.
   */
  completeUpload(id: string, expect?: IngestExpectation): Promise<IngestReceipt>;

  /**
   * Drops upload `id` and its bytes; true when it existed.
   * @throws RegistryError `UPLOAD_ID_INVALID`.
   */
  cancelUpload(id: string): Promise<boolean>;

  /**
   * Every staged upload with its size and last modification, for purging
   * sessions that were abandoned (or whose database row was never written).
   */
  listUploads(): AsyncIterable<UploadInfo>;

  /** Every stored primary address, ascending. */
  listObjects(): AsyncIterable<string>;

  /** The backend's health; a backend that throws is reported as not ok. */
  backendHealth(): Promise<BackendHealth>;

  /** Closes the backend. The data plane owns the backend it was created over. */
  close(): Promise<void>;
}
