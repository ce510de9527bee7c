/**
 * @module cli/audit
 * `artifactstore audit --actor NAME [--since T]`: what a principal did,
 * straight from the event log.
 */
import type { Command } from 'commander';
import { RegistryError } from '../errors/index.js';
import { withRegistry } from './common.js';

/** Registers `audit`. */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('print every event a principal caused, oldest first (one JSON object per line, or a table)')
    .requiredOption('--actor <name>', 'principal name as recorded in events (e.g. alice, anonymous, local:root)')
    .option('--since <time>', 'only events at or after this ISO-8601 time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)')
    .option('--json', 'print JSON lines instead of a table')
    .action(async (options: { actor: string; since?: string; json?: boolean }) => {
      let createdFrom: string | undefined;
      if (options.since !== undefined) {
        const when = new Date(options.since);
        if (Number.isNaN(when.getTime())) throw new RegistryError('FIELD_INVALID', `--since ${JSON.stringify(options.since)} is not a date or date-time`);
        createdFrom = when.toISOString();
      }
      await withRegistry(async ({ registry }) => {
        let cursor = 0;
        let count = 0;
        for (;;) {
          const batch = await registry.fetchEvents(cursor, 1000, { actor: options.actor, ...(createdFrom ? { createdFrom } : {}) });
          if (batch.length === 0) break;
          for (const event of batch) {
            process.stdout.write(options.json
              ? `${JSON.stringify(event)}\n`
              : `${event.sequence}\t${event.created_at}\t${event.event_type}\t${event.subject_kind}:${event.subject_id}\n`);
          }
          count += batch.length;
          cursor = batch[batch.length - 1]!.sequence;
        }
        if (!options.json) process.stderr.write(`${count} event(s) by ${options.actor}\n`);
      });
    });
}
