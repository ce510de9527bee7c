/**
 * @module storage/backends/local/fs-errors
 * How filesystem errors become registry errors: one place, so every
 * operation of the local backend reports the same way.
 */
import { RegistryError, isRegistryError } from '../../../errors/index.js';

/** The errno code of a filesystem error (`ENOENT`, …), or `unknown error`. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/** True for the errors that mean "nothing is there" (including a path through a file). */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Wraps a filesystem error as `STORAGE_FAILURE`. The detail names the errno
 * code but not the path, since details may reach clients; the original error
 * stays available as `cause`. Registry errors pass through unchanged.
 */
export function storageFailure(action: string, error: unknown): RegistryError {
  if (isRegistryError(error)) return error;
  return new RegistryError('STORAGE_FAILURE', `${action} failed (${errorCode(error)})`, undefined, { cause: error });
}
