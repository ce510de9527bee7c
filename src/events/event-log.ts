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
import type pg from 'pg';
import { blake3 } from '../identity/index.js';
import { encodeCanonical, type CanonicalValue } from '../manifest/index.js';
import { pgQueryIn, rowsOf, sqliteStatementsOf, type Database, type NamedStatement, type Transaction } from '../db/index.js';
import { RegistryError } from '../errors/index.js';
import { assertEventType, subjectKindOf, type EventType, type SubjectKind } from './event-types.js';
import { EventFeed } from './event-feed.js';

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

/**
 * The append's statements. The counter row's lock (taken by withTransaction,
 * or at the latest by the increment) is held until the transaction ends,
 * which is what makes the sequence gapless and commit-ordered (ADR 0009).
 */
const NEXT_SEQUENCE_SQLITE = 'UPDATE event_sequence SET last_sequence = last_sequence + 1 WHERE id = 1 RETURNING last_sequence';
const INSERT_EVENT_SQLITE = 'INSERT INTO events (sequence, created_at, event_type, subject_kind, subject_id, actor, payload, payload_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
/** PostgreSQL: increment, insert and NOTIFY (delivered at commit) in one statement; no row when the counter row is missing. */
const APPEND_PG: NamedStatement = {
  name: 'artifactstore_append_event',
  text: `WITH next AS (
  UPDATE event_sequence SET last_sequence = last_sequence + 1 WHERE id = 1 RETURNING last_sequence
), appended AS (
  INSERT INTO events (sequence, created_at, event_type, subject_kind, subject_id, actor, payload, payload_digest)
  SELECT last_sequence, $1::text, $2::text, $3::text, $4::text, $5::text, $6::bytea, $7::bytea FROM next
  RETURNING sequence
)
SELECT sequence, pg_notify('${CHANNEL}', sequence::text)::text AS notified FROM appended`,
};

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

/**
 * True when `event` passes `filter`. Must agree with `fetchSince`'s SQL for
 * every field: long polls served from the shared feed filter with this.
 */
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
  /**
   * Upper bound on how long the tailer sleeps without a wake-up before it
   * asks the shared feed to read again (default: the feed's own polling —
   * 20 ms on SQLite, 5 s on PostgreSQL — is the bound).
   */
  readonly pollIntervalMs?: number;
}

/** How often the shared feed checks for other processes' commits while readers wait: SQLite probes `PRAGMA data_version`, PostgreSQL reads (NOTIFY is the wake-up there). */
// SQLite has no cross-process wake-up: the probe interval is the latency floor for another process's commits (~0.1 ms a probe).
const FEED_POLL_MS = { sqlite: 20, postgres: 5000 } as const;

/**
 * The event log of one database. `append` runs inside the caller's
 * transaction; readers (`fetchSince`, `tail`) see committed events only.
 */
export class EventLog {
  private readonly wakeups = new EventEmitter();
  private listener: pg.Client | undefined;
  private listenerReady: Promise<void> | undefined;

  /**
   * The one reader that long polls and streams of this process share once
   * they have caught up (src/events/event-feed.ts).
   */
  readonly feed: EventFeed<StoredEvent>;

  constructor(private readonly db: Database) {
    this.wakeups.setMaxListeners(0);
    let dataVersion: number | undefined;
    this.feed = new EventFeed<StoredEvent>({
      fetch: (after, limit) => this.fetchSince(after, limit),
      head: () => this.lastSequence(),
      subscribe: (listener) => {
        const onAppended = (sequence: number): void => listener(sequence);
        this.wakeups.on('appended', onAppended);
        return () => this.wakeups.off('appended', onAppended);
      },
      ...(db.client === 'postgres'
        ? { prepare: () => this.ensureListener().catch(() => undefined), pollIntervalMs: FEED_POLL_MS.postgres }
        : {
            // The pool's one connection: its data_version moves when another
            // process commits (this process's commits wake the feed directly).
            probe: async () => {
              const [row] = rowsOf<{ data_version: number }>(await this.db.knex.raw('PRAGMA data_version'));
              const changed = row?.data_version !== dataVersion;
              dataVersion = row?.data_version;
              return changed;
            },
            pollIntervalMs: FEED_POLL_MS.sqlite,
          }),
    }, { sizeOf: (event: StoredEvent) => event.payload.byteLength + 256 });
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
    const subjectKind = subjectKindOf(type);
    // A view of the payload, not a copy: the drivers bind Buffers.
    const payloadBytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    let sequence: number;
    if (this.db.client === 'sqlite') {
      // Two cached statements on the transaction's connection (docs/adr/0023).
      const statements = await sqliteStatementsOf(trx);
      const counter = statements.prepare(NEXT_SEQUENCE_SQLITE).get() as { last_sequence: number } | undefined;
      if (!counter) throw new RegistryError('EVENT_LOG_CORRUPT', 'the event_sequence counter row is missing');
      sequence = Number(counter.last_sequence);
      statements.prepare(INSERT_EVENT_SQLITE).run(sequence, createdAt, type, subjectKind, event.subjectId, event.actor, payloadBytes, payloadDigest);
    } else {
      // One round trip: take the number, insert the event, notify at commit.
      const rows = await pgQueryIn<{ sequence: number | string }>(trx, APPEND_PG, [createdAt, type, subjectKind, event.subjectId, event.actor, payloadBytes, payloadDigest]);
      if (rows.length !== 1) throw new RegistryError('EVENT_LOG_CORRUPT', 'the event_sequence counter row is missing');
      sequence = Number(rows[0]!.sequence);
    }
    const stored: StoredEvent = {
      sequence,
      createdAt,
      type,
      subjectKind,
      subjectId: event.subjectId,
      actor: event.actor,
      payload,
      payloadDigest,
    };
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
    const match = filter ? (event: StoredEvent) => matchesFilter(event, filter) : undefined;
    // Every event up to `scanned` has been looked at and none matched.
    let scanned = after;
    for (;;) {
      const local = this.feed.read(scanned, limit, match);
      if (local) {
        if (local.events.length > 0) return local.events;
        scanned = local.through;
      } else {
        // Behind (or ahead of) what the feed keeps: ask the database. Its
        // answer covers at least what the feed had read before it.
        const known = this.feed.head;
        const events = await this.fetchSince(scanned, limit, filter);
        if (events.length > 0) return events;
        if (known !== undefined) scanned = Math.max(scanned, known);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted) return [];
      await this.feed.wait(scanned, remaining, signal);
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
    const signal = options.signal;
    let cursor = since;
    while (!signal?.aborted) {
      // From the shared feed once caught up; from the database while behind it.
      const batch = this.feed.read(cursor, batchSize)?.events ?? (await this.fetchSince(cursor, batchSize));
      if (batch.length > 0) {
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
      const timeoutMs = options.pollIntervalMs ?? 60_000;
      const started = Date.now();
      await this.feed.wait(cursor, timeoutMs, signal);
      // Woken by the deadline alone: make the feed look (it polls on its own, this bounds the wait).
      if (!signal?.aborted && Date.now() - started >= timeoutMs && (this.feed.head ?? -1) <= cursor) this.feed.refresh();
    }
  }

  /** Releases the LISTEN connection, if any. */
  async close(): Promise<void> {
    await this.feed.close();
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
        const { default: driver } = await import('pg');
        const client = new driver.Client({ connectionString: this.db.settings.connection });
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
