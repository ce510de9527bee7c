/**
 * @module storage/backends/s3/presign
 * Presigned GET URLs, so that blob downloads can be redirected to the store
 * instead of streaming through the registry. The storage SPI reaches them
 * through the optional, backend-neutral `directReadUrl` (unranged presigned
 * GETs); `presignGet` is the full form (ranges, expiry) for this folder's
 * users. The caller decides when a redirect is appropriate.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RegistryError } from '../../../errors/index.js';
import type { ByteRange, StorageBackend } from '../../backend.js';
import { s3ContextOf, type S3Context } from './context.js';

/** SigV4 presigned URLs live at most seven days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** A presigned GET. */
export interface PresignedGet {
  /** The URL; anyone holding it can read the object until {@link expiresAt}. */
  url: string;
  /** When the URL stops working (local clock). */
  expiresAt: Date;
  /**
   * Headers the request must carry exactly as given, because they are part of
   * the signature: `range` when a range was presigned, otherwise none.
   */
  headers: Record<string, string>;
}

/** True when `backend` can presign URLs (it is an open S3 backend of this module). */
export function canPresign(backend: StorageBackend): boolean {
  return s3ContextOf(backend) !== undefined;
}

/**
 * Presigns a GET of `address` on an S3 backend, valid `expiresInSeconds`.
 * Signs locally, without asking the store: the caller checks that the
 * object exists ({@link StorageBackend.head}) before handing the URL out.
 *
 * Without `range`, the URL serves any `Range` the client itself sends (S3
 * does not require it to be signed): that is the form to redirect a client's
 * ranged GET to, since the client repeats its own `Range` header. With
 * `range`, the URL is bound to exactly those bytes (both ends inclusive) and
 * the request must carry {@link PresignedGet.headers}.
 * @throws RegistryError `CONTENT_ADDRESS_INVALID`; `RANGE_NOT_SATISFIABLE` for
 *   a range whose ends are not ordered non-negative integers; `INTERNAL` when
 *   `backend` is not an S3 backend or the expiry is not 1 s to 7 days.
 */
export async function presignGet(backend: StorageBackend, address: string, expiresInSeconds: number, range?: ByteRange): Promise<PresignedGet> {
  const ctx = s3ContextOf(backend);
  if (ctx === undefined) throw new RegistryError('INTERNAL', `backend ${backend.id} cannot presign URLs (not an S3 backend)`);
  return presignWithContext(ctx, address, expiresInSeconds, range);
}

/** {@link presignGet} on the backend whose context is `ctx` (for the backend itself). */
export async function presignWithContext(ctx: S3Context, address: string, expiresInSeconds: number, range?: ByteRange): Promise<PresignedGet> {
  const key = ctx.layout.objectKey(address);
  if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new RegistryError('INTERNAL', `presigned URLs expire after 1 to ${MAX_PRESIGN_SECONDS} seconds, got ${String(expiresInSeconds)}`);
  }
  let headers: Record<string, string> = {};
  if (range !== undefined) {
    const { start, end } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
      throw new RegistryError('RANGE_NOT_SATISFIABLE', `range bounds must be ordered non-negative integers, got ${String(start)}-${String(end)}`);
    }
    headers = { range: `bytes=${start}-${end}` };
  }
  const issuedAt = Date.now();
  const command = new GetObjectCommand({ Bucket: ctx.bucket, Key: key, ...(headers['range'] !== undefined ? { Range: headers['range'] } : {}) });
  const url = await getSignedUrl(ctx.client, command, { expiresIn: expiresInSeconds });
  return { url, expiresAt: new Date(issuedAt + expiresInSeconds * 1000), headers };
}
