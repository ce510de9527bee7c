/**
 * @module registry/stored-object-payload
 * The part of every event that records stored bytes (a package file, an OCI
 * blob or manifest): addresses, size and where the bytes live — what the
 * `objects` and `storage_locations` projectors read.
 */
/** A stored object and where it lives: what linking needs to know. */
export interface StoredObjectRef {
  readonly contentAddress: string;
  readonly digestSha256: string;
  readonly size: number;
  readonly backend: string;
  readonly objectKey: string;
  readonly retrievalTier: string;
}

/** `{content_address, digest_sha256, size, storage}` of a stored object. */
export function storedObjectPayload(receipt: StoredObjectRef) {
  return {
    content_address: receipt.contentAddress,
    digest_sha256: receipt.digestSha256,
    size: receipt.size,
    storage: { backend_id: receipt.backend, object_key: receipt.objectKey, retrieval_tier: receipt.retrievalTier },
  };
}
