export { openLocalBackend, STAGING_DIRECTORY, type LocalBackend, type LocalBackendOptions, type PublishMode } from './local-backend.js';
export { UPLOADS_DIRECTORY } from './uploads.js';
