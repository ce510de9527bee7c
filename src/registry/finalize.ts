/**
 * @module registry/finalize
 * Finalizing a package into its canonical manifest, and reading it back.
 */
import { RegistryError } from '../errors/index.js';
import { buildManifest, cborToJcs, encodeManifest } from '../manifest/index.js';
import type { Actor, RegistryContext } from './context.js';
import { getPackage } from './packages.js';
import { assertMetadataConforms } from './metadata-schemas.js';
import { listFiles } from './files.js';
import { PACKAGES_REPOSITORY, publishPackageAsOci } from './package-oci.js';

/** Outcome of {@link finalizePackage}. */
export interface FinalizeResult {
  readonly packageId: string;
  readonly manifestDigest: string;
  readonly sequence: number;
  /** Where `/v2/` serves the package as an OCI artifact. */
  readonly oci: { readonly repository: string; readonly tag: string; readonly digest: string };
}

/**
 * Seals a package: builds its manifest from the views inside the recording
 * transaction (so no file can slip in between), and records
 * `v1.package.finalized` whose payload is the manifest's canonical CBOR.
 * @throws RegistryError PACKAGE_NOT_FOUND, PACKAGE_FINALIZED,
 *   METADATA_SCHEMA_UNKNOWN, METADATA_SCHEMA_VIOLATION.
 */
export async function finalizePackage(ctx: RegistryContext, packageId: string, actor: Actor): Promise<FinalizeResult> {
  return ctx.journal.transact(async (tx) => {
    const pkg = await getPackage(ctx, packageId, tx.trx);
    if (pkg.status !== 'created') throw new RegistryError('PACKAGE_FINALIZED', `package ${packageId} is already ${pkg.status}`);
    // Checked again at the seal: what a finalized package claims to conform to, it does.
    if (pkg.metadataSchema !== null) await assertMetadataConforms(ctx, pkg.metadataSchema, pkg.metadata, tx.trx);
    const files = await listFiles(ctx, packageId, tx.trx);
    const locations = await tx.trx('storage_locations as l')
      .join('objects as o', 'o.content_address', 'l.content_address')
      .whereIn('l.content_address', tx.trx('artifact_files').select('content_address').where('package_id', packageId))
      .select('l.content_address', 'l.backend_id', 'l.object_key', 'l.retrieval_tier', 'o.created_at', 'l.created_at as located_at');
    const receipts = oneLocationEach(locations, ctx.dataPlane.backendId);
    const at = new Date();
    const manifest = buildManifest({
      package: {
        id: pkg.id,
        name: pkg.name,
        producer: pkg.producer,
        subject: pkg.subject,
        retention_class: pkg.retentionClass,
        metadata: pkg.metadata,
        created_at: pkg.createdAt,
      },
      files: files.map((file) => ({
        relative_path: file.relativePath,
        media_type: file.mediaType,
        size: file.size,
        content_address: file.contentAddress,
        digest_sha256: file.digestSha256,
      })),
      storage_receipts: receipts.map((row) => ({
        content_address: row.content_address as string,
        backend: row.backend_id as string,
        object_key: row.object_key as string,
        retrieval_tier: row.retrieval_tier as string,
        stored_at: row.created_at as string,
      })),
      retention_summary: { retention_class: pkg.retentionClass, expires_at: pkg.expiresAt },
      provenance: {
        actor,
        finalized_at: at.toISOString(),
        event_sequence: pkg.lastEventSequence,
      },
    });
    const { digest } = encodeManifest(manifest);
    const event = await tx.record({ type: 'v1.package.finalized', subjectId: packageId, actor, at, payload: manifest as never });
    const recorded = `blake3:${Buffer.from(event.payloadDigest).toString('hex')}`;
    if (recorded !== digest) throw new RegistryError('INTERNAL', `manifest digest ${digest} differs from payload digest ${recorded}`);
    const ociDigest = await publishPackageAsOci(ctx, tx, manifest, digest, actor);
    return { packageId, manifestDigest: digest, sequence: event.sequence, oci: { repository: PACKAGES_REPOSITORY, tag: packageId, digest: ociDigest } };
  });
}

/** The manifest of a finalized package in the requested form. */
export interface ManifestBytes {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly contentType: string;
}

/**
 * The exact manifest bytes: canonical CBOR as recorded in the log, or its JCS
 * projection.
 * @throws RegistryError PACKAGE_NOT_FOUND, PACKAGE_NOT_FINALIZED.
 */
export async function getManifestBytes(ctx: RegistryContext, packageId: string, format: 'cbor' | 'json'): Promise<ManifestBytes> {
  const pkg = await getPackage(ctx, packageId);
  if (pkg.status === 'created' || !pkg.manifestDigest) throw new RegistryError('PACKAGE_NOT_FINALIZED', `package ${packageId} has no manifest yet`);
  const row = await ctx.db.knex('events')
    .where({ subject_kind: 'package', subject_id: packageId, event_type: 'v1.package.finalized' })
    .first('payload');
  if (!row) throw new RegistryError('EVENT_LOG_CORRUPT', `package ${packageId} is finalized but its finalized event is missing`);
  const cbor = new Uint8Array(row.payload as Buffer);
  if (format === 'cbor') return { bytes: cbor, digest: pkg.manifestDigest, contentType: 'application/cbor' };
  return { bytes: new TextEncoder().encode(cborToJcs(cbor)), digest: pkg.manifestDigest, contentType: 'application/json' };
}

/**
 * One location per object (a manifest has one receipt per object): the one
 * on `preferred` (the backend serving now) when there is one, else the
 * earliest recorded. Objects gain locations when storage is migrated.
 */
function oneLocationEach<T extends { content_address: string; backend_id: string; located_at: string }>(rows: readonly T[], preferred: string): T[] {
  const key = (row: T): string => `${row.backend_id === preferred ? 0 : 1}\u0000${row.located_at}\u0000${row.backend_id}`;
  const chosen = new Map<string, T>();
  for (const row of rows) {
    const current = chosen.get(row.content_address);
    if (current === undefined || key(row) < key(current)) chosen.set(row.content_address, row);
  }
  return [...chosen.values()];
}
