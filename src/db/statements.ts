/**
 * @module db/statements
 * Prepared statements for the few hot paths (the event append, the sequence
 * lock, replay's view inserts), run on the driver connection a knex
 * transaction holds, without knex in between.
 *
 * knex compiles every query anew and its better-sqlite3 dialect prepares
 * every statement anew (no statement cache), which costs more than SQLite
 * spends executing a one-row insert. Here:
 * - SQLite: statements are prepared once per connection (a better-sqlite3
 *   `Database`) and cached with it, and run synchronously;
 * - PostgreSQL: statements are named (`{ name, text, values }`), so pg parses
 *   and plans them once per connection, and each costs one round trip.
 *
 * Only code that already holds a transaction uses these: the statements run
 * on that transaction's connection, inside it, so atomicity, the sequence
 * lock and commit order are exactly those of the transaction (ADR 0023).
 * They bypass knex's query events, so `db_query_duration_seconds` does not
 * see them.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Knex } from 'knex';

type Transaction = Knex.Transaction;

/** A cached SQLite statement. */
export type SqliteStatement = BetterSqlite3.Statement<unknown[], unknown>;

/** The statements of one SQLite connection, prepared on first use. */
export interface SqliteStatements {
  /** The connection's statement for `sql`, prepared once. */
  prepare(sql: string): SqliteStatement;
}

/** A value SQLite can bind: what knex's better-sqlite3 dialect would pass for the same value. */
export type SqliteBindable = string | number | bigint | Buffer | null;

const sqliteCaches = new WeakMap<BetterSqlite3.Database, SqliteStatements>();

/**
 * Statements kept per connection. Hot paths use a handful of fixed texts;
 * the bound only matters for knex's own queries (multi-row inserts, IN
 * lists), whose texts vary. A statement evicted is finalized by the GC.
 */
const STATEMENTS_PER_CONNECTION = 512;

/**
 * The driver connection `trx` runs on: a better-sqlite3 `Database` on
 * SQLite, a `pg.Client` on PostgreSQL.
 * @throws Error when the transaction has already completed (as knex would).
 */
export async function connectionOf(trx: Transaction): Promise<unknown> {
  if (trx.isCompleted()) throw new Error('Transaction query already complete, run with DEBUG=knex:tx for more info');
  const client = trx.client as { acquireConnection(): Promise<unknown> };
  return client.acquireConnection();
}

/** The statement cache of the SQLite connection `trx` runs on. */
export async function sqliteStatementsOf(trx: Transaction): Promise<SqliteStatements> {
  return sqliteStatementsFor((await connectionOf(trx)) as BetterSqlite3.Database);
}

/** The statement cache of one better-sqlite3 connection (least recently used statements evicted beyond the bound). */
export function sqliteStatementsFor(connection: BetterSqlite3.Database): SqliteStatements {
  let cache = sqliteCaches.get(connection);
  if (!cache) {
    // Map iteration order is insertion order: the first key is the least recently used.
    const statements = new Map<string, SqliteStatement>();
    cache = {
      prepare(sql) {
        let statement = statements.get(sql);
        if (statement) {
          statements.delete(sql);
        } else {
          statement = connection.prepare(sql);
          if (statements.size >= STATEMENTS_PER_CONNECTION) statements.delete(statements.keys().next().value as string);
        }
        statements.set(sql, statement);
        return statement;
      },
    };
    sqliteCaches.set(connection, cache);
  }
  return cache;
}

/** What knex's better-sqlite3 client passes to `_query` (the fields used here). */
interface KnexQueryObject {
  sql?: string;
  bindings?: unknown[];
  options?: unknown;
  response?: unknown;
  context?: { lastID: number | bigint; changes: number };
}

