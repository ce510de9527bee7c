/**
 * @module cli/storage-usage
 * `artifactstore storage usage [--json]`: bytes per producer and per OCI
 * repository, logical and deduplicated, and totals set against what the
 * storage backend really holds (listed), including the unreferenced bytes
 * garbage collection will reclaim.
 */
import type { Command } from 'commander';
import type { ObjectFigures, StorageUsage } from '../registry/index.js';
import { withRegistry } from './common.js';

const figures = (value: ObjectFigures): string => `${value.objects} object(s), ${value.bytes} bytes`;

/** The human-readable report. */
export function formatStorageUsage(usage: StorageUsage): string {
  const lines: string[] = ['producers (packages):'];
  for (const p of usage.producers) lines.push(`  ${p.producer}: ${p.packages} package(s), ${p.files} file(s), logical ${p.logicalSize} bytes, stored ${figures(p.stored)}`);
  if (usage.producers.length === 0) lines.push('  (none)');
  lines.push('OCI repositories:');
  for (const r of usage.repositories) {
    lines.push(`  ${r.repository}: ${r.manifests} manifest(s), ${r.tags} tag(s), ${r.blobs} blob(s), logical ${r.logicalSize} bytes, stored ${figures(r.stored)}`);
  }
  if (usage.repositories.length === 0) lines.push('  (none)');
  const { referenced, backend, unreferenced, missing } = usage.totals;
  lines.push('totals (each object once):');
  lines.push(`  referenced: ${figures(referenced)}`);
  lines.push(`  in the ${backend.id} backend: ${figures(backend)}`);
  lines.push(`  unreferenced (awaiting garbage collection): ${figures(unreferenced)}`);
  if (missing.objects > 0) lines.push(`  MISSING from the backend: ${figures(missing)} (run artifactstore verify --objects)`);
  return `${lines.join('\n')}\n`;
}

/** Adds `usage` under the `storage` command. */
export function registerStorageUsage(storage: Command): void {
  storage
    .command('usage')
    .description('bytes per producer and per OCI repository (logical, and stored with each object once), and totals against what the backend really holds, unreferenced bytes included; exit 1 when a referenced object is missing from the backend')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      await withRegistry(async ({ registry }) => {
        const usage = await registry.storageUsage();
        process.stdout.write(options.json ? `${JSON.stringify(usage, null, 2)}\n` : formatStorageUsage(usage));
        if (usage.totals.missing.objects > 0) process.exitCode = 1;
      });
    });
}
