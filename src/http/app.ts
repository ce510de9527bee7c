/**
 * @module http/app
 * The Express application factory. Routes are thin: parse, call one registry
 * function, render. Errors flow to one renderer.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { VERSION } from '../version.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { createOciRouter } from './oci/router.js';
import { authenticate, bearerChallenge, createTokenRouter, type HttpAuth } from './auth/index.js';
import { createNativeRouter } from './native/index.js';
import type { HttpLimits } from '../config.js';
import { EMBEDDED_HTTP_LIMITS, requestLimits, securityHeaders } from './hardening/index.js';
import { createHttpObservability, type HttpObservabilityOptions } from './observability/index.js';


/** Everything an app is built with besides the registry, logger and limits. */
export interface HttpAppOptions extends HttpObservabilityOptions {
  /** Authentication; absent, the server runs open. */
  readonly auth?: HttpAuth;
  /**
   * More parts of `GET /health` beside the database and storage (e.g.
   * `sinks`), each read per request: `detail` is rendered under its name, and
   * one not `ok` makes `status` `degraded`. They do not turn the answer into
   * a 503, which is for this process's own dependencies: restarting it does
   * not fix a failing downstream consumer.
   */
  readonly health?: Readonly<Record<string, () => Promise<{ readonly ok: boolean; readonly detail: unknown }>>>;
}

/** Runs `middleware` for every path but `path`. */
function unless(path: string, middleware: RequestHandler): RequestHandler {
  return (request, response, next) => (request.path === path ? next() : middleware(request, response, next));
}

/** Builds the HTTP application over a registry; `limits` are the process's `settings.http` (default: no per-caller limits). */
export function createHttpApp(registry: Registry, rootLogger: Logger, limits: HttpLimits = EMBEDDED_HTTP_LIMITS, observe: HttpAppOptions = {}): Express {
  const auth = observe.auth;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // First: request ids, request loggers, HTTP metrics, the access log.
  const observability = createHttpObservability(registry, rootLogger, observe);
  app.use(observability.middleware);
  // What routers and renderers log while handling a request carries its request_id.
  const logger = observability.logger;
  app.use(securityHeaders);

  app.get('/', (_request, response) => {
    response.json({ name: 'artifactstore', version: VERSION, description: 'artifact registry and storage gateway', health: '/health' });
  });

  app.get('/health', async (_request, response) => {
    const report = await registry.health();
    const parts = await Promise.all(Object.entries(observe.health ?? {}).map(async ([name, read]) => [name, await read()] as const));
    const degraded = parts.some(([, part]) => !part.ok);
    const body = { ...report, ...(degraded ? { status: 'degraded' } : {}), ...Object.fromEntries(parts.map(([name, part]) => [name, part.detail])) };
    response.status(report.status === 'ok' ? 200 : 503).json(body);
  });
  app.get('/ready', observability.serveReady);

  // The token endpoint checks its own credentials; everything else is authenticated here.
  if (auth) app.use(unless('/token', authenticate(auth.settings)));
  // Keyed on the principal (the client IP when anonymous): keep after
  // authentication and before the token endpoint, so password guessing is
  // rate limited too. `/`, `/health` and `/ready` are exempt.
  app.use(requestLimits(limits, logger));
  if (auth) app.use(createTokenRouter(auth.settings));
  // After authentication: `observe.authorizeMetrics` reads the principal.
  app.get('/metrics', observability.serveMetrics);
  app.use('/v2', createOciRouter(registry, logger, auth ? { challenge: bearerChallenge(auth.settings, auth.realm) } : undefined));
  app.use(createNativeRouter(registry, logger));

  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
