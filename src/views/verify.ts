/**
 * @module views/verify
 * Proves the views are exactly what the log says: replays the whole log into
 * memory through the live projectors and compares every view table with it,
 * row for row, while checking the sequence and every payload digest.
 */
import type { Database } from '../db/index.js';
import { isRegistryError } from '../errors/index.js';
import { MemoryApplier } from './memory-applier.js';
import { replayInto, type ReplayProgress } from './replay.js';
import { VIEW_TABLE_ORDER, primaryKeyOf, type ViewRow, type ViewTable } from './view-changes.js';

/** One difference between the live views and a fresh replay. */
export interface ViewDifference {
  readonly table: ViewTable | 'events';
  readonly key: string;
  readonly problem: 'missing' | 'unexpected' | 'different' | 'log';
  readonly detail: string;
}

/** The outcome of {@link verifyViews}. */
export interface ViewVerification {
  readonly ok: boolean;
  readonly events: number;
  readonly rowsCompared: number;
  readonly differences: ViewDifference[];
}

/** Compares live views with a replay of the log held in memory. */
export async function verifyViews(db: Database, options: { onProgress?: (progress: ReplayProgress) => void; maxDifferences?: number } = {}): Promise<ViewVerification> {
  const maxDifferences = options.maxDifferences ?? 100;
  const differences: ViewDifference[] = [];
  const memory = new MemoryApplier();
  let events = 0;
  // Read the log and the views from one snapshot so a concurrent append
  // cannot show up on one side only.
  // SQLite's read transaction holds one WAL snapshot from its first read;
  // PostgreSQL needs REPEATABLE READ for that.
  const config = db.client === 'postgres' ? { isolationLevel: 'repeatable read' as const, readOnly: true } : undefined;
  return db.knex.transaction(async (trx) => {
    try {
      events = (await replayInto(trx, memory, options.onProgress)).events;
    } catch (error) {
      if (!isRegistryError(error)) throw error;
      differences.push({ table: 'events', key: '', problem: 'log', detail: error.detail });
      return { ok: false, events, rowsCompared: 0, differences };
    }
    let rowsCompared = 0;
    for (const table of VIEW_TABLE_ORDER) {
      const expected = memory.tables.get(table)!;
      const seen = new Set<string>();
      const liveRows = (await trx(table).select('*')) as ViewRow[];
      for (const live of liveRows) {
        rowsCompared += 1;
        const key = primaryKeyOf(table, live);
        seen.add(key);
        const replayed = expected.get(key);
        if (!replayed) {
          differences.push({ table, key, problem: 'unexpected', detail: 'row exists in the view but no event produces it' });
          continue;
        }
        for (const column of new Set([...Object.keys(live), ...Object.keys(replayed)])) {
          const a = normalise(live[column]);
          const b = normalise(replayed[column]);
          if (a !== b) differences.push({ table, key, problem: 'different', detail: `${column}: view has ${JSON.stringify(a)}, replay gives ${JSON.stringify(b)}` });
        }
      }
      for (const key of expected.keys()) {
        if (!seen.has(key)) differences.push({ table, key, problem: 'missing', detail: 'replay produces this row but the view lacks it' });
      }
    }
    return { ok: differences.length === 0, events, rowsCompared, differences: differences.slice(0, maxDifferences) };
  }, config);
}

// SQLite returns booleans as 0/1 and PostgreSQL as true/false; compare them as numbers.
function normalise(value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return String(value);
}
