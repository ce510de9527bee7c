/**
 * @module storage/backends/s3/copy
 * Server-side copies: publishing a staged object under its address, and
 * composing an upload's chunk objects into one object, without the bytes
 * passing through this process. CopyObject takes objects up to 5 GiB; above
 * that (or above `multipartCopyThresholdBytes`) a multipart upload is filled
 * with UploadPartCopy ranges.
 */
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, UploadPartCopyCommand, type CompletedPart } from '@aws-sdk/client-s3';
import { RegistryError } from '../../../errors/index.js';
import type { S3Context } from './context.js';
import { copySource } from './keys.js';
import { S3_MAX_PARTS, S3_MAX_SINGLE_BYTES, S3_MIN_PART_BYTES } from './settings.js';
import { abortMultipartUpload } from './writer.js';

/** UploadPartCopy requests of one copy in flight at once (server-side work, no memory here). */
const COPY_CONCURRENCY = 4;

/** A byte range (both ends inclusive) of a source object, the unit of a multipart copy. */
export interface CopySegment {
  key: string;
  start: number;
  end: number;
}

/**
 * Copies object `sourceKey` of `size` bytes to `targetKey` with the publish
 * parameters (storage class, encryption). The target appears whole or not at all.
 */
export async function copyObject(ctx: S3Context, sourceKey: string, size: number, targetKey: string): Promise<void> {
  if (size <= ctx.settings.multipartCopyThresholdBytes) {
    await ctx.client.send(
      new CopyObjectCommand({ Bucket: ctx.bucket, Key: targetKey, CopySource: copySource(ctx.bucket, sourceKey), ...ctx.publish }),
    );
    return;
  }
  await multipartCopy(ctx, splitForCopy(sourceKey, size, ctx.settings.multipartCopyPartBytes), targetKey);
}

/**
 * Cuts `size` bytes of `key` into about equal ranges of about `partBytes`
 * (never more than 5 GiB), each a valid part: when the object is at least
 * 5 MiB, so is every range, even if that makes a range exceed `partBytes`
 * by up to 5 MiB.
 */
export function splitForCopy(key: string, size: number, partBytes: number): CopySegment[] {
  const limit = Math.min(partBytes, S3_MAX_SINGLE_BYTES);
  // Fewer, slightly larger ranges when `limit`-sized ones would leave some under 5 MiB.
  const count = Math.max(1, Math.min(Math.ceil(size / limit), Math.floor(size / S3_MIN_PART_BYTES)));
  const base = Math.floor(size / count);
  const extra = size % count;
  const segments: CopySegment[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const length = base + (i < extra ? 1 : 0);
    segments.push({ key, start, end: start + length - 1 });
    start += length;
  }
  return segments;
}

/**
 * Fills a new multipart upload at `targetKey` with `segments`, in order. Every
 * segment but the last must be at least 5 MiB and at most 5 GiB. A failure
 * aborts the upload, so nothing appears at the target.
 */
export async function multipartCopy(ctx: S3Context, segments: CopySegment[], targetKey: string): Promise<void> {
  if (segments.length === 0 || segments.length > S3_MAX_PARTS) {
    throw new RegistryError('INTERNAL', `a multipart copy needs 1 to ${S3_MAX_PARTS} segments, got ${segments.length}`);
  }
  for (const [i, segment] of segments.entries()) {
    const length = segment.end - segment.start + 1;
    if (length > S3_MAX_SINGLE_BYTES || length <= 0 || (i < segments.length - 1 && length < S3_MIN_PART_BYTES)) {
      throw new RegistryError('INTERNAL', `copy segment ${i} of ${length} bytes is not a valid part`);
    }
  }
  const created = await ctx.client.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: targetKey, ...ctx.publish }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new RegistryError('STORAGE_FAILURE', 'the store opened a multipart upload without an upload id');
  try {
    const parts: CompletedPart[] = new Array(segments.length);
    let next = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (next < segments.length && !stopped) {
        const index = next++;
        const segment = segments[index] as CopySegment;
        const result = await ctx.client.send(
          new UploadPartCopyCommand({
            Bucket: ctx.bucket,
            Key: targetKey,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource(ctx.bucket, segment.key),
            CopySourceRange: `bytes=${segment.start}-${segment.end}`,
          }),
        );
        parts[index] = { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag };
      }
    };
    const guarded = async (): Promise<void> => {
      try {
        await worker();
      } catch (error) {
        stopped = true;
        throw error;
      }
    };
    // A failing worker stops taking segments; the others finish theirs, then the upload is aborted.
    const results = await Promise.allSettled(Array.from({ length: Math.min(COPY_CONCURRENCY, segments.length) }, guarded));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    await ctx.client.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key: targetKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await abortMultipartUpload(ctx, targetKey, uploadId).catch(() => undefined);
    throw error;
  }
}
