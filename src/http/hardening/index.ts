/**
 * @module http/hardening
 * Protections of the HTTP surface (issue 5): connection timeouts and header
 * size (timeouts.ts), per-caller rate and upload-concurrency limits
 * (request-limits.ts) and browser security headers (security-headers.ts).
 * Every limit comes from `ARTIFACTSTORE_HTTP_*` settings ({@link HttpLimits}).
 */
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../config.js';

export { applyTimeouts, serverOptions, type ConnectionLimits } from './timeouts.js';
export { callerKey, isOciRequest, isUploadRequest, requestLimits, UPLOAD_RETRY_AFTER_SECONDS, type RequestLimitOptions } from './request-limits.js';
export { SECURITY_HEADERS, securityHeaders } from './security-headers.js';
export { DEFAULT_MAX_KEYS, TokenBuckets, type TakeResult, type TokenBucketOptions } from './token-bucket.js';

/**
 * Limits of a server started without settings (embedding, tests): the
 * default connection timeouts, and no per-caller request limits, which only
 * a deployment's settings switch on.
 */
export const EMBEDDED_HTTP_LIMITS: HttpLimits = Object.freeze({ ...DEFAULT_HTTP_LIMITS, rateLimitPerSecond: 0, maxConcurrentUploads: 0 });
