/**
 * @module http/problem
 * Renders errors on native routes as RFC 7807 `application/problem+json`,
 * with the registry's stable error code as the machine-readable `type`.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { RegistryError, isRegistryError } from '../errors/index.js';
import { endAfterHeaders } from './connection.js';
import { requestLogger } from './observability/context.js';

/** URI prefix of problem types; the suffix is the error code, lowercased. */
export const PROBLEM_TYPE_BASE = 'https://artifactstore.dev/problems/';

/** The RFC 7807 body for `error` at `instance`. */
export function problemOf(error: RegistryError, instance: string): Record<string, unknown> {
  return {
    type: `${PROBLEM_TYPE_BASE}${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    instance,
    code: error.code,
    ...(error.extra ?? {}),
  };
}

/** The one error middleware of native routes. Unknown errors become a logged 500 without internals. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const log = requestLogger(request, logger);
    if (response.headersSent) {
      endAfterHeaders(log, error, request.originalUrl, response);
      return;
    }
    let registryError: RegistryError;
    if (isRegistryError(error)) {
      registryError = error;
    } else if (isBodyParserError(error)) {
      registryError = new RegistryError('FIELD_INVALID', `request body: ${error.message}`);
    } else {
      log.error({ err: error, method: request.method, url: request.originalUrl }, 'unhandled error');
      registryError = new RegistryError('INTERNAL', 'the server failed to handle this request; see its log');
    }
    if (registryError.status >= 500 && isRegistryError(error)) log.error({ err: error, url: request.originalUrl }, registryError.message);
    if (registryError.status === 401) response.setHeader('WWW-Authenticate', 'Basic realm="artifactstore", Bearer realm="artifactstore"');
    response.status(registryError.status).type('application/problem+json').send(JSON.stringify(problemOf(registryError, request.originalUrl)));
  };
}

/** 404 problem for routes nobody serves. */
export const notFoundHandler: RequestHandler = (request, _response, next) => {
  next(new RegistryError('ROUTE_NOT_FOUND', `no route for ${request.method} ${request.path}`));
};

function isBodyParserError(error: unknown): error is Error & { status: number } {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number' && (error as { type?: unknown }).type !== undefined;
}
