/**
 * @module client/pull
 * Pulling a package into a directory: every file lands at its relative path
 * (never outside the directory), verified against both digests, resumed from
 * `<path>.partial` when an earlier pull was interrupted. The directory ends
 * up holding exactly the package's files (plus whatever was there before).
 */
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RegistryError } from '../errors/index.js';
import type { ArtifactstoreClient } from './client.js';
import { matchesRecord } from './download.js';
import { prepareParents, resolveInside, runPool } from './paths.js';
import type { FileRecord, Package } from './types.js';

/** Options of {@link pullPackage}. */
export interface PullOptions {
  /** Files downloaded at once (default 4). */
  readonly parallel?: number;
  /** Also save the package's canonical CBOR manifest here (finalized packages only). */
  readonly manifestPath?: string;
  readonly signal?: AbortSignal;
  /** Called once the file list is known. */
  readonly onPackage?: (pkg: Package, files: readonly FileRecord[], totalBytes: number) => void;
  /** Bytes on disk over all files. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Per file: `downloaded`, `resumed` (continued a partial) or `present` (already there and verified). */
  readonly onFile?: (file: FileRecord, outcome: 'downloaded' | 'resumed' | 'present') => void;
}

/** What a pull did. */
export interface PullResult {
  readonly package: Package;
  readonly files: readonly FileRecord[];
  readonly bytes: number;
  readonly downloaded: number;
  readonly resumed: number;
  readonly present: number;
  readonly manifest_digest: string | null;
}

/** Pulls package `packageId` into `dir`; see the module comment. */
export async function pullPackage(client: ArtifactstoreClient, packageId: string, dir: string, options: PullOptions = {}): Promise<PullResult> {
  const signal = options.signal;
  const call = signal ? { signal } : {};
  const pkg = await client.getPackage(packageId, call);
  const files = await client.listFiles(pkg.id, call);
  if (options.manifestPath !== undefined && pkg.status !== 'finalized') {
    throw new RegistryError('PACKAGE_NOT_FINALIZED', `package ${pkg.id} has no manifest yet`);
  }

  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const targets = new Map<string, string>();
  const paths = new Set(files.map((file) => file.relative_path));
  for (const file of files) {
    const target = resolveInside(root, file.relative_path);
    if (paths.has(`${file.relative_path}.partial`)) {
      throw new RegistryError('FILE_PATH_INVALID', `${JSON.stringify(file.relative_path)} and ${JSON.stringify(`${file.relative_path}.partial`)} cannot both be pulled: the second is the first one's download in progress`);
    }
    targets.set(file.id, target);
  }

  const total = files.reduce((sum, file) => sum + file.size, 0);
  options.onPackage?.(pkg, files, total);
  const onDisk = new Map<string, number>();
  let done = 0;
  const report = (fileId: string, bytes: number): void => {
    done += bytes - (onDisk.get(fileId) ?? 0);
    onDisk.set(fileId, bytes);
    options.onProgress?.(done, total);
  };
  const counts = { downloaded: 0, resumed: 0, present: 0 };

  await runPool(
    files,
    options.parallel ?? 4,
    async (file, laneSignal) => {
      const target = targets.get(file.id)!;
      await prepareParents(root, target);
      if (await matchesRecord(target, file)) {
        report(file.id, file.size);
        counts.present += 1;
        options.onFile?.(file, 'present');
        return;
      }
      const result = await client.download(file, target, { signal: laneSignal, onProgress: (received) => report(file.id, received) });
      const outcome = result.resumed_from > 0 ? 'resumed' : 'downloaded';
      counts[outcome] += 1;
      options.onFile?.(file, outcome);
    },
    signal,
  );

  let manifestDigest = pkg.manifest_digest;
  if (options.manifestPath !== undefined) {
    const manifest = await client.getManifest(pkg.id, 'cbor', call);
    if (manifest.digest !== pkg.manifest_digest) {
      throw new RegistryError('DIGEST_MISMATCH', `the manifest served for ${pkg.id} is ${manifest.digest}; the package names ${pkg.manifest_digest}`);
    }
    await mkdir(path.dirname(path.resolve(options.manifestPath)), { recursive: true });
    await writeFile(options.manifestPath, manifest.bytes);
    manifestDigest = manifest.digest;
  }
  return { package: pkg, files, bytes: total, ...counts, manifest_digest: manifestDigest };
}
