/**
 * @module manifest/digest
 * A package's identity: the BLAKE3 of its manifest's canonical CBOR bytes.
 */
import { blake3Hex } from '../identity/index.js';
import { decodeCanonical, encodeCanonical } from './canonical-cbor.js';
import type { CanonicalValue } from './canonical-value.js';
import type { PackageManifest } from './types.js';
import { validateManifest } from './validate.js';

/** An encoded manifest and its identity. */
export interface EncodedManifest {
  /** Canonical CBOR bytes (the `v1.package.finalized` payload). */
  readonly bytes: Uint8Array;
  /** `blake3:<64 hex>` of `bytes`. */
  readonly digest: string;
}

/**
 * `blake3:` + hex BLAKE3-256 of `bytes`. Hashes what it is given; the result
 * is a manifest digest only if `bytes` came from {@link encodeManifest} (or
 * passed {@link decodeManifest}).
 */
export function manifestDigest(bytes: Uint8Array): string {
  return `blake3:${blake3Hex(bytes)}`;
}

/**
 * Validates `manifest` and encodes it as canonical CBOR.
 * @throws RegistryError `MANIFEST_INVALID` when it is not a valid manifest.
 */
export function encodeManifest(manifest: PackageManifest): EncodedManifest {
  // The optional `annotations` field keeps the manifest type from being
  // assignable to CanonicalValue; validation has just proved it is one.
  const bytes = encodeCanonical(validateManifest(manifest) as unknown as CanonicalValue);
  return { bytes, digest: manifestDigest(bytes) };
}

/**
 * Decodes canonical CBOR bytes into a validated manifest.
 * @throws RegistryError `CBOR_INVALID` for bytes that are not canonical CBOR,
 *   `MANIFEST_INVALID` for a well-encoded value that is not a valid manifest.
 */
export function decodeManifest(bytes: Uint8Array): PackageManifest {
  return validateManifest(decodeCanonical(bytes));
}
