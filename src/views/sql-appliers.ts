/**
 * @module views/sql-appliers
 * Appliers that write view changes to the database: one change at a time
 * inside a live transaction, or buffered into multi-row statements for
 * replay, where per-statement overhead would otherwise dominate.
 */
import type { Knex } from 'knex';
import { RegistryError } from '../errors/index.js';
import { VIEW_TABLES, VIEW_TABLE_ORDER, isPrimaryKeyFilter, primaryKeyOf, type ViewApplier, type ViewChange, type ViewRow, type ViewTable } from './view-changes.js';

/** Applies each change immediately with one statement (the live write path). */
export class ImmediateSqlApplier implements ViewApplier {
  constructor(private readonly trx: Knex.Transaction) {}

  async apply(changes: readonly ViewChange[]): Promise<void> {
    for (const change of changes) {
      switch (change.op) {
        case 'insert':
          await this.trx(change.table).insert(change.row);
          break;
        case 'insertIfAbsent':
          await this.trx(change.table).insert(change.row).onConflict([...VIEW_TABLES[change.table]]).ignore();
          break;
        case 'update': {
          const updated = await this.trx(change.table).where(change.key).update(change.set);
          if (updated !== 1) {
            throw new RegistryError('EVENT_LOG_CORRUPT', `update of ${change.table} ${JSON.stringify(change.key)} matched ${updated} rows`);
          }
          break;
        }
        case 'upsert':
          await this.trx(change.table).insert(change.row).onConflict([...VIEW_TABLES[change.table]]).merge();
          break;
        case 'delete':
          await this.trx(change.table).where(change.where).delete();
          break;
      }
    }
  }
}

const ROWS_PER_STATEMENT = 400;

/**
 * Buffers changes and writes them as multi-row inserts. An update to a row
 * still in the buffer is merged into it; updates to rows already written are
 * coalesced per row and run after the inserts of the same flush. Projectors
 * only ever set absolute values, which is what makes this merge exact.
 */
export class BatchSqlApplier implements ViewApplier {
  private readonly inserts = new Map<ViewTable, Map<string, { row: ViewRow; ifAbsent: boolean }>>();
  private readonly updates = new Map<ViewTable, Map<string, { key: ViewRow; set: ViewRow }>>();
  private buffered = 0;

  constructor(private readonly trx: Knex.Transaction, private readonly flushEvery = 20_000) {}

  async apply(changes: readonly ViewChange[]): Promise<void> {
    for (const change of changes) {
      const table = change.table;
      if (change.op === 'upsert' || change.op === 'delete') {
        // Rare in a log (OCI tags and deletions): resolve against the buffer
        // when the row is still only there, otherwise write the buffer out
        // and run the change as-is, which keeps statement order exact.
        const keyRow = change.op === 'upsert' ? change.row : change.where;
        const pending = this.inserts.get(table);
        const key = isPrimaryKeyFilter(table, keyRow) || change.op === 'upsert' ? primaryKeyOf(table, keyRow) : undefined;
        const buffered = key === undefined ? undefined : pending?.get(key);
        if (buffered && !buffered.ifAbsent && !this.updates.get(table)?.has(key!)) {
          if (change.op === 'upsert') Object.assign(buffered.row, change.row);
          else pending!.delete(key!);
          continue;
        }
        await this.flush();
        await new ImmediateSqlApplier(this.trx).apply([change]);
        continue;
      }
      if (change.op === 'update') {
        const key = primaryKeyOf(table, change.key);
        const pendingInsert = this.inserts.get(table)?.get(key);
        if (pendingInsert) {
          Object.assign(pendingInsert.row, change.set);
          continue;
        }
        const pending = mapFor(this.updates, table);
        const existing = pending.get(key);
        if (existing) Object.assign(existing.set, change.set);
        else pending.set(key, { key: change.key, set: { ...change.set } });
      } else {
        const key = primaryKeyOf(table, change.row);
        const pending = mapFor(this.inserts, table);
        if (pending.has(key)) {
          if (change.op === 'insertIfAbsent') continue;
          throw new RegistryError('EVENT_LOG_CORRUPT', `replay inserts ${table} ${key} twice`);
        }
        pending.set(key, { row: { ...change.row }, ifAbsent: change.op === 'insertIfAbsent' });
      }
      this.buffered += 1;
    }
    if (this.buffered >= this.flushEvery) await this.flush();
  }

  /** Writes everything buffered. Must be called before the transaction commits. */
  async flush(): Promise<void> {
    for (const table of VIEW_TABLE_ORDER) {
      const pending = this.inserts.get(table);
      if (!pending || pending.size === 0) continue;
      const entries = [...pending.values()];
      for (let start = 0; start < entries.length; start += ROWS_PER_STATEMENT) {
        const slice = entries.slice(start, start + ROWS_PER_STATEMENT);
        const strict = slice.filter((entry) => !entry.ifAbsent).map((entry) => entry.row);
        const lenient = slice.filter((entry) => entry.ifAbsent).map((entry) => entry.row);
        if (strict.length > 0) await this.trx(table).insert(strict);
        if (lenient.length > 0) await this.trx(table).insert(lenient).onConflict([...VIEW_TABLES[table]]).ignore();
      }
      pending.clear();
    }
    for (const table of VIEW_TABLE_ORDER) {
      const pending = this.updates.get(table);
      if (!pending) continue;
      for (const { key, set } of pending.values()) {
        const updated = await this.trx(table).where(key).update(set);
        if (updated !== 1) throw new RegistryError('EVENT_LOG_CORRUPT', `replayed update of ${table} ${JSON.stringify(key)} matched ${updated} rows`);
      }
      pending.clear();
    }
    this.buffered = 0;
  }
}

function mapFor<V>(maps: Map<ViewTable, Map<string, V>>, table: ViewTable): Map<string, V> {
  let map = maps.get(table);
  if (!map) {
    map = new Map();
    maps.set(table, map);
  }
  return map;
}
