/**
 * @module registry/file-uploads
 * Native resumable upload sessions: a file of a package sent in chunks,
 * possibly over several connections and processes. Like OCI sessions
 * (docs/adr/0013) they are operational state — a row in `upload_sessions`
 * and staged bytes in the backend — and only completion is an event
 * (`v1.file.ingested`).
 */
import { RegistryError } from '../errors/index.js';
import { isContentAddress } from '../identity/index.js';
import { isMediaType } from '../manifest/index.js';
import type { IngestExpectation } from '../dataplane/index.js';
import type { Actor, RegistryContext } from './context.js';
import { assertAcceptsFile, recordIngestedFile, type FileView } from './files.js';
import { isId, newId } from './ids.js';
import { assertSafeRelativePath } from './paths.js';

/** A session as clients see it. */
export interface FileUploadView {
  readonly id: string;
  readonly packageId: string;
  readonly relativePath: string;
  readonly mediaType: string;
  /** Bytes received so far; the next chunk starts here. */
  readonly offset: number;
  /** Declared total size, if any. */
  readonly size: number | null;
  readonly blake3: string | null;
  readonly sha256: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** What a client declares when it opens a session. */
export interface StartFileUploadInput {
  readonly relativePath: string;
  readonly mediaType: string;
  readonly size?: number;
  readonly blake3?: string;
  readonly sha256?: string;
}

/** Where a chunk goes: it must start at the session's offset. */
export interface FileChunk {
  readonly start: number;
  /** Inclusive end, when the client said (Content-Range). */
  readonly end?: number;
  /** Total size the client announced with this chunk (`null` for `*`). */
  readonly total?: number | null;
  readonly contentLength?: number;
}

/**
 * Opens a session for one file of an open package. Everything that would
 * make completion fail for a reason known now is checked now.
 * @throws PACKAGE_NOT_FOUND, PACKAGE_FINALIZED, FILE_PATH_INVALID, FILE_PATH_DUPLICATE, FIELD_INVALID.
 */
export async function startFileUpload(ctx: RegistryContext, packageId: string, input: StartFileUploadInput, actor: Actor): Promise<FileUploadView> {
  const relativePath = assertSafeRelativePath(input.relativePath);
  if (!isMediaType(input.mediaType)) throw new RegistryError('FIELD_INVALID', `media_type ${JSON.stringify(input.mediaType)} is not a media type like text/plain`, { field: 'media_type' });
  if (input.size !== undefined && (!Number.isSafeInteger(input.size) || input.size < 0)) throw new RegistryError('FIELD_INVALID', 'size must be a non-negative integer', { field: 'size' });
  if (input.blake3 !== undefined && !isContentAddress(input.blake3, 'blake3')) throw new RegistryError('FIELD_INVALID', 'blake3 must be a blake3:<64 hex> address', { field: 'blake3' });
  if (input.sha256 !== undefined && !isContentAddress(input.sha256, 'sha256')) throw new RegistryError('FIELD_INVALID', 'sha256 must be a sha256:<64 hex> digest', { field: 'sha256' });
  await assertAcceptsFile(ctx.db.knex, packageId, relativePath);
  const open = await ctx.db.knex('upload_sessions').where({ package_id: packageId, relative_path: relativePath }).first('id');
  if (open) throw new RegistryError('FILE_PATH_DUPLICATE', `an upload session for ${JSON.stringify(relativePath)} is already open`, { upload_id: open.id });
  const id = newId();
  const now = new Date();
  await ctx.dataPlane.startUpload(id);
  const row = {
    id,
    package_id: packageId,
    relative_path: relativePath,
    media_type: input.mediaType,
    declared_size: input.size ?? null,
    expected_blake3: input.blake3 ?? null,
    expected_sha256: input.sha256 ?? null,
    created_by: actor,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ctx.oci.uploadTtlSeconds * 1000).toISOString(),
  };
  try {
    await ctx.db.knex('upload_sessions').insert(row);
  } catch (error) {
    await ctx.dataPlane.cancelUpload(id);
    throw new RegistryError('FILE_PATH_DUPLICATE', `an upload session for ${JSON.stringify(relativePath)} is already open`, undefined, { cause: error });
  }
  return toView(row, 0);
}

