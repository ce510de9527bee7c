/**
 * @module errors
 * The one error registry. Every failure the registry can report has a stable
 * machine code, an HTTP status and a human title here; code throws
 * {@link RegistryError} with one of these codes and the HTTP layer renders it
 * (RFC 7807 on native routes, the OCI envelope on `/v2/`).
 */

/** One entry of the error registry. */
export interface ErrorDescriptor {
  /** HTTP status the error maps to. */
  readonly status: number;
  /** Short, stable, human-readable summary. */
  readonly title: string;
  /** The OCI distribution error code rendered on `/v2/` (default `UNKNOWN`). */
  readonly oci?: string;
}

/** Every error code the registry knows, with its status and title. */
export const ERROR_CODES = {
  CONTENT_ADDRESS_INVALID: { status: 400, title: 'invalid content address', oci: 'DIGEST_INVALID' },
  DIGEST_MISMATCH: { status: 400, title: 'content does not match the expected digest', oci: 'DIGEST_INVALID' },
  SIZE_MISMATCH: { status: 400, title: 'content does not match the expected size', oci: 'SIZE_INVALID' },
  CBOR_INVALID: { status: 400, title: 'invalid or non-canonical CBOR' },
  MANIFEST_INVALID: { status: 400, title: 'invalid manifest', oci: 'MANIFEST_INVALID' },
  JSON_INVALID: { status: 400, title: 'invalid JSON for a canonical document' },
  METADATA_INVALID: { status: 400, title: 'invalid package metadata' },
  FIELD_INVALID: { status: 400, title: 'invalid field', oci: 'UNSUPPORTED' },
  RETENTION_CLASS_UNKNOWN: { status: 400, title: 'unknown retention class' },
  FILE_PATH_INVALID: { status: 400, title: 'unsafe or invalid relative path' },
  FILE_PATH_DUPLICATE: { status: 409, title: 'a file with this relative path already exists in the package' },
  PACKAGE_NOT_FOUND: { status: 404, title: 'package not found' },
  PACKAGE_FINALIZED: { status: 409, title: 'package is already finalized' },
  PACKAGE_NOT_FINALIZED: { status: 409, title: 'package is not finalized yet' },
  PACKAGE_DELETED: { status: 410, title: 'package was deleted' },
  PACKAGE_NOT_ELIGIBLE: { status: 409, title: 'package is not eligible for deletion' },
  RETENTION_NOT_EXTENDABLE: { status: 409, title: 'retention cannot be extended that way' },
  HOLD_NOT_FOUND: { status: 404, title: 'hold not found' },
  FILE_NOT_FOUND: { status: 404, title: 'file not found' },
  OBJECT_NOT_FOUND: { status: 404, title: 'object not found', oci: 'BLOB_UNKNOWN' },
  // ADR 0022: the bytes exist only in an archive tier that cannot stream; `POST /objects/{address}/restore` first.
  OBJECT_ARCHIVED: { status: 409, title: 'object is archived and must be restored before it can be read', oci: 'UNAVAILABLE' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'requested range not satisfiable', oci: 'SIZE_INVALID' },
  UPLOAD_ID_INVALID: { status: 400, title: 'invalid upload session id', oci: 'BLOB_UPLOAD_INVALID' },
  UPLOAD_NOT_FOUND: { status: 404, title: 'upload session not found', oci: 'BLOB_UPLOAD_UNKNOWN' },
  UPLOAD_EXISTS: { status: 409, title: 'upload session already exists', oci: 'BLOB_UPLOAD_INVALID' },
  STORAGE_PATH_INVALID: { status: 500, title: 'storage path escapes the storage root' },
  STORAGE_FAILURE: { status: 503, title: 'storage backend failure' },
  EVENT_TYPE_UNKNOWN: { status: 500, title: 'unknown event type' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'service unavailable', oci: 'UNAVAILABLE' },
  EVENT_LOG_CORRUPT: { status: 500, title: 'event log integrity violation' },
  CONFIG_INVALID: { status: 500, title: 'invalid configuration' },
  ROUTE_NOT_FOUND: { status: 404, title: 'no such route', oci: 'UNSUPPORTED' },
  BODY_TOO_LARGE: { status: 413, title: 'request body exceeds the size limit', oci: 'SIZE_INVALID' },
  MEDIA_TYPE_UNSUPPORTED: { status: 415, title: 'unsupported request content type', oci: 'UNSUPPORTED' },
  // OCI Distribution (spec.md "Error Codes"): each maps to its own OCI code.
  NAME_INVALID: { status: 400, title: 'invalid repository name', oci: 'NAME_INVALID' },
  NAME_UNKNOWN: { status: 404, title: 'repository name not known to registry', oci: 'NAME_UNKNOWN' },
  TAG_INVALID: { status: 400, title: 'invalid tag', oci: 'TAG_INVALID' },
  DIGEST_INVALID: { status: 400, title: 'provided digest did not match uploaded content or is malformed', oci: 'DIGEST_INVALID' },
  BLOB_UNKNOWN: { status: 404, title: 'blob unknown to registry', oci: 'BLOB_UNKNOWN' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, title: 'blob upload unknown to registry', oci: 'BLOB_UPLOAD_UNKNOWN' },
  BLOB_UPLOAD_INVALID: { status: 400, title: 'blob upload invalid', oci: 'BLOB_UPLOAD_INVALID' },
  UPLOAD_OFFSET_MISMATCH: { status: 416, title: 'chunk does not start at the end of the upload', oci: 'BLOB_UPLOAD_INVALID' },
  MANIFEST_UNKNOWN: { status: 404, title: 'manifest unknown to registry', oci: 'MANIFEST_UNKNOWN' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, title: 'manifest references a blob unknown to the repository', oci: 'MANIFEST_BLOB_UNKNOWN' },
  MANIFEST_TOO_LARGE: { status: 413, title: 'manifest exceeds the size limit', oci: 'SIZE_INVALID' },
  SIZE_INVALID: { status: 400, title: 'provided length did not match content length', oci: 'SIZE_INVALID' },
  PAGINATION_NUMBER_INVALID: { status: 400, title: 'invalid number of results requested', oci: 'PAGINATION_NUMBER_INVALID' },
  UNSUPPORTED: { status: 405, title: 'the operation is unsupported', oci: 'UNSUPPORTED' },
  UNAUTHORIZED: { status: 401, title: 'authentication required', oci: 'UNAUTHORIZED' },
  DENIED: { status: 403, title: 'requested access to the resource is denied', oci: 'DENIED' },
  TOOMANYREQUESTS: { status: 429, title: 'too many requests', oci: 'TOOMANYREQUESTS' },
  INTERNAL: { status: 500, title: 'internal error' },
  // Online GC (docs/adr/0020): the bytes a write relied on were collected between its store and its commit.
  OBJECT_COLLECTED: { status: 503, title: 'the object was garbage-collected while being stored; send it again', oci: 'UNAVAILABLE' },
  // Metadata schemas (docs/adr/0018).
  METADATA_SCHEMA_INVALID: { status: 422, title: 'invalid metadata schema' },
  METADATA_SCHEMA_CONFLICT: { status: 409, title: 'a different metadata schema is registered under this name' },
  METADATA_SCHEMA_NOT_FOUND: { status: 404, title: 'metadata schema not found' },
  METADATA_SCHEMA_UNKNOWN: { status: 422, title: 'the package names an unknown metadata schema' },
  METADATA_SCHEMA_VIOLATION: { status: 422, title: 'metadata does not conform to its schema' },
} as const satisfies Record<string, ErrorDescriptor>;

/** A code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error every layer throws. `detail` is a human explanation of this
 * occurrence; `extra` carries structured data (e.g. a list of violations) that
 * renderers may include verbatim.
 */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  /** The OCI error code this error renders as on `/v2/`. */
  readonly ociCode: string;

  constructor(code: ErrorCode, detail?: string, extra?: Record<string, unknown>, options?: { cause?: unknown }) {
    const descriptor = ERROR_CODES[code];
    super(detail ? `${descriptor.title}: ${detail}` : descriptor.title, options);
    this.name = 'RegistryError';
    this.code = code;
    this.status = descriptor.status;
    this.title = descriptor.title;
    this.detail = detail ?? descriptor.title;
    this.extra = extra;
    this.ociCode = (descriptor as ErrorDescriptor).oci ?? 'UNKNOWN';
  }
}

/** True when `error` is a {@link RegistryError}, optionally with the given code. */
export function isRegistryError(error: unknown, code?: ErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
