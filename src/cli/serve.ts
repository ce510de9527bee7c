/**
 * @module cli/serve
 * `artifactstore serve`: migrate, then serve HTTP until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { loadSettings } from '../config.js';
import { openRegistry } from '../app.js';
import { createLogger } from '../logging.js';
import { startServer } from '../http/server.js';
import { loopbackWhileOpen, startMetricsServer } from '../http/observability/index.js';
import { VERSION } from '../version.js';
import { openHttpAuth } from '../http/auth/index.js';
import { principalOf } from '../http/principal.js';

/** Registers `serve`. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('migrate the database, then serve HTTP on ARTIFACTSTORE_LISTEN until interrupted')
    .action(async () => {
      const settings = loadSettings();
      const logger = createLogger(settings.logLevel);
      const authentication = settings.auth ? await openHttpAuth(settings.auth, settings.listen.host, logger) : undefined;
      const instance = await openRegistry(settings, { migrate: true, cleanStaging: true });
      const server = await startServer(instance.registry, settings.listen, logger, settings.http, {
        metrics: instance.metrics,
        // On the main listener, /metrics is for administrators; while the server runs open, only from loopback.
        authorizeMetrics: (request) => {
          const principal = principalOf(request);
          return principal.anonymous ? loopbackWhileOpen(request) : principal.admin;
        },
        ...(authentication ? { auth: authentication.auth } : {}),
      });
      const metricsServer = settings.metricsListen ? await startMetricsServer(instance.metrics, settings.metricsListen, logger) : undefined;
      if (metricsServer) logger.info({ metrics: metricsServer.address }, 'serving /metrics without authentication on the metrics listener');
      const { address, port } = server.address;
      const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      logger.info({ version: VERSION, database: settings.database.client, storage: settings.storage }, `artifactstore listening on http://${shown}`);
      const purge = (): void => {
        instance.registry.purgeExpiredUploads().then(
          (purged) => {
            if (purged.sessions + purged.orphans > 0) logger.info(purged, 'purged abandoned upload sessions');
          },
          (error: unknown) => logger.warn({ err: error }, 'purging upload sessions failed; will retry'),
        );
      };
      // Often enough that an expired session's bytes do not linger past a
      // fraction of its TTL, rarely enough to cost nothing.
      const purgeTimer = setInterval(purge, Math.min(settings.oci.uploadTtlSeconds * 250, 10 * 60_000));
      purgeTimer.unref();
      purge();
      // The retention sweep marks expired, unheld packages eligible for deletion.
      const sweep = (): void => {
        instance.registry.sweepRetention().then(
          (marked) => {
            if (marked.length > 0) logger.info({ packages: marked.length }, 'retention sweep marked packages eligible for deletion');
          },
          (error: unknown) => logger.warn({ err: error }, 'retention sweep failed; will retry'),
        );
      };
      const sweepTimer = setInterval(sweep, 60_000);
      sweepTimer.unref();
      sweep();
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(purgeTimer);
      clearInterval(sweepTimer);
      await server.close();
      await metricsServer?.close();
      await instance.close();
      authentication?.close();
    });
}
