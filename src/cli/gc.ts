/**
 * @module cli/gc
 * `artifactstore gc [--dry-run] [--grace DURATION] [--limit N] [--json]`:
 * one online garbage-collection pass (docs/adr/0020) beside running
 * servers. Prints progress on a terminal and a summary; SIGINT stops
 * between objects, keeping what was done.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadSettings, parseZeroableDuration, type StorageBackendName } from '../config.js';
import type { DataPlane } from '../dataplane/index.js';
import { createProgress, interruptOnSignals, localActor, nonNegativeInteger } from './common.js';

/** Registers `gc`. */
export function registerGc(program: Command): void {
  program
    .command('gc')
    .description(
      'remove the bytes of objects nothing has referenced for the grace period (ARTIFACTSTORE_GC_GRACE), recording v1.object.deleted for each; ' +
        'safe beside running servers; exits 1 when an object could not be removed',
    )
    .option('--dry-run', 'list what would be removed; change nothing')
    .option('--grace <duration>', 'how long an object must have been unreferenced, e.g. 0s, 30s, 24h (default ARTIFACTSTORE_GC_GRACE)', (value: string) => {
      const seconds = parseZeroableDuration(value);
      if (seconds === undefined) throw new InvalidArgumentError(`--grace must be a duration like 0s, 30s or 24h, got ${JSON.stringify(value)}`);
      return seconds;
    })
    .option('--limit <n>', 'remove at most n objects, then stop', nonNegativeInteger('--limit'))
    .option('--json', 'print the report as JSON')
    .action(async (options: { dryRun?: boolean; grace?: number; limit?: number; json?: boolean }) => {
      const settings = loadSettings();
      const { openDataPlane, openRegistry } = await import('../app.js');
      const instance = await openRegistry(settings);
      const extra: DataPlane[] = [];
      try {
        // Copies made by `storage migrate` live on the other backend: open it
        // when it is configured, so their bytes go too.
        const other: StorageBackendName = settings.storage.backend === 'local' ? 's3' : 'local';
        if (other === 'local' || settings.storage.s3 !== undefined) extra.push(await openDataPlane(settings, other));
        const interruption = interruptOnSignals('stopping after the objects in flight');
        const progress = createProgress('objects');
        try {
          const report = await instance.registry.collectGarbage({
            graceSeconds: options.grace ?? settings.gc?.graceSeconds ?? 86_400,
            dryRun: options.dryRun === true,
            actor: localActor(),
            dataPlanes: extra,
            signal: interruption.signal,
            ...(options.limit !== undefined ? { limit: options.limit } : {}),
            onProgress: ({ due, reviewed }) => progress.report(reviewed, Math.max(due, reviewed), options.dryRun ? 'gc (dry run)' : 'gc'),
          });
          progress.stop();
          if (options.json) {
            process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          } else {
            for (const object of report.objects) {
              process.stdout.write(`${report.dryRun ? 'WOULD DELETE' : 'DELETED'} ${object.contentAddress} ${object.digestSha256} ${object.size}\n`);
            }
            for (const problem of report.problems) process.stdout.write(`FAILED ${problem}\n`);
            const mib = (report.bytes / 1_048_576).toFixed(2);
            process.stdout.write(
              report.dryRun
                ? `gc (dry run, grace ${report.graceSeconds}s): would delete ${report.deleted} objects (${report.bytes} bytes, ${mib} MiB); queue ${report.queueSize}; nothing changed\n`
                : `gc (grace ${report.graceSeconds}s): queued ${report.queued}, dropped ${report.dropped} (referenced again), reviewed ${report.reviewed}, ` +
                    `deleted ${report.deleted} objects (${report.bytes} bytes, ${mib} MiB), skipped ${report.skipped}, queue ${report.queueSize}, ` +
                    `${report.durationMs} ms${report.cancelled ? ', interrupted' : ''}\n`,
            );
          }
          if (report.problems.length > 0) process.exitCode = 1;
        } finally {
          progress.stop();
          interruption.release();
        }
      } finally {
        for (const plane of extra) await plane.close();
        await instance.close();
      }
    });
}
