/**
 * @module registry/oci/blobs
 * Blobs as a repository sees them: a per-repository link from an OCI digest
 * to a stored object. Pushing stores bytes once (dual digest) and links them;
 * mounting links an object the registry already has; deleting unlinks.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RegistryError } from '../../errors/index.js';
import { parseOciDigest } from '../../oci/index.js';
import type { ByteRange, IngestExpectation, IngestReceipt } from '../../dataplane/index.js';
import type { Transaction } from '../../db/index.js';
import type { JournalTransaction } from '../../views/index.js';
import type { Actor, RegistryContext } from '../context.js';
import { newId } from '../ids.js';
import { storedObjectPayload, type StoredObjectRef } from '../stored-object-payload.js';

export type { StoredObjectRef };

/** A blob resolved inside a repository. */
export interface BlobInfo {
  readonly repository: string;
  /** The OCI digest (`sha256:` or `sha512:`). */
  readonly digest: string;
  /** The primary content address (`blake3:`). */
  readonly contentAddress: string;
  readonly size: number;
}

type Reader = RegistryContext['db']['knex'] | Transaction;

/**
 * Finds `digest` in `repository`: a linked blob, or a manifest (clients may
 * fetch manifests through the blob endpoint). Null when neither.
 */
export async function findBlob(reader: Reader, repository: string, digest: string): Promise<BlobInfo | null> {
  const link = await reader('oci_blob_links').where({ repository, digest }).first('content_address', 'size');
  if (link) return { repository, digest, contentAddress: link.content_address, size: Number(link.size) };
  const manifest = await reader('oci_manifests').where({ repository, digest }).first('content_address', 'size');
  if (manifest) return { repository, digest, contentAddress: manifest.content_address, size: Number(manifest.size) };
  return null;
}

/** Resolves a blob or throws `BLOB_UNKNOWN`. */
export async function statBlob(ctx: RegistryContext, repository: string, digest: string): Promise<BlobInfo> {
  parseOciDigest(digest);
  const blob = await findBlob(ctx.db.knex, repository, digest);
  if (!blob) throw new RegistryError('BLOB_UNKNOWN', `${digest} is not in ${repository}`, { digest });
  return blob;
}

/**
 * Opens a blob's bytes, optionally a range. `resolved` is what
 * {@link statBlob} just returned for the same blob, saving a second lookup.
 */
export async function openBlob(ctx: RegistryContext, repository: string, digest: string, range?: ByteRange, resolved?: BlobInfo): Promise<{ blob: BlobInfo; stream: Readable; size: number; range: ByteRange | null }> {
  const blob = resolved !== undefined && resolved.repository === repository && resolved.digest === digest ? resolved : await statBlob(ctx, repository, digest);
  const served = await ctx.dataPlane.serveObject(blob.contentAddress, range, { expectedSize: blob.size });
  return { blob, ...served };
}


/**
 * Records that `repository` holds `receipt`'s object under `digest`, unless
 * it already does. Runs inside the caller's journal transaction.
 */
export async function linkBlob(tx: JournalTransaction, repository: string, digest: string, receipt: StoredObjectRef, actor: Actor): Promise<BlobInfo> {
  const existing = await tx.trx('oci_blob_links').where({ repository, digest }).first('content_address');
  if (!existing || existing.content_address !== receipt.contentAddress) {
    await tx.record({
      type: 'v1.oci.blob.linked',
      subjectId: `${repository}@${digest}`,
      actor,
      payload: {
        repository,
        digest,
        ...storedObjectPayload(receipt),
      },
    });
  }
  return { repository, digest, contentAddress: receipt.contentAddress, size: receipt.size };
}

/**
 * The data-plane expectation for an OCI digest. SHA-256 is checked by the
 * data plane itself; SHA-512 (rare) is checked by the caller with
 * {@link Sha512Check}, since the data plane hashes only our two algorithms.
 */
export function expectationFor(digest: string, size?: number): { expect: IngestExpectation; sha512: string | null } {
  const parsed = parseOciDigest(digest);
  const expect: IngestExpectation = size === undefined ? {} : { size };
  if (parsed.algorithm === 'sha256') return { expect: { ...expect, sha256: digest }, sha512: null };
  return { expect, sha512: parsed.hex };
}

