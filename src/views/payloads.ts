/**
 * @module views/payloads
 * Typed event payloads, and their checked decoding. Payloads carry everything
 * a projector needs, so projection never has to read the views it writes.
 */
import { decodeTrustedCanonical, type CanonicalValue } from '../manifest/index.js';
import { RegistryError } from '../errors/index.js';

/** `v1.package.created` */
export interface PackageCreatedPayload {
  package_id: string;
  name: string;
  producer: string;
  subject: string | null;
  retention_class: string;
  metadata: { [key: string]: CanonicalValue };
  /** The metadata schema the metadata conforms to; absent when none (and in every event before schemas existed). */
  metadata_schema?: string;
}

/**
 * `v1.metadata_schema.registered`: a JSON Schema (2020-12) under a name, for
 * ever (subject: the name). The schema holds canonical values only.
 */
export interface MetadataSchemaRegisteredPayload {
  name: string;
  schema: { [key: string]: CanonicalValue };
}

/** `v1.retention.default_applied` */
export interface RetentionDefaultAppliedPayload {
  package_id: string;
  retention_class: string;
  /** Class duration in seconds; null when the class never expires. */
  duration_seconds: number | null;
  expires_at: string | null;
}

/** Where an object's bytes were stored, as recorded by the event that stored them. */
export interface StoragePayload {
  backend_id: string;
  object_key: string;
  retrieval_tier: string;
}

/** `v1.file.ingested` */
export interface FileIngestedPayload {
  file_id: string;
  package_id: string;
  relative_path: string;
  media_type: string;
  size: number;
  content_address: string;
  digest_sha256: string;
  storage: StoragePayload;
}

/** `v1.oci.blob.linked`: a blob becomes part of a repository. */
export interface OciBlobLinkedPayload {
  repository: string;
  /** The OCI digest the repository knows it by (`sha256:` or `sha512:`). */
  digest: string;
  content_address: string;
  digest_sha256: string;
  size: number;
  storage: StoragePayload;
}

/** `v1.oci.blob.unlinked` */
export interface OciBlobUnlinkedPayload {
  repository: string;
  digest: string;
  /** Why retention unlinked it (absent on client deletes and in older events; projectors ignore it). */
  retention?: OciRetentionReasonPayload;
}

/** One descriptor a manifest points at. */
export interface OciReferencePayload {
  kind: 'config' | 'layer' | 'manifest' | 'subject';
  digest: string;
}

/** `v1.oci.manifest.put`: the exact manifest bytes are stored as an object. */
export interface OciManifestPutPayload {
  repository: string;
  digest: string;
  content_address: string;
  digest_sha256: string;
  size: number;
  media_type: string;
  artifact_type: string | null;
  subject_digest: string | null;
  annotations: { [key: string]: string } | null;
  references: OciReferencePayload[];
  storage: StoragePayload;
}

/** `v1.oci.manifest.deleted`: the manifest and every tag that pointed at it. */
export interface OciManifestDeletedPayload {
  repository: string;
  digest: string;
  tags: string[];
  /** Why retention removed it (absent on client deletes and in older events; projectors ignore it). */
  retention?: OciRetentionReasonPayload;
}

/** Why an OCI retention policy removed a tag or manifest (ADR 0021). */
export interface OciRetentionReasonPayload {
  /** The policy's name. */
  policy: string;
  /** `tag-not-kept`, `untagged` or `referrer-orphaned`. */
  rule: string;
  /** A sentence for the audit trail. */
  reason: string;
}

/** `v1.oci.tag.set` */
export interface OciTagSetPayload {
  repository: string;
  tag: string;
  digest: string;
  previous_digest: string | null;
}

/** `v1.oci.tag.deleted` */
export interface OciTagDeletedPayload {
  repository: string;
  tag: string;
  digest: string;
  /** Why retention removed it (absent on client deletes and in older events; projectors ignore it). */
  retention?: OciRetentionReasonPayload;
}

/**
 * `v1.storage.location_added`: a verified copy of an object now also lives on
 * another backend (a storage migration). Subject: the content address.
 */
export interface StorageLocationAddedPayload {
  content_address: string;
  backend_id: string;
  object_key: string;
  retrieval_tier: string;
}

/** `v1.storage.location_removed`: the copy of an object on `backend_id` was deleted (ADR 0022). */
export interface StorageLocationRemovedPayload {
  content_address: string;
  backend_id: string;
}

/** `v1.storage.restore_requested` / `restore_completed`: a restore from the archive location on `backend_id` (ADR 0022). */
export interface StorageRestorePayload {
  content_address: string;
  backend_id: string;
}

/**
 * `v1.object.deleted`: garbage collection removed the bytes of an object no
 * view referenced, from every location listed (docs/adr/0020). Subject: the
 * content address.
 */
export interface ObjectDeletedPayload {
  content_address: string;
  digest_sha256: string;
  size: number;
  locations: Array<{ backend_id: string; object_key: string }>;
  /** When a GC scan first found the object unreferenced. */
  unreferenced_since: string;
}

/**
 * Decodes a payload and checks that the named fields exist with the right JS
 * types. Payloads reach projectors only from an append (just encoded
 * canonically) or from replay and verify, which check every payload digest
 * before projecting.
 */
export function decodePayload<T>(bytes: Uint8Array, shape: Record<string, 'string' | 'number' | 'object' | 'string?' | 'number?' | 'object?'>): T {
  const value = decodeTrustedCanonical(bytes);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('EVENT_LOG_CORRUPT', 'event payload is not a map');
  }
  const record = value as Record<string, CanonicalValue>;
  for (const [field, expected] of Object.entries(shape)) {
    const optional = expected.endsWith('?');
    const kind = optional ? expected.slice(0, -1) : expected;
    const actual = record[field];
    if (actual === undefined || (actual === null && !optional) || (actual !== null && typeof actual !== kind)) {
      throw new RegistryError('EVENT_LOG_CORRUPT', `event payload field ${field} should be ${expected}`);
    }
  }
  return record as T;
}

/** `v1.retention.extended`: a later expiry, with the reason. */
export interface RetentionExtendedPayload {
  package_id: string;
  previous_expires_at: string | null;
  new_expires_at: string;
  reason: string;
}

/** `v1.retention.hold_applied` */
export interface RetentionHoldAppliedPayload {
  package_id: string;
  hold_id: string;
  reason: string;
  /** Holds active on the package after this one. */
  active_holds: number;
}

/** `v1.retention.hold_released` */
export interface RetentionHoldReleasedPayload {
  package_id: string;
  hold_id: string;
  reason: string;
  /** Holds still active on the package after this release. */
  active_holds: number;
}

/** `v1.retention.deletion_eligible`: expired and unheld. */
export interface RetentionDeletionEligiblePayload {
  package_id: string;
  expires_at: string;
}

/** `v1.package.deleted`: the package and its files are gone; their bytes go to GC. */
export interface PackageDeletedPayload {
  package_id: string;
  reason: string;
  /** Ids of the files unlinked with it. */
  file_ids: string[];
}
