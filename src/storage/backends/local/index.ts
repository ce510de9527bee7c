export { DEFAULT_STAGING_MAX_AGE_SECONDS, openLocalBackend, STAGING_DIRECTORY, type LocalBackend, type LocalBackendOptions, type PublishMode, type StagingCleanupMode } from './local-backend.js';
export { UPLOADS_DIRECTORY } from './uploads.js';
