/**
 * @module storage/upload-id
 * Upload ids, validated the same way by every backend. An id becomes a file
 * name or an object key, so only the one exact shape is accepted — a
 * lowercase UUID — and anything else (upper case, braces, `..`, separators,
 * NUL, whitespace) is refused rather than normalised.
 */
import { RegistryError } from '../errors/index.js';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `id` is a lowercase UUID (any version), the only shape of upload id. */
export function isUploadId(id: unknown): id is string {
  return typeof id === 'string' && UPLOAD_ID.test(id);
}

/**
 * Returns `id` when it is a valid upload id.
 * @throws RegistryError `UPLOAD_ID_INVALID` otherwise.
 */
export function checkUploadId(id: unknown): string {
  if (isUploadId(id)) return id;
  const shown = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id) : typeof id;
  throw new RegistryError('UPLOAD_ID_INVALID', `upload ids are lowercase UUIDs, got ${shown}`);
}

/**
 * Returns `offset` when it is a valid append offset.
 * @throws RegistryError `FIELD_INVALID` unless it is a non-negative safe integer.
 */
export function checkUploadOffset(offset: unknown): number {
  if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return offset;
  throw new RegistryError('FIELD_INVALID', `upload offsets are non-negative integers, got ${String(offset)}`, { field: 'offset' });
}

/**
 * The `UPLOAD_OFFSET_MISMATCH` error for a chunk sent at `offset` to an
 * upload holding `size` bytes; `extra.size` tells the client where to resume.
 */
export function uploadOffsetMismatch(offset: number, size: number): RegistryError {
  return new RegistryError('UPLOAD_OFFSET_MISMATCH', `chunk starts at ${offset} but the upload holds ${size} bytes`, { size });
}

/** The `UPLOAD_NOT_FOUND` error for `id`. */
export function uploadNotFound(id: string): RegistryError {
  return new RegistryError('UPLOAD_NOT_FOUND', `no staged upload ${id}`);
}
