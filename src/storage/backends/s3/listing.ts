/**
 * @module storage/backends/s3/listing
 * Paginated walks over keys and pending multipart uploads under a prefix, and
 * batched deletes: the bulk operations the backend builds on.
 */
import { DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { RegistryError } from '../../../errors/index.js';
import type { S3Context } from './context.js';

/** One key as a listing reports it. */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** One pending multipart upload. */
export interface ListedMultipartUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Keys DeleteObjects takes per request. */
const DELETE_BATCH = 1000;

/** Every key under `prefix`, in ascending key order, page by page. */
export async function* listObjects(ctx: S3Context, prefix: string, signal?: AbortSignal): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await ctx.client.send(
      new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
      signal ? { abortSignal: signal } : {},
    );
    for (const entry of page.Contents ?? []) {
      if (entry.Key === undefined) continue;
      yield { key: entry.Key, size: entry.Size ?? 0, lastModified: entry.LastModified ?? new Date(0) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** Every pending multipart upload whose key starts with `prefix`. */
export async function* listMultipartUploads(ctx: S3Context, prefix: string): AsyncGenerator<ListedMultipartUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.client.send(
      new ListMultipartUploadsCommand({
        Bucket: ctx.bucket,
        Prefix: prefix,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      yield { key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated ?? new Date(0) };
    }
    if (!page.IsTruncated) return;
    // A store that says "truncated" without markers would loop forever.
    if (page.NextKeyMarker === undefined || (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker)) return;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Deletes `keys` in batches. Absent keys count as deleted (S3 semantics).
 * @throws the first per-key error the store reports, as a plain Error carrying its code.
 */
export async function deleteKeys(ctx: S3Context, keys: readonly string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    const result = await ctx.client.send(
      new DeleteObjectsCommand({ Bucket: ctx.bucket, Delete: { Objects: batch.map((key) => ({ Key: key })), Quiet: true } }),
    );
    const failed = result.Errors?.[0];
    if (failed) {
      throw new RegistryError('STORAGE_FAILURE', `deleting ${result.Errors?.length ?? 1} object(s) failed (${failed.Code ?? 'unknown error'})`);
    }
  }
}