/** The part of knex 3's better-sqlite3 client (`Client_BetterSQLite3`) that {@link CachingSqliteClient} builds on. */
interface KnexSqliteClient {
  _query(connection: BetterSqlite3.Database, obj: KnexQueryObject): Promise<KnexQueryObject>;
  _formatBindings(bindings: unknown[] | undefined): unknown[];
  _optSafeIntegers(options: unknown): boolean | undefined;
  /** knex clients are EventEmitters (query events). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

const requireCjs = createRequire(import.meta.url);
// knex (pinned exactly) has no exports map; its dialect classes are plain CommonJS.
const KnexBetterSqlite3Client = requireCjs('knex/lib/dialects/better-sqlite3/index.js') as new (config: unknown) => KnexSqliteClient;

/**
 * knex's better-sqlite3 client, with every query run through the
 * connection's statement cache instead of being prepared anew: the same
 * method as knex 3.3's own `_query`, with `prepare` cached. Queries that ask
 * for `safeIntegers` get a fresh statement, since that setting sticks to the
 * statement. A subclass (not a patched instance) because knex builds each
 * transaction's client from the client's prototype.
 */
export class CachingSqliteClient extends KnexBetterSqlite3Client {
  override async _query(connection: BetterSqlite3.Database, obj: KnexQueryObject): Promise<KnexQueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    if (!connection) throw new Error('No connection provided');
    const safeIntegers = this._optSafeIntegers(obj.options);
    const statement = safeIntegers === undefined
      ? sqliteStatementsFor(connection).prepare(obj.sql)
      : connection.prepare(obj.sql).safeIntegers(safeIntegers);
    const bindings = this._formatBindings(obj.bindings);
    if (statement.reader) {
      obj.response = statement.all(bindings);
      return obj;
    }
    const response = statement.run(bindings);
    obj.response = response;
    obj.context = { lastID: response.lastInsertRowid, changes: response.changes };
    return obj;
  }
}

/** A named PostgreSQL statement: parsed and planned once per connection. */
export interface NamedStatement {
  readonly name: string;
  readonly text: string;
}

/** Runs the named statement `statement` with `values` on the PostgreSQL connection `trx` runs on; returns its rows. */
export async function pgQueryIn<T>(trx: Transaction, statement: NamedStatement, values: unknown[]): Promise<T[]> {
  const connection = (await connectionOf(trx)) as pg.Client;
  const result = await connection.query({ name: statement.name, text: statement.text, values });
  return result.rows as T[];
}

/**
 * A view value as SQLite binds it: booleans as 0/1, as knex's better-sqlite3
 * dialect does, so rows written here equal rows written through knex.
 */
