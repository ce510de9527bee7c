/**
 * @module views/replay
 * Rebuilds every view table from the event log, atomically: one transaction
 * clears the views and re-applies every event through the same projectors
 * the live path uses. Appends wait while it runs (it holds the sequence
 * counter), so the rebuilt views match the log exactly when it commits.
 *
 * On SQLite the rebuild runs without foreign key enforcement and checks
 * every foreign key of the rebuilt views once, before COMMIT (ADR 0028).
 */
import { rowsOf, sqliteStatementsOf, withTransaction, type Database, type Transaction } from '../db/index.js';
import { blake3 } from '../identity/index.js';
import { RegistryError } from '../errors/index.js';
import { assertEventType, type StoredEvent, type SubjectKind } from '../events/index.js';
import { project } from './projectors.js';
import { BatchSqlApplier } from './sql-appliers.js';
import { VIEW_TABLE_ORDER, type ViewApplier } from './view-changes.js';

/** Progress of a replay or a verification pass. */
export interface ReplayProgress {
  readonly applied: number;
  readonly total: number;
}

/** Outcome of {@link replayViews}. */
export interface ReplayResult {
  readonly events: number;
  readonly lastSequence: number;
  readonly seconds: number;
}

const PAGE = 5_000;

/**
 * Clears the views and rebuilds them from the whole log, in one transaction.
 * @throws RegistryError `EVENT_LOG_CORRUPT` when the log has a hole, a
 * payload that does not match its digest or does not decode, or rebuilds
 * views that violate a constraint (duplicate key, missing parent row); the
 * transaction is then rolled back and the views are as before.
 */
export async function replayViews(db: Database, options: { onProgress?: (progress: ReplayProgress) => void } = {}): Promise<ReplayResult> {
  const started = process.hrtime.bigint();
  if (db.client !== 'sqlite') return withTransaction(db, (trx) => rebuild(trx, false, started, options.onProgress));
  // The rebuild rewrites every view page and index in one transaction: with
  // SQLite's default 2 MiB page cache it would spill and re-read pages
  // constantly. The larger cache is a per-connection setting (not
  // durability), restored afterwards.
  const [previous] = rowsOf<{ cache_size: number }>(await db.knex.raw('PRAGMA cache_size'));
  await db.knex.raw(`PRAGMA cache_size = -${REPLAY_CACHE_KIB}`);
  try {
    // Without enforcement, clearing a table is SQLite's truncate (not a
    // per-row delete with child lookups), and no insert probes its parent.
    // checkForeignKeys makes up for it before COMMIT.
    return await withTransaction(db, (trx) => rebuild(trx, true, started, options.onProgress), { sqlite: { foreignKeys: false } });
  } finally {
    await db.knex.raw(`PRAGMA cache_size = ${Number(previous?.cache_size ?? -2000)}`);
  }
}

/** Page cache of the connection during a SQLite replay, in KiB. */
export const REPLAY_CACHE_KIB = 131_072;

async function rebuild(trx: Transaction, sqlite: boolean, started: bigint, onProgress: ((progress: ReplayProgress) => void) | undefined): Promise<ReplayResult> {
  try {
    for (const table of [...VIEW_TABLE_ORDER].reverse()) await trx(table).delete();
    const applier = new BatchSqlApplier(trx);
    const { events, lastSequence } = await forEachEvent(trx, async (event) => applier.apply(project(event)), onProgress);
    await applier.flush();
    if (sqlite) await checkForeignKeys(trx);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { events, lastSequence, seconds };
  } catch (error) {
    // The transaction rolls back either way; the caller learns why in the log's terms.
    throw asLogCorrupt(error);
  }
}

/**
 * SQLite, foreign keys off: refuses rebuilt views in which a row references
 * a missing parent, as enforcement would have. Checks the view tables and
 * any other table that references one (clearing a view table did not check
 * its children either).
 */
async function checkForeignKeys(trx: Transaction): Promise<void> {
  const views = new Set<string>(VIEW_TABLE_ORDER);
  const references = rowsOf<{ child: string; parent: string }>(
    await trx.raw(`SELECT m.name AS child, f."table" AS parent FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`),
  );
  const tables = new Set(references.filter(({ child, parent }) => views.has(child) || views.has(parent)).map(({ child }) => child));
  for (const table of tables) {
    const [violation] = rowsOf<{ table: string; rowid: number | null; parent: string }>(await trx.raw('PRAGMA foreign_key_check(??)', [table]));
    if (violation) {
      throw new RegistryError('EVENT_LOG_CORRUPT', `replay leaves a row of ${violation.table} (rowid ${String(violation.rowid)}) without its parent row in ${violation.parent}`);
    }
  }
}

