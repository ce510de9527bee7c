/**
 * @module registry/registry
 * The registry facade: one method per use case, each a thin call into the
 * module that owns it. HTTP handlers and CLI commands talk only to this.
 */
import type { ByteRange } from '../storage/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { ReplayProgress } from '../views/index.js';
import type { Actor, RegistryContext } from './context.js';
import { fetchEvents, tailEvents, waitForEvents, type EventFilter } from './events.js';
import { getFile, ingestFile, listPackageFiles, openFile, type IngestFileInput } from './files.js';
import { finalizePackage, getManifestBytes } from './finalize.js';
import { health, replay, verify } from './maintenance.js';
import { createPackage, getPackage, listPackages, type CreatePackageInput, type PackageFilter } from './packages.js';
import { appendFileUpload, cancelFileUpload, completeFileUpload, fileUpload, startFileUpload, type FileChunk, type StartFileUploadInput } from './file-uploads.js';
import { namesHoldingObject, openObject, statObject } from './objects.js';
import { applyHold, deletePackage, extendRetention, getRetention, releaseHold, sweepRetention } from './retention.js';
import { deleteBlob, mountBlob, openBlob, pushBlob, statBlob, type BlobInfo } from './oci/blobs.js';
import { appendUpload, cancelUpload, completeUpload, purgeExpiredUploads, startUpload, uploadStatus, type ChunkRange } from './oci/uploads.js';
import { deleteManifest, openManifest, putManifest, readManifest, statManifest } from './oci/manifests.js';
import { listReferrers, listRepositories, listTags } from './oci/listing.js';
import { directBlobUrl, directFileUrl, directObjectUrl } from './direct-downloads.js';
import { migrateStorage, type StorageMigrationOptions } from './storage-migration.js';
import { moveToColdTier, objectTiers, requestRestore, type TierMoveOptions } from './tiers.js';
import { getMetadataSchema, listMetadataSchemas, registerMetadataSchema } from './metadata-schemas.js';
import { collectGarbage, countQueue, type GcOptions } from './gc.js';
import { applyOciRetention, type OciRetentionOptions } from './oci-retention.js';
import { repositoryUsage, storageUsage } from './accounting.js';

/** All use cases of one registry instance. */
export class Registry {
  constructor(readonly context: RegistryContext) {}

  createPackage(input: CreatePackageInput, actor: Actor) { return createPackage(this.context, input, actor); }
  getPackage(id: string) { return getPackage(this.context, id); }
  ingestFile(packageId: string, input: IngestFileInput, source: AsyncIterable<Uint8Array>, actor: Actor, signal?: AbortSignal) {
    return ingestFile(this.context, packageId, input, source, actor, signal);
  }
  listFiles(packageId: string) { return listPackageFiles(this.context, packageId); }
  getFile(fileId: string) { return getFile(this.context, fileId); }
  openFile(fileId: string, range?: ByteRange) { return openFile(this.context, fileId, range); }
  finalizePackage(packageId: string, actor: Actor) { return finalizePackage(this.context, packageId, actor); }
  getManifestBytes(packageId: string, format: 'cbor' | 'json') { return getManifestBytes(this.context, packageId, format); }
  listPackages(filter: PackageFilter, page: { limit: number; cursor?: string }) { return listPackages(this.context, filter, page); }
  startFileUpload(packageId: string, input: StartFileUploadInput, actor: Actor) { return startFileUpload(this.context, packageId, input, actor); }
  fileUpload(uploadId: string) { return fileUpload(this.context, uploadId); }
  appendFileUpload(uploadId: string, source: AsyncIterable<Uint8Array>, chunk: FileChunk) { return appendFileUpload(this.context, uploadId, source, chunk); }
  completeFileUpload(uploadId: string, actor: Actor) { return completeFileUpload(this.context, uploadId, actor); }
  cancelFileUpload(uploadId: string) { return cancelFileUpload(this.context, uploadId); }
  getRetention(packageId: string) { return getRetention(this.context, packageId); }
  extendRetention(packageId: string, newExpiresAt: string, reason: string, actor: Actor) { return extendRetention(this.context, packageId, newExpiresAt, reason, actor); }
  applyHold(packageId: string, reason: string, actor: Actor) { return applyHold(this.context, packageId, reason, actor); }
  releaseHold(packageId: string, holdId: string, reason: string, actor: Actor) { return releaseHold(this.context, packageId, holdId, reason, actor); }
  sweepRetention(now?: Date, actor?: Actor) { return sweepRetention(this.context, now, actor); }
  deletePackage(packageId: string, reason: string, actor: Actor) { return deletePackage(this.context, packageId, reason, actor); }
  namesHoldingObject(address: string) { return namesHoldingObject(this.context, address); }
  statObject(address: string) { return statObject(this.context, address); }
  openObject(address: string, range?: ByteRange) { return openObject(this.context, address, range); }
  fetchEvents(since: number, limit: number, filter?: EventFilter) { return fetchEvents(this.context, since, limit, filter); }
  waitForEvents(since: number, limit: number, filter: EventFilter | undefined, waitMs: number, signal?: AbortSignal) {
    return waitForEvents(this.context, since, limit, filter, waitMs, signal);
  }
  tailEvents(since: number, signal?: AbortSignal, filter?: EventFilter) { return tailEvents(this.context, since, signal, filter); }
  health() { return health(this.context); }
  verify(options: { objects?: boolean; onProgress?: (stage: string, progress: ReplayProgress) => void } = {}) { return verify(this.context, options); }
  replay(onProgress?: (progress: ReplayProgress) => void) { return replay(this.context, onProgress); }
  migrateStorage(source: DataPlane, destination: DataPlane, options: StorageMigrationOptions) { return migrateStorage(this.context, source, destination, options); }
  // Retrieval tiers (ADR 0022)
  moveToColdTier(options: TierMoveOptions) { return moveToColdTier(this.context, options); }
  objectTiers(address: string) { return objectTiers(this.context, address); }
  requestRestore(address: string, actor: Actor) { return requestRestore(this.context, address, actor); }
  collectGarbage(options: GcOptions) { return collectGarbage(this.context, options); }
  gcQueueSize() { return countQueue(this.context); }

