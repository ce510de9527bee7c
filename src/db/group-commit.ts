/**
 * @module db/group-commit
 * PostgreSQL write transactions of one process, committed in groups.
 *
 * Every write transaction holds the event sequence lock until it commits
 * (ADR 0009), so on PostgreSQL each one pays a WAL flush while every other
 * writer waits. Here the write transactions that queue up while one group
 * is running become the next group: one database transaction, the lock
 * taken once, each unit of work inside a SAVEPOINT of its own (a unit that
 * throws is rolled back to it, alone), one COMMIT — one flush — for the
 * group. Units run one after another, in arrival order, each seeing the
 * writes of those before it, exactly as if they had committed one by one;
 * gaplessness and commit order hold because a rolled-back unit takes its
 * sequence numbers with it and the group commits atomically (ADR 0027).
 *
 * A unit's promise settles only after its group's COMMIT: resolved with its
 * result, or rejected with its own error or with the COMMIT's.
 */
import type { Knex } from 'knex';
import { pgQueryIn, type NamedStatement } from './statements.js';

type Transaction = Knex.Transaction;

/** A write transaction's work: its queries run on `trx`; `afterCommit` callbacks run once it is durable. */
export type TransactionWork<T> = (trx: Transaction, afterCommit: (callback: () => void) => void) => Promise<T>;

interface Unit {
  readonly work: TransactionWork<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly callbacks: Array<() => void>;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/**
 * Units per group. PostgreSQL keeps the first 64 subtransactions of a
 * transaction in shared memory; beyond that every snapshot gets slower.
 */
const MAX_UNITS_PER_GROUP = 32;

/** The sequence lock (docs/adr/0009), taken once per group. */
const LOCK_SEQUENCE: NamedStatement = { name: 'artifactstore_lock_sequence', text: 'SELECT last_sequence FROM event_sequence WHERE id = 1 FOR UPDATE' };

/** Runs the write transactions of one PostgreSQL database in commit groups. */
export class GroupCommitter {
  private readonly queue: Unit[] = [];
  private draining = false;

  constructor(private readonly knex: Knex) {}

  /** Runs `work` in the next group; settles after that group's COMMIT. */
  run<T>(work: TransactionWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work: work as TransactionWork<unknown>, resolve: resolve as (value: unknown) => void, reject, callbacks: [] });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.runGroup();
    } finally {
      this.draining = false;
    }
  }

  /** One group: as many queued units as there are (up to the bound), then one COMMIT. */
  private async runGroup(): Promise<void> {
    const group: Unit[] = [];
    let commitError: unknown;
    let committed = false;
    try {
      await this.knex.transaction(async (trx) => {
        await pgQueryIn(trx, LOCK_SEQUENCE, []);
        while (this.queue.length > 0 && group.length < MAX_UNITS_PER_GROUP) {
          const unit = this.queue.shift() as Unit;
          group.push(unit);
          // The first unit needs no savepoint: if it fails, the whole
          // transaction rolls back and the units still queued start a new group.
          const savepoint = group.length > 1 ? `artifactstore_unit_${group.length}` : undefined;
          if (savepoint) await trx.raw(`SAVEPOINT ${savepoint}`);
          try {
            const value = await unit.work(trx, (callback) => unit.callbacks.push(callback));
            unit.outcome = { ok: true, value };
          } catch (error) {
            unit.outcome = { ok: false, error };
            unit.callbacks.length = 0;
            if (!savepoint) throw error;
            await trx.raw(`ROLLBACK TO SAVEPOINT ${savepoint}`);
          }
        }
      });
      committed = true;
    } catch (error) {
      commitError = error;
      // The group could not even start (no connection: the pool is closed or
      // the server is down; the lock query failed): the units it would have
      // taken fail with that error. Left queued, they would make drain()
      // retry at once, forever, spinning the process.
      if (group.length === 0) group.push(...this.queue.splice(0, MAX_UNITS_PER_GROUP));
    }
    for (const unit of group) {
      if (committed && unit.outcome?.ok) {
        for (const callback of unit.callbacks) callback();
        unit.resolve(unit.outcome.value);
      } else if (unit.outcome && !unit.outcome.ok) {
        unit.reject(unit.outcome.error);
      } else {
        // Its work succeeded, but the group did not commit.
        unit.reject(commitError);
      }
    }
  }
}
