/**
 * @module client/push
 * Pushing a set of local files as one package: create it (or pick up an
 * interrupted push of it), upload the files through resumable sessions a few
 * at a time, then finalize. Every session in flight is remembered in a
 * {@link PushStateStore}, so a push killed at any point continues from the
 * server's offsets with `resume`.
 */
import { RegistryError } from '../errors/index.js';
import type { ArtifactstoreClient } from './client.js';
import { TransportError, isRemoteError } from './errors.js';
import { matchesRecord } from './download.js';
import { runPool } from './paths.js';
import { NO_PUSH_STATE, type PushStateStore } from './push-state.js';
import { retryDelay, sleep } from './transport.js';
import { DEFAULT_CHUNK_SIZE, openFileSource, type ChunkSource } from './upload.js';
import type { CreatePackageRequest, FileRecord, Package } from './types.js';

/** The default media type when none is given. */
export const DEFAULT_PUSH_MEDIA_TYPE = 'application/octet-stream';

/** One local file to push. */
export interface PushFile {
  /** `/`-separated path inside the package. */
  readonly relative_path: string;
  /** Where the bytes are. */
  readonly absolute_path: string;
  readonly size: number;
  /** Media type (default: `options.mediaType(relative_path)`, else application/octet-stream). */
  readonly media_type?: string;
}

/** Progress of a push, in bytes over all files. */
export interface PushProgress {
  readonly done: number;
  readonly total: number;
  readonly relative_path: string;
}

/** Options of {@link pushPackage}. */
export interface PushOptions {
  /** The package to create; ignored when `resume` is given. */
  readonly create?: CreatePackageRequest;
  /**
   * Continue the push of this package id: files it already has are skipped
   * (after checking they hash as the local copies), remembered sessions
   * continue from the server's offset, the rest start anew.
   */
  readonly resume?: string;
  readonly files: readonly PushFile[];
  /** Files uploaded at once (default 4). */
  readonly parallel?: number;
  /** Bytes per chunk (default 32 MiB). */
  readonly chunkSize?: number;
  /** Media type of a file that names none. */
  readonly mediaType?: (relativePath: string) => string;
  /** Where in-flight sessions are remembered (default: nowhere). */
  readonly state?: PushStateStore;
  /** Finalize once every file is there (default true). */
  readonly finalize?: boolean;
  readonly signal?: AbortSignal;
  /** Opens a file's bytes (default: the file at `absolute_path`). */
  readonly openSource?: (file: PushFile) => Promise<ChunkSource>;
  /** Called once the package exists (created or found), before any upload. */
  readonly onPackage?: (pkg: Package, totalBytes: number, doneBytes: number) => void | Promise<void>;
  readonly onProgress?: (progress: PushProgress) => void;
  /** Called per file: `uploaded`, or `present` when an earlier push stored it. */
  readonly onFile?: (file: FileRecord, outcome: 'uploaded' | 'present') => void;
}

/** What a push did. */
export interface PushResult {
  readonly package_id: string;
  /** Null when `finalize: false`. */
  readonly manifest_digest: string | null;
  readonly uploaded: readonly FileRecord[];
  /** Relative paths the package already had (resume). */
  readonly skipped: readonly string[];
  readonly bytes_uploaded: number;
}

