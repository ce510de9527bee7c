/**
 * @module http/native/router
 * The native REST API (docs/api/native.md), built from one route table that
 * also produces the OpenAPI document. Errors go to the application's one
 * problem renderer (../problem.ts); this router only adds the headers some
 * problems carry (`Content-Range`, `Upload-Offset`, `Allow`).
 */
import { checkAccess } from './access.js';
import { retentionRoutes } from './retention-routes.js';
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { RegistryError, isRegistryError } from '../../errors/index.js';
import type { Registry } from '../../registry/index.js';
import { isClientAbort } from '../connection.js';
import { eventRoutes } from './event-routes.js';
import { fileRoutes } from './file-routes.js';
import { buildOpenApiDocument, documentRoutes } from './openapi.js';
import { objectRoutes } from './object-routes.js';
import { packageRoutes } from './package-routes.js';
import { metadataSchemaRoutes } from './metadata-schema-routes.js';
import { repositoryRoutes } from './repository-routes.js';
import { actorOf } from './request.js';
import { DEFAULT_NATIVE_OPTIONS, type NativeOptions, type NativeRoute } from './route.js';
import { UPLOAD_OFFSET_HEADER, uploadRoutes } from './upload-routes.js';
import { jsonBody } from './validate.js';

/** Every route of the native API, the documentation routes included. */
export function nativeRoutes(): NativeRoute[] {
  let document: Record<string, unknown> | undefined;
  const routes: NativeRoute[] = [
    ...packageRoutes,
    ...fileRoutes,
    ...uploadRoutes,
    ...objectRoutes,
    ...eventRoutes,
    ...retentionRoutes,
    ...metadataSchemaRoutes,
    ...repositoryRoutes,
    ...documentRoutes(() => (document ??= buildOpenApiDocument(routes))),
  ];
  return routes;
}

/** `/packages/{id}` → `/packages/:id` (quoted when the name is not an identifier). */
export function expressPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `:${name}` : `:${JSON.stringify(name)}`));
}

/** The native API over `registry`, to mount at the root. */
export function createNativeRouter(registry: Registry, logger: Logger, options: Partial<NativeOptions> = {}): Router {
  const settings: NativeOptions = { ...DEFAULT_NATIVE_OPTIONS, ...options };
  const router = express.Router();
  const routes = nativeRoutes();
  // HEAD routes first: Express would otherwise answer HEAD with the GET handler.
  const ordered = [...routes.filter((route) => route.method === 'head'), ...routes.filter((route) => route.method !== 'head')];
  for (const route of ordered) {
    const handler: RequestHandler = async (request, response) => {
      await checkAccess(registry, request, route.method, route.path);
      await route.handle({ registry, request, response, actor: actorOf(request), logger, options: settings });
    };
    router[route.method](expressPath(route.path), ...(route.jsonBody ? [jsonBody] : []), handler);
  }
  // A known path with another method: 405 with Allow.
  const allowed = new Map<string, Set<string>>();
  for (const route of routes) {
    const methods = allowed.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    if (route.method === 'get') methods.add('HEAD');
    allowed.set(route.path, methods);
  }
  for (const [path, methods] of allowed) {
    router.all(expressPath(path), (request, response, next) => {
      response.setHeader('Allow', [...methods].join(', '));
      next(new RegistryError('UNSUPPORTED', `${request.method} is not supported on ${request.path}; use ${[...methods].join(', ')}`));
    });
  }
  router.use(problemHeaders);
  return router;
}

/**
 * Adds the headers a problem carries besides its body, then hands the error
 * on to the application's problem renderer. A request body cut off by the
 * client is the client's problem, not an unhandled error.
 */
const problemHeaders: ErrorRequestHandler = (error: unknown, _request, response, next) => {
  if (!response.headersSent && isClientAbort(error)) {
    next(new RegistryError('FIELD_INVALID', 'the request body ended before it was complete', undefined, { cause: error }));
    return;
  }
  if (!response.headersSent && isRegistryError(error)) {
    const size = Number(error.extra?.size);
    if (Number.isSafeInteger(size) && size >= 0) {
      if (error.code === 'RANGE_NOT_SATISFIABLE') response.setHeader('Content-Range', `bytes */${size}`);
      if (error.code === 'UPLOAD_OFFSET_MISMATCH') response.setHeader(UPLOAD_OFFSET_HEADER, String(size));
    }
  }
  next(error);
};
