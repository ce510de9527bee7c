/**
 * @module observability/storage
 * A storage backend decorator that times every SPI call and reports it to
 * an observer callback. It implements the same SPI and forwards every call
 * unchanged (staged handles, streams and errors pass through untouched), so
 * the data plane cannot tell it is there; the composition root wraps the
 * backend before handing it to the data plane. Storage and data plane code
 * never import this module: the arrow points from observability down to the
 * SPI.
 *
 * What is timed: the promise of each call; for `get` and `readUpload` that
 * is the time to open the stream (reading it is the caller's pace), for
 * `list` and `listUploads` the whole walk (until the consumer stops).
 * `keyFor` is pure and not timed.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { isRegistryError } from '../errors/index.js';
import type {
  BackendHealth,
  ByteRange,
  DirectReadOptions,
  ObjectRead,
  ObjectStat,
  ReadHints,
  PutOutcome,
  StagedObject,
  StorageBackend,
  UploadInfo,
} from '../storage/index.js';
import type { StorageOutcome } from './metrics.js';

/** SPI operations the decorator reports. */
export type StorageOperation =
  | 'stage'
  | 'put'
  | 'discard'
  | 'get'
  | 'head'
  | 'delete'
  | 'list'
  | 'createUpload'
  | 'appendUpload'
  | 'uploadSize'
  | 'readUpload'
  | 'publishUpload'
  | 'deleteUpload'
  | 'listUploads'
  | 'health'
  | 'directReadUrl'
  | 'removeStaleStaging'
  | 'close';

/** Receives one timed call. Must not throw (a throwing observer is ignored). */
export type StorageObserver = (operation: StorageOperation, seconds: number, outcome: StorageOutcome) => void;

/** Wraps `backend` so every call is reported to `observe`. */
export function observeBackend(backend: StorageBackend, observe: StorageObserver): StorageBackend {
  return new ObservedBackend(backend, observe);
}

/**
 * How a failed call is labelled: `refused` when the backend answered with
 * a contract error (not found, offset mismatch, invalid address …),
 * `aborted` when the caller's signal fired or the source was cut off by a
 * client that went away, `error` for store failures and anything else.
 */
export function storageOutcomeOf(error: unknown, signal?: AbortSignal): StorageOutcome {
  if (signal?.aborted) return 'aborted';
  if (isRegistryError(error)) {
    return error.code === 'STORAGE_FAILURE' || error.code === 'INTERNAL' || error.code === 'STORAGE_PATH_INVALID' ? 'error' : 'refused';
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR') return 'aborted';
  if (error instanceof Error && (error.name === 'AbortError' || error.message === 'aborted')) return 'aborted';
  return 'error';
}

class ObservedBackend implements StorageBackend {
  /** Present exactly when the inner backend has it (an optional capability). */
  readonly directReadUrl?: (address: string, options: DirectReadOptions) => Promise<string | null>;

  constructor(
    private readonly inner: StorageBackend,
    private readonly observe: StorageObserver,
  ) {
    if (inner.directReadUrl !== undefined) {
      this.directReadUrl = (address, options) => this.timed('directReadUrl', () => inner.directReadUrl!(address, options));
    }
  }

  get id(): string {
    return this.inner.id;
  }

  keyFor(address: string): string {
    return this.inner.keyFor(address);
  }

  stage(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StagedObject> {
    return this.timed('stage', () => this.inner.stage(source, signal), signal);
  }

  put(staged: StagedObject, address: string): Promise<PutOutcome> {
    return this.timed('put', () => this.inner.put(staged, address));
  }

  discard(staged: StagedObject): Promise<void> {
    return this.timed('discard', () => this.inner.discard(staged));
  }

  get(address: string, range?: ByteRange, hints?: ReadHints): Promise<ObjectRead> {
    return this.timed('get', () => this.inner.get(address, range, hints));
  }

  head(address: string): Promise<ObjectStat | null> {
    return this.timed('head', () => this.inner.head(address));
  }

  delete(address: string): Promise<boolean> {
    return this.timed('delete', () => this.inner.delete(address));
  }

  list(): AsyncIterable<string> {
    return this.timedWalk('list', () => this.inner.list());
  }

  createUpload(id: string): Promise<void> {
    return this.timed('createUpload', () => this.inner.createUpload(id));
  }

  appendUpload(id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void): Promise<number> {
    return this.timed('appendUpload', () => this.inner.appendUpload(id, offset, source, signal, onStored), signal);
  }

  uploadSize(id: string): Promise<number | null> {
    return this.timed('uploadSize', () => this.inner.uploadSize(id));
  }

  readUpload(id: string): Promise<Readable> {
    return this.timed('readUpload', () => this.inner.readUpload(id));
  }

  publishUpload(id: string, address: string): Promise<PutOutcome> {
    return this.timed('publishUpload', () => this.inner.publishUpload(id, address));
  }

  deleteUpload(id: string): Promise<boolean> {
    return this.timed('deleteUpload', () => this.inner.deleteUpload(id));
  }

  listUploads(): AsyncIterable<UploadInfo> {
    return this.timedWalk('listUploads', () => this.inner.listUploads());
  }

  async health(): Promise<BackendHealth> {
    const started = performance.now();
    const report = await this.inner.health();
    this.report('health', started, report.ok ? 'ok' : 'error');
    return report;
  }

  removeStaleStaging(): Promise<number> {
    return this.timed('removeStaleStaging', () => this.inner.removeStaleStaging());
  }

  close(): Promise<void> {
    return this.timed('close', () => this.inner.close());
  }

  private async timed<T>(operation: StorageOperation, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const started = performance.now();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      this.report(operation, started, storageOutcomeOf(error, signal));
      throw error;
    }
    this.report(operation, started, 'ok');
    return result;
  }

  private async *timedWalk<T>(operation: StorageOperation, open: () => AsyncIterable<T>): AsyncGenerator<T> {
    const started = performance.now();
    let outcome: StorageOutcome = 'ok';
    try {
      yield* open();
    } catch (error) {
      outcome = storageOutcomeOf(error);
      throw error;
    } finally {
      this.report(operation, started, outcome);
    }
  }

  private report(operation: StorageOperation, started: number, outcome: StorageOutcome): void {
    try {
      this.observe(operation, (performance.now() - started) / 1000, outcome);
    } catch {
      // Metrics must never fail a storage call.
    }
  }
}
