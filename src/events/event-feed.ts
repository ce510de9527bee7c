/**
 * @module events/event-feed
 * One shared reader of the event log per process (per `EventLog`): every
 * long poll and event stream that has caught up with the log waits on the
 * feed instead of querying on its own. On a wake-up — an in-process commit,
 * a PostgreSQL NOTIFY, or the feed's own poll — the feed reads the new
 * events once, keeps the most recent ones in memory (contiguous, checked
 * gapless) and wakes every waiting reader, which takes what it wants from
 * memory, filters included. Wake-ups arriving while a read is in flight are
 * coalesced into one more read, so a burst of commits costs a few queries,
 * not one per commit per reader.
 *
 * A reader that is behind what the feed keeps (a client catching up from an
 * old sequence) reads the database itself, as before, until it reaches the
 * feed. The feed polls only while someone waits: through `probe` (SQLite:
 * `PRAGMA data_version`, which moves when another process commits) every
 * `pollIntervalMs`, or by reading (PostgreSQL, whose NOTIFY makes polling a
 * fallback for a lost LISTEN connection).
 *
 * The module knows no table: the log hands it how to read (`FeedSource`).
 */
import { RegistryError } from '../errors/index.js';

/** What the feed keeps of an event: its sequence, and whatever else the log reads. */
export interface Sequenced {
  readonly sequence: number;
}

/** How the feed reads the log and learns of commits. */
export interface FeedSource<E extends Sequenced> {
  /** Up to `limit` committed events with `sequence > after`, unfiltered, in order. */
  fetch(after: number, limit: number): Promise<E[]>;
  /** The highest committed sequence (0 for an empty log). */
  head(): Promise<number>;
  /** Calls `listener` on every commit hint (with the sequence when known); returns an unsubscribe function. */
  subscribe(listener: (sequence?: number) => void): () => void;
  /** Makes sure commit hints flow (e.g. LISTEN) before a reader waits on them. */
  prepare?(): Promise<void>;
  /**
   * A cheap check, run every `pollIntervalMs` while readers wait: false when
   * nothing can have committed since the last check (then the feed does not
   * read). Without it the feed reads on every poll.
   */
  probe?(): Promise<boolean>;
  /** How often the feed checks for commits it was not told about, while readers wait. */
  readonly pollIntervalMs: number;
}

/** Options of {@link EventFeed}. */
export interface FeedOptions<E> {
  /** Most events kept in memory (default 10,000). */
  readonly capacity?: number;
  /** Most bytes kept in memory, as `sizeOf` counts them (default 32 MiB). */
  readonly maxBytes?: number;
  /** An event's weight against `maxBytes` (default 1 each, i.e. no byte bound). */
  readonly sizeOf?: (event: E) => number;
  /** Events read per query (default 1,000). */
  readonly batchSize?: number;
}

/** A read from memory: the events after a cursor (at most `limit`), and how far the feed looked. */
export interface FeedRead<E> {
  readonly events: E[];
  /** Every event up to this sequence was examined (the last returned, or the feed's head). */
  readonly through: number;
}

interface Waiter {
  readonly after: number;
  wake(): void;
  fail(error: unknown): void;
}

/** The shared reader; see the module comment. */
export class EventFeed<E extends Sequenced> {
  private readonly capacity: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (event: E) => number;
  private readonly batchSize: number;
  /** Bytes (per `sizeOf`) of the events kept. */
  private bytes = 0;
  /** Contiguous events `floor + 1 … head`. */
  private buffer: E[] = [];
  private start = 0;
  /** The last sequence read into the buffer; undefined until the first read. */
  private headSequence: number | undefined;
  /** A commit may exist that the feed has not read (a hint arrived while nobody waited). */
  private stale = true;
  private readonly waiters = new Set<Waiter>();
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private unsubscribe: (() => void) | undefined;
  /** Queries the feed made (for tests and benchmarks). */
  reads = 0;

  constructor(
    private readonly source: FeedSource<E>,
    options: FeedOptions<E> = {},
  ) {
    this.capacity = Math.max(1, options.capacity ?? 10_000);
    this.maxBytes = Math.max(1, options.maxBytes ?? 32 * 1024 * 1024);
    this.sizeOf = options.sizeOf ?? (() => 1);
    this.batchSize = Math.max(1, options.batchSize ?? 1_000);
  }

  /** The last sequence the feed has read (undefined before its first read). */
  get head(): number | undefined {
    return this.headSequence;
  }

