/**
 * @module storage/backends/local/paths
 * Path confinement. Keys reaching this module were built from validated
 * content addresses, so none should ever escape the root; the check is the
 * second line of defence, in case a caller bypasses the address parser.
 */
import path from 'node:path';
import { RegistryError } from '../../../errors/index.js';

/**
 * The absolute path of `key` under `root`, refusing anything that would land
 * on the root itself or outside it.
 *
 * The check is lexical (`path.resolve` then a prefix test on `root` plus a
 * separator, so `/data/storage-evil` is not inside `/data/storage`). It does not
 * follow symlinks: the backend resolves its root once at open, and nothing
 * below the root is expected to be a link.
 * @param root An absolute, normalised directory path.
 * @throws RegistryError `STORAGE_PATH_INVALID` for empty keys, keys with NUL,
 *   absolute keys and keys whose `..` segments climb out of `root`.
 */
export function confinedPath(root: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.includes('\0')) {
    throw new RegistryError('STORAGE_PATH_INVALID', 'storage key is empty or contains NUL');
  }
  const resolved = path.resolve(root, key);
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  if (!resolved.startsWith(prefix) || resolved.length === prefix.length) {
    throw new RegistryError('STORAGE_PATH_INVALID', `storage key ${JSON.stringify(key.slice(0, 200))} resolves outside the storage root`);
  }
  return resolved;
}
