/**
 * @module http/observability/middleware
 * Request observability of the HTTP application: every request gets an id
 * (echoed in `X-Request-Id`) and a child logger carrying it, is counted and
 * timed into the instance's metrics under its route template, and leaves one
 * access log line at `info` when its response ends (or the client goes
 * away). Also the `/metrics` and `/ready` handlers.
 *
 * The access log line: `request_id`, `principal`, `method`, `route`, `path`
 * (query secrets redacted), `status` (499 when the client left before any
 * response), `bytes_in`/`bytes_out` (body bytes), `duration_ms`,
 * `remote_address`, `user_agent`, and `aborted: true` when the response did
 * not complete. Request headers are never logged.
 */
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from '../../registry/index.js';
import { checkReadiness, createMetrics, sanitizeUrl, type Metrics } from '../../observability/index.js';
import { principalOf } from '../principal.js';
import { loopbackWhileOpen, metricsDenied, type MetricsAuthorizer } from './access.js';
import { attachRequestContext } from './context.js';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.js';
import { methodLabelOf, routeTemplateOf, uploadApiOf } from './routes.js';

/** Observability options of the HTTP application. */
export interface HttpObservabilityOptions {
  /**
   * The instance's metrics (`RegistryInstance.metrics`, which also carry the
   * database, storage and event-log series). Default: a fresh set for this
   * application alone (HTTP series, event-log head and process metrics).
   */
  readonly metrics?: Metrics;
  /** Who may read `GET /metrics` on this listener (default {@link loopbackWhileOpen}). */
  readonly authorizeMetrics?: MetricsAuthorizer;
}

/** What the application wires in. */
export interface HttpObservability {
  readonly metrics: Metrics;
  /**
   * The application's logger for components built once (routers, error
   * renderers): a line logged while a request is handled carries its
   * `request_id`.
   */
  readonly logger: Logger;
  /** The first middleware of the application. */
  readonly middleware: RequestHandler;
  /** `GET /metrics` (after authentication: the authorizer reads the principal). */
  readonly serveMetrics: RequestHandler;
  /** `GET /ready`: 200 when the database answers, migrations are applied and storage is healthy; else 503. */
  readonly serveReady: RequestHandler;
}

/** Longest user agent kept in an access log line. */
const MAX_USER_AGENT_LENGTH = 512;

/** Builds the observability of an application over `registry`. */
export function createHttpObservability(registry: Registry, logger: Logger, options: HttpObservabilityOptions = {}): HttpObservability {
  const metrics = options.metrics ?? createMetrics();
  if (!metrics.tracksEventLogHead) {
    metrics.trackEventLogHead(() => registry.context.log.lastSequence());
    metrics.trackEventReaders(() => registry.context.log.feed.waiting);
  }
  const authorize = options.authorizeMetrics ?? loopbackWhileOpen;

  const middleware: RequestHandler = (request, response, next) => {
    const started = performance.now();
    const id = requestIdFor(request.headers['x-request-id']);
    response.setHeader(REQUEST_ID_HEADER, id);
    // The child logger is made on first use: most requests log nothing below
    // the access line, and that one only at `info`.
    let child: Logger | undefined;
    const requestLog = (): Logger => (child ??= logger.child({ request_id: id }));
    const route = routeTemplateOf(request.path);
    const method = methodLabelOf(request.method);
    // Captured now: the socket forgets its peer once it is closed.
    const remoteAddress = request.socket.remoteAddress;
    const userAgent = request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH);
    const bytes = { in: 0, out: 0 };
    countRequestBytes(request, (count) => (bytes.in += count));
    if (request.method !== 'HEAD') countResponseBytes(response, (count) => (bytes.out += count));
    const uploadApi = hasBody(request) ? uploadApiOf(route, method) : undefined;
    const uploadEnded = uploadApi ? metrics.uploadStarted(uploadApi) : undefined;

    response.once('close', () => {
      uploadEnded?.();
      const seconds = (performance.now() - started) / 1000;
      const status = response.headersSent ? response.statusCode : 499;
      const aborted = !response.writableFinished;
      try {
        metrics.observeRequest({ route, method, status, seconds, bytesIn: bytes.in, bytesOut: bytes.out });
      } catch (error) {
        requestLog().warn({ err: error }, 'recording request metrics failed');
      }
      if (!logger.isLevelEnabled('info')) return;
      requestLog().info(
        {
          principal: principalOf(request).name,
          method: request.method,
          route,
          path: sanitizeUrl(request.originalUrl),
          status,
          bytes_in: bytes.in,
          bytes_out: bytes.out,
          duration_ms: Math.round(seconds * 1_000_000) / 1000,
          remote_address: remoteAddress,
          user_agent: userAgent,
          ...(aborted ? { aborted: true } : {}),
        },
        'request',
      );
    });
    attachRequestContext(request, {
      id,
      get logger() {
        return requestLog();
      },
    });
    next();
  };

  const serveMetrics: RequestHandler = async (request, response) => {
    if (!(await authorize(request))) throw metricsDenied();
    const { contentType, body } = await metrics.exposition();
    response.status(200).setHeader('Content-Type', contentType).setHeader('Cache-Control', 'no-store').send(body);
  };

  const serveReady: RequestHandler = async (_request, response) => {
    const report = await checkReadiness(registry.context);
    response.status(report.status === 'ready' ? 200 : 503).setHeader('Cache-Control', 'no-store').json(report);
  };

  return { metrics, logger, middleware, serveMetrics, serveReady };
}

/** True when the request announces a body (a length above 0, or chunked). */
function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

/**
 * Counts body bytes as the HTTP parser hands them to the request stream
 * (its `push`), so counting never reads, pauses or resumes the body.
 */
function countRequestBytes(request: Request, add: (count: number) => void): void {
  const push = request.push;
  request.push = function (this: Request, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) add(byteLengthOf(chunk, encoding));
    return push.call(this, chunk, encoding);
  };
}

/** Counts body bytes given to `write` and `end` (what pipes and `send` use). */
function countResponseBytes(response: Response, add: (count: number) => void): void {
  const write = response.write as (...args: unknown[]) => boolean;
  const end = response.end as (...args: unknown[]) => Response;
  response.write = function (this: Response, ...args: unknown[]): boolean {
    add(byteLengthOf(args[0], args[1]));
    return write.apply(this, args);
  } as Response['write'];
  response.end = function (this: Response, ...args: unknown[]): Response {
    if (typeof args[0] !== 'function') add(byteLengthOf(args[0], args[1]));
    return end.apply(this, args);
  } as Response['end'];
}

function byteLengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}
