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
import { loadSettings, parseDuration, type StorageBackendName } from '../config.js';
import { RegistryError } from '../errors/index.js';
import { DEFAULT_MIGRATION_CONCURRENCY } from '../registry/storage-migration.js';
import { createProgress, interruptOnSignals, localActor, nonNegativeInteger } from './common.js';
import { registerStorageUsage } from './storage-usage.js';

/** Registers `storage …`. */
export function registerStorage(program: Command): void {
  const storage = program.command('storage').description('storage backend operations');
  registerStorageUsage(storage);
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
      const { openDataPlane, openRegistry } = await import('../app.js');
      const instance = await openRegistry(settings);
      try {
        const destination = await openDataPlane(settings, options.to);
        const interruption = interruptOnSignals('finishing the objects in flight; run the command again to resume');
        const progress = createProgress('objects');
        try {
          const report = await instance.registry.migrateStorage(instance.dataPlane, destination, {
            actor: localActor(),
            ...(options.limit !== undefined ? { limit: options.limit } : {}),
            ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
            signal: interruption.signal,
            onProgress: ({ done, total }) => progress.report(done, total, `migrate → ${destination.backendId}`),
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
          interruption.release();
          await destination.close();
        }
      } finally {
        await instance.close();
      }
    });
  registerMove(storage);
}

/**
 * `storage move --to-tier cold --older-than 90d [--dry-run]` (ADR 0022):
 * objects whose hot copy is older than the threshold go to the cold tier
 * (`ARTIFACTSTORE_COLD_*`), verified, and leave the serving backend.
 */
function registerMove(storage: Command): void {
  storage
    .command('move')
    .description(
      'move objects whose copy on the serving backend is older than --older-than to the cold tier (ARTIFACTSTORE_COLD_STORAGE_BACKEND): ' +
        'a copy verified against both digests, recorded with its tier, then the hot copy is removed; OCI manifests stay hot; exits 1 when an object could not be moved',
    )
    .addOption(new Option('--to-tier <tier>', 'the destination tier (the configured cold backend)').choices(['cold']).makeOptionMandatory())
    .requiredOption('--older-than <duration>', 'move copies that have been on the serving backend at least this long (30s, 12h, 90d, 2w, 1y; 0 for all)')
    .option('--limit <n>', 'move at most n objects', nonNegativeInteger('--limit'))
    .option('--dry-run', 'report what would move, change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { olderThan: string; limit?: number; dryRun?: boolean; json?: boolean }) => {
      const olderThanSeconds = /^0+[smhdwy]?$/.test(options.olderThan.trim()) ? 0 : parseDuration(options.olderThan);
      if (olderThanSeconds === undefined || olderThanSeconds === null) {
        throw new RegistryError('FIELD_INVALID', `--older-than must be a duration like 30s, 12h, 90d or 0; got ${JSON.stringify(options.olderThan)}`);
      }
      const { openRegistry } = await import('../app.js');
      const instance = await openRegistry(loadSettings());
      const interruption = interruptOnSignals('finishing the object in flight; run the command again to resume');
      const progress = createProgress('objects');
      try {
        const report = await instance.registry.moveToColdTier({
          olderThanSeconds,
          actor: localActor(),
          dryRun: options.dryRun === true,
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
          signal: interruption.signal,
          onProgress: ({ done, total }) => progress.report(done, total, `move → ${instance.registry.context.coldTier?.cold.backendId ?? 'cold'}`),
        });
        progress.stop();
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          process.stdout.write(
            `${report.from} → ${report.to} (tier ${report.tier}): candidates ${report.candidates}, ${report.dryRun ? 'would move' : 'moved'} ${report.moved} (${report.bytes} bytes)\n`,
          );
          for (const problem of report.problems) process.stdout.write(`OBJECT ${problem.contentAddress}: ${problem.problem}\n`);
          process.stdout.write(report.ok ? `storage move: ok${report.dryRun ? ' (dry run, nothing changed)' : ''}\n` : 'storage move: FAILED\n');
        }
        if (!report.ok) process.exitCode = 1;
      } finally {
        progress.stop();
        interruption.release();
        await instance.close();
      }
    });
}
