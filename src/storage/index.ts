/**
 * @module storage
 * The storage backend SPI and the factory that opens backends by kind. Only
 * the data plane and the composition root import this folder.
 */
export * from './backend.js';
export { writeBody, isRecyclingBody, type RecyclingBody } from './body.js';
export { createBackend, backendKinds, type BackendSettings, type BackendKind, type LocalBackendSettings, type S3BackendSettings } from './factory.js';
export { objectKeyFor, addressForObjectKey } from './object-key.js';
export { resolveRange } from './range.js';
export { isUploadId, checkUploadId } from './upload-id.js';
export { KeyedInFlight, KeyedMutex } from './keyed-mutex.js';
