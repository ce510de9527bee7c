/**
 * @module client/client
 * {@link ArtifactstoreClient}: one method per route of the native API
 * (docs/api/native.md), plus the resumable, verified transfers built on them
 * (`uploadFile`, `download`) and the event follower (`events`).
 */
import { RegistryError } from '../errors/index.js';
import { blake3Hex } from '../identity/index.js';
import type { CallOptions, ChunkCallOptions, NativeApi, UploadOffset } from './api.js';
import { TransportError, protocolError } from './errors.js';
import { Transport, type HttpRequest, type Query, type RetryPolicy } from './transport.js';
import { downloadFile, type DownloadOptions, type DownloadResult } from './download.js';
import { followEvents, type EventsOptions } from './events.js';
import { uploadSource, type ChunkSource, type UploadOptions } from './upload.js';
import type {
  CreatePackageRequest,
  EventPage,
  EventQuery,
  FileRecord,
  FinalizeResult,
  ManifestBytes,
  Package,
  PackagePage,
  PackageQuery,
  RemoteEvent,
  StartUploadRequest,
  UploadSession,
} from './types.js';

export type { CallOptions, ChunkCallOptions, UploadOffset } from './api.js';

/** How to reach a server. */
export interface ClientOptions {
  /** Base URL, e.g. `http://registry.internal:8080` (a path prefix is kept). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Retry policy of idempotent requests and of resumed chunks. */
  readonly retry?: Partial<RetryPolicy>;
  /** Replaces the global fetch. */
  readonly fetch?: typeof fetch;
}

/** A typed client of one artifactstore server's native API. */
export class ArtifactstoreClient implements NativeApi {
  /** The HTTP layer (exposed for callers that need a raw request). */
  readonly transport: Transport;

  constructor(options: ClientOptions) {
    this.transport = new Transport({
      url: options.url,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    });
  }

  /** The normalised base URL. */
  get url(): string {
    return this.transport.baseUrl;
  }

  // ---- packages ----

  /** `POST /packages`. Not retried: a lost answer could mean a package was created. */
  async createPackage(input: CreatePackageRequest, options: CallOptions = {}): Promise<Package> {
    return this.call<Package>({ method: 'POST', path: '/packages', json: input, signal: options.signal });
  }

  /** `GET /packages/{id}`. */
  async getPackage(id: string, options: CallOptions = {}): Promise<Package> {
    return this.call<Package>({ method: 'GET', path: `/packages/${segment(id)}`, signal: options.signal });
  }

  /** One page of `GET /packages`. */
  async listPackagesPage(query: PackageQuery & { cursor?: string } = {}, options: CallOptions = {}): Promise<PackagePage> {
    return this.call<PackagePage>({ method: 'GET', path: '/packages', query: packageQuery(query), signal: options.signal });
  }

