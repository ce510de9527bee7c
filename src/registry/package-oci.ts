/**
 * @module registry/package-oci
 * A finalized package seen through `/v2/`: an OCI artifact in the
 * `packages` repository, tagged with the package id, whose layers are the
 * package's files (annotated with their relative paths, the way oras lays
 * out files) over the empty config. The OCI manifest is a pure function of
 * the package manifest, serialised as JCS, so it is byte-for-byte
 * deterministic; `skopeo copy` and `oras pull` fetch the same objects the
 * native API serves.
 */
import { EMPTY_CONFIG_DESCRIPTOR, toJcs, type PackageManifest } from '../manifest/index.js';
import { OCI_IMAGE_MANIFEST, parseManifest } from '../oci/index.js';
import type { JournalTransaction } from '../views/index.js';
import type { Actor, RegistryContext } from './context.js';
import { linkBlob } from './oci/blobs.js';
import { oneChunk, recordManifest } from './oci/manifests.js';

/** The OCI repository that holds every finalized package. */
export const PACKAGES_REPOSITORY = 'packages';
/** `artifactType` of a package's OCI manifest. */
export const PACKAGE_ARTIFACT_TYPE = 'application/vnd.artifactstore.package.v1';

/** The OCI image manifest (as bytes) that presents `manifest` as an artifact. */
export function packageOciManifest(manifest: PackageManifest, manifestDigest: string): Uint8Array {
  const document = {
    schemaVersion: 2,
    mediaType: OCI_IMAGE_MANIFEST,
    artifactType: PACKAGE_ARTIFACT_TYPE,
    config: { ...EMPTY_CONFIG_DESCRIPTOR },
    layers: manifest.layers.map((layer) => ({ ...layer })),
    annotations: {
      'org.opencontainers.image.created': manifest.provenance.finalized_at,
      'org.opencontainers.image.title': manifest.package.name,
      'dev.artifactstore.package.id': manifest.package.id,
      'dev.artifactstore.package.producer': manifest.package.producer,
      'dev.artifactstore.manifest.digest': manifestDigest,
    },
  };
  return new TextEncoder().encode(toJcs(document));
}

/**
 * Links the package's objects and its OCI manifest into
 * {@link PACKAGES_REPOSITORY} and tags it with the package id, inside the
 * finalizing transaction (a few small writes: the 2-byte config and the
 * manifest bytes).
 */
export async function publishPackageAsOci(ctx: RegistryContext, tx: JournalTransaction, manifest: PackageManifest, manifestDigest: string, actor: Actor): Promise<string> {
  const repository = PACKAGES_REPOSITORY;
  const config = await ctx.dataPlane.ingestStream(oneChunk(new TextEncoder().encode('{}')), { sha256: EMPTY_CONFIG_DESCRIPTOR.digest });
  await linkBlob(tx, repository, EMPTY_CONFIG_DESCRIPTOR.digest, config, actor);
  const receipts = new Map(manifest.storage_receipts.map((receipt) => [receipt.content_address, receipt]));
  for (const file of manifest.files) {
    const stored = receipts.get(file.content_address)!;
    await linkBlob(tx, repository, file.digest_sha256, {
      contentAddress: file.content_address,
      digestSha256: file.digest_sha256,
      size: file.size,
      backend: stored.backend,
      objectKey: stored.object_key,
      retrievalTier: stored.retrieval_tier,
    }, actor);
  }
  const bytes = packageOciManifest(manifest, manifestDigest);
  const receipt = await ctx.dataPlane.ingestStream(oneChunk(bytes), { size: bytes.byteLength });
  const parsed = parseManifest(bytes, OCI_IMAGE_MANIFEST);
  await recordManifest(tx, { repository, digest: receipt.digestSha256, receipt, parsed, tags: [manifest.package.id], actor });
  return receipt.digestSha256;
}
