/**
 * @module http/app
 * The Express application factory. Routes are thin: parse, call one registry
 * function, render. Errors flow to one renderer.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { VERSION } from '../version.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { createOciRouter } from './oci/router.js';
import { createNativeRouter } from './native/index.js';

/** Builds the HTTP application over a registry. */
export function createHttpApp(registry: Registry, logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/', (_request, response) => {
    response.json({ name: 'artifactstore', version: VERSION, description: 'artifact registry and storage gateway', health: '/health' });
  });

  app.get('/health', async (_request, response) => {
    const report = await registry.health();
    response.status(report.status === 'ok' ? 200 : 503).json(report);
  });

  app.use('/v2', createOciRouter(registry, logger));
  app.use(createNativeRouter(registry, logger));

  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
