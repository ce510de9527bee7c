/**
 * @module http/server
 * Runs the HTTP application on the configured address until told to stop.
 */
import { createServer } from 'node:http';
import { listen, type RunningServer } from './listen.js';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { createHttpApp, type HttpAppOptions } from './app.js';
import type { HttpLimits } from '../config.js';
import { applyTimeouts, EMBEDDED_HTTP_LIMITS, serverOptions } from './hardening/index.js';

export type { RunningServer };

/** Starts serving `registry` on host:port under `limits` (`settings.http`; default: timeouts only, no per-caller limits). */
export async function startServer(registry: Registry, on: { host: string; port: number }, logger: Logger, limits: HttpLimits = EMBEDDED_HTTP_LIMITS, observe: HttpAppOptions = {}): Promise<RunningServer> {
  const server = createServer(serverOptions(limits), createHttpApp(registry, logger, limits, observe));
  applyTimeouts(server, limits, logger);
  return listen(server, on);
}
