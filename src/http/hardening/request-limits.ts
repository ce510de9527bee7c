/**
 * @module http/hardening/request-limits
 * Per-caller request limits: a token-bucket rate limit on every request and
 * a cap on upload bodies in flight. The caller is the authenticated
 * principal, or the client IP when anonymous, so this middleware must run
 * after authentication. Counts live in process memory: each process of a
 * deployment limits on its own.
 *
 * A refused request is answered before any route sees it (so it changes no
 * state) with 429 `TOOMANYREQUESTS` and `Retry-After`, in the envelope of its
 * namespace: the OCI error envelope under `/v2/`, RFC 7807 elsewhere.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { HttpLimits } from '../../config.js';
import { RegistryError } from '../../errors/index.js';
import { ociErrorHandler } from '../oci/errors.js';
import { principalOf } from '../principal.js';
import { requestLogger } from '../observability/context.js';
import { problemHandler } from '../problem.js';
import { DEFAULT_MAX_KEYS, TokenBuckets } from './token-bucket.js';

/** The request limits {@link requestLimits} enforces (see {@link HttpLimits}). */
export type RequestLimitOptions = Pick<HttpLimits, 'rateLimitPerSecond' | 'rateLimitBurst' | 'maxConcurrentUploads'> & {
  /** Most callers whose buckets are remembered (least recently used evicted). */
  readonly maxKeys?: number;
  /** Clock in milliseconds (tests inject one). */
  readonly now?: () => number;
};

/** Retry-After of a refused upload: in-flight uploads end at an unknown time. */
export const UPLOAD_RETRY_AFTER_SECONDS = 1;

/** The key a caller is limited under: its principal when authenticated, else its IP. */
export function callerKey(request: Request): string {
  const principal = principalOf(request);
  if (!principal.anonymous) return `principal:${principal.name}`;
  return `ip:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
}

const OCI_SESSION = /^\/v2\/.+\/blobs\/uploads\/[^/]+\/?$/i;
const OCI_UPLOADS = /^\/v2\/.+\/blobs\/uploads\/?$/i;
const NATIVE_CHUNK = /^\/uploads\/[^/]+\/?$/i;
const NATIVE_FILES = /^\/packages\/[^/]+\/files\/?$/i;

/**
 * True for requests that stream an upload body: OCI `PATCH`/`PUT` on a
 * session and `POST …/blobs/uploads/?digest=`, native `PATCH /uploads/{uid}`
 * and `POST /packages/{id}/files`. Bodiless requests (closing `PUT`, mount)
 * are not uploads.
 */
export function isUploadRequest(request: Request): boolean {
  if (!hasBody(request)) return false;
  const path = request.path;
  switch (request.method) {
    case 'PATCH':
      return OCI_SESSION.test(path) || NATIVE_CHUNK.test(path);
    case 'PUT':
      return OCI_SESSION.test(path);
    case 'POST':
      return OCI_UPLOADS.test(path) || NATIVE_FILES.test(path);
    default:
      return false;
  }
}

function hasBody(request: Request): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}

/** True when `request` is served by the OCI namespace (and gets its error envelope). */
export function isOciRequest(request: Request): boolean {
  return /^\/v2(\/|$)/i.test(request.path);
}

/** The middleware enforcing `options`; a no-op when every limit is 0. */
export function requestLimits(options: RequestLimitOptions, logger: Logger): RequestHandler {
  const buckets =
    options.rateLimitPerSecond > 0
      ? new TokenBuckets({
          perSecond: options.rateLimitPerSecond,
          burst: Math.max(1, options.rateLimitBurst),
          maxKeys: options.maxKeys ?? DEFAULT_MAX_KEYS,
          ...(options.now ? { now: options.now } : {}),
        })
      : undefined;
  const maxUploads = options.maxConcurrentUploads;
  const inFlight = new Map<string, number>();
  const renderOci = ociErrorHandler(logger);
  const renderProblem = problemHandler(logger);

  const refuse = (request: Request, response: Response, retryAfterSeconds: number, detail: string, next: Parameters<RequestHandler>[2]): void => {
    response.setHeader('Retry-After', String(retryAfterSeconds));
    const render: ErrorRequestHandler = isOciRequest(request) ? renderOci : renderProblem;
    render(new RegistryError('TOOMANYREQUESTS', detail, { retry_after: retryAfterSeconds }), request, response, next);
  };

  return (request, response, next) => {
    if (buckets === undefined && maxUploads <= 0) {
      next();
      return;
    }
    const key = callerKey(request);
    if (buckets !== undefined) {
      const taken = buckets.take(key);
      if (!taken.allowed) {
        requestLogger(request, logger).debug({ caller: key, method: request.method, retryAfter: taken.retryAfterSeconds }, 'rate limit exceeded');
        refuse(request, response, taken.retryAfterSeconds, `more than ${options.rateLimitPerSecond} requests per second (burst ${options.rateLimitBurst}); retry after ${taken.retryAfterSeconds}s`, next);
        return;
      }
    }
    if (maxUploads > 0 && isUploadRequest(request)) {
      const current = inFlight.get(key) ?? 0;
      if (current >= maxUploads) {
        requestLogger(request, logger).debug({ caller: key, method: request.method, inFlight: current }, 'concurrent upload limit exceeded');
        refuse(request, response, UPLOAD_RETRY_AFTER_SECONDS, `at most ${maxUploads} uploads may be in flight at once`, next);
        return;
      }
      inFlight.set(key, current + 1);
      let released = false;
      // 'close' follows both a finished response and a dropped connection.
      response.once('close', () => {
        if (released) return;
        released = true;
        const left = (inFlight.get(key) ?? 1) - 1;
        if (left > 0) inFlight.set(key, left);
        else inFlight.delete(key);
      });
    }
    next();
  };
}
