/**
 * @module manifest/types
 * The shape of a version-1 package manifest. Field names are part of the
 * encoded bytes (and so of package identities): snake_case for our own
 * fields, OCI's camelCase inside descriptors.
 */
import type { CanonicalMap } from './canonical-value.js';

/** An OCI content descriptor (image-spec `descriptor.md`), restricted to what manifests use. */
export type OciDescriptor = {
  mediaType: string;
  /** `sha256:<64 hex>`. */
  digest: string;
  size: number;
  annotations?: { [key: string]: string };
};

/** The package row as frozen at finalization. */
export type ManifestPackage = {
  id: string;
  name: string;
  producer: string;
  subject: string | null;
  retention_class: string;
  metadata: CanonicalMap;
  /** ISO-8601 UTC with milliseconds, e.g. `2025-01-02T03:04:05.678Z`. */
  created_at: string;
};

/** One file of the package. */
export type ManifestFile = {
  relative_path: string;
  media_type: string;
  size: number;
  /** Primary address, `blake3:<64 hex>`. */
  content_address: string;
  /** `sha256:<64 hex>` of the same bytes. */
  digest_sha256: string;
};

/** Where one distinct object of the package is stored. */
export type StorageReceipt = {
  /** `blake3:<64 hex>`. */
  content_address: string;
  backend: string;
  object_key: string;
  retrieval_tier: string;
  /** ISO-8601 UTC with milliseconds. */
  stored_at: string;
};

/** Retention state at finalization. */
export type RetentionSummary = {
  retention_class: string;
  /** ISO-8601 UTC with milliseconds; null when the class never expires. */
  expires_at: string | null;
};

/** Who produced the package and where finalization sits in the event log. */
export type ManifestProvenance = {
  producer: string;
  actor: string;
  created_at: string;
  finalized_at: string;
  /** Sequence of the last event before `v1.package.finalized`. */
  event_sequence: number;
};

/**
 * A version-1 package manifest. `files` are sorted by `relative_path` (UTF-16
 * code units), `storage_receipts` by `content_address` (one per distinct
 * object), and `layers[i]` describes `files[i]`.
 */
export type PackageManifest = {
  manifest_version: 1;
  package: ManifestPackage;
  files: ManifestFile[];
  storage_receipts: StorageReceipt[];
  retention_summary: RetentionSummary;
  provenance: ManifestProvenance;
  config: OciDescriptor;
  layers: OciDescriptor[];
};
