/**
 * @module cli/maintenance
 * Operator commands: migrate, health, manifest, replay, verify.
 */
import { Option, type Command } from 'commander';
import { loadSettings } from '../config.js';
import { createProgress, withRegistry } from './common.js';

/** Registers the operator commands. */
export function registerMaintenance(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const { migrateDatabase, openDatabase } = await import('../db/index.js');
      const db = await openDatabase(loadSettings().database);
      try {
        const applied = await migrateDatabase(db);
        process.stdout.write(applied.length === 0 ? 'schema is up to date\n' : `applied ${applied.join(', ')}\n`);
      } finally {
        await db.close();
      }
    });

  program
    .command('health')
    .description('check the database and the storage backend; exits 1 when degraded')
    .action(async () => {
      await withRegistry(async ({ registry }) => {
        const report = await registry.health();
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (report.status !== 'ok') process.exitCode = 1;
      });
    });

  program
    .command('manifest')
    .description('write the exact manifest bytes of a finalized package to stdout')
    .argument('<package-id>', 'package id')
    .addOption(new Option('--format <format>', 'canonical CBOR or its JCS projection').choices(['cbor', 'json']).default('cbor'))
    .action(async (packageId: string, options: { format: 'cbor' | 'json' }) => {
      await withRegistry(async ({ registry }) => {
        const manifest = await registry.getManifestBytes(packageId, options.format);
        await new Promise<void>((resolve, reject) => process.stdout.write(manifest.bytes, (error) => (error ? reject(error) : resolve())));
      });
    });

  program
    .command('replay')
    .description('rebuild every view table from the event log, atomically')
    .action(async () => {
      await withRegistry(async ({ registry }) => {
        const progress = createProgress('events');
        let started = false;
        const result = await registry.replay(({ applied, total }) => {
          if (!started) {
            progress.start(total, 'replay');
            started = true;
          }
          progress.update(applied);
        });
        progress.stop();
        const rate = result.seconds > 0 ? Math.round(result.events / result.seconds) : result.events;
        process.stdout.write(`replayed ${result.events} events (last sequence ${result.lastSequence}) in ${result.seconds.toFixed(2)} s: ${rate} events/s\n`);
      });
    });

  program
    .command('verify')
    .description('exit 0 only if the views equal a fresh replay, every payload digest matches and the sequence is 1..N without a hole')
    .option('--objects', 're-hash every stored object against both recorded digests')
    .option('--json', 'print the full report as JSON')
    .action(async (options: { objects?: boolean; json?: boolean }) => {
      await withRegistry(async ({ registry }) => {
        const progress = createProgress('items');
        let stage = '';
        const report = await registry.verify({
          objects: options.objects ?? false,
          onProgress: (name, { applied, total }) => {
            if (name !== stage) {
              progress.stop();
              progress.start(total, name);
              stage = name;
            }
            progress.update(applied);
          },
        });
        progress.stop();
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          process.stdout.write(`events ${report.events}, view rows compared ${report.rowsCompared}\n`);
          for (const difference of report.viewDifferences) {
            process.stdout.write(`DIFF ${difference.table} ${JSON.stringify(difference.key)} ${difference.problem}: ${difference.detail}\n`);
          }
          if (report.objects) {
            process.stdout.write(`objects checked ${report.objects.checked}, unreferenced ${report.objects.unreferenced.length}\n`);
            for (const problem of report.objects.problems) process.stdout.write(`OBJECT ${problem.contentAddress}: ${problem.problem}\n`);
          }
          process.stdout.write(report.ok ? 'verify: ok\n' : 'verify: FAILED\n');
        }
        if (!report.ok) process.exitCode = 1;
      });
    });
}
