/**
 * @module http/observability/context
 * The per-request context: its id and its logger (a child with
 * `request_id`). Handlers and error renderers reach them through
 * {@link requestIdOf} and {@link requestLogger}; code that was handed a
 * logger once, at construction, gets the id anyway through the ambient
 * logger (see {@link ambientLogger}), which reads the context of the
 * request being handled from AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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
const current = new AsyncLocalStorage<RequestContext>();

/** Attaches `context` to `request` and runs `next` (and everything it leads to) inside it. */
export function runWithRequestContext(request: Request, context: RequestContext, next: () => void): void {
  (request as unknown as Record<symbol, RequestContext>)[CONTEXT] = context;
  current.run(context, next);
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

/** The context of the request whose handling is running now, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return current.getStore();
}

/**
 * A child of `logger` that adds `request_id` to every line logged while a
 * request is being handled (routers and error renderers built once per app
 * log through it), and nothing outside requests.
 */
export function ambientLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      formatters: {
        log: (object: object): object => {
          const id = current.getStore()?.id;
          return id === undefined || 'request_id' in object ? object : { request_id: id, ...object };
        },
      },
    },
  );
}
