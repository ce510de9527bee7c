/**
 * @module artifactstore
 * The library surface: open a registry from settings and use it, or reach
 * for the kernels (identity, manifest) directly.
 */
export { loadSettings, type Settings } from './config.js';
export { openRegistry, type RegistryInstance, type OpenRegistryOptions } from './app.js';
export { Registry } from './registry/index.js';
export type { PackageView, FileView, EventView, FinalizeResult, HealthReport, VerifyReport } from './registry/index.js';
export { RegistryError, ERROR_CODES, isRegistryError, type ErrorCode } from './errors/index.js';
export { parseContentAddress, isContentAddress, DualDigestHasher, dualDigestOf, dualDigestOfStream } from './identity/index.js';
export { encodeCanonical, decodeCanonical, toJcs, fromJcs, cborToJcs, jcsToCbor, decodeManifest, encodeManifest, type PackageManifest } from './manifest/index.js';
