/**
 * @module sinks/worker
 * One sink's delivery loop. It takes the sink's lease, reads the log after
 * the cursor in batches (waking on commits through `EventLog.waitForEvents`),
 * checks that each batch continues the cursor without a hole, hands the
 * events that pass the sink's prefixes to its deliverer, and only then
 * moves the cursor — at-least-once, in sequence order, never skipping. A
 * failed attempt is retried with capped, jittered exponential backoff,
 * forever: the sink goes unhealthy, the cursor stays, and the other sinks'
 * loops run on. Losing the lease (another process took it after ours
 * expired) stops delivery here until it can be taken again.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { RegistryError } from '../errors/index.js';
import type { EventLog } from '../events/index.js';
import { toEventView, type EventView } from '../registry/index.js';
import { wantsEvent, type SinkConfig } from './config.js';
import type { CursorStore } from './cursor-store.js';
import type { Deliverer } from './deliverer.js';

/** Timing of a worker; the defaults suit production, tests shorten them. */
export interface WorkerTiming {
  /** How long a lease lasts without renewal (default 30 s). Must exceed the sink's request timeout. */
  readonly leaseTtlMs: number;
  /** First retry delay after a failure (default 500 ms); doubles per consecutive failure. */
  readonly backoffBaseMs: number;
  /** Longest retry delay (default 30 s). */
  readonly backoffCapMs: number;
}

/** {@link WorkerTiming} of the documented defaults. */
export const DEFAULT_WORKER_TIMING: WorkerTiming = Object.freeze({ leaseTtlMs: 30_000, backoffBaseMs: 500, backoffCapMs: 30_000 });

/** Hooks the worker reports through (metrics). */
export interface WorkerObserver {
  delivered(sink: string, events: number): void;
  failed(sink: string): void;
}

/** What one worker knows about itself, for status and health. */
export interface WorkerState {
  /** `delivering`: holds the lease; `standby`: another process does; `stopped`. */
  readonly state: 'starting' | 'delivering' | 'standby' | 'stopped';
  readonly cursor: number | undefined;
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
  readonly lastErrorAt: string | undefined;
}

