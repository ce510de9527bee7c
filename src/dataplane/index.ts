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
  ServedObject,
  VerifyExpectation,
  VerifyResult,
} from './data-plane.js';
export { createDataPlane } from './in-process.js';
