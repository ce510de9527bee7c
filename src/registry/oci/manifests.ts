/**
 * @module registry/oci/manifests
 * Manifests: kept as the exact bytes the client sent (an object in the store,
 * dual-digested), validated, indexed by repository and digest, and named by
 * tags. Deleting by digest removes the manifest and every tag on it;
 * deleting by tag removes only the tag.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RegistryError } from '../../errors/index.js';
import { dualDigestOf } from '../../identity/index.js';
import { parseManifest, parseReference, validateTag, type ParsedManifest } from '../../oci/index.js';
import type { Transaction } from '../../db/index.js';
import type { IngestReceipt } from '../../dataplane/index.js';
import type { JournalTransaction } from '../../views/index.js';
import type { Actor, RegistryContext } from '../context.js';
import { findBlob } from './blobs.js';
import { storedObjectPayload } from '../stored-object-payload.js';

/** A stored manifest. */
export interface ManifestInfo {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly contentAddress: string;
}

/** Outcome of {@link putManifest}. */
export interface PutManifestResult {
  readonly digest: string;
  /** The subject's digest when the manifest has one (the `OCI-Subject` header). */
  readonly subject: string | null;
  /** Tags now pointing at the manifest. */
  readonly tags: string[];
}

type Reader = RegistryContext['db']['knex'] | Transaction;

/**
 * Stores a manifest pushed to `reference` (a tag, or a digest that must
 * match the bytes), also tagging it with `extraTags` (`?tag=` on a push by
 * digest). Every blob and child manifest it references must be in the
 * repository, except its subject.
 * @throws MANIFEST_TOO_LARGE, MANIFEST_INVALID, DIGEST_INVALID, TAG_INVALID, MANIFEST_BLOB_UNKNOWN.
 */
export async function putManifest(
  ctx: RegistryContext,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  contentType: string | undefined,
  extraTags: readonly string[],
  actor: Actor,
): Promise<PutManifestResult> {
  if (bytes.byteLength > ctx.oci.manifestMaxBytes) {
    throw new RegistryError('MANIFEST_TOO_LARGE', `manifest is ${bytes.byteLength} bytes; the limit is ${ctx.oci.manifestMaxBytes}`);
  }
  const target = parseReference(reference);
  const tags = [...new Set([...(target.kind === 'tag' ? [target.tag] : []), ...extraTags.map((tag) => validateTag(tag))])];
  const parsed = parseManifest(bytes, contentType);
  const dual = dualDigestOf(bytes);
  let digest = `sha256:${dual.sha256}`;
  if (target.kind === 'digest') {
    const wanted = target.digest;
    const actual = wanted.algorithm === 'sha256' ? dual.sha256 : createHash('sha512').update(bytes).digest('hex');
    digest = `${wanted.algorithm}:${wanted.hex}`;
    if (actual !== wanted.hex) throw new RegistryError('DIGEST_INVALID', `manifest hashes to ${wanted.algorithm}:${actual}, not ${digest}`, { digest });
  }
  // Refuse dangling references before storing anything; the transaction
  // checks again, since a blob may be unlinked in between.
  await assertReferencesPresent(ctx.db.knex, repository, parsed);
  // Bytes before the transaction, which must not wait on I/O: if the
  // transaction then fails, the object is unreferenced and GC's.
  const receipt = await ctx.dataPlane.ingestStream(oneChunk(bytes), { sha256: `sha256:${dual.sha256}`, size: bytes.byteLength });
  await ctx.journal.transact(async (tx) => {
    await assertReferencesPresent(tx.trx, repository, parsed);
    await recordManifest(tx, { repository, digest, receipt, parsed, tags, actor });
  });
  return { digest, subject: parsed.subject?.digest ?? null, tags };
}

/**
 * Records a manifest whose bytes are stored (unless the repository already
 * has it) and points `tags` at it, inside the caller's transaction. The
 * caller has checked the references.
 */
