/**
 * @module oci/referrers
 * The body of `GET /v2/<name>/referrers/<digest>`: an OCI image index whose
 * `manifests` describe the manifests whose `subject` is that digest.
 */
import type { Descriptor } from './manifest.js';
import { OCI_IMAGE_INDEX } from './media-types.js';

/** `Content-Type` of a referrers response. */
export const REFERRERS_CONTENT_TYPE = OCI_IMAGE_INDEX;

/** What the registry keeps about one referring manifest. */
export interface ReferrerRow {
  /** The referring manifest's media type. */
  readonly mediaType: string;
  /** The referring manifest's digest. */
  readonly digest: string;
  /** The referring manifest's size in bytes. */
  readonly size: number;
  /** `ParsedManifest.artifactType` of the referring manifest. */
  readonly artifactType: string | null;
  /** The referring manifest's top-level annotations. */
  readonly annotations: Readonly<Record<string, string>> | null;
}

/**
 * The descriptor listed for one referrer: `mediaType`, `digest`, `size`,
 * then `artifactType` unless it is null, then a copy of `annotations` unless
 * null or empty. The result shares nothing with `row`.
 */
export function referrerDescriptor(row: ReferrerRow): Descriptor {
  const descriptor: Descriptor = { mediaType: row.mediaType, digest: row.digest, size: row.size };
  if (row.artifactType !== null) descriptor.artifactType = row.artifactType;
  if (row.annotations !== null && Object.keys(row.annotations).length > 0) {
    // fromEntries defines own properties, so a `__proto__` key stays data.
    descriptor.annotations = Object.fromEntries(Object.entries(row.annotations));
  }
  return descriptor;
}

/**
 * Serializes the referrers response: UTF-8 JSON of
 * `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[...]}`
 * with `descriptors` in the given order (an empty list gives an empty index).
 */
export function referrersIndex(descriptors: readonly Descriptor[]): Uint8Array {
  const index = { schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: descriptors };
  return new TextEncoder().encode(JSON.stringify(index));
}
