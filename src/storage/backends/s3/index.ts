/**
 * @module storage/backends/s3
 * The S3 storage backend (AWS S3 and S3-compatible stores such as Ceph RGW).
 * Only the storage factory and the data plane import this folder, and
 * nothing outside it imports the AWS SDK.
 */
export { openS3Backend, type S3Backend } from './s3-backend.js';
export { presignGet, canPresign, MAX_PRESIGN_SECONDS, type PresignedGet } from './presign.js';
export { S3_DEFAULTS, S3_MIN_PART_BYTES, type S3BackendOptions, type S3ServerSideEncryption } from './settings.js';
export { STAGING_FOLDER, UPLOADS_FOLDER, UPLOAD_MARKER } from './keys.js';
