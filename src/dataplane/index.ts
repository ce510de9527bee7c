/**
 * @module dataplane
 * The data plane: ingest, serve, verify and delete objects, and report
 * backend health. Everything above it reaches bytes only through here.
 */
export type {
  BackendHealth,
  ByteRange,
  DataPlane,
  IngestExpectation,
  IngestReceipt,
  ObjectStat,
  ReadHints,
  ServedObject,
  UploadInfo,
  VerifyExpectation,
  VerifyResult,
} from './data-plane.js';
export { createDataPlane, type DataPlaneOptions } from './in-process.js';
export { DEFAULT_UPLOAD_DIGEST_CACHE_ENTRIES } from './uploads.js';
