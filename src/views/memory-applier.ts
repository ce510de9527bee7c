/**
 * @module views/memory-applier
 * Applies view changes to in-memory tables, with the same semantics as the
 * SQL appliers. `verify` replays the whole log into it and compares the
 * result with the live tables, without touching them.
 */
import { RegistryError } from '../errors/index.js';
import { VIEW_TABLE_ORDER, primaryKeyOf, rowMatches, type ViewApplier, type ViewChange, type ViewRow, type ViewTable } from './view-changes.js';

/** In-memory view tables keyed by primary key. */
export class MemoryApplier implements ViewApplier {
  readonly tables = new Map<ViewTable, Map<string, ViewRow>>(VIEW_TABLE_ORDER.map((table) => [table, new Map()]));

  async apply(changes: readonly ViewChange[]): Promise<void> {
    for (const change of changes) {
      const table = this.tables.get(change.table)!;
      if (change.op === 'delete') {
        for (const [key, row] of table) if (rowMatches(row, change.where)) table.delete(key);
        continue;
      }
      if (change.op === 'upsert') {
        const key = primaryKeyOf(change.table, change.row);
        table.set(key, { ...table.get(key), ...change.row });
        continue;
      }
      if (change.op === 'update') {
        const key = primaryKeyOf(change.table, change.key);
        const row = table.get(key);
        if (!row) throw new RegistryError('EVENT_LOG_CORRUPT', `update of missing ${change.table} row ${JSON.stringify(change.key)}`);
        Object.assign(row, change.set);
        continue;
      }
      const key = primaryKeyOf(change.table, change.row);
      if (table.has(key)) {
        if (change.op === 'insertIfAbsent') continue;
        throw new RegistryError('EVENT_LOG_CORRUPT', `duplicate ${change.table} row ${key}`);
      }
      table.set(key, { ...change.row });
    }
  }
}
