/**
 * @module registry/oci/uploads
 * OCI upload sessions. A session is operational state, not registry state:
 * its row lives in `oci_upload_sessions` and its bytes in the backend's
 * staged uploads, never in the event log (docs/adr/0013). Both are shared,
 * so any process on the same database and storage can continue a session.
 * Only completing a session changes registry state (a `v1.oci.blob.linked`).
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../../errors/index.js';
import { parseOciDigest } from '../../oci/index.js';
import type { Actor, RegistryContext } from '../context.js';
import { newId, isId } from '../ids.js';
import { asOciIngestError, assertSha512, expectationFor, linkBlob, type BlobInfo } from './blobs.js';

/** A session as the HTTP layer reports it. */
export interface UploadStatus {
  readonly id: string;
  readonly repository: string;
  /** Bytes received so far (the next chunk starts here). */
  readonly offset: number;
}

/** Where a chunk claims to go (`Content-Range: <start>-<end>`, inclusive). */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/** Opens a new session for `repository`. */
export async function startUpload(ctx: RegistryContext, repository: string, actor: Actor): Promise<UploadStatus> {
  const id = newId();
  const now = new Date();
  await ctx.dataPlane.startUpload(id);
  await ctx.db.knex('oci_upload_sessions').insert({
    id,
    repository,
    created_by: actor,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    expires_at: expiry(ctx, now),
  });
  return { id, repository, offset: 0 };
}

/** The session's state. @throws BLOB_UPLOAD_UNKNOWN for unknown, expired or foreign sessions. */
export async function uploadStatus(ctx: RegistryContext, repository: string, id: string): Promise<UploadStatus> {
  const row = isId(id) ? await ctx.db.knex('oci_upload_sessions').where({ id }).first() : undefined;
  if (!row || row.repository !== repository || row.expires_at < new Date().toISOString()) {
    throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload session ${JSON.stringify(id)} in ${repository}`);
  }
  const offset = await ctx.dataPlane.uploadSize(id);
  if (offset === null) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload session ${id} has no staged bytes`);
  return { id, repository, offset };
}

/**
 * Appends a chunk. With a range, the chunk must start exactly at the
 * session's offset (416 otherwise: out of order or repeated) and its length
 * must match the range and `contentLength`.
 */
export async function appendUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
  source: AsyncIterable<Uint8Array>,
  chunk: { range?: ChunkRange; contentLength?: number } = {},
): Promise<UploadStatus> {
  const status = await uploadStatus(ctx, repository, id);
  const stored = await storeChunk(ctx, status, source, chunk);
  await touch(ctx, id);
  return checkStored(status, stored);
}

/**
 * Stores a chunk at the offset of the session `status` describes (read just
 * before); resolves with the upload's new size and the size the request
 * announced, which {@link checkStored} compares.
 */
