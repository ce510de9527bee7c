/**
 * @module cli/events
 * `artifactstore events`: the log as JSON lines, optionally followed live.
 */
import type { Command } from 'commander';
import { nonNegativeInteger, withRegistry } from './common.js';
import { printRemoteEvents } from './remote-events.js';

/** Registers `events`. */
export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('print events after --since as one JSON object per line')
    .option('--since <sequence>', 'print events with a greater sequence', nonNegativeInteger('--since'), 0)
    .option('--limit <count>', 'stop after this many events', nonNegativeInteger('--limit'))
    .option('--follow', 'keep printing new events as they commit (Ctrl-C stops)')
    .option('--url <url>', 'read the events of a remote server instead of the local database')
    .action(async (options: { since: number; limit?: number; follow?: boolean; url?: string }) => {
      if (options.url !== undefined) return printRemoteEvents({ ...options, url: options.url });
      await withRegistry(async ({ registry }) => {
        const limit = options.limit ?? Number.POSITIVE_INFINITY;
        if (limit === 0) return;
        const controller = new AbortController();
        const stop = (): void => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        let printed = 0;
        try {
          if (options.follow) {
            for await (const event of registry.tailEvents(options.since, controller.signal)) {
              await writeLine(JSON.stringify(event));
              if (++printed >= limit) break;
            }
          } else {
            let cursor = options.since;
            while (printed < limit) {
              const batch = await registry.fetchEvents(cursor, Math.min(1000, limit - printed));
              if (batch.length === 0) break;
              for (const event of batch) await writeLine(JSON.stringify(event));
              printed += batch.length;
              cursor = batch[batch.length - 1]!.sequence;
            }
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });
}

function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(`${line}\n`, (error) => (error ? reject(error) : resolve())));
}