export async function recordManifest(
  tx: JournalTransaction,
  input: { repository: string; digest: string; receipt: IngestReceipt; parsed: ParsedManifest; tags: readonly string[]; actor: Actor },
): Promise<void> {
  const { repository, digest, receipt, parsed, actor } = input;
  const existing = await tx.trx('oci_manifests').where({ repository, digest }).first('digest');
  if (!existing) {
    await tx.record({
      type: 'v1.oci.manifest.put',
      subjectId: `${repository}@${digest}`,
      actor,
      payload: {
        repository,
        digest,
        ...storedObjectPayload(receipt),
        media_type: parsed.mediaType,
        artifact_type: parsed.artifactType,
        subject_digest: parsed.subject?.digest ?? null,
        annotations: parsed.annotations,
        references: parsed.references.map((ref) => ({ kind: ref.kind, digest: ref.digest })),
      },
    });
  }
  for (const tag of input.tags) {
    const current = await tx.trx('oci_tags').where({ repository, tag }).first('manifest_digest');
    if (current?.manifest_digest === digest) continue;
    await tx.record({
      type: 'v1.oci.tag.set',
      subjectId: `${repository}:${tag}`,
      actor,
      payload: { repository, tag, digest, previous_digest: current?.manifest_digest ?? null },
    });
  }
}

/** Resolves a tag or digest to a manifest. @throws MANIFEST_UNKNOWN. */
export async function statManifest(ctx: RegistryContext, repository: string, reference: string, reader: Reader = ctx.db.knex): Promise<ManifestInfo> {
  const target = parseReference(reference);
  let digest: string;
  if (target.kind === 'tag') {
    const tag = await reader('oci_tags').where({ repository, tag: target.tag }).first('manifest_digest');
    if (!tag) throw new RegistryError('MANIFEST_UNKNOWN', `no tag ${target.tag} in ${repository}`, { tag: target.tag });
    digest = tag.manifest_digest;
  } else {
    digest = `${target.digest.algorithm}:${target.digest.hex}`;
  }
  const row = await reader('oci_manifests').where({ repository, digest }).first('media_type', 'size', 'content_address');
  if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${digest} in ${repository}`, { digest });
  return { repository, digest, mediaType: row.media_type, size: Number(row.size), contentAddress: row.content_address };
}

/** Opens a manifest's exact bytes. */
export async function openManifest(ctx: RegistryContext, repository: string, reference: string): Promise<{ manifest: ManifestInfo; stream: Readable }> {
  const manifest = await statManifest(ctx, repository, reference);
  const { stream } = await ctx.dataPlane.serveObject(manifest.contentAddress);
  return { manifest, stream };
}

/**
 * Deletes by digest (the manifest and every tag on it) or by tag (only the
 * tag). @throws MANIFEST_UNKNOWN.
 */
export async function deleteManifest(ctx: RegistryContext, repository: string, reference: string, actor: Actor): Promise<void> {
  const target = parseReference(reference);
  await ctx.journal.transact(async (tx) => {
    if (target.kind === 'tag') {
      const tag = await tx.trx('oci_tags').where({ repository, tag: target.tag }).first('manifest_digest');
      if (!tag) throw new RegistryError('MANIFEST_UNKNOWN', `no tag ${target.tag} in ${repository}`, { tag: target.tag });
      await tx.record({ type: 'v1.oci.tag.deleted', subjectId: `${repository}:${target.tag}`, actor, payload: { repository, tag: target.tag, digest: tag.manifest_digest } });
      return;
    }
    const digest = `${target.digest.algorithm}:${target.digest.hex}`;
    const manifest = await tx.trx('oci_manifests').where({ repository, digest }).first('digest');
    if (!manifest) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${digest} in ${repository}`, { digest });
    const tags = (await tx.trx('oci_tags').where({ repository, manifest_digest: digest }).orderBy('tag').pluck('tag')) as string[];
    await tx.record({ type: 'v1.oci.manifest.deleted', subjectId: `${repository}@${digest}`, actor, payload: { repository, digest, tags } });
  });
}

async function assertReferencesPresent(trx: Reader, repository: string, parsed: ParsedManifest): Promise<void> {
  const missing: string[] = [];
  for (const reference of parsed.references) {
    if (!reference.mustExist) continue;
    const found = reference.kind === 'manifest'
      ? await trx('oci_manifests').where({ repository, digest: reference.digest }).first('digest')
      : await findBlob(trx, repository, reference.digest);
    if (!found) missing.push(reference.digest);
  }
  if (missing.length > 0) {
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `${missing.length === 1 ? 'a referenced blob is' : `${missing.length} referenced blobs are`} not in ${repository}: ${missing.join(', ')}`, { digests: missing });
  }
}

/** An async iterable of one buffer. */
export async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
