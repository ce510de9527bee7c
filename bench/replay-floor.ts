/**
 * The floor under `replayViews` on SQLite: how long SQLite alone takes to
 * write the rows a replay writes, with nothing decoded or projected.
 *
 * The view tables of a replayed database (schema, indexes and every row)
 * are copied into a scratch database opened the way the registry opens its
 * own (WAL, `synchronous = NORMAL`, the replay's page cache, foreign keys
 * off as during a replay). Rows are read into memory first, untimed; the
 * timed part is one transaction inserting them, table by table in the
 * order a replay writes them, through one prepared statement per table,
 * and its COMMIT. That is the least any rebuild of these views can cost
 * on this machine and disk, so `events / floor seconds` is the ceiling of
 * replay's events/s here.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { REPLAY_CACHE_KIB, VIEW_TABLE_ORDER } from '../src/views/index.js';
import { secondsSince } from './lib.js';

/** What {@link measureInsertFloor} measured. */
export interface InsertFloor {
  readonly rows: number;
  readonly seconds: number;
}

/** Copies the view rows of the SQLite database at `source` into a scratch database under `dir`, timing the inserts and COMMIT. */
export function measureInsertFloor(source: string, dir: string): InsertFloor {
  const from = new BetterSqlite3(source, { readonly: true });
  const scratch = new BetterSqlite3(path.join(dir, 'insert-floor.db'));
  try {
    scratch.pragma('journal_mode = WAL');
    scratch.pragma('synchronous = NORMAL');
    scratch.pragma('foreign_keys = OFF');
    scratch.pragma(`cache_size = -${REPLAY_CACHE_KIB}`);
    const views = new Set<string>(VIEW_TABLE_ORDER);
    const schema = from.prepare(`SELECT type, tbl_name AS tableName, sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL`).all() as Array<{ type: string; tableName: string; sql: string }>;
    // Tables first: an index needs its table.
    for (const entry of schema.filter(({ tableName, type }) => views.has(tableName) && type === 'table')) scratch.exec(entry.sql);
    for (const entry of schema.filter(({ tableName, type }) => views.has(tableName) && type === 'index')) scratch.exec(entry.sql);

    let rows = 0;
    let seconds = 0;
    const timedPart = (work: () => void): void => {
      const start = process.hrtime.bigint();
      work();
      seconds += secondsSince(start);
    };
    timedPart(() => scratch.exec('BEGIN'));
    for (const table of VIEW_TABLE_ORDER) {
      const tableRows = from.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).raw(true).all() as unknown[][];
      if (tableRows.length === 0) continue;
      const insert = scratch.prepare(`INSERT INTO "${table}" VALUES (${tableRows[0]!.map(() => '?').join(', ')})`);
      timedPart(() => {
        for (const row of tableRows) insert.run(row);
      });
      rows += tableRows.length;
    }
    timedPart(() => scratch.exec('COMMIT'));
    return { rows, seconds };
  } finally {
    scratch.close();
    from.close();
  }
}
