/**
 * @module http/observability/context
 * The per-request context: its id and its logger (a child with
 * `request_id`). Handlers and error renderers reach them through
 * {@link requestIdOf} and {@link requestLogger} from the request they hold.
 *
 * Deliberately not AsyncLocalStorage: on Node 20 it turns on async hooks
 * for every promise and I/O callback in the process, which measured a third
 * of the server's CPU when streaming a blob from S3 (docs/adr/0025).
 */
import type { Request } from 'express';
import type { Logger } from 'pino';

/** What the observability middleware attaches to each request. */
export interface RequestContext {
  /** The request id, echoed in `X-Request-Id`. */
  readonly id: string;
  /** A child logger whose every line carries `request_id`. */
  readonly logger: Logger;
}

const CONTEXT = Symbol('artifactstore.requestContext');

/** Attaches `context` to `request`. */
export function attachRequestContext(request: Request, context: RequestContext): void {
  (request as unknown as Record<symbol, RequestContext>)[CONTEXT] = context;
}

/** The context of `request`, when the observability middleware saw it. */
export function requestContextOf(request: Request): RequestContext | undefined {
  return (request as unknown as Record<symbol, RequestContext | undefined>)[CONTEXT];
}

/** The id of `request`, when the observability middleware saw it. */
export function requestIdOf(request: Request): string | undefined {
  return requestContextOf(request)?.id;
}

/** The logger of `request` (lines carry `request_id`), or `fallback` outside the middleware. */
export function requestLogger(request: Request, fallback: Logger): Logger {
  return requestContextOf(request)?.logger ?? fallback;
}
