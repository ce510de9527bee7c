/**
 * @module events/event-log
 * The append-only, gapless, commit-ordered event log.
 *
 * Sequence numbers come from a single counter row that the appending
 * transaction increments and keeps locked until it commits. Writers therefore
 * serialise on the append: a rollback releases the number unused (gapless),
 * and number N+1 cannot be handed out before N has committed (commit order
 * equals sequence order), so a reader tailing `sequence > N` never misses an
 * event. This module is the only writer of the `events` table.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { blake3 } from '../identity/index.js';
import { encodeCanonical, type CanonicalValue } from '../manifest/index.js';
import { rowsOf, type Database, type Transaction } from '../db/index.js';
import { RegistryError } from '../errors/index.js';
import { assertEventType, subjectKindOf, type EventType, type SubjectKind } from './event-types.js';

/** What a caller appends. */
export interface NewEvent {
  readonly type: EventType;
  readonly subjectId: string;
  readonly actor: string;
  readonly payload: CanonicalValue;
  /** The event time; defaults to now. Callers pass it when the payload must carry the same instant. */
  readonly at?: Date;
}

/** One committed event, as stored. */
export interface StoredEvent {
  readonly sequence: number;
  /** ISO-8601 UTC with milliseconds, fixed width. */
  readonly createdAt: string;
  readonly type: EventType;
  readonly subjectKind: SubjectKind;
  readonly subjectId: string;
  readonly actor: string;
  /** Canonical CBOR bytes. */
  readonly payload: Uint8Array;
  /** Raw 32-byte BLAKE3 of `payload`. */
  readonly payloadDigest: Uint8Array;
}

interface EventRow {
  sequence: number;
  created_at: string;
  event_type: string;
  subject_kind: string;
  subject_id: string;
  actor: string;
  payload: Buffer;
  payload_digest: Buffer;
}

const CHANNEL = 'artifactstore_events';

/** Narrows which events a reader wants. */
export interface EventFilter {
  /** Exact type, or a prefix when it ends with `.` (e.g. `v1.retention.`). */
  readonly eventType?: string;
  readonly subjectKind?: string;
  readonly subjectId?: string;
  /** Only events caused by this principal. */
  readonly actor?: string;
  /** Only events at or after this instant (ISO-8601 UTC). */
  readonly createdFrom?: string;
}

/** True when `event` passes `filter`. */
export function matchesFilter(event: Pick<StoredEvent, 'type' | 'subjectKind' | 'subjectId'>, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.eventType !== undefined) {
    const prefix = filter.eventType.endsWith('.');
    if (prefix ? !event.type.startsWith(filter.eventType) : event.type !== filter.eventType) return false;
  }
  if (filter.subjectKind !== undefined && event.subjectKind !== filter.subjectKind) return false;
  if (filter.subjectId !== undefined && event.subjectId !== filter.subjectId) return false;
  if (filter.actor !== undefined && (event as { actor?: string }).actor !== filter.actor) return false;
  if (filter.createdFrom !== undefined && ((event as { createdAt?: string }).createdAt ?? '') < filter.createdFrom) return false;
  return true;
}

/** Options for {@link EventLog.tail}. */
export interface TailOptions {
  readonly signal?: AbortSignal;
  /** Events fetched per round trip (default 500). */
  readonly batchSize?: number;
  /** Upper bound on how long the tailer sleeps without a wake-up (default 1000 ms). */
  readonly pollIntervalMs?: number;
}

/**
 * The event log of one database. `append` runs inside the caller's
 * transaction; readers (`fetchSince`, `tail`) see committed events only.
 */
export class EventLog {
  private readonly wakeups = new EventEmitter();
  private listener: pg.Client | undefined;
  private listenerReady: Promise<void> | undefined;

  /** How often readers poll when no notification arrives (other processes' commits on SQLite; a lost LISTEN on PostgreSQL). */
  private readonly pollIntervalMs: number;

  constructor(private readonly db: Database) {
    this.wakeups.setMaxListeners(0);
    this.pollIntervalMs = db.client === 'postgres' ? 5000 : 1000;
  }

  /**
   * Appends one event inside `trx` and returns it with its sequence number.
   * Pass `afterCommit` (from withTransaction) so in-process tailers wake as
   * soon as the transaction commits.
   */
  async append(trx: Transaction, event: NewEvent, afterCommit?: (callback: () => void) => void): Promise<StoredEvent> {
    const type = assertEventType(event.type);
    const payload = encodeCanonical(event.payload);
    const payloadDigest = blake3(payload);
    const createdAt = (event.at ?? new Date()).toISOString();
    const counter = rowsOf<{ last_sequence: number | string }>(
      await trx.raw('UPDATE event_sequence SET last_sequence = last_sequence + 1 WHERE id = 1 RETURNING last_sequence'),
    );
    if (counter.length !== 1) throw new RegistryError('EVENT_LOG_CORRUPT', 'the event_sequence counter row is missing');
    const sequence = Number(counter[0]!.last_sequence);
    const stored: StoredEvent = {
      sequence,
      createdAt,
      type,
      subjectKind: subjectKindOf(type),
      subjectId: event.subjectId,
      actor: event.actor,
      payload,
      payloadDigest,
    };
    await trx.raw(
      'INSERT INTO events (sequence, created_at, event_type, subject_kind, subject_id, actor, payload, payload_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [sequence, createdAt, type, stored.subjectKind, stored.subjectId, stored.actor, Buffer.from(payload), payloadDigest],
    );
    if (this.db.client === 'postgres') await trx.raw('SELECT pg_notify(?, ?)', [CHANNEL, String(sequence)]);
    afterCommit?.(() => this.wakeups.emit('appended', sequence));
    return stored;
  }

