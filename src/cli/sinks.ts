/**
 * @module cli/sinks
 * `artifactstore sinks status`: each configured sink's cursor, lag, last
 * error and health, from the shared cursor rows (what every `serve` process
 * delivering the sinks reports too).
 */
import type { Command } from 'commander';
import { loadSettings } from '../config.js';
import { RegistryError } from '../errors/index.js';
import type { SinkStatus } from '../sinks/index.js';
import { withRegistry } from './common.js';

/** Registers `sinks`. */
export function registerSinks(program: Command): void {
  const sinks = program.command('sinks').description('outbound event sinks (ARTIFACTSTORE_SINKS_FILE)');
  sinks
    .command('status')
    .description('show each configured sink: cursor, lag (head - cursor), last error and its time, health; exit 1 when a sink is unhealthy')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const settings = loadSettings();
      if (settings.sinksFile === undefined) throw new RegistryError('CONFIG_INVALID', 'ARTIFACTSTORE_SINKS_FILE is not set: no sinks are configured');
      const { loadSinksFile, readSinkStatus } = await import('../sinks/index.js');
      const configs = loadSinksFile(settings.sinksFile).sinks;
      const status = await withRegistry(({ db, log }) => readSinkStatus(db, log, configs));
      process.stdout.write(options.json ? `${JSON.stringify({ sinks: status }, null, 2)}\n` : renderTable(status));
      if (status.some((sink) => !sink.healthy)) process.exitCode = 1;
    });
}

function renderTable(status: readonly SinkStatus[]): string {
  if (status.length === 0) return 'no sinks configured\n';
  const rows = [
    ['NAME', 'TYPE', 'HEALTH', 'CURSOR', 'LAG', 'FAILURES', 'LAST ERROR', 'LEASED BY'],
    ...status.map((sink) => [
      sink.name,
      sink.type,
      sink.healthy ? 'healthy' : 'UNHEALTHY',
      sink.delivered_sequence === null ? '(not started)' : String(sink.delivered_sequence),
      String(sink.lag),
      String(sink.consecutive_failures),
      sink.last_error === null ? '-' : `${sink.last_error_at ?? ''} ${sink.last_error}`,
      sink.leased_by ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}
