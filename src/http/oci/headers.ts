/**
 * @module http/oci/headers
 * Header names and values of the OCI Distribution API, in one place.
 */

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
export const API_VERSION = 'registry/2.0';
export const CONTENT_DIGEST_HEADER = 'Docker-Content-Digest';
export const UPLOAD_UUID_HEADER = 'Docker-Upload-UUID';
export const SUBJECT_HEADER = 'OCI-Subject';
export const TAG_HEADER = 'OCI-Tag';
export const FILTERS_APPLIED_HEADER = 'OCI-Filters-Applied';
/** Our addition: the object's BLAKE3 content address, so native clients can address the same bytes. */
export const CONTENT_ADDRESS_HEADER = 'Artifactstore-Content-Address';

/** `Range: 0-<last byte>` as upload responses report progress (`0-0` when empty, as distribution does). */
export function uploadRange(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}