/** Delay before retry number `failures` (1-based): full jitter over a capped exponential. */
export function backoffDelay(failures: number, timing: Pick<WorkerTiming, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(timing.backoffCapMs, timing.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
  // Half fixed, half random: retries of many sinks spread out, and never hammer.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Thrown inside the loop when the lease is gone; caught by {@link SinkWorker.run}. */
class LeaseLost extends Error {}

/** The delivery loop of one sink. */
export class SinkWorker {
  private current: WorkerState = { state: 'starting', cursor: undefined, consecutiveFailures: 0, lastError: undefined, lastErrorAt: undefined };

  constructor(
    readonly sink: SinkConfig,
    private readonly deps: {
      readonly log: EventLog;
      readonly store: CursorStore;
      readonly deliverer: Deliverer;
      readonly owner: string;
      readonly logger: Logger;
      readonly observer: WorkerObserver;
      readonly timing: WorkerTiming;
    },
  ) {}

  /** This worker's state in this process. */
  get state(): WorkerState {
    return this.current;
  }

  /** Runs until `signal` aborts, then releases the lease. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const { store, log, timing, logger, owner } = this.deps;
    const sink = this.sink;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await store.ensure(sink.name, sink.type, sink.from === 'latest' ? () => log.lastSequence() : async () => 0);
        const cursor = await store.acquire(sink.name, owner, timing.leaseTtlMs);
        if (cursor === undefined) {
          this.update({ state: 'standby', cursor: undefined });
          // Someone else delivers; look again before a lease they stopped renewing would expire.
          await sleep(timing.leaseTtlMs / 3 + Math.random() * 1000, signal);
          continue;
        }
        failures = 0;
        this.update({ state: 'delivering', cursor });
        logger.info({ sink: sink.name, cursor }, 'sink lease taken; delivering');
        await this.deliverWhileLeased(cursor, signal);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof LeaseLost) {
          logger.warn({ sink: sink.name }, 'sink lease lost to another process; standing by');
          this.update({ state: 'standby', cursor: undefined });
          continue;
        }
        // The database or the log failed (not the peer): back off and start over.
        failures += 1;
        this.noteError(error);
        logger.warn({ err: error, sink: sink.name }, 'sink worker failed; will retry');
        await sleep(backoffDelay(failures, timing), signal);
      }
    }
    this.update({ state: 'stopped' });
    await store.release(sink.name, owner).catch((error: unknown) => logger.warn({ err: error, sink: sink.name }, 'releasing the sink lease failed'));
    await this.deps.deliverer.close().catch(() => undefined);
  }

  private async deliverWhileLeased(start: number, signal: AbortSignal): Promise<void> {
    const { store, log, timing, deliverer, logger, owner, observer } = this.deps;
    const sink = this.sink;
    let cursor = start;
    let resumed = deliverer.resume === undefined;
    let batch: EventView[] = [];
    let deliveryId = randomUUID();
    let failures = 0;
    let renewedAt = Date.now();

    /** Renews the lease; a cursor moved by another holder meanwhile restarts from there. */
    const renew = async (): Promise<void> => {
      const held = await store.acquire(sink.name, owner, timing.leaseTtlMs);
      if (held === undefined) throw new LeaseLost();
      renewedAt = Date.now();
      if (held !== cursor) {
        cursor = held;
        batch = [];
        resumed = deliverer.resume === undefined;
        this.update({ cursor });
      }
    };
    const advance = async (to: number): Promise<void> => {
      if (!(await store.advance(sink.name, owner, to, timing.leaseTtlMs))) throw new LeaseLost();
      renewedAt = Date.now();
      cursor = to;
      batch = batch.filter((event) => event.sequence > to);
      this.update({ cursor });
    };
    const fail = async (error: unknown): Promise<void> => {
      failures += 1;
      observer.failed(sink.name);
      this.noteError(error, failures);
      if (!(await store.recordFailure(sink.name, owner, errorText(error)))) throw new LeaseLost();
      logger.warn({ sink: sink.name, cursor, failures, err: errorText(error) }, 'sink delivery failed; will retry');
      await sleep(backoffDelay(failures, timing), signal);
      if (!signal.aborted) await renew();
    };

    while (!signal.aborted) {
      if (!resumed) {
        try {
          const held = await deliverer.resume!(signal);
          if (held && held.sequence > cursor) {
            // Skip only up to an event of this log: a stream reused by another database must not make us skip.
            const [ours] = await log.fetchSince(held.sequence - 1, 1);
            const digest = ours && ours.sequence === held.sequence ? `blake3:${Buffer.from(ours.payloadDigest).toString('hex')}` : undefined;
            if (digest === held.payloadDigest) {
              logger.info({ sink: sink.name, cursor, peer: held.sequence }, 'the sink already holds events past the cursor; skipping them');
              await advance(held.sequence);
            } else {
              logger.warn({ sink: sink.name, cursor, peer: held.sequence }, "the sink's last message is not this log's event; delivering from the cursor");
            }
          }
          resumed = true;
        } catch (error) {
          if (signal.aborted || error instanceof LeaseLost) throw error;
          await fail(error);
        }
        continue;
      }
      if (batch.length === 0) {
        // Wake on commits; return empty at least every third of the lease to renew it.
        const stored = await log.waitForEvents(cursor, sink.batchSize, undefined, timing.leaseTtlMs / 3, signal);
        if (signal.aborted) return;
        if (stored.length === 0) {
          await renew();
          continue;
        }
        stored.forEach((event, index) => {
          if (event.sequence !== cursor + 1 + index) {
            throw new RegistryError('EVENT_LOG_CORRUPT', `sink ${sink.name} expected sequence ${cursor + 1 + index}, read ${event.sequence}`);
          }
        });
        batch = stored.map(toEventView);
        deliveryId = randomUUID();
      }
      if (Date.now() - renewedAt > timing.leaseTtlMs / 3) await renew();
      if (batch.length === 0) continue; // the renewal found the cursor moved
      const wanted = batch.filter((event) => wantsEvent(sink, event.event_type));
      const last = batch.at(-1)!.sequence;
      let progressed = cursor;
      // A long batch (a tracker posting many notes, NATS publishing one by
      // one) keeps its lease alive, and stops the moment it is gone.
      const attempt = new AbortController();
      const stop = (): void => attempt.abort();
      signal.addEventListener('abort', stop, { once: true });
      let lost = false;
      const keepAlive = setInterval(() => {
        store.acquire(sink.name, owner, timing.leaseTtlMs).then(
          (held) => {
            if (held === cursor) renewedAt = Date.now();
            else {
              lost = true;
              attempt.abort();
            }
          },
          () => undefined, // a failed renewal is retried at the next tick; the lease outlasts two of them
        );
      }, timing.leaseTtlMs / 3);
      try {
        if (wanted.length > 0) await deliverer.deliver(wanted, { deliveryId, signal: attempt.signal, progress: (sequence) => (progressed = Math.max(progressed, sequence)) });
      } catch (error) {
        if (signal.aborted) return;
        if (lost) throw new LeaseLost();
        if (progressed > cursor) {
          observer.delivered(sink.name, wanted.filter((event) => event.sequence <= progressed).length);
          await advance(progressed);
        }
        await fail(error);
        continue;
      } finally {
        clearInterval(keepAlive);
        signal.removeEventListener('abort', stop);
      }
      if (lost) throw new LeaseLost();
      await advance(last);
      observer.delivered(sink.name, wanted.length);
      if (failures > 0) logger.info({ sink: sink.name, cursor, failures }, 'sink delivering again');
      failures = 0;
      this.update({ consecutiveFailures: 0 });
    }
  }

  private noteError(error: unknown, failures = this.current.consecutiveFailures + 1): void {
    this.update({ consecutiveFailures: failures, lastError: errorText(error), lastErrorAt: new Date().toISOString() });
  }

  private update(change: Partial<WorkerState>): void {
    this.current = { ...this.current, ...change };
  }
}

/** One line describing `error`, for the cursor row and logs. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