  /** Up to `limit` committed events with `sequence > after` that pass `filter`, in order. */
  async fetchSince(after: number, limit: number, filter?: EventFilter): Promise<StoredEvent[]> {
    const query = this.db.knex<EventRow>('events')
      .where('sequence', '>', after)
      .orderBy('sequence', 'asc')
      .limit(limit);
    if (filter?.eventType !== undefined) {
      if (filter.eventType.endsWith('.')) query.where('event_type', '>=', filter.eventType).where('event_type', '<', `${filter.eventType.slice(0, -1)}/`);
      else query.where('event_type', filter.eventType);
    }
    if (filter?.subjectKind !== undefined) query.where('subject_kind', filter.subjectKind);
    if (filter?.subjectId !== undefined) query.where('subject_id', filter.subjectId);
    if (filter?.actor !== undefined) query.where('actor', filter.actor);
    if (filter?.createdFrom !== undefined) query.where('created_at', '>=', filter.createdFrom);
    return (await query).map(toStoredEvent);
  }

  /**
   * Resolves when a commit may have appended events (a notification), after
   * `timeoutMs`, or when `signal` aborts — whichever comes first.
   */
  async waitForCommit(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.db.client === 'postgres') await this.ensureListener();
    await this.nextWakeup(timeoutMs, signal).promise;
  }

  /**
   * Events after `after` that pass `filter`: at once when there are any,
   * otherwise the first to commit within `waitMs` (an empty list when none
   * does, or when `signal` aborts).
   */
  async waitForEvents(after: number, limit: number, filter: EventFilter | undefined, waitMs: number, signal?: AbortSignal): Promise<StoredEvent[]> {
    const deadline = Date.now() + waitMs;
    if (this.db.client === 'postgres' && waitMs > 0) await this.ensureListener();
    for (;;) {
      // Arm before reading so a commit in between is not slept through; wake
      // at least every poll interval for writers in other processes.
      const woken = this.nextWakeup(Math.min(Math.max(deadline - Date.now(), 0), this.pollIntervalMs), signal);
      const events = await this.fetchSince(after, limit, filter);
      const remaining = deadline - Date.now();
      if (events.length > 0 || remaining <= 0 || signal?.aborted) {
        woken.cancel();
        return events;
      }
      await woken.promise;
      if (signal?.aborted) return [];
    }
  }

  /** The highest committed sequence (0 for an empty log). */
  async lastSequence(): Promise<number> {
    const row = await this.db.knex('events').max({ last: 'sequence' }).first();
    return Number(row?.last ?? 0);
  }

  /** Number of committed events. */
  async count(): Promise<number> {
    const row = await this.db.knex('events').count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  /**
   * Every committed event with `sequence > since`, in order, forever: wakes on
   * new commits (LISTEN/NOTIFY on PostgreSQL; in-process notification on
   * SQLite) and polls as a fallback for writers in other processes. Ends
   * when `signal` aborts.
   */
  async *tail(since: number, options: TailOptions = {}): AsyncGenerator<StoredEvent> {
    const batchSize = options.batchSize ?? 500;
    const pollIntervalMs = options.pollIntervalMs ?? this.pollIntervalMs;
    const signal = options.signal;
    if (this.db.client === 'postgres') await this.ensureListener();
    let cursor = since;
    while (!signal?.aborted) {
      // Arm the wake-up before reading, so a commit between the read and the
      // wait is not slept through.
      const woken = this.nextWakeup(pollIntervalMs, signal);
      const batch = await this.fetchSince(cursor, batchSize);
      if (batch.length > 0) {
        woken.cancel();
        for (const event of batch) {
          if (event.sequence !== cursor + 1) {
            throw new RegistryError('EVENT_LOG_CORRUPT', `tail expected sequence ${cursor + 1}, read ${event.sequence}`);
          }
          cursor = event.sequence;
          yield event;
          if (signal?.aborted) return;
        }
        continue;
      }
      await woken.promise;
    }
  }

  /** Releases the LISTEN connection, if any. */
  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    this.listenerReady = undefined;
    if (listener) await listener.end().catch(() => undefined);
  }

  private nextWakeup(timeoutMs: number, signal?: AbortSignal): { promise: Promise<void>; cancel(): void } {
    let finish: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const onAbort = (): void => done();
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        wakeups.off('appended', done);
        resolve();
      }
      const wakeups = this.wakeups;
      wakeups.once('appended', done);
      signal?.addEventListener('abort', onAbort, { once: true });
      finish = done;
    });
    return { promise, cancel: () => finish() };
  }

  private ensureListener(): Promise<void> {
    if (!this.listenerReady) {
      this.listenerReady = (async () => {
        const client = new pg.Client({ connectionString: this.db.settings.connection });
        client.on('notification', (message) => this.wakeups.emit('appended', Number(message.payload)));
        // A lost LISTEN connection only costs latency: tailers keep polling.
        client.on('error', () => {
          if (this.listener === client) {
            this.listener = undefined;
            this.listenerReady = undefined;
          }
        });
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        this.listener = client;
      })().catch((error: unknown) => {
        this.listenerReady = undefined;
        throw error;
      });
    }
    return this.listenerReady;
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  const type = assertEventType(row.event_type);
  return {
    sequence: Number(row.sequence),
    createdAt: row.created_at,
    type,
    subjectKind: row.subject_kind as SubjectKind,
    subjectId: row.subject_id,
    actor: row.actor,
    payload: new Uint8Array(row.payload),
    payloadDigest: new Uint8Array(row.payload_digest),
  };
}
