/**
 * @module storage/object-key
 * The one mapping from content address to storage key, shared by every
 * backend so that the same object has the same key in every store. The
 * two-level fan-out keeps directories (and S3 listing prefixes) small.
 */
import { RegistryError } from '../errors/index.js';
import { parseContentAddress, PRIMARY_ALGORITHM } from '../identity/index.js';

/**
 * `blake3/<hex[0:2]>/<hex[2:4]>/<hex>` for a primary content address.
 * @throws RegistryError `CONTENT_ADDRESS_INVALID` for a malformed address or
 *   one of another algorithm (objects are stored under the primary digest only).
 */
export function objectKeyFor(address: string): string {
  const { algorithm, hex } = parseContentAddress(address);
  if (algorithm !== PRIMARY_ALGORITHM) {
    throw new RegistryError(
      'CONTENT_ADDRESS_INVALID',
      `objects are stored under their ${PRIMARY_ALGORITHM} address; got a ${algorithm} address`,
    );
  }
  return `${PRIMARY_ALGORITHM}/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`;
}

const KEY_PATTERN = /^blake3\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/**
 * The content address stored under `key`, or null when `key` is not exactly
 * what {@link objectKeyFor} produces (stray files, a misplaced fan-out).
 */
export function addressForObjectKey(key: string): string | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const [, first, second, hex] = match as unknown as [string, string, string, string];
  if (!hex.startsWith(first + second)) return null;
  return `${PRIMARY_ALGORITHM}:${hex}`;
}
