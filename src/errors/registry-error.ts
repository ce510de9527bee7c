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
}

/** Every error code the registry knows, with its status and title. */
export const ERROR_CODES = {
  CONTENT_ADDRESS_INVALID: { status: 400, title: 'invalid content address' },
  DIGEST_MISMATCH: { status: 400, title: 'content does not match the expected digest' },
  SIZE_MISMATCH: { status: 400, title: 'content does not match the expected size' },
  CBOR_INVALID: { status: 400, title: 'invalid or non-canonical CBOR' },
  MANIFEST_INVALID: { status: 400, title: 'invalid package manifest' },
  JSON_INVALID: { status: 400, title: 'invalid JSON for a canonical document' },
  METADATA_INVALID: { status: 400, title: 'invalid package metadata' },
  FIELD_INVALID: { status: 400, title: 'invalid field' },
  RETENTION_CLASS_UNKNOWN: { status: 400, title: 'unknown retention class' },
  FILE_PATH_INVALID: { status: 400, title: 'unsafe or invalid relative path' },
  FILE_PATH_DUPLICATE: { status: 409, title: 'a file with this relative path already exists in the package' },
  PACKAGE_NOT_FOUND: { status: 404, title: 'package not found' },
  PACKAGE_FINALIZED: { status: 409, title: 'package is already finalized' },
  PACKAGE_NOT_FINALIZED: { status: 409, title: 'package is not finalized yet' },
  FILE_NOT_FOUND: { status: 404, title: 'file not found' },
  OBJECT_NOT_FOUND: { status: 404, title: 'object not found' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'requested range not satisfiable' },
  STORAGE_PATH_INVALID: { status: 500, title: 'storage path escapes the storage root' },
  STORAGE_FAILURE: { status: 503, title: 'storage backend failure' },
  EVENT_TYPE_UNKNOWN: { status: 500, title: 'unknown event type' },
  EVENT_LOG_CORRUPT: { status: 500, title: 'event log integrity violation' },
  CONFIG_INVALID: { status: 500, title: 'invalid configuration' },
  ROUTE_NOT_FOUND: { status: 404, title: 'no such route' },
  INTERNAL: { status: 500, title: 'internal error' },
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

  constructor(code: ErrorCode, detail?: string, extra?: Record<string, unknown>, options?: { cause?: unknown }) {
    const descriptor = ERROR_CODES[code];
    super(detail ? `${descriptor.title}: ${detail}` : descriptor.title, options);
    this.name = 'RegistryError';
    this.code = code;
    this.status = descriptor.status;
    this.title = descriptor.title;
    this.detail = detail ?? descriptor.title;
    this.extra = extra;
  }
}

/** True when `error` is a {@link RegistryError}, optionally with the given code. */
export function isRegistryError(error: unknown, code?: ErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
