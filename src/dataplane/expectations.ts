/**
 * @module dataplane/expectations
 * Validation of what a producer claims about its bytes, and the comparison of
 * those claims with what was actually hashed.
 */
import { RegistryError } from '../errors/index.js';
import { parseContentAddress, type DigestAlgorithm, type DualDigest } from '../identity/index.js';
import type { IngestExpectation } from './data-plane.js';

/** Expectations reduced to bare hex digests, all validated. */
export interface CheckedExpectation {
  readonly blake3?: string;
  readonly sha256?: string;
  readonly size?: number;
}

/**
 * Validates `expect` before any byte is read, so a malformed claim fails fast.
 * @throws RegistryError `CONTENT_ADDRESS_INVALID` when a digest is not a full
 *   address of its field's algorithm (bare hex is refused too: the algorithm
 *   prefix is what keeps a sha256 from being mistaken for a blake3);
 *   `FIELD_INVALID` when `size` is not a non-negative safe integer.
 */
export function checkExpectation(expect: IngestExpectation | undefined): CheckedExpectation {
  if (expect === undefined) return {};
  const checked: { blake3?: string; sha256?: string; size?: number } = {};
  if (expect.blake3 !== undefined) checked.blake3 = expectedHex(expect.blake3, 'blake3');
  if (expect.sha256 !== undefined) checked.sha256 = expectedHex(expect.sha256, 'sha256');
  if (expect.size !== undefined) {
    if (!Number.isSafeInteger(expect.size) || expect.size < 0) {
      throw new RegistryError('FIELD_INVALID', `expected size must be a non-negative integer, got ${String(expect.size)}`, { field: 'size' });
    }
    checked.size = expect.size;
  }
  return checked;
}

function expectedHex(address: string, algorithm: DigestAlgorithm): string {
  const parsed = parseContentAddress(address);
  if (parsed.algorithm !== algorithm) {
    throw new RegistryError('CONTENT_ADDRESS_INVALID', `expected ${algorithm} digest must be a ${algorithm}: address, got a ${parsed.algorithm}: one`);
  }
  return parsed.hex;
}

/**
 * The first way `actual` contradicts `expected`, as the error to throw, or
 * null when it matches. Size is compared first: it is the most telling
 * difference for a producer (a truncated upload), and it implies the rest.
 */
export function expectationMismatch(expected: CheckedExpectation, actual: DualDigest): RegistryError | null {
  if (expected.size !== undefined && expected.size !== actual.size) {
    return sizeMismatch(expected.size, actual.size);
  }
  for (const algorithm of ['sha256', 'blake3'] as const) {
    const hex = expected[algorithm];
    if (hex !== undefined && hex !== actual[algorithm]) {
      return new RegistryError('DIGEST_MISMATCH', `content hashes to ${algorithm}:${actual[algorithm]}, expected ${algorithm}:${hex}`, {
        expected: `${algorithm}:${hex}`,
        actual: `${algorithm}:${actual[algorithm]}`,
      });
    }
  }
  return null;
}

/** The `SIZE_MISMATCH` error for a source of `actual` bytes where `expected` were promised. */
export function sizeMismatch(expected: number, actual: number): RegistryError {
  return new RegistryError('SIZE_MISMATCH', `received ${actual} bytes, expected ${expected}`, { expected, actual });
}

/**
 * The `SIZE_MISMATCH` error for a source cut off after `received` bytes,
 * already more than the `expected` size; its true length stays unknown.
 */
export function sizeOverrun(expected: number, received: number): RegistryError {
  return new RegistryError('SIZE_MISMATCH', `received more than the expected ${expected} bytes`, { expected, actualAtLeast: received });
}