/** Pushes `options.files` as one package; see the module comment. */
export async function pushPackage(client: ArtifactstoreClient, options: PushOptions): Promise<PushResult> {
  const state = options.state ?? NO_PUSH_STATE;
  const signal = options.signal;
  const call = signal ? { signal } : {};
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const parallel = options.parallel ?? 4;
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new TypeError(`parallel must be a positive integer, got ${parallel}`);
  const seen = new Set<string>();
  for (const file of options.files) {
    if (seen.has(file.relative_path)) throw new RegistryError('FILE_PATH_DUPLICATE', `${JSON.stringify(file.relative_path)} is listed twice`);
    seen.add(file.relative_path);
  }

  let pkg: Package;
  let present = new Map<string, FileRecord>();
  if (options.resume !== undefined) {
    pkg = await client.getPackage(options.resume, call);
    present = new Map((await client.listFiles(pkg.id, call)).map((file) => [file.relative_path, file]));
    for (const file of options.files) {
      const stored = present.get(file.relative_path);
      if (stored && !(await matchesRecord(file.absolute_path, stored))) {
        throw new RegistryError('DIGEST_MISMATCH', `${file.relative_path} differs from the copy in package ${pkg.id} (${stored.size} bytes, ${stored.content_address}): the directory changed since the interrupted push`);
      }
    }
    const missing = options.files.filter((file) => !present.has(file.relative_path));
    if (pkg.status === 'finalized' && missing.length > 0) {
      throw new RegistryError('PACKAGE_FINALIZED', `package ${pkg.id} is finalized without ${missing.map((file) => file.relative_path).join(', ')}`);
    }
  } else {
    if (!options.create) throw new TypeError('pushPackage needs `create` or `resume`');
    pkg = await client.createPackage(options.create, call);
  }
  await state.begin(pkg.id);

  const total = options.files.reduce((sum, file) => sum + file.size, 0);
  const pending = options.files.filter((file) => !present.has(file.relative_path));
  const skipped = options.files.filter((file) => present.has(file.relative_path));
  const skippedBytes = skipped.reduce((sum, file) => sum + file.size, 0);
  await options.onPackage?.(pkg, total, skippedBytes);
  for (const file of skipped) options.onFile?.(present.get(file.relative_path)!, 'present');

  const sessions = await state.sessions(pkg.id);
  const progressOf = new Map<string, number>();
  let done = skippedBytes;
  let uploadedBytes = 0;
  const uploaded: FileRecord[] = [];
  const report = (relativePath: string, offset: number): void => {
    done += offset - (progressOf.get(relativePath) ?? 0);
    progressOf.set(relativePath, offset);
    options.onProgress?.({ done, total, relative_path: relativePath });
  };

  await runPool(
    pending,
    parallel,
    async (file, laneSignal) => {
      const laneCall = { signal: laneSignal };
      const source = await (options.openSource ?? defaultSource)(file);
      try {
        if (source.size !== file.size) throw new RegistryError('SIZE_MISMATCH', `${file.relative_path} is ${source.size} bytes now, ${file.size} when listed`);
        let uploadId: string | undefined = sessions[file.relative_path];
        let offset: number | undefined;
        if (uploadId !== undefined) {
          try {
            const status = await client.uploadStatus(uploadId, laneCall);
            if (status.size !== null && status.size !== file.size) {
              await client.cancelUpload(uploadId, laneCall).catch(() => undefined);
              uploadId = undefined;
            } else {
              offset = status.offset;
            }
          } catch (error) {
            if (!isRemoteError(error, 'UPLOAD_NOT_FOUND')) throw error;
            uploadId = undefined; // expired or cancelled: start over
          }
        }
        if (uploadId === undefined) {
          const session = await client.startUpload(
            pkg.id,
            { relative_path: file.relative_path, media_type: file.media_type ?? options.mediaType?.(file.relative_path) ?? DEFAULT_PUSH_MEDIA_TYPE, size: file.size },
            laneCall,
          );
          uploadId = session.id;
          offset = session.offset;
          await state.record(pkg.id, file.relative_path, uploadId);
        }
        const record = await client.uploadFile(uploadId, source, {
          chunkSize,
          signal: laneSignal,
          ...(offset !== undefined ? { offset } : {}),
          session: { package_id: pkg.id, relative_path: file.relative_path },
          onProgress: (at) => report(file.relative_path, at),
        });
        uploadedBytes += file.size - (offset ?? 0);
        await state.forget(pkg.id, file.relative_path);
        uploaded.push(record);
        options.onFile?.(record, 'uploaded');
      } finally {
        await source.close();
      }
    },
    signal,
  );

  let manifestDigest: string | null = pkg.manifest_digest;
  if (options.finalize !== false && pkg.status !== 'finalized') manifestDigest = await finalizeWithRecovery(client, pkg.id, signal);
  if (options.finalize !== false) await state.drop(pkg.id);
  return { package_id: pkg.id, manifest_digest: manifestDigest, uploaded, skipped: skipped.map((file) => file.relative_path), bytes_uploaded: uploadedBytes };
}

function defaultSource(file: PushFile): Promise<ChunkSource> {
  return openFileSource(file.absolute_path, file.size);
}

/**
 * Finalize is not idempotent (a second call is `PACKAGE_FINALIZED`), so a
 * lost answer is recovered by reading the package: finalized means done.
 */
async function finalizeWithRecovery(client: ArtifactstoreClient, packageId: string, signal?: AbortSignal): Promise<string> {
  const call = signal ? { signal } : {};
  const policy = client.transport.retry;
  for (let tried = 1; ; tried += 1) {
    try {
      return (await client.finalize(packageId, call)).manifest_digest;
    } catch (error) {
      const lost = error instanceof TransportError;
      if (!lost && !isRemoteError(error, 'PACKAGE_FINALIZED')) throw error;
      if (lost) await sleep(retryDelay(policy, tried, error), signal);
      const pkg = await client.getPackage(packageId, call);
      if (pkg.status === 'finalized' && pkg.manifest_digest) return pkg.manifest_digest;
      if (!lost || tried >= policy.attempts) throw error;
    }
  }
}