  // Metadata schemas
  registerMetadataSchema(name: string, schema: unknown, actor: Actor) { return registerMetadataSchema(this.context, name, schema, actor); }
  getMetadataSchema(name: string) { return getMetadataSchema(this.context, name); }
  listMetadataSchemas() { return listMetadataSchemas(this.context); }

  // Downloads answered with a redirect (null: stream the bytes)
  directBlobUrl(repository: string, digest: string) { return directBlobUrl(this.context, repository, digest); }
  directFileUrl(fileId: string) { return directFileUrl(this.context, fileId); }
  directObjectUrl(address: string) { return directObjectUrl(this.context, address); }

  // OCI Distribution
  statBlob(repository: string, digest: string) { return statBlob(this.context, repository, digest); }
  openBlob(repository: string, digest: string, range?: ByteRange, resolved?: BlobInfo) { return openBlob(this.context, repository, digest, range, resolved); }
  pushBlob(repository: string, digest: string, source: AsyncIterable<Uint8Array>, actor: Actor, contentLength?: number) {
    return pushBlob(this.context, repository, digest, source, actor, contentLength);
  }
  mountBlob(repository: string, digest: string, from: string | undefined, actor: Actor, canRead?: (repository: string) => boolean) {
    return mountBlob(this.context, repository, digest, from, actor, canRead);
  }
  deleteBlob(repository: string, digest: string, actor: Actor) { return deleteBlob(this.context, repository, digest, actor); }
  startUpload(repository: string, actor: Actor) { return startUpload(this.context, repository, actor); }
  uploadStatus(repository: string, id: string) { return uploadStatus(this.context, repository, id); }
  appendUpload(repository: string, id: string, source: AsyncIterable<Uint8Array>, chunk: { range?: ChunkRange; contentLength?: number } = {}) {
    return appendUpload(this.context, repository, id, source, chunk);
  }
  completeUpload(repository: string, id: string, digest: string, finalChunk: { source: AsyncIterable<Uint8Array>; range?: ChunkRange; contentLength?: number } | null, actor: Actor) {
    return completeUpload(this.context, repository, id, digest, finalChunk, actor);
  }
  cancelUpload(repository: string, id: string) { return cancelUpload(this.context, repository, id); }
  purgeExpiredUploads(now?: Date) { return purgeExpiredUploads(this.context, now); }
  putManifest(repository: string, reference: string, bytes: Uint8Array, contentType: string | undefined, extraTags: readonly string[], actor: Actor) {
    return putManifest(this.context, repository, reference, bytes, contentType, extraTags, actor);
  }
  statManifest(repository: string, reference: string) { return statManifest(this.context, repository, reference); }
  openManifest(repository: string, reference: string) { return openManifest(this.context, repository, reference); }
  /** A manifest's bytes whole (cached in process, ADR 0024). */
  readManifest(repository: string, reference: string) { return readManifest(this.context, repository, reference); }
  deleteManifest(repository: string, reference: string, actor: Actor) { return deleteManifest(this.context, repository, reference, actor); }
  listTags(repository: string, n: number | undefined, last: string | undefined) { return listTags(this.context, repository, n, last); }
  listRepositories(n: number | undefined, last: string | undefined, namePatterns: readonly string[] | null = null) { return listRepositories(this.context, n, last, namePatterns); }
  listReferrers(repository: string, digest: string, artifactType?: string) { return listReferrers(this.context, repository, digest, artifactType); }
  /** OCI retention policies: removes (or, dry, lists) what they do not keep (ADR 0021). */
  applyOciRetention(options: OciRetentionOptions = {}) { return applyOciRetention(this.context, options); }
  /** Counts and logical / deduplicated stored size of one OCI repository. */
  repositoryUsage(repository: string) { return repositoryUsage(this.context, repository); }
  /** Usage per producer and repository, with totals checked against the backend's listing. */
  storageUsage() { return storageUsage(this.context); }
}
