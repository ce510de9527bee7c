/**
 * @module oci
 * Pure building blocks of the OCI Distribution API v1.1 (`/v2/`): grammar of
 * names, tags, digests and references; media types; manifest validation;
 * referrers responses; paging. No I/O, no database.
 */
export {
  MAX_NAME_LENGTH,
  MAX_TAG_LENGTH,
  OCI_DIGEST_HEX_LENGTH,
  computeOciDigest,
  isDigestReference,
  isOciDigest,
  isRepositoryName,
  isTag,
  ociDigestProblem,
  parseOciDigest,
  parseReference,
  parseLookupReference,
  repositoryNameProblem,
  validateRepositoryName,
  validateTag,
} from './grammar.js';
export type { OciDigest, OciDigestAlgorithm, ParsedReference } from './grammar.js';
export * from './media-types.js';
export { MAX_MANIFEST_BYTES, assertManifestSize, parseManifest } from './manifest.js';
export type { Descriptor, ManifestReference, ParsedManifest, Platform, Violation } from './manifest.js';
export { REFERRERS_CONTENT_TYPE, referrerDescriptor, referrersIndex } from './referrers.js';
export type { ReferrerRow } from './referrers.js';
export { nextPageLink, parsePageRequest } from './pagination.js';
export type { PageOptions, PageRequest, QueryValue } from './pagination.js';
export { OCI_ERROR_CODES } from './errors.js';
export type { OciErrorCode, OciErrorMapping } from './errors.js';