/** Hashes a stream with SHA-512 as it passes through (for `sha512:` digests). */
export async function* sha512Tee(source: AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Throws `DIGEST_INVALID` unless `hex` is the SHA-512 that `hash` computed. */
export function assertSha512(hash: ReturnType<typeof createHash>, hex: string): void {
  const actual = hash.digest('hex');
  if (actual !== hex) throw new RegistryError('DIGEST_INVALID', `content hashes to sha512:${actual}, expected sha512:${hex}`);
}

/**
 * A monolithic push: streams `source` into the store, checks it against
 * `digest` (and `contentLength` when given) before anything becomes visible,
 * and links it into the repository.
 */
export async function pushBlob(ctx: RegistryContext, repository: string, digest: string, source: AsyncIterable<Uint8Array>, actor: Actor, contentLength?: number): Promise<BlobInfo> {
  const { expect, sha512 } = expectationFor(digest, contentLength);
  let receipt: IngestReceipt;
  try {
    receipt = sha512 === null
      ? await ctx.dataPlane.ingestStream(source, expect)
      : await ingestCheckingSha512(ctx, source, sha512, expect);
  } catch (error) {
    throw asOciIngestError(error);
  }
  return ctx.journal.transact((tx) => linkBlob(tx, repository, digest, receipt, actor));
}

/**
 * Ingests through a staged upload so the SHA-512 the data plane does not
 * compute can be checked before anything is published; a mismatch discards
 * the bytes.
 */
async function ingestCheckingSha512(ctx: RegistryContext, source: AsyncIterable<Uint8Array>, sha512Hex: string, expect: IngestExpectation): Promise<IngestReceipt> {
  const id = newId();
  const hash = createHash('sha512');
  await ctx.dataPlane.startUpload(id);
  try {
    await ctx.dataPlane.appendUpload(id, 0, sha512Tee(source, hash));
    assertSha512(hash, sha512Hex);
    return await ctx.dataPlane.completeUpload(id, expect);
  } finally {
    await ctx.dataPlane.cancelUpload(id).catch(() => false);
  }
}

/** Data-plane mismatches in OCI terms: a digest mismatch is DIGEST_INVALID, a size one SIZE_INVALID. */
export function asOciIngestError(error: unknown): unknown {
  if (error instanceof RegistryError) {
    if (error.code === 'DIGEST_MISMATCH') return new RegistryError('DIGEST_INVALID', error.detail, error.extra as Record<string, unknown>, { cause: error });
    if (error.code === 'SIZE_MISMATCH') return new RegistryError('SIZE_INVALID', error.detail, error.extra as Record<string, unknown>, { cause: error });
  }
  return error;
}

/**
 * Links a blob the registry already stores into `repository` without
 * moving bytes. With `from`, the blob is looked up there first; without it
 * (or when `from` lacks it) any repository's copy will do, because the store
 * is global. Null when the registry does not have the blob.
 */
export async function mountBlob(
  ctx: RegistryContext,
  repository: string,
  digest: string,
  from: string | undefined,
  actor: Actor,
  canRead: (repository: string) => boolean = () => true,
): Promise<BlobInfo | null> {
  parseOciDigest(digest);
  return ctx.journal.transact(async (tx) => {
    const here = await findBlob(tx.trx, repository, digest);
    if (here) return here;
    let source = from && canRead(from) ? await findBlob(tx.trx, from, digest) : null;
    if (!source) {
      // Any readable repository's copy will do; a few candidates are enough to find one.
      const candidates = await tx.trx('oci_blob_links').where({ digest }).orderBy('repository').limit(100).select('repository', 'content_address', 'size');
      const readable = candidates.find((row) => canRead(row.repository as string));
      if (readable) source = { repository: readable.repository, digest, contentAddress: readable.content_address, size: Number(readable.size) };
    }
    if (!source) return null;
    const object = await tx.trx('objects as o')
      .join('storage_locations as l', 'l.content_address', 'o.content_address')
      .where('o.content_address', source.contentAddress)
      .first('o.digest_sha256', 'o.size', 'l.backend_id', 'l.object_key', 'l.retrieval_tier');
    if (!object) return null;
    return linkBlob(tx, repository, digest, {
      contentAddress: source.contentAddress,
      digestSha256: object.digest_sha256,
      size: Number(object.size),
      backend: object.backend_id,
      objectKey: object.object_key,
      retrievalTier: object.retrieval_tier,
    }, actor);
  });
}

/**
 * Unlinks a blob from a repository (bytes stay for GC). True when unlinked;
 * false only when a `retention` removal finds a manifest still referencing
 * it. @throws BLOB_UNKNOWN.
 */
export async function deleteBlob(
  ctx: RegistryContext,
  repository: string,
  digest: string,
  actor: Actor,
  retention?: { readonly policy: string; readonly rule: string; readonly reason: string },
): Promise<boolean> {
  parseOciDigest(digest);
  return ctx.journal.transact(async (tx) => {
    const link = await tx.trx('oci_blob_links').where({ repository, digest }).first('digest');
    if (!link) throw new RegistryError('BLOB_UNKNOWN', `${digest} is not linked in ${repository}`, { digest });
    // Retention (ADR 0021) unlinks only what no manifest of the repository references any more.
    if (retention && (await tx.trx('oci_manifest_references').where({ repository, digest }).first('manifest_digest'))) return false;
    const why: { retention?: { policy: string; rule: string; reason: string } } = retention ? { retention: { policy: retention.policy, rule: retention.rule, reason: retention.reason } } : {};
    await tx.record({ type: 'v1.oci.blob.unlinked', subjectId: `${repository}@${digest}`, actor, payload: { repository, digest, ...why } });
    return true;
  });
}
