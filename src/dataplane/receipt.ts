/**
 * @module dataplane/receipt
 * The receipt of a publication, built one way for every path that publishes.
 */
import { PRIMARY_ALGORITHM, type DualDigest } from '../identity/index.js';
import type { PutOutcome } from '../storage/index.js';
import type { IngestReceipt } from './data-plane.js';

/** The primary (`blake3:`) address of bytes hashed to `actual`. */
export function primaryAddressOf(actual: DualDigest): string {
  return `${PRIMARY_ALGORITHM}:${actual.blake3}`;
}

/** The receipt for bytes hashed to `actual` and published on `backend` with `outcome`. */
export function receiptFor(backend: string, actual: DualDigest, outcome: PutOutcome): IngestReceipt {
  return {
    contentAddress: primaryAddressOf(actual),
    digestSha256: `sha256:${actual.sha256}`,
    size: actual.size,
    backend,
    objectKey: outcome.key,
    retrievalTier: 'hot',
    created: outcome.created,
  };
}
