/**
 * @module registry/files
 * Ingesting files into packages and reading them back.
 */
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors/index.js';
import type { ByteRange } from '../storage/index.js';
import type { IngestExpectation, IngestReceipt } from '../dataplane/index.js';
import type { JournalTransaction } from '../views/index.js';
import type { Actor, RegistryContext } from './context.js';
import { isId, newId } from './ids.js';
import { storedObjectPayload } from './stored-object-payload.js';
import { isMediaType } from '../manifest/index.js';
import { assertSafeRelativePath } from './paths.js';
import type { Transaction } from '../db/index.js';

/** Describes a file to ingest. */
export interface IngestFileInput {
  readonly relativePath: string;
  readonly mediaType: string;
  /** Digests and size the caller expects; checked before anything is recorded. */
  readonly expect?: IngestExpectation;
}

/** A file as the registry reports it. */
export interface FileView {
  readonly id: string;
  readonly packageId: string;
  readonly relativePath: string;
  readonly mediaType: string;
  readonly size: number;
  readonly contentAddress: string;
  readonly digestSha256: string;
  readonly createdAt: string;
}

/**
 * Streams `source` into the data plane and records it as a file of the
 * package. Path, package state and duplicates are checked before a byte is
 * stored, and again in the recording transaction.
 * @throws RegistryError PACKAGE_NOT_FOUND, PACKAGE_FINALIZED, FILE_PATH_INVALID,
 *   FILE_PATH_DUPLICATE, FIELD_INVALID, DIGEST_MISMATCH, SIZE_MISMATCH.
 */
export async function ingestFile(
  ctx: RegistryContext,
  packageId: string,
  input: IngestFileInput,
  source: AsyncIterable<Uint8Array>,
  actor: Actor,
  signal?: AbortSignal,
): Promise<FileView> {
  const relativePath = assertSafeRelativePath(input.relativePath);
  if (!isMediaType(input.mediaType)) {
    throw new RegistryError('FIELD_INVALID', `media_type ${JSON.stringify(input.mediaType)} is not a media type like text/plain`, { field: 'media_type' });
  }
  await assertAcceptsFile(ctx.db.knex, packageId, relativePath);
  const receipt = await ctx.dataPlane.ingestStream(source, input.expect, signal);
  return recordIngestedFile(ctx, packageId, relativePath, input.mediaType, receipt, actor);
}

/**
 * Records stored bytes as a file of a package (`v1.file.ingested`), checking
 * again inside the transaction that the package takes it.
 */
export async function recordIngestedFile(
  ctx: RegistryContext,
  packageId: string,
  relativePath: string,
  mediaType: string,
  receipt: IngestReceipt,
  actor: Actor,
  inTransaction?: (tx: JournalTransaction) => Promise<void>,
): Promise<FileView> {
  const fileId = newId();
  const event = await ctx.journal.transact(async (tx) => {
    await assertAcceptsFile(tx.trx, packageId, relativePath);
    const recorded = await tx.record({
      type: 'v1.file.ingested',
      subjectId: fileId,
      actor,
      payload: {
        file_id: fileId,
        package_id: packageId,
        relative_path: relativePath,
        media_type: mediaType,
        ...storedObjectPayload(receipt),
      },
    });
    await inTransaction?.(tx);
    return recorded;
  });
  return {
    id: fileId,
    packageId,
    relativePath,
    mediaType,
    size: receipt.size,
    contentAddress: receipt.contentAddress,
    digestSha256: receipt.digestSha256,
    createdAt: event.createdAt,
  };
}

/** Reads one file's metadata. @throws RegistryError FILE_NOT_FOUND. */
export async function getFile(ctx: RegistryContext, fileId: string): Promise<FileView> {
  const row = isId(fileId) ? await ctx.db.knex('artifact_files').where('id', fileId).first() : undefined;
  if (!row) throw new RegistryError('FILE_NOT_FOUND', `no file ${JSON.stringify(fileId)}`);
  return toFileView(row);
}

/** Files of a package in relative-path order. @throws PACKAGE_NOT_FOUND. */
export async function listPackageFiles(ctx: RegistryContext, packageId: string): Promise<FileView[]> {
  const pkg = isId(packageId) ? await ctx.db.knex('artifact_packages').where('id', packageId).first('id') : undefined;
  if (!pkg) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(packageId)}`);
  return listFiles(ctx, packageId);
}

/** Files of a package in relative-path order (the package is known to exist). */
export async function listFiles(ctx: RegistryContext, packageId: string, trx?: Transaction): Promise<FileView[]> {
  const rows = await (trx ?? ctx.db.knex)('artifact_files').where('package_id', packageId).orderBy('relative_path', 'asc');
  return rows.map(toFileView);
}

/** Opens a file's bytes (optionally a byte range). @throws FILE_NOT_FOUND, OBJECT_NOT_FOUND, RANGE_NOT_SATISFIABLE. */
export async function openFile(ctx: RegistryContext, fileId: string, range?: ByteRange): Promise<{ file: FileView; stream: Readable; size: number; range: ByteRange | null }> {
  const file = await getFile(ctx, fileId);
  const served = await ctx.dataPlane.serveObject(file.contentAddress, range, { expectedSize: file.size });
  return { file, ...served };
}

/** Throws unless the package exists, is open, and has no file at `relativePath`. */
export async function assertAcceptsFile(reader: RegistryContext['db']['knex'] | Transaction, packageId: string, relativePath: string): Promise<void> {
  const pkg = isId(packageId) ? await reader('artifact_packages').where('id', packageId).first('status') : undefined;
  if (!pkg) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(packageId)}`);
  if (pkg.status !== 'created') throw new RegistryError('PACKAGE_FINALIZED', `package ${packageId} is ${pkg.status} and takes no more files`);
  const existing = await reader('artifact_files').where({ package_id: packageId, relative_path: relativePath }).first('id');
  if (existing) throw new RegistryError('FILE_PATH_DUPLICATE', `package ${packageId} already has ${JSON.stringify(relativePath)}`, { file_id: existing.id });
}

function toFileView(row: Record<string, unknown>): FileView {
  return {
    id: row.id as string,
    packageId: row.package_id as string,
    relativePath: row.relative_path as string,
    mediaType: row.media_type as string,
    size: Number(row.size),
    contentAddress: row.content_address as string,
    digestSha256: row.digest_sha256 as string,
    createdAt: row.created_at as string,
  };
}