  /** Readers currently waiting for a commit. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Events after `after` from memory, unfiltered unless `match` is given:
   * up to `limit` that pass `match`. Undefined when memory does not cover
   * `after` (before the oldest kept event, or past the feed's head): the
   * caller reads the database instead.
   */
  read(after: number, limit: number, match?: (event: E) => boolean): FeedRead<E> | undefined {
    const head = this.headSequence;
    if (head === undefined || after > head) return undefined;
    const floor = head - (this.buffer.length - this.start);
    if (after < floor) return undefined;
    const events: E[] = [];
    let through = head;
    for (let i = this.start + (after - floor); i < this.buffer.length; i += 1) {
      const event = this.buffer[i]!;
      if (match && !match(event)) continue;
      events.push(event);
      if (events.length >= limit) {
        through = event.sequence;
        break;
      }
    }
    return { events, through };
  }

  /**
   * Resolves once the feed has read past `after`, after `timeoutMs`, or when
   * `signal` aborts, whichever comes first. Rejects when the feed's read
   * fails (the database is unreachable, the log has a hole).
   */
  async wait(after: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    if (this.headSequence !== undefined && this.headSequence > after) return;
    await this.source.prepare?.();
    this.attach();
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', waiter.wake);
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) this.stopPolling();
      };
      const waiter: Waiter = {
        after,
        wake: () => {
          finish();
          resolve();
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', waiter.wake, { once: true });
      this.waiters.add(waiter);
      this.startPolling();
      // Already past it (read while LISTEN was being prepared), or the feed
      // may be behind the log: read now rather than at the next hint.
      if (this.headSequence !== undefined && this.headSequence > after) waiter.wake();
      else if (this.stale || this.headSequence === undefined || after > this.headSequence) this.refresh();
    });
  }

  /** Asks for a read now (coalesced with one in flight). */
  refresh(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.stale = false;
    this.reading = (async () => {
      try {
        do {
          this.readAgain = false;
          await this.readNew();
        } while (this.readAgain);
      } catch (error) {
        this.stale = true;
        for (const waiter of [...this.waiters]) waiter.fail(error);
      } finally {
        this.reading = undefined;
      }
    })();
  }

  /**
   * Stops polling, detaches from the commit hints and wakes every waiter
   * (to find nothing new, or a closed database); resolves once a read in
   * flight has settled, so the database can be closed after it. A later
   * `wait` starts over.
   */
  async close(): Promise<void> {
    this.stopPolling();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.stale = true;
    for (const waiter of [...this.waiters]) waiter.wake();
    await this.reading;
  }

  private attach(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.source.subscribe((sequence) => {
      if (sequence !== undefined && this.headSequence !== undefined && sequence <= this.headSequence) return;
      if (this.waiters.size > 0) this.refresh();
      else this.stale = true;
    });
  }

  private async readNew(): Promise<void> {
    if (this.headSequence === undefined) {
      this.reads += 1;
      this.headSequence = await this.source.head();
      this.wakeWaiters();
    }
    for (;;) {
      const head: number = this.headSequence;
      this.reads += 1;
      const batch = await this.source.fetch(head, this.batchSize);
      let last = head;
      for (const event of batch) {
        if (event.sequence !== last + 1) {
          throw new RegistryError('EVENT_LOG_CORRUPT', `the event feed expected sequence ${last + 1}, read ${event.sequence}`);
        }
        last = event.sequence;
        this.buffer.push(event);
        this.bytes += this.sizeOf(event);
      }
      this.headSequence = last;
      this.trim();
      if (batch.length > 0) this.wakeWaiters();
      if (batch.length < this.batchSize) return;
    }
  }

  private trim(): void {
    // Oldest first, until both bounds hold (an event larger than the byte
    // bound alone is dropped too: readers at it read the database).
    while (this.start < this.buffer.length && (this.buffer.length - this.start > this.capacity || this.bytes > this.maxBytes)) {
      this.bytes -= this.sizeOf(this.buffer[this.start]!);
      this.start += 1;
    }
    // Compact once the dropped prefix outweighs what is kept.
    if (this.start > this.capacity) {
      this.buffer = this.buffer.slice(this.start);
      this.start = 0;
    }
  }

  private wakeWaiters(): void {
    const head = this.headSequence!;
    for (const waiter of [...this.waiters]) if (waiter.after < head) waiter.wake();
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.poll(), this.source.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.waiters.size === 0) return;
    this.polling = true;
    try {
      if (!this.source.probe || (await this.source.probe())) this.refresh();
    } catch {
      // The probe could not tell: read, which reports a real failure to the waiters.
      this.refresh();
    } finally {
      this.polling = false;
    }
  }
}
