/**
 * @module cli/serve
 * `artifactstore serve`: migrate, then serve HTTP until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { loadSettings } from '../config.js';
import { VERSION } from '../version.js';
import { registerShippedSchemas } from './shipped-schemas.js';

/** Registers `serve`. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('migrate the database, then serve HTTP on ARTIFACTSTORE_LISTEN until interrupted')
    .action(async () => {
      // The HTTP stack, drivers and sinks load only for `serve`: other commands start without them.
      const [{ openRegistry }, { createLogger }, { startServer }, { loopbackWhileOpen, startMetricsServer }, { openHttpAuth }, { principalOf }, { loadSinksFile, startSinks }, { startGcWorker }] = await Promise.all([
        import('../app.js'), import('../logging.js'), import('../http/server.js'), import('../http/observability/index.js'),
        import('../http/auth/index.js'), import('../http/principal.js'), import('../sinks/index.js'), import('../registry/index.js'),
      ]);
      const settings = loadSettings();
      const logger = createLogger(settings.logLevel);
      const authentication = settings.auth ? await openHttpAuth(settings.auth, settings.listen.host, logger) : undefined;
      // A bad sinks file stops the start before anything is opened.
      const sinksFile = settings.sinksFile ? loadSinksFile(settings.sinksFile) : undefined;
      const instance = await openRegistry(settings, { migrate: true, cleanStaging: true });
      // Shipped metadata schemas (schemas/*.json): recorded once, whatever the number of starts or servers.
      // A conflict (a shipped file edited in place) is logged, not fatal: the registered schema stays authoritative.
      try {
        for (const { name, created } of await registerShippedSchemas(instance.registry)) {
          if (created) logger.info({ schema: name }, 'registered shipped metadata schema');
        }
      } catch (error) {
        logger.error({ err: error }, 'registering the shipped metadata schemas failed; packages naming them are checked against what is registered');
      }
      // After migrating: the workers need the sink_cursors table.
      const sinks = sinksFile && sinksFile.sinks.length > 0
        ? startSinks({ db: instance.db, log: instance.log, registry: instance.registry, metrics: instance.metrics }, sinksFile.sinks, logger, { leaseTtlMs: sinksFile.leaseTtlMs })
        : undefined;
      const server = await startServer(instance.registry, settings.listen, logger, settings.http, {
        metrics: instance.metrics,
        // On the main listener, /metrics is for administrators; while the server runs open, only from loopback.
        authorizeMetrics: (request) => {
          const principal = principalOf(request);
          return principal.anonymous ? loopbackWhileOpen(request) : principal.admin;
        },
        ...(authentication ? { auth: authentication.auth } : {}),
        ...(sinks ? { health: { sinks: () => sinks.health() } } : {}),
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
          async (marked) => {
            if (marked.length > 0) logger.info({ packages: marked.length }, 'retention sweep marked packages eligible for deletion');
            // Then the OCI retention policies (ADR 0021); each removal is an event by system:retention.
            const oci = await instance.registry.applyOciRetention();
            if (oci.removed + oci.skipped > 0) logger.info({ removed: oci.removed, skipped: oci.skipped, actions: oci.actions.slice(0, 100) }, 'OCI retention removed tags and manifests');
          },
        ).catch((error: unknown) => logger.warn({ err: error }, 'retention sweep failed; will retry'));
      };
      const sweepTimer = setInterval(sweep, 60_000);
      sweepTimer.unref();
      sweep();
      // Online GC (docs/adr/0020): safe beside other servers running it too.
      const gcWorker = settings.gc && settings.gc.intervalSeconds > 0
        ? startGcWorker(instance.registry.context, {
            intervalSeconds: settings.gc.intervalSeconds,
            graceSeconds: settings.gc.graceSeconds,
            observer: instance.metrics.gcObserver(),
            onReport: (report) => {
              if (report.deleted + report.problems.length > 0) {
                logger.info({ deleted: report.deleted, bytes: report.bytes, queue: report.queueSize, problems: report.problems }, 'garbage collection removed unreferenced objects');
              }
            },
            onError: (error) => logger.warn({ err: error }, 'garbage collection failed; will retry'),
          })
        : undefined;
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
      await gcWorker?.stop();
      await server.close();
      await metricsServer?.close();
      await sinks?.stop();
      await instance.close();
      authentication?.close();
    });
}
