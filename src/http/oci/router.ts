/**
 * @module http/oci/router
 * The `/v2/` namespace. Repository names contain slashes, so routes are
 * matched here with anchored patterns (as distribution does) rather than by
 * Express path syntax; each route validates the name, calls one registry
 * function and renders the result.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import type { OciRoute } from './route.js';
import express from 'express';
import type { Logger } from 'pino';
import { RegistryError } from '../../errors/index.js';
import { validateRepositoryName } from '../../oci/index.js';
import type { Registry } from '../../registry/index.js';
import { ociErrorHandler } from './errors.js';
import { API_VERSION, API_VERSION_HEADER } from './headers.js';
import { blobRoutes } from './blob-routes.js';
import { uploadRoutes } from './upload-routes.js';
import { manifestRoutes } from './manifest-routes.js';
import { listingRoutes } from './listing-routes.js';

const routes: OciRoute[] = [
  {
    pattern: /^\/$/,
    methods: {
      GET: async ({ response }) => {
        response.status(200).json({});
      },
      HEAD: async ({ response }) => {
        response.status(200).end();
      },
    },
  },
  ...listingRoutes,
  ...uploadRoutes,
  ...blobRoutes,
  ...manifestRoutes,
];

/** The `/v2/` router over `registry`. */
export function createOciRouter(registry: Registry, logger: Logger): Router {
  const router = express.Router();
  router.use((request, response, next) => {
    response.setHeader(API_VERSION_HEADER, API_VERSION);
    dispatch(registry, request, response).then(() => undefined, next);
  });
  router.use(ociErrorHandler(logger));
  return router;
}

async function dispatch(registry: Registry, request: Request, response: Response): Promise<void> {
  const path = request.path;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const handler = route.methods[request.method as keyof OciRoute['methods']];
    if (!handler) {
      response.setHeader('Allow', Object.keys(route.methods).join(', '));
      throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on ${request.originalUrl}`);
    }
    const rawName = match.groups?.name;
    const name = rawName === undefined ? '' : validateRepositoryName(rawName);
    await handler({ registry, request, response, name, segment: match.groups?.segment ?? '', actor: 'anonymous' });
    return;
  }
  throw new RegistryError('ROUTE_NOT_FOUND', `no OCI endpoint at ${request.originalUrl}`);
}

/** Runs express's `next` for errors from async middleware (used by tests). */
export type Next = NextFunction;
