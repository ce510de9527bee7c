/**
 * @module cli/storage
 * `artifactstore storage migrate --to s3|local`: copies every object from
 * the configured backend (`ARTIFACTSTORE_STORAGE_BACKEND`) to the other one,
 * configured from the same settings (`--to s3`: the `ARTIFACTSTORE_S3_*`
 * variables; `--to local`: `ARTIFACTSTORE_STORAGE_LOCAL_ROOT`). Servers keep
 * serving from their backend meanwhile; once a run reports nothing
 * remaining, switch `ARTIFACTSTORE_STORAGE_BACKEND` and restart them.
 */
import { Option, type Command } from 'commander';
import { loadSettings, type StorageBackendName } from '../config.js';
import { openDataPlane, openRegistry } from '../app.js';
import { RegistryError } from '../errors/index.js';
import { DEFAULT_MIGRATION_CONCURRENCY } from '../registry/index.js';
import { createProgress, localActor, nonNegativeInteger } from './common.js';

/** Registers `storage …`. */
export function registerStorage(program: Command): void {
  const storage = program.command('storage').description('storage backend operations');
  storage
    .command('migrate')
    .description(
      'copy every object from the configured storage backend to the other one, verify each copy by re-hashing it there and record its new location; ' +
        'resumable (objects already on the destination are skipped); exits 1 when an object could not be migrated',
    )
    .addOption(new Option('--to <backend>', 'the destination backend, configured from the same settings').choices(['s3', 'local']).makeOptionMandatory())
    .option('--limit <n>', 'migrate at most n objects, then stop (the rest on the next run)', nonNegativeInteger('--limit'))
    .option('--concurrency <n>', `objects copied at once (default ${DEFAULT_MIGRATION_CONCURRENCY})`, nonNegativeInteger('--concurrency'))
    .option('--json', 'print the report as JSON')
    .action(async (options: { to: StorageBackendName; limit?: number; concurrency?: number; json?: boolean }) => {
      const settings = loadSettings();
      if (options.to === settings.storage.backend) {
        throw new RegistryError('CONFIG_INVALID', `--to ${options.to} names the backend this deployment already uses (ARTIFACTSTORE_STORAGE_BACKEND=${settings.storage.backend})`);
      }
      const instance = await openRegistry(settings);
      try {
        const destination = await openDataPlane(settings, options.to);
        const controller = new AbortController();
        const interrupt = (): void => {
          process.stderr.write('\ninterrupted: finishing the objects in flight; run the command again to resume\n');
          controller.abort();
        };
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        const progress = createProgress('objects');
        let started = false;
        try {
          const report = await instance.registry.migrateStorage(instance.dataPlane, destination, {
            actor: localActor(),
            ...(options.limit !== undefined ? { limit: options.limit } : {}),
            ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
            signal: controller.signal,
            onProgress: ({ done, total }) => {
              if (!started) {
                progress.start(total, `migrate → ${destination.backendId}`);
                started = true;
              }
              progress.update(done);
            },
          });
          progress.stop();
          if (options.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          } else {
            process.stdout.write(
              `${report.source} → ${report.destination}: objects ${report.objects}, already there ${report.alreadyPresent}, ` +
                `copied ${report.copied} (${report.bytes} bytes), remaining ${report.remaining}\n`,
            );
            for (const problem of report.problems) process.stdout.write(`OBJECT ${problem.contentAddress}: ${problem.problem}\n`);
            process.stdout.write(
              !report.ok
                ? 'storage migrate: FAILED\n'
                : report.remaining > 0
                  ? 'storage migrate: ok so far; run it again to copy the rest\n'
                  : `storage migrate: ok; every object is on ${report.destination}\n`,
            );
          }
          if (!report.ok) process.exitCode = 1;
        } finally {
          progress.stop();
          process.off('SIGINT', interrupt);
          process.off('SIGTERM', interrupt);
          await destination.close();
        }
      } finally {
        await instance.close();
      }
    });
}