/** The session and its offset. @throws UPLOAD_NOT_FOUND (unknown or expired). */
export async function fileUpload(ctx: RegistryContext, id: string): Promise<FileUploadView> {
  const row = await sessionRow(ctx, id);
  const offset = await ctx.dataPlane.uploadSize(id);
  if (offset === null) throw new RegistryError('UPLOAD_NOT_FOUND', `upload session ${id} has no staged bytes`);
  return toView(row, offset);
}

/**
 * Appends a chunk at `chunk.start`, which must equal the offset (416
 * otherwise). Nothing past the declared size is ever stored: a chunk that
 * says it goes past is refused before it is read, and one that does anyway
 * is cut off at the limit with SIZE_MISMATCH.
 *
 * The fixed cost per chunk is kept to one session read, the backend's
 * append (which checks the offset against the staged size itself, under the
 * upload's lock, and fsyncs once at the end) and, at most once a minute,
 * one write moving the expiry (see {@link refreshExpiry}).
 */
export async function appendFileUpload(ctx: RegistryContext, id: string, source: AsyncIterable<Uint8Array>, chunk: FileChunk): Promise<FileUploadView> {
  const row = await sessionRow(ctx, id);
  const session = toView(row, chunk.start);
  if (chunk.end !== undefined && chunk.end < chunk.start - 1) throw new RegistryError('FIELD_INVALID', 'Content-Range ends before it starts', { field: 'Content-Range' });
  const length = chunk.end !== undefined ? chunk.end - chunk.start + 1 : chunk.contentLength;
  if (chunk.end !== undefined && chunk.contentLength !== undefined && chunk.contentLength !== length) {
    throw new RegistryError('SIZE_MISMATCH', `Content-Length ${chunk.contentLength} does not match Content-Range ${chunk.start}-${chunk.end}`);
  }
  if (session.size !== null) {
    if (chunk.total !== undefined && chunk.total !== null && chunk.total !== session.size) {
      throw new RegistryError('SIZE_MISMATCH', `the chunk announces a total of ${chunk.total} bytes; the session declared ${session.size}`);
    }
    if (length !== undefined && chunk.start + length > session.size) {
      throw new RegistryError('SIZE_MISMATCH', `the chunk would end at ${chunk.start + length} bytes, past the declared ${session.size}`);
    }
    // Starting past the declared size can never be the offset; say where the upload is.
    if (chunk.start > session.size) await assertOffset(ctx, id, chunk.start);
  }
  const limit = session.size ?? Number.MAX_SAFE_INTEGER;
  // The backend refuses (416, with the staged size) a chunk that does not start exactly at the staged size.
  const offset = await ctx.dataPlane.appendUpload(id, chunk.start, capped(source, limit - chunk.start, session.size));
  const expiresAt = await refreshExpiry(ctx, id, row.expires_at as string);
  if (length !== undefined && offset !== chunk.start + length) {
    throw new RegistryError('SIZE_MISMATCH', `received ${offset - chunk.start} bytes where the request announced ${length}; the upload now holds ${offset}`, { size: offset });
  }
  return { ...session, offset, expiresAt };
}

/** The live session row. @throws UPLOAD_NOT_FOUND (unknown or expired). */
async function sessionRow(ctx: RegistryContext, id: string): Promise<Record<string, unknown>> {
  const row = isId(id) ? await ctx.db.knex('upload_sessions').where({ id }).first() : undefined;
  if (!row || row.expires_at < new Date().toISOString()) throw new RegistryError('UPLOAD_NOT_FOUND', `no upload session ${JSON.stringify(id)}`);
  return row as Record<string, unknown>;
}

