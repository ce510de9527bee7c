/**
 * @module http/server
 * Runs the HTTP application on the configured address until told to stop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from '../registry/index.js';
import { createHttpApp, type HttpAppOptions } from './app.js';
import type { HttpLimits } from '../config.js';
import { applyTimeouts, EMBEDDED_HTTP_LIMITS, serverOptions } from './hardening/index.js';

/** A listening server. */
export interface RunningServer {
  readonly server: Server;
  /** The bound address (the port is real even when 0 was asked). */
  readonly address: AddressInfo;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Starts serving `registry` on host:port under `limits` (`settings.http`; default: timeouts only, no per-caller limits). */
export async function startServer(registry: Registry, listen: { host: string; port: number }, logger: Logger, limits: HttpLimits = EMBEDDED_HTTP_LIMITS, observe: HttpAppOptions = {}): Promise<RunningServer> {
  const server = createServer(serverOptions(limits), createHttpApp(registry, logger, limits, observe));
  applyTimeouts(server, limits, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
