/**
 * @module observability
 * Metrics, readiness and URL sanitizing below the HTTP layer: what the
 * composition root wires into the database, the storage backend and the
 * event log, and what the HTTP layer exposes. Nothing here imports HTTP,
 * CLI or registry code; storage and the data plane do not import this.
 */
export {
  createMetrics,
  Metrics,
  type HttpRequestSample,
  type MetricsOptions,
  type QueryOperation,
  type StorageOutcome,
  type UploadApi,
} from './metrics.js';
export { observeBackend, storageOutcomeOf, type StorageObserver, type StorageOperation } from './storage.js';
export { instrumentDatabase, queryOperationOf, type QueryObserver } from './database.js';
export {
  checkReadiness,
  DEFAULT_READINESS_TIMEOUT_MS,
  type ReadinessCheck,
  type ReadinessDependencies,
  type ReadinessReport,
} from './readiness.js';
export { isSensitiveQueryKey, MAX_LOGGED_URL_LENGTH, REDACTED, sanitizeUrl } from './redaction.js';
