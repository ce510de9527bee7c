/**
 * @module views/replay
 * Rebuilds every view table from the event log, atomically: one transaction
 * clears the views and re-applies every event through the same projectors
 * the live path uses. Appends wait while it runs (it holds the sequence
 * counter), so the rebuilt views match the log exactly when it commits.
 */
import { rowsOf, withTransaction, type Database, type Transaction } from '../db/index.js';
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

/** Clears the views and rebuilds them from the whole log. */
export async function replayViews(db: Database, options: { onProgress?: (progress: ReplayProgress) => void } = {}): Promise<ReplayResult> {
  const started = process.hrtime.bigint();
  if (db.client !== 'sqlite') return rebuild(db, started, options.onProgress);
  // The rebuild rewrites every view page and index in one transaction: with
  // SQLite's default 2 MiB page cache it would spill and re-read pages
  // constantly. The larger cache is a per-connection setting (not
  // durability), restored afterwards.
  const [previous] = rowsOf<{ cache_size: number }>(await db.knex.raw('PRAGMA cache_size'));
  await db.knex.raw(`PRAGMA cache_size = -${REPLAY_CACHE_KIB}`);
  try {
    return await rebuild(db, started, options.onProgress);
  } finally {
    await db.knex.raw(`PRAGMA cache_size = ${Number(previous?.cache_size ?? -2000)}`);
  }
}

/** Page cache of the connection during a SQLite replay, in KiB. */
const REPLAY_CACHE_KIB = 131_072;

async function rebuild(db: Database, started: bigint, onProgress: ((progress: ReplayProgress) => void) | undefined): Promise<ReplayResult> {
  return withTransaction(db, async (trx) => {
    for (const table of [...VIEW_TABLE_ORDER].reverse()) await trx(table).delete();
    const applier = new BatchSqlApplier(trx);
    const { events, lastSequence } = await forEachEvent(trx, async (event) => applier.apply(project(event)), onProgress);
    await applier.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { events, lastSequence, seconds };
  });
}

/** Replays the whole log into `applier` (used by verify with an in-memory applier). */
export async function replayInto(reader: Database['knex'] | Transaction, applier: ViewApplier, onProgress?: (progress: ReplayProgress) => void): Promise<{ events: number; lastSequence: number }> {
  return forEachEvent(reader, async (event) => applier.apply(project(event)), onProgress);
}

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
  let cursor = 0;
  let events = 0;
  for (;;) {
    const rows = await reader('events').where('sequence', '>', cursor).orderBy('sequence', 'asc').limit(PAGE);
    if (rows.length === 0) break;
    for (const row of rows) {
      const sequence = Number(row.sequence);
      if (sequence !== cursor + 1) throw new RegistryError('EVENT_LOG_CORRUPT', `sequence hole: expected ${cursor + 1}, found ${sequence}`);
      const payload = new Uint8Array(row.payload as Buffer);
      const payloadDigest = new Uint8Array(row.payload_digest as Buffer);
      if (!Buffer.from(blake3(payload)).equals(Buffer.from(payloadDigest))) {
        throw new RegistryError('EVENT_LOG_CORRUPT', `payload_digest of event ${sequence} does not match its payload`);
      }
      await visit({
        sequence,
        createdAt: row.created_at as string,
        type: assertEventType(row.event_type as string),
        subjectKind: row.subject_kind as SubjectKind,
        subjectId: row.subject_id as string,
        actor: row.actor as string,
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