async function storeChunk(
  ctx: RegistryContext,
  status: UploadStatus,
  source: AsyncIterable<Uint8Array>,
  chunk: { range?: ChunkRange; contentLength?: number },
): Promise<{ offset: number; expected: number }> {
  const { range, contentLength } = chunk;
  if (range) {
    if (range.end < range.start) throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${range.start}-${range.end} ends before it starts`);
    if (range.start !== status.offset) {
      throw new RegistryError('UPLOAD_OFFSET_MISMATCH', `chunk starts at ${range.start} but the upload has ${status.offset} bytes`, { size: status.offset });
    }
    if (contentLength !== undefined && contentLength !== range.end - range.start + 1) {
      throw new RegistryError('SIZE_INVALID', `Content-Length ${contentLength} does not match Content-Range ${range.start}-${range.end}`);
    }
  }
  const offset = await ctx.dataPlane.appendUpload(status.id, status.offset, source);
  const expected = range ? range.end + 1 : contentLength !== undefined ? status.offset + contentLength : offset;
  return { offset, expected };
}

/** The session after a stored chunk. @throws SIZE_INVALID when the chunk was not what the request announced. */
function checkStored(status: UploadStatus, stored: { offset: number; expected: number }): UploadStatus {
  const { offset, expected } = stored;
  if (offset !== expected) {
    throw new RegistryError('SIZE_INVALID', `received ${offset - status.offset} bytes where the request announced ${expected - status.offset}; the upload now holds ${offset} bytes`, { size: offset });
  }
  return { id: status.id, repository: status.repository, offset };
}

/**
 * Completes a session: appends the optional final chunk, checks the whole
 * upload against `digest` before anything becomes visible (the session stays
 * open on a mismatch, so the client can retry), publishes and links it.
 */
export async function completeUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
  digest: string,
  finalChunk: { source: AsyncIterable<Uint8Array>; range?: ChunkRange; contentLength?: number } | null,
  actor: Actor,
): Promise<BlobInfo> {
  parseOciDigest(digest);
  const status = await uploadStatus(ctx, repository, id);
  if (finalChunk) {
    // A stored final chunk refreshes the expiry only when the session goes
    // on (a short chunk); and no second status check: the data plane checks
    // the staged upload again as it completes it.
    const stored = await storeChunk(ctx, status, finalChunk.source, finalChunk);
    if (stored.offset !== stored.expected) await touch(ctx, id);
    checkStored(status, stored);
  }
  const { expect, sha512 } = expectationFor(digest);
  if (sha512 !== null) {
    const hash = createHash('sha512');
    for await (const part of await ctx.dataPlane.readUpload(id)) hash.update(part as Buffer);
    assertSha512(hash, sha512);
  }
  let receipt;
  try {
    receipt = await ctx.dataPlane.completeUpload(id, expect);
  } catch (error) {
    throw asOciIngestError(error);
  }
  // The link and the end of the session commit together (one commit, and
  // no session left behind for a blob that is already linked).
  return ctx.journal.transact(async (tx) => {
    const blob = await linkBlob(tx, repository, digest, receipt, actor);
    await tx.trx('oci_upload_sessions').where({ id }).delete();
    return blob;
  });
}

/** Cancels a session and drops its bytes. @throws BLOB_UPLOAD_UNKNOWN. */
export async function cancelUpload(ctx: RegistryContext, repository: string, id: string): Promise<void> {
  await uploadStatus(ctx, repository, id);
  await ctx.db.knex('oci_upload_sessions').where({ id }).delete();
  await ctx.dataPlane.cancelUpload(id);
}

/**
 * Purges sessions (OCI and native) idle past their expiry, and staged
 * uploads no session owns that are older than the TTL (a crash between the two writes of
 * {@link startUpload}). Returns how many sessions and orphans went.
 */
export async function purgeExpiredUploads(ctx: RegistryContext, now: Date = new Date()): Promise<{ sessions: number; orphans: number }> {
  const expired: string[] = [];
  for (const table of ['oci_upload_sessions', 'upload_sessions']) {
    for (const { id } of await ctx.db.knex(table).where('expires_at', '<', now.toISOString()).select('id')) {
      await ctx.db.knex(table).where({ id }).delete();
      await ctx.dataPlane.cancelUpload(id);
      expired.push(id);
    }
  }
  let orphans = 0;
  const cutoff = now.getTime() - ctx.oci.uploadTtlSeconds * 1000;
  for await (const upload of ctx.dataPlane.listUploads()) {
    if (upload.modifiedAt.getTime() >= cutoff) continue;
    const owned = (await ctx.db.knex('oci_upload_sessions').where({ id: upload.id }).first('id'))
      ?? (await ctx.db.knex('upload_sessions').where({ id: upload.id }).first('id'));
    if (!owned && (await ctx.dataPlane.cancelUpload(upload.id))) orphans += 1;
  }
  return { sessions: expired.length, orphans };
}

async function touch(ctx: RegistryContext, id: string): Promise<void> {
  const now = new Date();
  await ctx.db.knex('oci_upload_sessions').where({ id }).update({ updated_at: now.toISOString(), expires_at: expiry(ctx, now) });
}

function expiry(ctx: RegistryContext, from: Date): string {
  return new Date(from.getTime() + ctx.oci.uploadTtlSeconds * 1000).toISOString();
}
