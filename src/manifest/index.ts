/**
 * @module manifest
 * Package manifests (product decision 3): the value model, canonical CBOR and
 * its JCS projection, the version-1 manifest type, its validation,
 * construction, encoding and digest.
 */
export { MAX_NESTING_DEPTH, canonicalViolations, isPlainObject, isWellFormedText } from './canonical-value.js';
export type { CanonicalMap, CanonicalValue, Violation, WalkOrigin } from './canonical-value.js';
export { decodeCanonical, decodeTrustedCanonical, encodeCanonical } from './canonical-cbor.js';
export { cborToJcs, fromJcs, jcsToCbor, toJcs } from './jcs.js';
export {
  ANNOTATION_CONTENT_ADDRESS,
  ANNOTATION_TITLE,
  EMPTY_CONFIG_DESCRIPTOR,
  MANIFEST_MEDIA_TYPE,
  MANIFEST_VERSION,
  OCI_EMPTY_DIGEST,
  OCI_EMPTY_MEDIA_TYPE,
  OCI_EMPTY_SIZE,
  isMediaType,
} from './constants.js';
export type { ManifestFile, ManifestPackage, ManifestProvenance, OciDescriptor, PackageManifest, RetentionSummary, StorageReceipt } from './types.js';
export { manifestViolations, validateManifest } from './validate.js';
export { buildManifest, layerOf, type BuildManifestInput } from './build.js';
export { decodeManifest, encodeManifest, manifestDigest, type EncodedManifest } from './digest.js';
export { childPointer } from './pointer.js';
