/**
 * @module oci/media-types
 * Media types of the OCI image-spec and of the Docker image formats that OCI
 * clients still push, plus small classifiers over them. Values are exact
 * strings as they appear in manifests and `Content-Type` headers.
 */

/** OCI image manifest (`manifest.md`). */
export const OCI_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index (`image-index.md`); also the body type of the referrers API. */
export const OCI_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';
/** OCI image configuration (`config.md`). */
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** The OCI empty descriptor's type: the two bytes `{}` (artifact manifests use it as config). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** Digest of the two bytes `{}`, the content of {@link OCI_EMPTY}. */
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
/** Size of the two bytes `{}`. */
export const OCI_EMPTY_SIZE = 2;
/** OCI content descriptor document. */
export const OCI_DESCRIPTOR = 'application/vnd.oci.descriptor.v1+json';
/** OCI image layout header (`oci-layout` file). */
export const OCI_LAYOUT_HEADER = 'application/vnd.oci.layout.header.v1+json';

/** OCI uncompressed tar layer. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
/** OCI gzip-compressed tar layer. */
export const OCI_LAYER_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** OCI zstd-compressed tar layer. */
export const OCI_LAYER_TAR_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** Prefix shared by every OCI non-distributable layer type (deprecated in image-spec v1.1 but still valid). */
export const OCI_NONDISTRIBUTABLE_LAYER_PREFIX = 'application/vnd.oci.image.layer.nondistributable.';
/** OCI non-distributable uncompressed tar layer. */
export const OCI_NONDISTRIBUTABLE_LAYER_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
/** OCI non-distributable gzip tar layer. */
export const OCI_NONDISTRIBUTABLE_LAYER_TAR_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
/** OCI non-distributable zstd tar layer. */
export const OCI_NONDISTRIBUTABLE_LAYER_TAR_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd';

/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (multi-platform), schema 2. */
export const DOCKER_MANIFEST_LIST_V2 = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker container image configuration. */
export const DOCKER_CONTAINER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** Docker gzip-compressed tar layer. */
export const DOCKER_LAYER_TAR_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** Prefix of Docker foreign (never pushed, fetched from `urls`) layer types. */
export const DOCKER_FOREIGN_LAYER_PREFIX = 'application/vnd.docker.image.rootfs.foreign.';
/** Docker foreign gzip tar layer (e.g. Windows base layers). */
export const DOCKER_FOREIGN_LAYER_TAR_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
/** Docker plugin configuration. */
export const DOCKER_PLUGIN_CONFIG = 'application/vnd.docker.plugin.v1+json';
/** Docker image manifest, schema 1 (unsigned). Deprecated; refused by this registry. */
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
/** Docker image manifest, schema 1 signed (JWS). Deprecated; refused by this registry. */
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** Manifest types parsed as a single image (config + layers). */
export const IMAGE_MANIFEST_TYPES: readonly string[] = Object.freeze([OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_V2]);
/** Manifest types parsed as an index (list of manifests). */
export const INDEX_MANIFEST_TYPES: readonly string[] = Object.freeze([OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST_V2]);
/** Every manifest type this registry accepts on push and serves on pull. */
export const SUPPORTED_MANIFEST_TYPES: readonly string[] = Object.freeze([...IMAGE_MANIFEST_TYPES, ...INDEX_MANIFEST_TYPES]);
/** Docker schema 1 manifest types, recognised only to refuse them with a clear message. */
export const SCHEMA1_MANIFEST_TYPES: readonly string[] = Object.freeze([DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED]);

/** True for an image-manifest type (OCI manifest or Docker schema 2). */
export function isImageManifestType(mediaType: string): boolean {
  return IMAGE_MANIFEST_TYPES.includes(mediaType);
}

/** True for an index type (OCI index or Docker manifest list). */
export function isIndexManifestType(mediaType: string): boolean {
  return INDEX_MANIFEST_TYPES.includes(mediaType);
}

/** True for a Docker schema 1 manifest type. */
export function isSchema1ManifestType(mediaType: string): boolean {
  return SCHEMA1_MANIFEST_TYPES.includes(mediaType);
}

/**
 * True for a layer type whose blob is not expected in the registry: OCI
 * `application/vnd.oci.image.layer.nondistributable.*` and Docker foreign
 * layers (`application/vnd.docker.image.rootfs.foreign.*`).
 */
export function isNonDistributableLayerType(mediaType: string): boolean {
  return mediaType.startsWith(OCI_NONDISTRIBUTABLE_LAYER_PREFIX) || mediaType.startsWith(DOCKER_FOREIGN_LAYER_PREFIX);
}

// image-spec schema (defs-descriptor.json): RFC 6838 §4.2 restricted names,
// `type/subtype`, no parameters.
const MEDIA_TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/**
 * True when `text` has the shape of an RFC 6838 media type name
 * (`type/subtype`, restricted-name characters, at most 127 each, no
 * parameters), as descriptors' `mediaType` and `artifactType` require.
 */
export function isMediaTypeName(text: unknown): text is string {
  return typeof text === 'string' && MEDIA_TYPE_NAME.test(text);
}

/** `Content-Type` values that say nothing about which manifest format a body is. */
export const GENERIC_CONTENT_TYPES: readonly string[] = Object.freeze(['application/json', 'application/octet-stream']);

/**
 * The media type a `Content-Type` header names, without parameters,
 * trimmed and lowercased; `null` when the header is absent, empty or one of
 * {@link GENERIC_CONTENT_TYPES}, i.e. when it carries no format information.
 */
export function specificContentType(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const type = (header.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (type === '' || GENERIC_CONTENT_TYPES.includes(type)) return null;
  return type;
}
