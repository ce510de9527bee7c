/**
 * @module views/sql-appliers
 * Appliers that write view changes to the database: one change at a time
 * inside a live transaction, or buffered for replay, where per-statement
 * overhead would otherwise dominate: flushed as cached single-row prepared
 * statements on SQLite, as multi-row statements on PostgreSQL (ADR 0023).
 */
import type { Knex } from 'knex';
import { RegistryError } from '../errors/index.js';
import { sqliteStatementsOf, sqliteValue, type SqliteBindable, type SqliteStatement, type SqliteStatements } from '../db/index.js';
import { VIEW_TABLES, VIEW_TABLE_ORDER, isPrimaryKeyFilter, primaryKeyOf, type ViewApplier, type ViewChange, type ViewRow, type ViewTable } from './view-changes.js';

/**
 * Applies each change immediately with one statement (the live write path).
 * On SQLite the statements are cached prepared statements on the
 * transaction's connection (knex compiles every query anew, which cost more
 * than running it: ADR 0034); elsewhere they go through knex.
 */
export class ImmediateSqlApplier implements ViewApplier {
  /** The connection's statement cache on SQLite, null elsewhere (known at the first change). */
  private statements: SqliteStatements | null | undefined;

  constructor(private readonly trx: Knex.Transaction) {}

  async apply(changes: readonly ViewChange[]): Promise<void> {
    if (this.statements === undefined) {
      this.statements = (this.trx.client as { driverName?: string }).driverName === 'better-sqlite3' ? await sqliteStatementsOf(this.trx) : null;
    }
    const statements = this.statements;
    for (const change of changes) {
      if (statements !== null) applySqlite(statements, change);
      else await this.applyKnex(change);
    }
  }

