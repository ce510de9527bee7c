/**
 * @module db/database
 * The knex factory for SQLite and PostgreSQL, the transaction helper every
 * write goes through, and the few dialect differences the rest of the code
 * must not see.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import type { DatabaseSettings } from '../config.js';
import { CachingSqliteClient, SqliteTransactions, type SqliteTransactionOptions } from './statements.js';
import { GroupCommitter } from './group-commit.js';

/** A connected database: knex plus what it is. */
export interface Database {
  readonly knex: Knex;
  readonly client: DatabaseSettings['client'];
  readonly settings: DatabaseSettings;
  /** PostgreSQL schema in use (tests isolate themselves in their own), if any. */
  readonly schema: string | undefined;
  close(): Promise<void>;
}

/** A transaction handed to use cases and projectors. */
export type Transaction = Knex.Transaction;

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** PostgreSQL only: use (and create) this schema instead of `public`. */
  schema?: string;
  /** Pool size for PostgreSQL (default 10). */
  poolMax?: number;
}

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Opens the database named by `settings`; it is not migrated yet. */
export async function openDatabase(settings: DatabaseSettings, options: OpenOptions = {}): Promise<Database> {
  if (settings.client === 'sqlite') {
    if (settings.connection !== ':memory:') mkdirSync(path.dirname(settings.connection), { recursive: true });
    const knex = knexFactory({
      // knex's better-sqlite3 client with a statement cache (src/db/statements.ts).
      client: CachingSqliteClient as unknown as Knex.Config['client'],
      connection: { filename: settings.connection },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (connection: { pragma(sql: string): unknown }, done: (error: Error | null, connection: unknown) => void) => {
          try {
            // WAL lets readers run beside the single writer; NORMAL keeps WAL
            // durable across process crashes (not power loss) at a fraction of
            // FULL's fsync cost; busy_timeout makes a second process wait for
            // the write lock instead of failing.
            connection.pragma('journal_mode = WAL');
            connection.pragma('synchronous = NORMAL');
            connection.pragma('busy_timeout = 15000');
            connection.pragma('foreign_keys = ON');
            // LIKE must match case as PostgreSQL's does: name filters enforce grants.
            connection.pragma('case_sensitive_like = ON');
            done(null, connection);
          } catch (error) {
            done(error as Error, connection);
          }
        },
      },
    });
    return { knex, client: 'sqlite', settings, schema: undefined, close: () => knex.destroy() };
  }
  // Loaded here, not at the top: a process on SQLite never needs the driver (ADR 0025).
  const { default: pg } = await import('pg');
  // int8 (bigint) arrives from pg as a string by default; sequences and sizes
  // stay far below 2^53, so numbers keep both dialects' rows identical.
  pg.types.setTypeParser(20, (value: string) => Number(value));
  const schema = options.schema;
  const knex = knexFactory({
    client: 'pg',
    connection: settings.connection,
    pool: { min: 0, max: options.poolMax ?? 10 },
    ...(schema ? { searchPath: [schema] } : {}),
  });
  if (schema) await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  return { knex, client: 'postgres', settings, schema, close: () => knex.destroy() };
}

/** Applies every pending migration; returns the names applied. */
export async function migrateDatabase(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest(migrationConfig(db))) as [number, string[]];
  return applied;
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const [, pending] = (await db.knex.migrate.list(migrationConfig(db))) as [unknown, Array<{ file: string }>];
  return pending.map((entry) => entry.file);
}

function migrationConfig(db: Database): Knex.MigratorConfig {
  return {
    directory: MIGRATIONS_DIR,
    loadExtensions: ['.mjs'],
    tableName: 'knex_migrations',
    ...(db.schema ? { schemaName: db.schema } : {}),
  };
}

/**
 * Runs `work` in one write transaction that holds the event sequence lock
 * from its start, so write transactions run one at a time and see each
 * other's commits: a use case's reads and the events it records are atomic
 * (no check-then-act race), and on SQLite a second process waits on
 * busy_timeout instead of failing with SQLITE_BUSY on a stale snapshot.
 * Appends serialise on that lock anyway (docs/adr/0009), so taking it early
 * costs only the length of the reads. Callbacks registered with
 * `afterCommit` run once the transaction has committed; the promise settles
 * after the commit. On PostgreSQL the transactions queued meanwhile in this
 * process commit together, each in a savepoint of its own (docs/adr/0027).
 */
export async function withTransaction<T>(
  db: Database,
  work: (trx: Transaction, afterCommit: (callback: () => void) => void) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (db.client === 'postgres') return groupCommitterOf(db).run(work);
  const callbacks: Array<() => void> = [];
  // BEGIN IMMEDIATE takes the database write lock at once: the lock the counter row stands for.
  const result = await sqliteTransactionsOf(db).run((trx) => work(trx, (callback) => callbacks.push(callback)), options.sqlite);
  for (const callback of callbacks) callback();
  return result;
}

/** Options of {@link withTransaction}. */
export interface TransactionOptions {
  /** SQLite only (ignored on PostgreSQL): see {@link SqliteTransactionOptions} (replay runs without foreign key enforcement, docs/adr/0028). */
  readonly sqlite?: SqliteTransactionOptions;
}

const groupCommitters = new WeakMap<Knex, GroupCommitter>();

/** The group committer of a PostgreSQL database, built on first use. */
function groupCommitterOf(db: Database): GroupCommitter {
  let committer = groupCommitters.get(db.knex);
  if (!committer) {
    committer = new GroupCommitter(db.knex);
    groupCommitters.set(db.knex, committer);
  }
  return committer;
}

const sqliteTransactions = new WeakMap<Knex, SqliteTransactions>();

/** The write-transaction runner of a SQLite database, built on first use (docs/adr/0026). */
function sqliteTransactionsOf(db: Database): SqliteTransactions {
  let transactions = sqliteTransactions.get(db.knex);
  if (!transactions) {
    transactions = new SqliteTransactions(db.knex, knexFactory);
    sqliteTransactions.set(db.knex, transactions);
  }
  return transactions;
}

/** Rows of a raw query, whatever the dialect returns. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
