/**
 * @module registry/direct-downloads
 * Downloads answered with a redirect: when the deployment enables it
 * (`RegistryContext.directDownloads`) and the data plane's backend can hand
 * out short-lived URLs of an object's bytes, the HTTP layer redirects the
 * client there instead of streaming. Each use case resolves its subject
 * exactly as the streaming one does (same errors), so callers authorize and
 * answer not-found the same way; each resolves to null, without touching the
 * database, when redirects are off.
 */
import type { RegistryContext } from './context.js';
import { getFile, type FileView } from './files.js';
import { statObject, type ObjectView } from './objects.js';
import { statBlob, type BlobInfo } from './oci/blobs.js';

/** A URL to send the client to, or null to stream (redirects off, or the backend cannot). */
async function directUrl(ctx: RegistryContext, contentAddress: string): Promise<string | null> {
  if (ctx.directDownloads === undefined) return null;
  return ctx.dataPlane.directUrl(contentAddress, { expiresInSeconds: ctx.directDownloads.expiresInSeconds });
}

/** Where to redirect a GET of blob `digest` in `repository`, or null to stream it. @throws BLOB_UNKNOWN, DIGEST_INVALID. */
export async function directBlobUrl(ctx: RegistryContext, repository: string, digest: string): Promise<{ blob: BlobInfo; url: string } | null> {
  if (ctx.directDownloads === undefined) return null;
  const blob = await statBlob(ctx, repository, digest);
  const url = await directUrl(ctx, blob.contentAddress);
  return url === null ? null : { blob, url };
}

/** Where to redirect a download of file `fileId`, or null to stream it. @throws FILE_NOT_FOUND. */
export async function directFileUrl(ctx: RegistryContext, fileId: string): Promise<{ file: FileView; url: string } | null> {
  if (ctx.directDownloads === undefined) return null;
  const file = await getFile(ctx, fileId);
  const url = await directUrl(ctx, file.contentAddress);
  return url === null ? null : { file, url };
}

/** Where to redirect a GET of the object at `address` (`blake3:` or `sha256:`), or null to stream it. @throws CONTENT_ADDRESS_INVALID, OBJECT_NOT_FOUND. */
export async function directObjectUrl(ctx: RegistryContext, address: string): Promise<{ object: ObjectView; url: string } | null> {
  if (ctx.directDownloads === undefined) return null;
  const object = await statObject(ctx, address);
  const url = await directUrl(ctx, object.contentAddress);
  return url === null ? null : { object, url };
}