/** A constraint the rebuilt views violate (SQLite `SQLITE_CONSTRAINT_*`, PostgreSQL class 23) means the log is corrupt. */
function asLogCorrupt(error: unknown): unknown {
  if (error instanceof RegistryError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || /^23[0-9A-Z]{3}$/.test(code))) {
    return new RegistryError('EVENT_LOG_CORRUPT', `replaying the log violates a constraint of the views: ${(error as Error).message}`, undefined, { cause: error });
  }
  return error;
}

/** Replays the whole log into `applier` (used by verify with an in-memory applier). */
export async function replayInto(reader: Database['knex'] | Transaction, applier: ViewApplier, onProgress?: (progress: ReplayProgress) => void): Promise<{ events: number; lastSequence: number }> {
  return forEachEvent(reader, async (event) => applier.apply(project(event)), onProgress);
}

/** The columns of an event row, in the order {@link forEachEvent} reads them. */
const EVENT_COLUMNS = 'sequence, created_at, event_type, subject_kind, subject_id, actor, payload, payload_digest';
type EventTuple = [sequence: number, createdAt: string, type: string, subjectKind: string, subjectId: string, actor: string, payload: Buffer, payloadDigest: Buffer];

/**
 * Visits every event in sequence order, checking on the way that the
 * sequence is 1..N without a hole and that each payload matches its digest.
 * @throws RegistryError `EVENT_LOG_CORRUPT` at the first violation.
 */
export async function forEachEvent(
  reader: Database['knex'] | Transaction,
  visit: (event: StoredEvent) => Promise<void>,
  onProgress?: (progress: ReplayProgress) => void,
): Promise<{ events: number; lastSequence: number }> {
  const totalRow = await reader('events').count({ n: '*' }).first();
  const total = Number(totalRow?.n ?? 0);
  const page = await pageReader(reader);
  let cursor = 0;
  let events = 0;
  for (;;) {
    const rows = await page(cursor);
    if (rows.length === 0) break;
    for (const row of rows) {
      const sequence = Number(row[0]);
      if (sequence !== cursor + 1) throw new RegistryError('EVENT_LOG_CORRUPT', `sequence hole: expected ${cursor + 1}, found ${sequence}`);
      // Views of the driver's buffers, not copies: nothing keeps or mutates them.
      const payload = bytesOf(row[6]);
      const payloadDigest = bytesOf(row[7]);
      if (Buffer.compare(blake3(payload), payloadDigest) !== 0) {
        throw new RegistryError('EVENT_LOG_CORRUPT', `payload_digest of event ${sequence} does not match its payload`);
      }
      await visit({
        sequence,
        createdAt: row[1],
        type: assertEventType(row[2]),
        subjectKind: row[3] as SubjectKind,
        subjectId: row[4],
        actor: row[5],
        payload,
        payloadDigest,
      });
      cursor = sequence;
      events += 1;
    }
    onProgress?.({ applied: events, total });
  }
  return { events, lastSequence: cursor };
}

/**
 * How {@link forEachEvent} reads the page after `cursor`. In a SQLite
 * transaction: one cached statement returning arrays, on the transaction's
 * connection (knex compiles and wraps every page otherwise, ADR 0023); a
 * page at a time, since better-sqlite3 runs nothing else on a connection
 * while a statement iterates. Elsewhere: knex.
 */
async function pageReader(reader: Database['knex'] | Transaction): Promise<(cursor: number) => Promise<EventTuple[]>> {
  const sqlite = (reader.client as { driverName?: string }).driverName === 'better-sqlite3';
  if (sqlite && (reader as Partial<Transaction>).isTransaction === true) {
    const statements = await sqliteStatementsOf(reader as Transaction);
    const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE sequence > ? ORDER BY sequence LIMIT ${PAGE}`;
    return async (cursor) => {
      // raw() sticks to the statement: set it on every use, the cache is shared.
      const statement = statements.prepare(sql).raw(true);
      try {
        return statement.all([cursor]) as EventTuple[];
      } finally {
        statement.raw(false);
      }
    };
  }
  return async (cursor) => {
    const rows: Array<Record<string, unknown>> = await reader('events').select(reader.raw(EVENT_COLUMNS)).where('sequence', '>', cursor).orderBy('sequence', 'asc').limit(PAGE);
    return rows.map((row) => [row.sequence, row.created_at, row.event_type, row.subject_kind, row.subject_id, row.actor, row.payload, row.payload_digest] as EventTuple);
  };
}

/** A plain Uint8Array over the bytes of `buffer` (no copy). */
function bytesOf(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