export function sqliteValue(value: string | number | boolean | null | undefined): SqliteBindable {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** What {@link PinnedSqliteClient} needs of the knex it serves. */
interface PinnedKnex {
  client: PinnedSqliteClient;
  isTransaction?: boolean;
  isCompleted?: () => boolean;
}

/**
 * A knex client without a pool of its own, whose every query runs on the
 * connection {@link SqliteTransactions.run} has pinned for the transaction
 * in progress. Built once per database: knex's own `transaction()` builds a
 * new client and a new knex object (dozens of closures) for every
 * transaction, which cost ~130 µs per transaction — more than the append
 * it wraps (docs/adr/0026).
 */
class PinnedSqliteClient extends CachingSqliteClient {
  /** The connection of the transaction in progress, if one is. */
  pinned: BetterSqlite3.Database | undefined;
  /** Marks this client's queries as running inside a transaction (knex reads it for nested transactions and DDL). */
  readonly transacting = true;

  async acquireConnection(): Promise<BetterSqlite3.Database> {
    if (this.pinned === undefined) throw new Error('Transaction query already complete, run with DEBUG=knex:tx for more info');
    return this.pinned;
  }

  async releaseConnection(): Promise<void> {
    // The connection belongs to the database's pool; SqliteTransactions.run returns it.
  }
}

/**
 * Write transactions on SQLite without knex's per-transaction set-up: one
 * knex bound to a pinned client is built once and handed to every
 * transaction, the pool's one connection is pinned for the transaction's
 * length, and BEGIN IMMEDIATE / COMMIT / ROLLBACK run synchronously on it.
 * The transaction object is a knex (queries, raw, schema) that also answers
 * `isCompleted()`; it must not be kept after the transaction ends (queries
 * then fail, as they do on a knex transaction).
 */
export class SqliteTransactions {
  private readonly client: PinnedSqliteClient;
  private readonly trx: Transaction;

  constructor(private readonly root: Knex, knexFactory: (config: Knex.Config) => Knex) {
    const trx = knexFactory({ client: PinnedSqliteClient as unknown as Knex.Config['client'], useNullAsDefault: true }) as unknown as PinnedKnex;
    this.client = trx.client;
    trx.isTransaction = true;
    trx.isCompleted = () => this.client.pinned === undefined;
    // Query events reach the root knex, as a knex transaction's do: metrics listen there.
    for (const event of ['start', 'query', 'query-error', 'query-response'] as const) {
      this.client.on(event, (...args: unknown[]) => (root.client as { emit(event: string, ...args: unknown[]): void }).emit(event, ...args));
    }
    this.trx = trx as unknown as Transaction;
  }

  /**
   * Runs `work` in one IMMEDIATE transaction (the database write lock taken
   * at BEGIN, waiting up to busy_timeout for another process): commits when
   * it resolves, rolls back when it throws.
   *
   * `options.foreignKeys: false` runs the transaction with SQLite's foreign
   * key enforcement off (docs/adr/0028). `PRAGMA foreign_keys` is a no-op
   * inside a transaction, so it is switched on the connection before BEGIN
   * and back after COMMIT or ROLLBACK, however the work ends. The caller
   * takes over the checking (`PRAGMA foreign_key_check` before it returns).
   */
  async run<T>(work: (trx: Transaction) => Promise<T>, options: SqliteTransactionOptions = {}): Promise<T> {
    const pool = this.root.client as { acquireConnection(): Promise<BetterSqlite3.Database>; releaseConnection(connection: BetterSqlite3.Database): Promise<unknown> };
    const connection = await pool.acquireConnection();
    try {
      const foreignKeysOff = options.foreignKeys === false && foreignKeysEnabled(connection);
      if (foreignKeysOff) connection.pragma('foreign_keys = OFF');
      try {
        const statements = sqliteStatementsFor(connection);
        statements.prepare('BEGIN IMMEDIATE').run();
        this.client.pinned = connection;
        let result: T;
        try {
          result = await work(this.trx);
          this.client.pinned = undefined;
          statements.prepare('COMMIT').run();
        } catch (error) {
          this.client.pinned = undefined;
          // SQLite may have rolled back on its own (e.g. a full disk): only roll back what is still open.
          if (connection.inTransaction) statements.prepare('ROLLBACK').run();
          throw error;
        }
        return result;
      } finally {
        // Every other transaction relies on enforcement: the connection must not go back to the pool without it.
        if (foreignKeysOff) restoreForeignKeys(connection);
      }
    } finally {
      await pool.releaseConnection(connection);
    }
  }
}

/** Options of {@link SqliteTransactions.run}. */
export interface SqliteTransactionOptions {
  /** `false`: run without foreign key enforcement (the caller checks them before it returns). Default: the connection's setting (on). */
  readonly foreignKeys?: boolean;
}

function foreignKeysEnabled(connection: BetterSqlite3.Database): boolean {
  return Number(connection.pragma('foreign_keys', { simple: true })) === 1;
}

/**
 * Turns enforcement back on after a transaction that ran without it. The
 * pragma only takes outside a transaction; `run` has committed or rolled
 * back by now, unless ROLLBACK itself failed, so that is retried first. If
 * enforcement still does not come back, the connection is closed: every
 * later query on it then fails loudly instead of running without foreign
 * keys.
 */
function restoreForeignKeys(connection: BetterSqlite3.Database): void {
  let failure: unknown;
  try {
    if (connection.inTransaction) connection.prepare('ROLLBACK').run();
    connection.pragma('foreign_keys = ON');
    if (foreignKeysEnabled(connection)) return;
  } catch (error) {
    failure = error;
  }
  connection.close();
  throw new Error('could not turn SQLite foreign keys back on after a transaction that ran without them; the connection was closed', { cause: failure });
}
