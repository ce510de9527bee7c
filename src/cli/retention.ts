/**
 * @module cli/retention
 * `artifactstore retention sweep`: the sweep `serve` runs every minute, on
 * demand (packages, then the OCI policies); `retention oci` for the OCI
 * policies alone, with `--dry-run`.
 */
import type { Command } from 'commander';
import { localActor, withRegistry } from './common.js';
import { formatOciRetention, registerOciRetention } from './oci-retention.js';

/** Registers `retention`. */
export function registerRetention(program: Command): void {
  const retention = program.command('retention').description('retention lifecycle operations');
  retention
    .command('sweep')
    .description('mark every expired, unheld package eligible for deletion (v1.retention.deletion_eligible) and print their ids')
    .action(async () => {
      await withRegistry(async ({ registry }) => {
        const marked = await registry.sweepRetention(new Date(), localActor());
        for (const id of marked) process.stdout.write(`${id}\n`);
        process.stderr.write(`${marked.length} package(s) marked eligible for deletion\n`);
        // Then the OCI retention policies, as serve's sweep does (ADR 0021).
        if (registry.context.ociRetention) process.stderr.write(formatOciRetention(await registry.applyOciRetention({ actor: localActor() })));
      });
    });
  registerOciRetention(retention);
}
