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
import { parseLookupReference, parseManifest, parseReference, validateTag, type ParsedManifest } from '../../oci/index.js';
import type { Transaction } from '../../db/index.js';
import type { IngestReceipt } from '../../dataplane/index.js';
import type { JournalTransaction } from '../../views/index.js';
import type { Actor, RegistryContext } from '../context.js';
import { storedObjectPayload } from '../stored-object-payload.js';
import { recordPull } from '../oci-pulls.js';
import { cachedManifestBytes, rememberManifestBytes } from './manifest-bytes.js';

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
  // The bytes just hashed to this address: the first GET needs no disk read.
  rememberManifestBytes(ctx, receipt.contentAddress, bytes);
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
  const target = parseLookupReference(reference);
  if (target.kind === 'tag') {
    // One round trip: the tag and the manifest it points at.
    const row = await reader('oci_tags as t')
      .leftJoin('oci_manifests as m', (join) => join.on('m.repository', 't.repository').andOn('m.digest', 't.manifest_digest'))
      .where({ 't.repository': repository, 't.tag': target.tag })
      .first('t.manifest_digest', 'm.media_type', 'm.size', 'm.content_address');
    if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `no tag ${target.tag} in ${repository}`, { tag: target.tag });
    const digest = row.manifest_digest as string;
    if (row.content_address === null || row.content_address === undefined) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${digest} in ${repository}`, { digest });
    return { repository, digest, mediaType: row.media_type, size: Number(row.size), contentAddress: row.content_address };
  }
  const digest = `${target.digest.algorithm}:${target.digest.hex}`;
  const row = await reader('oci_manifests').where({ repository, digest }).first('media_type', 'size', 'content_address');
  if (!row) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${digest} in ${repository}`, { digest });
  return { repository, digest, mediaType: row.media_type, size: Number(row.size), contentAddress: row.content_address };
}

/**
 * A manifest's exact bytes, whole (manifests are bounded by the size limit
 * of their PUT): from the in-process cache of immutable content when it has
 * them (ADR 0024), else read from the store and remembered. Notes the pull
 * for retention's `pulledWithin` (ADR 0021), like {@link openManifest}.
 */
export async function readManifest(ctx: RegistryContext, repository: string, reference: string): Promise<{ manifest: ManifestInfo; bytes: Buffer }> {
  const manifest = await statManifest(ctx, repository, reference);
  let bytes = cachedManifestBytes(ctx, manifest.contentAddress);
  if (bytes === undefined) {
    const { stream } = await ctx.dataPlane.serveObject(manifest.contentAddress);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > manifest.size) {
        stream.destroy();
        throw new RegistryError('STORAGE_FAILURE', `stored manifest ${manifest.contentAddress} is larger than its recorded ${manifest.size} bytes`);
      }
      chunks.push(chunk);
    }
    if (total !== manifest.size) throw new RegistryError('STORAGE_FAILURE', `stored manifest ${manifest.contentAddress} has ${total} bytes, not its recorded ${manifest.size}`);
    bytes = Buffer.concat(chunks, total);
    rememberManifestBytes(ctx, manifest.contentAddress, bytes);
  }
  await recordPull(ctx, repository, manifest.digest);
  return { manifest, bytes };
}

/** Opens a manifest's exact bytes, noting the pull for retention's `pulledWithin` (ADR 0021). */
export async function openManifest(ctx: RegistryContext, repository: string, reference: string): Promise<{ manifest: ManifestInfo; stream: Readable }> {
  const manifest = await statManifest(ctx, repository, reference);
  const { stream } = await ctx.dataPlane.serveObject(manifest.contentAddress);
  await recordPull(ctx, repository, manifest.digest);
  return { manifest, stream };
}

/**
 * A deletion decided by an OCI retention policy (ADR 0021): the reason goes
 * into the event, and the deletion is skipped (returns false) when the state
 * it was decided on changed meanwhile.
 */
