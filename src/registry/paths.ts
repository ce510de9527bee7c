/**
 * @module registry/paths
 * The rule for a file's relative path inside a package. The path ends up in
 * manifests, download names and (for clients that unpack) on someone's disk,
 * so anything that could escape a directory or mean different things on
 * different systems is refused outright.
 */
import { RegistryError } from '../errors/index.js';

/** Longest accepted relative path, in UTF-16 code units. */
export const MAX_RELATIVE_PATH_LENGTH = 1024;

/**
 * Returns `path` if it is a safe relative path: `/`-separated, non-empty
 * segments, none `.` or `..`, no leading `/`, no backslash, no NUL or other
 * control character, at most {@link MAX_RELATIVE_PATH_LENGTH} long.
 * @throws RegistryError `FILE_PATH_INVALID` saying which rule failed.
 */
export function assertSafeRelativePath(path: unknown): string {
  const refuse = (why: string): never => {
    throw new RegistryError('FILE_PATH_INVALID', `${JSON.stringify(path)}: ${why}`);
  };
  if (typeof path !== 'string' || path.length === 0) return refuse('must be a non-empty string');
  if (path.length > MAX_RELATIVE_PATH_LENGTH) return refuse(`longer than ${MAX_RELATIVE_PATH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return refuse('contains NUL or a control character');
  if (path.includes('\\')) return refuse('contains a backslash');
  if (path.startsWith('/')) return refuse('is absolute');
  if (/^[A-Za-z]:/.test(path)) return refuse('starts with a drive letter');
  for (const segment of path.split('/')) {
    if (segment === '') return refuse('has an empty segment');
    if (segment === '.' || segment === '..') return refuse(`has a "${segment}" segment`);
  }
  return path;
}
