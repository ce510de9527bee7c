/**
 * @module sinks/cursor-store
 * The `sink_cursors` table: per sink, the last delivered sequence and a
 * lease naming the one process allowed to deliver it. Every write is a
 * single conditional UPDATE, atomic on both dialects without a transaction
 * (and without the event-sequence lock writers take): a lease is taken only
 * when free, expired or already ours, and a cursor moves only forward and
 * only for the lease holder. Operational state, never an event (ADR 0019).
 */
import { rowsOf, type Database } from '../db/index.js';
import type { SinkType } from './config.js';

/** A sink's cursor row as operators see it. */
export interface SinkCursor {
  readonly name: string;
  readonly type: string;
  /** Every event with a sequence up to this one was delivered (or filtered out). */
  readonly deliveredSequence: number;
  readonly leasedBy: string | null;
  readonly leaseExpiresAt: string | null;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly lastDeliveredAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface CursorRow {
  name: string;
  type: string;
  delivered_sequence: number | string;
  leased_by: string | null;
  lease_expires_at: string | null;
  consecutive_failures: number | string;
  last_error: string | null;
  last_error_at: string | null;
  last_delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Longest stored error message; the rest is cut. */
const MAX_ERROR_LENGTH = 2000;

/** Reads and conditionally writes sink cursors. `now` is injectable for tests. */
export class CursorStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates the cursor row at `initial` unless it exists; returns the row. */
  async ensure(name: string, type: SinkType, initial: () => Promise<number>): Promise<SinkCursor> {
    const existing = await this.get(name);
    if (existing) return existing;
    const at = this.now().toISOString();
    await this.db
      .knex('sink_cursors')
      .insert({ name, type, delivered_sequence: await initial(), consecutive_failures: 0, created_at: at, updated_at: at })
      .onConflict('name')
      .ignore();
    return (await this.get(name)) as SinkCursor;
  }

  /** The cursor of `name`, if it has one. */
  async get(name: string): Promise<SinkCursor | undefined> {
    const row = await this.db.knex<CursorRow>('sink_cursors').where({ name }).first();
    return row ? toCursor(row) : undefined;
  }

  /** Every cursor row, by name. */
  async list(): Promise<SinkCursor[]> {
    return (await this.db.knex<CursorRow>('sink_cursors').orderBy('name')).map(toCursor);
  }

  /**
   * Takes or renews the lease of `name` for `owner` until now + `ttlMs`, if
   * it is free, expired or `owner`'s already. Returns the delivered sequence
   * as of the take (another holder may have moved it), or undefined when
   * someone else holds a live lease.
   */
  async acquire(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const now = this.now();
    const rows = rowsOf<{ delivered_sequence: number | string }>(
      await this.db.knex.raw(
        `UPDATE sink_cursors SET leased_by = ?, lease_expires_at = ?, updated_at = ?
         WHERE name = ? AND (leased_by IS NULL OR leased_by = ? OR lease_expires_at IS NULL OR lease_expires_at < ?)
         RETURNING delivered_sequence`,
        [owner, new Date(now.getTime() + ttlMs).toISOString(), now.toISOString(), name, owner, now.toISOString()],
      ),
    );
    return rows.length === 1 ? Number(rows[0]!.delivered_sequence) : undefined;
  }

  /**
   * Moves the cursor of `name` forward to `sequence` and renews the lease,
   * only while `owner` holds it and the cursor is not past `sequence`.
   * Returns false when the lease was lost (stop delivering).
   */
  async advance(name: string, owner: string, sequence: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const updated = await this.db
      .knex('sink_cursors')
      .where({ name, leased_by: owner })
      .where('delivered_sequence', '<=', sequence)
      .update({
        delivered_sequence: sequence,
        lease_expires_at: new Date(now.getTime() + ttlMs).toISOString(),
        consecutive_failures: 0,
        last_delivered_at: now.toISOString(),
        updated_at: now.toISOString(),
      });
    return updated === 1;
  }

  /** Records a failed delivery attempt while `owner` holds the lease; false when it does not. */
  async recordFailure(name: string, owner: string, error: string): Promise<boolean> {
    const now = this.now().toISOString();
    const updated = await this.db
      .knex('sink_cursors')
      .where({ name, leased_by: owner })
      .update({
        consecutive_failures: this.db.knex.raw('consecutive_failures + 1'),
        last_error: error.slice(0, MAX_ERROR_LENGTH),
        last_error_at: now,
        updated_at: now,
      });
    return updated === 1;
  }

  /** Gives the lease up (clean shutdown), so another process takes over at once. */
  async release(name: string, owner: string): Promise<void> {
    await this.db
      .knex('sink_cursors')
      .where({ name, leased_by: owner })
      .update({ leased_by: null, lease_expires_at: null, updated_at: this.now().toISOString() });
  }
}

function toCursor(row: CursorRow): SinkCursor {
  return {
    name: row.name,
    type: row.type,
    deliveredSequence: Number(row.delivered_sequence),
    leasedBy: row.leased_by,
    leaseExpiresAt: row.lease_expires_at,
    consecutiveFailures: Number(row.consecutive_failures),
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    lastDeliveredAt: row.last_delivered_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
