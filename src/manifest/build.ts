/**
 * @module manifest/build
 * Assembles a version-1 manifest from the rows finalization has at hand. Pure:
 * no I/O, no clock, inputs untouched; the same inputs always give the same
 * manifest, whatever the order the rows came in.
 */
import { ANNOTATION_CONTENT_ADDRESS, ANNOTATION_TITLE, EMPTY_CONFIG_DESCRIPTOR, MANIFEST_VERSION } from './constants.js';
import type { ManifestFile, ManifestPackage, OciDescriptor, PackageManifest, RetentionSummary, StorageReceipt } from './types.js';
import { validateManifest } from './validate.js';

export {
  ANNOTATION_CONTENT_ADDRESS,
  ANNOTATION_TITLE,
  EMPTY_CONFIG_DESCRIPTOR,
  MANIFEST_MEDIA_TYPE,
  MANIFEST_VERSION,
  OCI_EMPTY_DIGEST,
  OCI_EMPTY_MEDIA_TYPE,
  OCI_EMPTY_SIZE,
} from './constants.js';

/** What {@link buildManifest} needs. Rows may carry extra columns; only the manifest's fields are read. */
export interface BuildManifestInput {
  readonly package: Readonly<ManifestPackage>;
  /** In any order. */
  readonly files: readonly Readonly<ManifestFile>[];
  /** In any order; exact duplicates collapse (e.g. one row per file sharing an object). */
  readonly storage_receipts: readonly Readonly<StorageReceipt>[];
  readonly retention_summary: Readonly<RetentionSummary>;
  /** Producer and creation time are taken from `package`. */
  readonly provenance: { readonly actor: string; readonly finalized_at: string; readonly event_sequence: number };
}

/**
 * Builds the manifest: copies the documented fields, sorts files by
 * `relative_path` (UTF-16 code units) and receipts by `content_address`,
 * derives one OCI layer per file (media type, SHA-256 digest, size, title and
 * content-address annotations) and sets `config` to the OCI empty descriptor.
 * `package.metadata` is referenced, not copied.
 * @throws RegistryError `MANIFEST_INVALID` listing every violation of the result.
 */
export function buildManifest(input: BuildManifestInput): PackageManifest {
  const pkg = input.package;
  const files = input.files.map(pickFile).sort((a, b) => compareText(a.relative_path, b.relative_path));
  const manifest: PackageManifest = {
    manifest_version: MANIFEST_VERSION,
    package: {
      id: pkg.id,
      name: pkg.name,
      producer: pkg.producer,
      subject: pkg.subject,
      retention_class: pkg.retention_class,
      metadata: pkg.metadata,
      created_at: pkg.created_at,
    },
    files,
    storage_receipts: uniqueReceipts(input.storage_receipts),
    retention_summary: { retention_class: input.retention_summary.retention_class, expires_at: input.retention_summary.expires_at },
    provenance: {
      producer: pkg.producer,
      actor: input.provenance.actor,
      created_at: pkg.created_at,
      finalized_at: input.provenance.finalized_at,
      event_sequence: input.provenance.event_sequence,
    },
    config: { ...EMPTY_CONFIG_DESCRIPTOR },
    layers: files.map(layerOf),
  };
  return validateManifest(manifest);
}

/** The OCI layer describing `file`: how OCI clients (e.g. `oras pull`) see it. */
export function layerOf(file: Readonly<ManifestFile>): OciDescriptor {
  return {
    mediaType: file.media_type,
    digest: file.digest_sha256,
    size: file.size,
    annotations: { [ANNOTATION_TITLE]: file.relative_path, [ANNOTATION_CONTENT_ADDRESS]: file.content_address },
  };
}

function pickFile(file: Readonly<ManifestFile>): ManifestFile {
  return {
    relative_path: file.relative_path,
    media_type: file.media_type,
    size: file.size,
    content_address: file.content_address,
    digest_sha256: file.digest_sha256,
  };
}

function pickReceipt(receipt: Readonly<StorageReceipt>): StorageReceipt {
  return {
    content_address: receipt.content_address,
    backend: receipt.backend,
    object_key: receipt.object_key,
    retrieval_tier: receipt.retrieval_tier,
    stored_at: receipt.stored_at,
  };
}

/**
 * Sorted, with identical receipts merged. Conflicting receipts for one object
 * are kept so validation reports them instead of one being picked silently.
 */
function uniqueReceipts(receipts: readonly Readonly<StorageReceipt>[]): StorageReceipt[] {
  const seen = new Set<string>();
  const kept: StorageReceipt[] = [];
  for (const receipt of receipts.map(pickReceipt)) {
    const identity = JSON.stringify([receipt.content_address, receipt.backend, receipt.object_key, receipt.retrieval_tier, receipt.stored_at]);
    if (seen.has(identity)) continue;
    seen.add(identity);
    kept.push(receipt);
  }
  // Stable sort, and the tie-break on the whole receipt makes the order of
  // conflicting duplicates independent of input order too.
  return kept.sort((a, b) => compareText(a.content_address, b.content_address) || compareText(JSON.stringify(a), JSON.stringify(b)));
}

/** Orders by UTF-16 code units (not locale), as the manifest's sort rules require. */
function compareText(a: unknown, b: unknown): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
