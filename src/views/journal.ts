/**
 * @module views/journal
 * The one way registry code changes state: append an event and apply its
 * projection in the same transaction. Nothing else writes view tables.
 */
import { withTransaction, type Database, type Transaction } from '../db/index.js';
import type { EventLog, NewEvent, StoredEvent } from '../events/index.js';
import { project } from './projectors.js';
import { ImmediateSqlApplier } from './sql-appliers.js';

/** A write transaction that can record events. */
export interface JournalTransaction {
  /** The underlying transaction, for the reads a use case does before it records. */
  readonly trx: Transaction;
  /** Appends `event` and applies its projection; returns the stored event. */
  record(event: NewEvent): Promise<StoredEvent>;
}

/**
 * Runs inside the transaction before each event is appended; throwing aborts
 * the transaction. The composition root installs the GC reference guard here
 * (docs/adr/0020), so every event that records stored bytes passes it.
 */
export type RecordGuard = (trx: Transaction, event: NewEvent) => Promise<void>;

/** Records events together with their view changes. */
export class Journal {
  constructor(private readonly db: Database, readonly log: EventLog, private readonly guard?: RecordGuard) {}

  /** Runs `work` in one transaction in which it may record events. */
  transact<T>(work: (tx: JournalTransaction) => Promise<T>): Promise<T> {
    return withTransaction(this.db, async (trx, afterCommit) => {
      const applier = new ImmediateSqlApplier(trx);
      return work({
        trx,
        record: async (event) => {
          if (this.guard) await this.guard(trx, event);
          const stored = await this.log.append(trx, event, afterCommit);
          await applier.apply(project(stored));
          return stored;
        },
      });
    });
  }
}
