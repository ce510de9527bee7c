/**
 * @module http/native/render
 * Registry views → the snake_case JSON of the native API, typed against the
 * response schemas, plus the headers every byte download shares.
 */
import type { Request, Response } from 'express';
import { writeBody } from '../../storage/index.js';
import type { Readable } from 'node:stream';
import type { FileView, PackageView, Registry } from '../../registry/index.js';
import type { FileBody, PackageBody, UploadBody } from './schemas.js';

/** An upload session as the registry reports it. */
export type UploadView = Awaited<ReturnType<Registry['fileUpload']>>;

/** Header carrying the BLAKE3 content address of served bytes. */
export const CONTENT_ADDRESS_HEADER = 'Artifactstore-Content-Address';
/** Header carrying the SHA-256 digest of served bytes. */
export const DIGEST_SHA256_HEADER = 'Artifactstore-Digest-Sha256';

export function renderPackage(view: PackageView): PackageBody {
  return {
    id: view.id,
    name: view.name,
    producer: view.producer,
    subject: view.subject,
    retention_class: view.retentionClass,
    metadata: view.metadata,
    metadata_schema: view.metadataSchema,
    status: view.status,
    manifest_digest: view.manifestDigest,
    created_by: view.createdBy,
    created_at: view.createdAt,
    finalized_at: view.finalizedAt,
    deleted_at: view.deletedAt,
    expires_at: view.expiresAt,
    file_count: view.fileCount,
    total_size: view.totalSize,
    logical_size: view.logicalSize,
    stored_size: view.storedSize,
    last_event_sequence: view.lastEventSequence,
  };
}

export function renderFile(view: FileView): FileBody {
  return {
    id: view.id,
    package_id: view.packageId,
    relative_path: view.relativePath,
    media_type: view.mediaType,
    size: view.size,
    content_address: view.contentAddress,
    digest_sha256: view.digestSha256,
    digests: { blake3: view.contentAddress, sha256: view.digestSha256 },
    created_at: view.createdAt,
  };
}

/** Where an upload session lives. */
export function uploadLocation(id: string): string {
  return `/uploads/${encodeURIComponent(id)}`;
}

export function renderUpload(view: UploadView): UploadBody {
  return {
    id: view.id,
    package_id: view.packageId,
    relative_path: view.relativePath,
    media_type: view.mediaType,
    offset: view.offset,
    size: view.size,
    blake3: view.blake3,
    sha256: view.sha256,
    created_at: view.createdAt,
    expires_at: view.expiresAt,
    location: uploadLocation(view.id),
  };
}

/** Characters RFC 8187 `attr-char` allows unencoded. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * `attachment` with the basename of `relativePath`: a quoted `filename` for
 * printable ASCII, plus `filename*=UTF-8''…` (RFC 6266 / RFC 8187) with an
 * ASCII fallback otherwise.
 */
export function contentDisposition(relativePath: string): string {
  const basename = relativePath.slice(relativePath.lastIndexOf('/') + 1) || 'download';
  if (/^[\x20-\x7e]*$/.test(basename) && !/["\\%]/.test(basename)) return `attachment; filename="${basename}"`;
  const fallback = basename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = Array.from(new TextEncoder().encode(basename), (byte) => {
    const char = String.fromCharCode(byte);
    return byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Bytes to send: a stream of `size` bytes, or of `range` of them. */
export interface ServedBytes {
  readonly stream: Readable;
  readonly size: number;
  readonly range: { start: number; end: number } | null;
}

/**
 * Sends `served` as 200 or 206 with Content-Length, Content-Range and
 * Accept-Ranges (other headers are the caller's), streaming with
 * backpressure; HEAD gets the headers only.
 */
export async function sendBytes(request: Request, response: Response, served: ServedBytes): Promise<void> {
  response.setHeader('Accept-Ranges', 'bytes');
  if (served.range) {
    response.status(206);
    response.setHeader('Content-Range', `bytes ${served.range.start}-${served.range.end}/${served.size}`);
    response.setHeader('Content-Length', String(served.range.end - served.range.start + 1));
  } else {
    response.status(200);
    response.setHeader('Content-Length', String(served.size));
  }
  if (request.method === 'HEAD') {
    served.stream.destroy();
    response.end();
    return;
  }
  try {
    await writeBody(served.stream, response);
  } catch (error) {
    // The client went away mid-download: nobody is left to tell.
    if (response.destroyed && !response.writableFinished && (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw error;
  }
}

/** 304 for a conditional request whose tag matched; the stream is not read. */
export function sendNotModified(response: Response, stream: { destroy(): void }): void {
  stream.destroy();
  response.status(304).end();
}
