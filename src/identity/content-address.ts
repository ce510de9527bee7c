/**
 * @module identity/content-address
 * Content addresses: `<algorithm>:<64 lowercase hex>`. The parser is strict on
 * purpose: a content address becomes a storage key and a URL segment, so
 * anything that is not exactly this shape (upper case, wrong length, other
 * separators, `..`, NUL, whitespace) is refused rather than normalised.
 */
import { RegistryError } from '../errors/index.js';

/** The digest algorithms a content address may name. `blake3` is primary. */
export type DigestAlgorithm = 'blake3' | 'sha256';

/** The algorithm under which objects are stored. */
export const PRIMARY_ALGORITHM: DigestAlgorithm = 'blake3';

/** A parsed, validated content address. */
export interface ContentAddress {
  readonly algorithm: DigestAlgorithm;
  /** 64 lowercase hex characters (32 bytes). */
  readonly hex: string;
}

const PATTERN = /^(blake3|sha256):([0-9a-f]{64})$/;

/**
 * Parses `text` as a content address.
 * @throws RegistryError `CONTENT_ADDRESS_INVALID` for anything else.
 */
export function parseContentAddress(text: string): ContentAddress {
  const match = typeof text === 'string' ? PATTERN.exec(text) : null;
  if (!match) {
    throw new RegistryError('CONTENT_ADDRESS_INVALID', `expected blake3:<64 lowercase hex> or sha256:<64 lowercase hex>, got ${describe(text)}`);
  }
  return { algorithm: match[1] as DigestAlgorithm, hex: match[2] as string };
}

/** True when `text` is a valid content address (optionally of one algorithm). */
export function isContentAddress(text: unknown, algorithm?: DigestAlgorithm): text is string {
  if (typeof text !== 'string') return false;
  const match = PATTERN.exec(text);
  return match !== null && (algorithm === undefined || match[1] === algorithm);
}

/** Formats an address as `<algorithm>:<hex>`. */
export function formatContentAddress(address: ContentAddress): string {
  return `${address.algorithm}:${address.hex}`;
}

/** Builds the primary (`blake3:`) address string from a hex digest, validating it. */
export function blake3Address(hex: string): string {
  return formatContentAddress(parseContentAddress(`blake3:${hex}`));
}

/** Builds a `sha256:` address string from a hex digest, validating it. */
export function sha256Address(hex: string): string {
  return formatContentAddress(parseContentAddress(`sha256:${hex}`));
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}