  private async applyKnex(change: ViewChange): Promise<void> {
    switch (change.op) {
      case 'insert':
        await this.trx(change.table).insert(change.row);
        break;
      case 'insertIfAbsent':
        await this.trx(change.table).insert(change.row).onConflict([...VIEW_TABLES[change.table]]).ignore();
        break;
      case 'update': {
        const updated = await this.trx(change.table).where(change.key).update(change.set);
        if (updated !== 1) throw updateMissed(change.table, change.key, updated);
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

/** One change as a cached statement; the same SQL knex generates for it on SQLite. */
function applySqlite(statements: SqliteStatements, change: ViewChange): void {
  switch (change.op) {
    case 'insert':
    case 'insertIfAbsent': {
      const columns = Object.keys(change.row);
      statements.prepare(insertSql(change.table, columns, change.op === 'insertIfAbsent')).run(sqliteValues(Object.values(change.row)));
      break;
    }
    case 'upsert': {
      const columns = Object.keys(change.row);
      statements.prepare(upsertSql(change.table, columns)).run(sqliteValues(Object.values(change.row)));
      break;
    }
    case 'update': {
      const { changes } = statements
        .prepare(updateSql(change.table, Object.keys(change.set), Object.keys(change.key)))
        .run(sqliteValues([...Object.values(change.set), ...Object.values(change.key)]));
      if (changes !== 1) throw updateMissed(change.table, change.key, changes);
      break;
    }
    case 'delete': {
      // As knex does: a null in the filter matches with IS NULL, and binds nothing.
      const entries = Object.entries(change.where);
      const sql = `DELETE FROM ${quote(change.table)} WHERE ${entries.map(([column, value]) => (value === null ? `${quote(column)} IS NULL` : `${quote(column)} = ?`)).join(' AND ')}`;
      statements.prepare(sql).run(sqliteValues(entries.filter(([, value]) => value !== null).map(([, value]) => value)));
      break;
    }
  }
}

function updateMissed(table: ViewTable, key: ViewRow, updated: number): RegistryError {
  return new RegistryError('EVENT_LOG_CORRUPT', `update of ${table} ${JSON.stringify(key)} matched ${updated} rows`);
}

const ROWS_PER_STATEMENT = 400;

/**
 * Buffers changes and writes them in bulk (see {@link BatchSqlApplier.flush}). An update to a row
 * still in the buffer is merged into it; updates to rows already written are
 * coalesced per row and run after the inserts of the same flush. Projectors
 * only ever set absolute values, which is what makes this merge exact.
 *
 * It takes ownership of the rows of the insert changes it is given (later
 * updates are merged into them): callers pass changes fresh from a projector
 * and do not reuse them.
 */
export class BatchSqlApplier implements ViewApplier {
  private readonly inserts = new Map<ViewTable, Map<string, { row: ViewRow; ifAbsent: boolean }>>();
  private readonly updates = new Map<ViewTable, Map<string, { key: ViewRow; set: ViewRow }>>();
  private buffered = 0;
  /** Whether the transaction is on SQLite (known at the first flush). */
  private sqlite: boolean | undefined;

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
        // The row is the projector's own, built for this change: kept (and merged into) as is.
        pending.set(key, { row: change.row, ifAbsent: change.op === 'insertIfAbsent' });
      }
      this.buffered += 1;
    }
    if (this.buffered >= this.flushEvery) await this.flush();
  }

  /** Writes everything buffered. Must be called before the transaction commits. */
  async flush(): Promise<void> {
    if (this.sqlite === undefined) this.sqlite = (this.trx.client as { driverName?: string }).driverName === 'better-sqlite3';
    if (this.sqlite) await this.flushSqlite();
    else await this.flushMultiRow();
    this.buffered = 0;
  }

  /**
   * SQLite: one cached prepared statement per table and column set, run row
   * by row on the transaction's connection (docs/adr/0023). In-process,
   * that is several times cheaper than compiling multi-row inserts.
   */
  private async flushSqlite(): Promise<void> {
    const statements = await sqliteStatementsOf(this.trx);
    for (const table of VIEW_TABLE_ORDER) {
      const pending = this.inserts.get(table);
      if (!pending || pending.size === 0) continue;
      // Rows of one table nearly always have the same columns in the same
      // order (one projector builds them): reuse the statement while they do.
      let strict: { columns: string[]; statement: SqliteStatement } | undefined;
      let lenient: { columns: string[]; statement: SqliteStatement } | undefined;
      for (const { row, ifAbsent } of pending.values()) {
        const columns = Object.keys(row);
        let cached = ifAbsent ? lenient : strict;
        if (!cached || !sameColumns(cached.columns, columns)) {
          cached = { columns, statement: statements.prepare(insertSql(table, columns, ifAbsent)) };
          if (ifAbsent) lenient = cached;
          else strict = cached;
        }
        // Object.values lists the values in Object.keys order, without a
        // keyed (megamorphic) property load per column.
        cached.statement.run(sqliteValues(Object.values(row)));
      }
      pending.clear();
    }
    for (const table of VIEW_TABLE_ORDER) {
      const pending = this.updates.get(table);
      if (!pending) continue;
      for (const { key, set } of pending.values()) {
        const setColumns = Object.keys(set);
        const keyColumns = Object.keys(key);
        const values = sqliteValues([...Object.values(set), ...Object.values(key)]);
        const { changes } = statements.prepare(updateSql(table, setColumns, keyColumns)).run(values);
        if (changes !== 1) throw new RegistryError('EVENT_LOG_CORRUPT', `replayed update of ${table} ${JSON.stringify(key)} matched ${changes} rows`);
      }
      pending.clear();
    }
  }

  /** PostgreSQL: multi-row inserts of up to {@link ROWS_PER_STATEMENT} rows, one round trip each. */
  private async flushMultiRow(): Promise<void> {
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
  }
}

/** `values` converted in place with {@link sqliteValue}. */
function sqliteValues(values: Array<ViewRow[string] | undefined>): SqliteBindable[] {
  const bindable = values as unknown as SqliteBindable[];
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (typeof value === 'boolean' || value === undefined) bindable[i] = sqliteValue(value);
  }
  return bindable;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** `INSERT` of one row with `columns` (each column given, as knex's single-row insert does); `ifAbsent`: ignoring a primary-key conflict. */
function insertSql(table: ViewTable, columns: readonly string[], ifAbsent: boolean): string {
  const sql = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  return ifAbsent ? `${sql} ON CONFLICT (${VIEW_TABLES[table].map(quote).join(', ')}) DO NOTHING` : sql;
}

/** `UPDATE` of `setColumns` on the row whose `keyColumns` equal the bound values. */
function updateSql(table: ViewTable, setColumns: readonly string[], keyColumns: readonly string[]): string {
  return `UPDATE ${quote(table)} SET ${setColumns.map((column) => `${quote(column)} = ?`).join(', ')} WHERE ${keyColumns.map((column) => `${quote(column)} = ?`).join(' AND ')}`;
}

/**
 * `INSERT` of one row that, on a primary-key conflict, sets every other
 * given column to the new value (knex's `onConflict(key).merge()`).
 */
function upsertSql(table: ViewTable, columns: readonly string[]): string {
  const key: readonly string[] = VIEW_TABLES[table];
  const insert = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${key.map(quote).join(', ')})`;
  const others = columns.filter((column) => !key.includes(column));
  return others.length === 0 ? `${insert} DO NOTHING` : `${insert} DO UPDATE SET ${others.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(', ')}`;
}

function mapFor<V>(maps: Map<ViewTable, Map<string, V>>, table: ViewTable): Map<string, V> {
  let map = maps.get(table);
  if (!map) {
    map = new Map();
    maps.set(table, map);
  }
  return map;
}
