/**
 * @module client
 * A typed client of the native REST API (docs/api/native.md), independent of
 * the server code: packages, resumable verified uploads and downloads, the
 * event log, and the push/pull flows the CLI is built on.
 */
export { ArtifactstoreClient, type ClientOptions, type CallOptions, type ChunkCallOptions, type UploadOffset } from './client.js';
export { RemoteError, TransportError, isRemoteError, isTransient, protocolError, type Problem } from './errors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './transport.js';
export { DEFAULT_CHUNK_SIZE, openFileSource, type ChunkSource, type UploadOptions } from './upload.js';
export { matchesRecord, type DownloadOptions, type DownloadResult } from './download.js';
export type { EventsOptions } from './events.js';
export { pushPackage, DEFAULT_PUSH_MEDIA_TYPE, type PushFile, type PushOptions, type PushProgress, type PushResult } from './push.js';
export { pullPackage, type PullOptions, type PullResult } from './pull.js';
export { PushStateFile, NO_PUSH_STATE, defaultPushStatePath, type PushStateStore } from './push-state.js';
export { resolveInside } from './paths.js';
export type * from './types.js';
