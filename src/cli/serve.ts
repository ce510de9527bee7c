/**
 * @module cli/serve
 * `artifactstore serve`: migrate, then serve HTTP until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { loadSettings } from '../config.js';
import { openRegistry } from '../app.js';
import { createLogger } from '../logging.js';
import { startServer } from '../http/server.js';
import { VERSION } from '../version.js';

/** Registers `serve`. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('migrate the database, then serve HTTP on ARTIFACTSTORE_LISTEN until interrupted')
    .action(async () => {
      const settings = loadSettings();
      const logger = createLogger(settings.logLevel);
      const instance = await openRegistry(settings, { migrate: true, cleanStaging: true });
      const server = await startServer(instance.registry, settings.listen, logger);
      const { address, port } = server.address;
      const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      logger.info({ version: VERSION, database: settings.database.client, storage: settings.storage }, `artifactstore listening on http://${shown}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      await instance.close();
    });
}
