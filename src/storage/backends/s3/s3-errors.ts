/**
 * @module storage/backends/s3/s3-errors
 * How S3 errors become registry errors: one place, so every operation of the
 * S3 backend reports the same way. Details name the S3 error code and HTTP
 * status but never a key or the bucket, since details may reach clients; the
 * SDK error stays available as `cause`.
 */
import { RegistryError, isRegistryError } from '../../../errors/index.js';

interface SdkErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The HTTP status of an SDK error, or undefined (network failures have none). */
export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The S3 error code (`NoSuchKey`, …) or the error name / errno code. */
export function s3ErrorCode(error: unknown): string {
  const shape = error as SdkErrorShape | null;
  for (const candidate of [shape?.Code, shape?.code, shape?.name]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') return candidate;
  }
  return 'unknown error';
}

/** A short `Code, HTTP status` summary for details and health reports. */
export function describeS3Error(error: unknown): string {
  const status = httpStatusOf(error);
  return status === undefined ? s3ErrorCode(error) : `${s3ErrorCode(error)}, HTTP ${status}`;
}

/**
 * True when the object (or multipart upload) is not there: `NoSuchKey`,
 * `NoSuchUpload`, or the body-less 404 of a HEAD. A missing bucket is not
 * "missing object": it is reported as a failure where S3 says so.
 */
export function isMissing(error: unknown): boolean {
  const code = s3ErrorCode(error);
  if (code === 'NoSuchKey' || code === 'NoSuchUpload' || code === 'NotFound') return true;
  return code !== 'NoSuchBucket' && httpStatusOf(error) === 404;
}

/**
 * True for a failed `If-None-Match` / `If-Match` precondition (HTTP 412), and
 * for AWS's 409 `ConditionalRequestConflict` (a concurrent conditional write
 * to the same key is in progress: one of the two loses either way).
 */
export function isPreconditionFailed(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || httpStatusOf(error) === 412;
}

/** True for `InvalidRange` (HTTP 416). */
export function isInvalidRange(error: unknown): boolean {
  return s3ErrorCode(error) === 'InvalidRange' || httpStatusOf(error) === 416;
}

/**
 * Wraps an S3 error as `STORAGE_FAILURE`. Registry errors pass through
 * unchanged.
 */
export function storageFailure(action: string, error: unknown): RegistryError {
  if (isRegistryError(error)) return error;
  return new RegistryError('STORAGE_FAILURE', `${action} failed (${describeS3Error(error)})`, undefined, { cause: error });
}
