/**
 * @module oci/errors
 * The error codes the OCI module throws, with the HTTP status each must map
 * to and the code the `/v2/` error envelope (`{"errors":[{code,…}]}`) must
 * carry. The registry-wide list lives in `src/errors`; this is the contract
 * it has to satisfy for OCI, and what the `/v2/` renderer translates with.
 */
import type { ErrorCode } from '../errors/index.js';

/** Error codes defined by the distribution-spec (code-1 … code-14) plus legacy ones clients know. */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'TAG_INVALID'
  | 'PAGINATION_NUMBER_INVALID';

/** One error code this module throws and how `/v2/` must render it. */
export interface OciErrorMapping {
  /** Code in the registry's error list (`src/errors`). */
  readonly code: ErrorCode;
  /** HTTP status the code must have there. */
  readonly status: number;
  /** `code` of the OCI error envelope. */
  readonly ociCode: OciErrorCode;
  /** Suggested title for the registry's error list. */
  readonly title: string;
}

/** Every error code thrown by `src/oci`, with its required status and OCI code. */
export const OCI_ERROR_CODES: readonly OciErrorMapping[] = Object.freeze([
  { code: 'NAME_INVALID', status: 400, ociCode: 'NAME_INVALID', title: 'invalid repository name' },
  { code: 'TAG_INVALID', status: 400, ociCode: 'TAG_INVALID', title: 'invalid tag' },
  { code: 'DIGEST_INVALID', status: 400, ociCode: 'DIGEST_INVALID', title: 'invalid or unsupported digest' },
  { code: 'MANIFEST_INVALID', status: 400, ociCode: 'MANIFEST_INVALID', title: 'invalid manifest' },
  { code: 'MANIFEST_TOO_LARGE', status: 413, ociCode: 'SIZE_INVALID', title: 'manifest too large' },
  { code: 'PAGINATION_NUMBER_INVALID', status: 400, ociCode: 'PAGINATION_NUMBER_INVALID', title: 'invalid number of results requested' },
] satisfies OciErrorMapping[]);
