/**
 * @module cli/oci-retention
 * `artifactstore retention oci [--dry-run] [--json]`: applies the OCI
 * retention policies of the retention file (`oci:`) now, or lists what they
 * would remove. `retention sweep` and `serve` run the same step after the
 * package sweep.
 */
import type { Command } from 'commander';
import type { OciRetentionReport } from '../registry/index.js';
import { localActor, withRegistry } from './common.js';

/** One line per removal: `<repository> <tag|@digest> <rule> (<policy>): <reason>`. */
export function formatOciRetention(report: OciRetentionReport): string {
  const lines = report.actions.map((action) =>
    `${action.repository} ${action.kind === 'tag' ? `:${action.tag}` : action.digest} ${action.rule} (${action.policy}): ${action.reason}`,
  );
  const verb = report.dryRun ? 'would remove' : 'removed';
  const count = report.dryRun ? report.actions.length : report.removed;
  lines.push(`oci retention: ${report.repositories} repositor${report.repositories === 1 ? 'y' : 'ies'} governed, ${verb} ${count}${report.skipped > 0 ? `, skipped ${report.skipped} changed meanwhile` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Adds `oci` under the `retention` command. */
export function registerOciRetention(retention: Command): void {
  retention
    .command('oci')
    .description('apply the OCI retention policies (the oci: section of ARTIFACTSTORE_RETENTION_CONFIG_PATH): remove tags no keepTags rule keeps, untagged manifests and orphaned referrers older than the delay; each removal is an event')
    .option('--dry-run', 'list what would be removed and change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      await withRegistry(async ({ registry }) => {
        if (!registry.context.ociRetention) process.stderr.write('no OCI retention policies configured (ARTIFACTSTORE_RETENTION_CONFIG_PATH has no oci: section); nothing to do\n');
        const report = await registry.applyOciRetention({ dryRun: options.dryRun === true, actor: localActor() });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatOciRetention(report));
      });
    });
}