/** Throws the 416 a chunk at `start` deserves when the upload holds another size. */
async function assertOffset(ctx: RegistryContext, id: string, start: number): Promise<void> {
  const offset = await ctx.dataPlane.uploadSize(id);
  if (offset === null) throw new RegistryError('UPLOAD_NOT_FOUND', `upload session ${id} has no staged bytes`);
  if (offset !== start) throw new RegistryError('UPLOAD_OFFSET_MISMATCH', `chunk starts at ${start} but the upload has ${offset} bytes`, { size: offset });
}

/** How stale a session's expiry may get before a chunk moves it: a minute (half the TTL when that is shorter). */
const EXPIRY_SLACK_MS = 60_000;

/**
 * Moves the session's expiry to now + TTL unless it was moved within the
 * last minute (or half the TTL, when shorter); returns the expiry in force.
 * A session therefore stays at least TTL − 1 min after its last chunk,
 * while a stream of chunks costs one database write a minute, not one each.
 */
async function refreshExpiry(ctx: RegistryContext, id: string, expiresAt: string): Promise<string> {
  const ttlMs = ctx.oci.uploadTtlSeconds * 1000;
  const now = Date.now();
  if (Date.parse(expiresAt) - now > ttlMs - Math.min(EXPIRY_SLACK_MS, ttlMs / 2)) return expiresAt;
  const next = new Date(now + ttlMs).toISOString();
  await ctx.db.knex('upload_sessions').where({ id }).update({ updated_at: new Date(now).toISOString(), expires_at: next });
  return next;
}

/**
 * Completes a session: checks declared size and digests before publishing
 * (the session stays open on a mismatch), then records the file.
 */
export async function completeFileUpload(ctx: RegistryContext, id: string, actor: Actor): Promise<FileView> {
  const session = await fileUpload(ctx, id);
  await assertAcceptsFile(ctx.db.knex, session.packageId, session.relativePath);
  const expect: IngestExpectation = {
    ...(session.size !== null ? { size: session.size } : {}),
    ...(session.blake3 !== null ? { blake3: session.blake3 } : {}),
    ...(session.sha256 !== null ? { sha256: session.sha256 } : {}),
  };
  const receipt = await ctx.dataPlane.completeUpload(id, expect);
  return recordIngestedFile(ctx, session.packageId, session.relativePath, session.mediaType, receipt, actor, async (tx) => {
    await tx.trx('upload_sessions').where({ id }).delete();
  });
}

/** Cancels a session and drops its bytes. @throws UPLOAD_NOT_FOUND. */
export async function cancelFileUpload(ctx: RegistryContext, id: string): Promise<void> {
  await fileUpload(ctx, id);
  await ctx.db.knex('upload_sessions').where({ id }).delete();
  await ctx.dataPlane.cancelUpload(id);
}

async function* capped(source: AsyncIterable<Uint8Array>, remaining: number, declared: number | null): AsyncGenerator<Uint8Array> {
  let left = remaining;
  for await (const chunk of source) {
    if (chunk.byteLength > left) {
      throw new RegistryError('SIZE_MISMATCH', `the upload would exceed its declared size of ${declared} bytes`);
    }
    left -= chunk.byteLength;
    yield chunk;
  }
}

function toView(row: Record<string, unknown>, offset: number): FileUploadView {
  return {
    id: row.id as string,
    packageId: row.package_id as string,
    relativePath: row.relative_path as string,
    mediaType: row.media_type as string,
    offset,
    size: row.declared_size === null || row.declared_size === undefined ? null : Number(row.declared_size),
    blake3: (row.expected_blake3 as string | null) ?? null,
    sha256: (row.expected_sha256 as string | null) ?? null,
    createdAt: row.created_at as string,
    expiresAt: row.expires_at as string,
  };
}
