/**
 * @module http/oci/router
 * The `/v2/` namespace. Repository names contain slashes, so routes are
 * matched here with anchored patterns (as distribution does) rather than by
 * Express path syntax; each route validates the name, calls one registry
 * function and renders the result.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import type { OciRoute } from './route.js';
import { principalOf, type AccessAction, type RequestPrincipal } from '../principal.js';
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

const BASE_PATTERN = /^\/$/;
const CATALOG_PATTERN = listingRoutes[0]!.pattern;
const SESSION_PATTERN = uploadRoutes[1]!.pattern;

const routes: OciRoute[] = [
  {
    pattern: BASE_PATTERN,
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

/** Authentication hooks of the `/v2/` router (absent: the server runs open). */
export interface OciAuthHooks {
  /** The `WWW-Authenticate` value for a 401, with the scope to request. */
  readonly challenge: (request: Request, scope: string | undefined) => string;
}

/** The `/v2/` router over `registry`. */
export function createOciRouter(registry: Registry, logger: Logger, auth?: OciAuthHooks): Router {
  const router = express.Router();
  router.use((request, response, next) => {
    response.setHeader(API_VERSION_HEADER, API_VERSION);
    dispatch(registry, request, response).then(() => undefined, next);
  });
  router.use(ociErrorHandler(logger, auth?.challenge));
  return router;
}

/**
 * Throws unless the caller may make this request: reads need `pull`,
 * deletes of blobs and manifests `delete`, everything else `push`. An
 * anonymous (or token-limited) caller gets 401 with the scope to ask the
 * token endpoint for; an authenticated one lacking the grant gets 403.
 */
function authorizeOci(principal: RequestPrincipal, route: OciRoute, method: string, name: string): void {
  if (principal.credentialError !== undefined) throw new RegistryError('UNAUTHORIZED', principal.credentialError);
  if (principal.admin) return;
  if (route.pattern === BASE_PATTERN || route.pattern === CATALOG_PATTERN) {
    // The base endpoint is how clients discover that they must log in; the
    // catalog filters by what the caller may see.
    if (principal.anonymous && !principal.allows('pull', '*')) {
      throw new RegistryError('UNAUTHORIZED', 'authentication required', route.pattern === CATALOG_PATTERN ? { scope: 'registry:catalog:*' } : undefined);
    }
    return;
  }
  const isRead = method === 'GET' || method === 'HEAD';
  const isSessionCancel = method === 'DELETE' && route.pattern === SESSION_PATTERN;
  const action: AccessAction = isRead ? 'pull' : method === 'DELETE' && !isSessionCancel ? 'delete' : 'push';
  const scope = `repository:${name}:${action === 'push' ? 'pull,push' : action}`;
  if (principal.allows(action, name)) return;
  if (principal.anonymous || principal.tokenLimited) throw new RegistryError('UNAUTHORIZED', `authentication required to ${action} ${name}`, { scope });
  throw new RegistryError('DENIED', `${principal.name} may not ${action} ${name}`, { scope });
}

/**
 * The request path with each segment percent-decoded (as distribution does),
 * refusing encodings that would change the path's shape (`%2F`) or are not
 * UTF-8.
 */
function decodedPath(raw: string): string {
  return raw.split('/').map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new RegistryError('NAME_INVALID', `path segment ${JSON.stringify(segment.slice(0, 80))} is not valid percent-encoded UTF-8`);
    }
    if (decoded.includes('/')) throw new RegistryError('NAME_INVALID', 'an encoded "/" (%2F) is not allowed in a path segment');
    return decoded;
  }).join('/');
}

async function dispatch(registry: Registry, request: Request, response: Response): Promise<void> {
  const path = decodedPath(request.path);
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    // HEAD is GET without a body wherever a route has no HEAD of its own (Node drops the body).
    const method = request.method === 'HEAD' && !route.methods.HEAD ? 'GET' : request.method;
    const handler = route.methods[method as keyof OciRoute['methods']];
    if (!handler) {
      response.setHeader('Allow', Object.keys(route.methods).join(', '));
      throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on ${request.originalUrl}`);
    }
    const rawName = match.groups?.name;
    const name = rawName === undefined ? '' : validateRepositoryName(rawName);
    authorizeOci(principalOf(request), route, request.method, name);
    await handler({ registry, request, response, name, segment: match.groups?.segment ?? '', actor: principalOf(request).name });
    return;
  }
  throw new RegistryError('ROUTE_NOT_FOUND', `no OCI endpoint at ${request.originalUrl}`);
}

/** Runs express's `next` for errors from async middleware (used by tests). */
export type Next = NextFunction;
