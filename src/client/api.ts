/**
 * @module client/api
 * The route calls the transfer modules (upload, download, events) build on,
 * as an interface: {@link ArtifactstoreClient} implements it, and those
 * modules depend on this shape rather than on the class.
 */
import type { Transport } from './transport.js';
import type { EventPage, EventQuery, FileRecord, UploadSession } from './types.js';

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Options of a chunk upload. */
export interface ChunkCallOptions extends CallOptions {
  /** Called once the chunk has been handed to the connection (large chunks only); see `HttpRequest.onSent`. */
  readonly onSent?: () => void;
}

/** What `HEAD /uploads/{id}` says. */
export interface UploadOffset {
  /** Bytes the server holds. */
  readonly offset: number;
  /** The declared size, or null. */
  readonly size: number | null;
}

/** The native API calls used by the transfer modules. */
export interface NativeApi {
  readonly transport: Transport;
  uploadStatus(uploadId: string, options?: CallOptions): Promise<UploadOffset>;
  getUpload(uploadId: string, options?: CallOptions): Promise<UploadSession>;
  appendChunk(uploadId: string, bytes: Uint8Array, offset: number, total?: number | null, options?: ChunkCallOptions): Promise<{ offset: number; session: UploadSession | null }>;
  completeUpload(uploadId: string, options?: CallOptions): Promise<FileRecord>;
  listFiles(packageId: string, options?: CallOptions): Promise<FileRecord[]>;
  openDownload(fileId: string, start?: number, options?: CallOptions): Promise<Response>;
  fetchEvents(query?: EventQuery & { wait?: number }, options?: CallOptions & { idempotent?: boolean }): Promise<EventPage>;
}
