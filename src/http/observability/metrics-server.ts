/**
 * @module http/observability/metrics-server
 * The optional metrics listener (`ARTIFACTSTORE_METRICS_LISTEN`): a plain
 * HTTP server that serves `GET /metrics` (and HEAD) without authentication
 * and nothing else, for a scraper on a private network or a sidecar. Bind it
 * where only the scraper can reach it.
 */
import { createServer } from 'node:http';
import { listen, type RunningServer } from '../listen.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../observability/index.js';

/** A listening metrics server. */
export type RunningMetricsServer = RunningServer;

/** Serves `metrics` on host:port. */
export async function startMetricsServer(metrics: Metrics, on: { host: string; port: number }, logger: Logger): Promise<RunningMetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'collecting metrics failed');
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('collecting metrics failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return listen(server, on);
}
