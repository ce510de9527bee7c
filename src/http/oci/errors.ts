/**
 * @module http/oci/errors
 * Renders errors on `/v2/` as the OCI error envelope
 * `{"errors":[{"code","message","detail"}]}`, from the same error registry
 * the native API renders as RFC 7807.
 */
import type { ErrorRequestHandler, Request } from 'express';
import type { Logger } from 'pino';
import { RegistryError, isRegistryError } from '../../errors/index.js';
import { API_VERSION_HEADER, API_VERSION } from './headers.js';
import { endAfterHeaders, isClientAbort } from '../connection.js';
import { requestLogger } from '../observability/context.js';

/** The OCI envelope for one error. */
export function ociErrorBody(error: RegistryError): { errors: Array<{ code: string; message: string; detail: unknown }> } {
  const detail = error.extra && Object.keys(error.extra).length > 0 ? { ...error.extra, reason: error.detail } : error.detail;
  return { errors: [{ code: error.ociCode, message: error.title, detail }] };
}

/** The one error middleware of `/v2/`. Unknown errors become a logged 500 without internals. */
export function ociErrorHandler(logger: Logger, challenge?: (request: Request, scope: string | undefined) => string): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const log = requestLogger(request, logger);
    if (response.headersSent) {
      endAfterHeaders(log, error, request.originalUrl, response);
      return;
    }
    let registryError: RegistryError;
    if (isRegistryError(error)) {
      registryError = error;
      if (registryError.status >= 500) log.error({ err: error, url: request.originalUrl }, registryError.message);
    } else if (isClientAbort(error)) {
      registryError = new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete');
    } else {
      log.error({ err: error, method: request.method, url: request.originalUrl }, 'unhandled error');
      registryError = new RegistryError('INTERNAL', 'the server failed to handle this request; see its log');
    }
    response.status(registryError.status);
    response.setHeader(API_VERSION_HEADER, API_VERSION);
    if (registryError.code === 'UNAUTHORIZED' && challenge) {
      const scope = typeof registryError.extra?.scope === 'string' ? registryError.extra.scope : undefined;
      response.setHeader('WWW-Authenticate', challenge(request, scope));
    }
    if (registryError.code === 'UPLOAD_OFFSET_MISMATCH' || registryError.code === 'RANGE_NOT_SATISFIABLE') {
      const size = Number(registryError.extra?.size);
      if (Number.isSafeInteger(size)) {
        if (registryError.code === 'RANGE_NOT_SATISFIABLE') response.setHeader('Content-Range', `bytes */${size}`);
        else response.setHeader('Range', `0-${Math.max(size - 1, 0)}`);
      }
    }
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    response.type('application/json').send(JSON.stringify(ociErrorBody(registryError)));
  };
}