export interface RetentionDeletion {
  readonly policy: string;
  readonly rule: string;
  readonly reason: string;
  /** A tag deletion: only while the tag still points at this digest. */
  readonly expectedDigest?: string;
  /** A manifest deletion: only while no tag and no index in the repository points at it. */
  readonly onlyIfUntagged?: boolean;
}

/**
 * Deletes by digest (the manifest and every tag on it) or by tag (only the
 * tag). True when something was deleted (false only when a `retention`
 * guard no longer holds). @throws MANIFEST_UNKNOWN.
 */
export async function deleteManifest(ctx: RegistryContext, repository: string, reference: string, actor: Actor, retention?: RetentionDeletion): Promise<boolean> {
  const target = parseLookupReference(reference);
  const why: { retention?: { policy: string; rule: string; reason: string } } = retention ? { retention: { policy: retention.policy, rule: retention.rule, reason: retention.reason } } : {};
  return ctx.journal.transact(async (tx) => {
    if (target.kind === 'tag') {
      const tag = await tx.trx('oci_tags').where({ repository, tag: target.tag }).first('manifest_digest');
      if (!tag) throw new RegistryError('MANIFEST_UNKNOWN', `no tag ${target.tag} in ${repository}`, { tag: target.tag });
      if (retention?.expectedDigest !== undefined && tag.manifest_digest !== retention.expectedDigest) return false;
      await tx.record({ type: 'v1.oci.tag.deleted', subjectId: `${repository}:${target.tag}`, actor, payload: { repository, tag: target.tag, digest: tag.manifest_digest, ...why } });
      return true;
    }
    const digest = `${target.digest.algorithm}:${target.digest.hex}`;
    const manifest = await tx.trx('oci_manifests').where({ repository, digest }).first('digest');
    if (!manifest) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest ${digest} in ${repository}`, { digest });
    const tags = (await tx.trx('oci_tags').where({ repository, manifest_digest: digest }).orderBy('tag').pluck('tag')) as string[];
    if (retention?.onlyIfUntagged) {
      const parent = await tx.trx('oci_manifest_references').where({ repository, digest, kind: 'manifest' }).first('manifest_digest');
      if (tags.length > 0 || parent) return false;
    }
    await tx.record({ type: 'v1.oci.manifest.deleted', subjectId: `${repository}@${digest}`, actor, payload: { repository, digest, tags, ...why } });
    return true;
  });
}

/** Digests per query when checking references (well below every database's bound on parameters). */
const REFERENCE_BATCH = 500;

async function assertReferencesPresent(trx: Reader, repository: string, parsed: ParsedManifest): Promise<void> {
  const required = parsed.references.filter((reference) => reference.mustExist);
  // Set-wise, a query or two per table whatever the number of layers: a
  // blob reference is satisfied by a linked blob or a manifest (as
  // `findBlob` resolves it), a child manifest only by a manifest.
  const digests = [...new Set(required.map((reference) => reference.digest))];
  const blobKind = new Set(required.filter((reference) => reference.kind !== 'manifest').map((reference) => reference.digest));
  const manifestKind = new Set(required.filter((reference) => reference.kind === 'manifest').map((reference) => reference.digest));
  const manifests = new Set<string>();
  const blobs = new Set<string>();
  for (let at = 0; at < digests.length; at += REFERENCE_BATCH) {
    const batch = digests.slice(at, at + REFERENCE_BATCH);
    const blobBatch = batch.filter((digest) => blobKind.has(digest));
    if (blobBatch.length > 0) {
      for (const digest of (await trx('oci_blob_links').where({ repository }).whereIn('digest', blobBatch).pluck('digest')) as string[]) blobs.add(digest);
    }
    const manifestBatch = batch.filter((digest) => manifestKind.has(digest) || !blobs.has(digest));
    if (manifestBatch.length > 0) {
      for (const digest of (await trx('oci_manifests').where({ repository }).whereIn('digest', manifestBatch).pluck('digest')) as string[]) manifests.add(digest);
    }
  }
  const missing: string[] = [];
  for (const reference of required) {
    const found = manifests.has(reference.digest) || (reference.kind !== 'manifest' && blobs.has(reference.digest));
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