  /** Every package matching `query`, in creation order, following `next_cursor` page by page. */
  async *listPackages(query: PackageQuery = {}, options: CallOptions = {}): AsyncGenerator<Package> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.listPackagesPage({ ...query, ...(cursor !== undefined ? { cursor } : {}) }, options);
      yield* page.items;
      if (!page.next_cursor || page.next_cursor === cursor) return;
      cursor = page.next_cursor;
    }
  }

  /** `POST /packages/{id}/finalize`. Not retried: a lost answer may hide a finalize that happened (the push flow re-reads the package). */
  async finalize(packageId: string, options: CallOptions = {}): Promise<FinalizeResult> {
    return this.call<FinalizeResult>({ method: 'POST', path: `/packages/${segment(packageId)}/finalize`, signal: options.signal });
  }

  /**
   * `GET /packages/{id}/manifest` (canonical CBOR) or `/manifest.json` (JCS).
   * CBOR bytes are checked against the digest in the `ETag`; a mismatch throws
   * `DIGEST_MISMATCH`.
   */
  async getManifest(packageId: string, format: 'cbor' | 'json' = 'cbor', options: CallOptions = {}): Promise<ManifestBytes> {
    const path = `/packages/${segment(packageId)}/${format === 'cbor' ? 'manifest' : 'manifest.json'}`;
    const request: HttpRequest = { method: 'GET', path, headers: { Accept: format === 'cbor' ? 'application/cbor' : 'application/json' }, signal: options.signal };
    const { bytes, response } = await this.transport.withRetry(request, async () => {
      const answer = await this.transport.send({ ...request, idempotent: false });
      try {
        return { bytes: Buffer.from(await answer.arrayBuffer()), response: answer };
      } catch (error) {
        throw new TransportError(`GET ${this.transport.url(path)}`, 1, error);
      }
    });
    const digest = unquoteEtag(response.headers.get('etag'));
    if (!digest) throw protocolError(`GET ${path}`, 'the manifest answer carries no ETag', response);
    if (format === 'cbor' && digest.startsWith('blake3:') && `blake3:${blake3Hex(bytes)}` !== digest) {
      throw new RegistryError('DIGEST_MISMATCH', `manifest of ${packageId} hashes to blake3:${blake3Hex(bytes)}, not to its ETag ${digest}`);
    }
    return { format, bytes, digest };
  }

  // ---- files ----

  /** `GET /packages/{id}/files`: the package's files. */
  async listFiles(packageId: string, options: CallOptions = {}): Promise<FileRecord[]> {
    return (await this.call<{ items: FileRecord[] }>({ method: 'GET', path: `/packages/${segment(packageId)}/files`, signal: options.signal })).items;
  }

  /** `GET /files/{id}`. */
  async getFile(fileId: string, options: CallOptions = {}): Promise<FileRecord> {
    return this.call<FileRecord>({ method: 'GET', path: `/files/${segment(fileId)}`, signal: options.signal });
  }

  /**
   * `GET /files/{id}/download` from byte `start` on. Returns the response with
   * its body unread: 200 (whole file), 206 (from `start`) or 416.
   */
  async openDownload(fileId: string, start = 0, options: CallOptions = {}): Promise<Response> {
    return this.transport.send({
      method: 'GET',
      path: `/files/${segment(fileId)}/download`,
      headers: { Accept: '*/*', ...(start > 0 ? { Range: `bytes=${start}-` } : {}) },
      accept: [416],
      signal: options.signal,
    });
  }

  /**
   * Downloads `file` to `destination` through `<destination>.partial`,
   * resuming from the partial's size with a Range request, and verifies size,
   * BLAKE3 and SHA-256 before renaming it into place. A mismatch deletes the
   * partial and throws `DIGEST_MISMATCH` / `SIZE_MISMATCH`.
   */
  async download(file: FileRecord | string, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    const record = typeof file === 'string' ? await this.getFile(file, options) : file;
    return downloadFile(this, record, destination, options);
  }

  // ---- uploads ----

  /** `POST /packages/{id}/uploads`: opens an upload session. */
  async startUpload(packageId: string, input: StartUploadRequest, options: CallOptions = {}): Promise<UploadSession> {
    return this.call<UploadSession>({ method: 'POST', path: `/packages/${segment(packageId)}/uploads`, json: input, signal: options.signal });
  }

  /** `HEAD /uploads/{id}`: how many bytes the server holds. */
  async uploadStatus(uploadId: string, options: CallOptions = {}): Promise<UploadOffset> {
    const path = `/uploads/${segment(uploadId)}`;
    const response = await this.transport.send({ method: 'HEAD', path, signal: options.signal });
    const offset = headerInteger(response, 'upload-offset');
    if (offset === null) throw protocolError(`HEAD ${path}`, 'no Upload-Offset header in the answer', response);
    return { offset, size: headerInteger(response, 'upload-length') };
  }

  /** `GET /uploads/{id}`: the session document. */
  async getUpload(uploadId: string, options: CallOptions = {}): Promise<UploadSession> {
    return this.call<UploadSession>({ method: 'GET', path: `/uploads/${segment(uploadId)}`, signal: options.signal });
  }

  /**
   * `PATCH /uploads/{id}`: appends `bytes` at `offset` (`Content-Range:
   * bytes <offset>-<end>/<total or *>`). Not retried here: after a failure,
   * re-read the offset with {@link uploadStatus} and resend from there
   * ({@link uploadFile} does). An empty chunk is not sent.
   */
  async appendChunk(uploadId: string, bytes: Uint8Array, offset: number, total?: number | null, options: ChunkCallOptions = {}): Promise<{ offset: number; session: UploadSession | null }> {
    if (bytes.byteLength === 0) return { offset, session: null };
    const end = offset + bytes.byteLength - 1;
    const { body, response } = await this.transport.json<UploadSession>({
      method: 'PATCH',
      path: `/uploads/${segment(uploadId)}`,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${offset}-${end}/${total ?? '*'}` },
      body: bytes,
      idempotent: false,
      signal: options.signal,
      ...(options.onSent ? { onSent: options.onSent } : {}),
    });
    const next = headerInteger(response, 'upload-offset') ?? (typeof body.offset === 'number' ? body.offset : null);
    if (next === null) throw protocolError(`PATCH /uploads/${uploadId}`, 'no Upload-Offset in the answer', response);
    return { offset: next, session: body };
  }

  /** `POST /uploads/{id}/complete`: turns the received bytes into a file of the package. Not retried. */
  async completeUpload(uploadId: string, options: CallOptions = {}): Promise<FileRecord> {
    return this.call<FileRecord>({ method: 'POST', path: `/uploads/${segment(uploadId)}/complete`, json: {}, signal: options.signal });
  }

  /** `DELETE /uploads/{id}`. */
  async cancelUpload(uploadId: string, options: CallOptions = {}): Promise<void> {
    const response = await this.transport.send({ method: 'DELETE', path: `/uploads/${segment(uploadId)}`, idempotent: true, signal: options.signal });
    await response.body?.cancel();
  }

  /**
   * Uploads `source` into the open session `uploadId` from the server's
   * current offset, in chunks; after a failed chunk it re-reads the server's
   * offset and resends from there. Completes the session and checks that the
   * server's content address and SHA-256 equal what was hashed while sending.
   */
  async uploadFile(uploadId: string, source: ChunkSource, options: UploadOptions = {}): Promise<FileRecord> {
    return uploadSource(this, uploadId, source, options);
  }

  // ---- events ----

  /** One page of `GET /events` (`wait` > 0 long-polls up to that many seconds). */
  async fetchEvents(query: EventQuery & { wait?: number } = {}, options: CallOptions & { idempotent?: boolean } = {}): Promise<EventPage> {
    const { body } = await this.transport.json<EventPage>({
      method: 'GET',
      path: '/events',
      query: { ...query } as Query,
      ...(options.idempotent !== undefined ? { idempotent: options.idempotent } : {}),
      signal: options.signal,
    });
    return body;
  }

  /**
   * Events after `since` in sequence order, each exactly once. With `follow`
   * (the default) it long-polls for new ones forever, reconnecting after
   * network failures from the last sequence it yielded; without, it ends at
   * the current end of the log.
   */
  events(options: EventsOptions = {}): AsyncGenerator<RemoteEvent> {
    return followEvents(this, options);
  }

  private async call<T>(request: HttpRequest): Promise<T> {
    return (await this.transport.json<T>(request)).body;
  }
}

/** A URL path segment. */
function segment(value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError('an id must be a non-empty string');
  return encodeURIComponent(value);
}

function packageQuery(query: PackageQuery & { cursor?: string }): Query {
  const result: Query = {
    producer: query.producer,
    subject: query.subject,
    retention_class: query.retention_class,
    status: query.status,
    limit: query.limit,
    cursor: query.cursor,
  };
  for (const [key, value] of Object.entries(query.metadata ?? {})) result[`metadata.${key}`] = value;
  return result;
}

function headerInteger(response: Response, name: string): number | null {
  const text = response.headers.get(name);
  if (text === null || !/^\d+$/.test(text.trim())) return null;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) ? value : null;
}

function unquoteEtag(etag: string | null): string | null {
  if (!etag) return null;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
