/**
 * @module manifest/constants
 * Fixed names and values of manifest version 1. Changing any of them changes
 * manifest bytes, hence package identities: treat them as frozen.
 */
import type { OciDescriptor } from './types.js';

/** The only `manifest_version` this code writes and accepts. */
export const MANIFEST_VERSION = 1;

/** Media type of an encoded (canonical CBOR) package manifest. */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.artifactstore.manifest.v1+cbor';

/** OCI annotation carrying a layer's file name (as used by oras). */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';

/** Annotation carrying a layer's primary (`blake3:`) content address. */
export const ANNOTATION_CONTENT_ADDRESS = 'dev.artifactstore.content-address';

/** Media type of the OCI empty descriptor (the two bytes `{}`). */
export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';

/** SHA-256 address of the two bytes `{}`. */
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Size in bytes of `{}`. */
export const OCI_EMPTY_SIZE = 2;

/**
 * The `config` of every version-1 manifest: the OCI empty descriptor, since
 * a package has no runnable configuration. Frozen; copy before mutating.
 */
export const EMPTY_CONFIG_DESCRIPTOR: Readonly<OciDescriptor> = Object.freeze({
  mediaType: OCI_EMPTY_MEDIA_TYPE,
  digest: OCI_EMPTY_DIGEST,
  size: OCI_EMPTY_SIZE,
});

// OCI image-spec descriptor rule (RFC 6838 names, no parameters): a layer's
// media type is served verbatim to OCI clients, which reject anything else.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/**
 * True when `text` is a media type acceptable in an OCI descriptor:
 * `type/subtype` per RFC 6838 naming, without parameters.
 */
export function isMediaType(text: unknown): text is string {
  return typeof text === 'string' && MEDIA_TYPE.test(text);
}
