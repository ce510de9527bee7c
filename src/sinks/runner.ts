/**
 * @module sinks/runner
 * The configured sinks of one `serve` process: one {@link SinkWorker} loop
 * per sink (a failing sink never blocks another), their status read from the
 * shared cursor rows (so every process and `artifactstore sinks status`
 * report the same thing), health for `GET /health`, and lag for metrics.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/index.js';
import type { EventLog } from '../events/index.js';
import type { Metrics } from '../observability/index.js';
import type { Registry } from '../registry/index.js';
import type { SinkConfig } from './config.js';
import { CursorStore, type SinkCursor } from './cursor-store.js';
import type { Deliverer } from './deliverer.js';
import { natsDeliverer } from './nats.js';
import { trackerDeliverer } from './tracker.js';
import { webhookDeliverer } from './webhook.js';
import { DEFAULT_WORKER_TIMING, SinkWorker, type WorkerTiming } from './worker.js';

/** A sink with this many consecutive failed attempts is reported unhealthy. */
export const UNHEALTHY_AFTER_FAILURES = 3;

/** One sink's status, as `sinks status --json` and `/health` render it. */
export interface SinkStatus {
  readonly name: string;
  readonly type: string;
  readonly healthy: boolean;
  /** Last delivered sequence; null before the sink first ran. */
  readonly delivered_sequence: number | null;
  /** The log's last sequence. */
  readonly head: number;
  /** Events committed but not delivered yet: head − cursor. */
  readonly lag: number;
  readonly consecutive_failures: number;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
  readonly last_delivered_at: string | null;
  /** The process delivering the sink while its lease lasts. */
  readonly leased_by: string | null;
  readonly lease_expires_at: string | null;
}

/** What the runner reads and writes. */
export interface SinkDependencies {
  readonly db: Database;
  readonly log: EventLog;
  /** Package lookups of the tracker preset. */
  readonly registry: Pick<Registry, 'getPackage'>;
  readonly metrics?: Metrics;
}

/** Each configured sink's status from its cursor row, against the log's head. */
export async function readSinkStatus(db: Database, log: EventLog, sinks: readonly SinkConfig[]): Promise<SinkStatus[]> {
  const store = new CursorStore(db);
  const [cursors, head] = await Promise.all([store.list(), log.lastSequence()]);
  const byName = new Map<string, SinkCursor>(cursors.map((cursor) => [cursor.name, cursor]));
  return sinks.map((sink) => {
    const cursor = byName.get(sink.name);
    const delivered = cursor?.deliveredSequence ?? null;
    const failures = cursor?.consecutiveFailures ?? 0;
    return {
      name: sink.name,
      type: sink.type,
      healthy: failures < UNHEALTHY_AFTER_FAILURES,
      delivered_sequence: delivered,
      head,
      lag: Math.max(0, head - (delivered ?? (sink.from === 'latest' ? head : 0))),
      consecutive_failures: failures,
      last_error: cursor?.lastError ?? null,
      last_error_at: cursor?.lastErrorAt ?? null,
      last_delivered_at: cursor?.lastDeliveredAt ?? null,
      leased_by: cursor?.leasedBy ?? null,
      lease_expires_at: cursor?.leaseExpiresAt ?? null,
    };
  });
}

/** The deliverer of one sink. */
export function createDeliverer(sink: SinkConfig, deps: Pick<SinkDependencies, 'registry'>, logger: Logger): Deliverer {
  switch (sink.type) {
    case 'webhook':
      return webhookDeliverer(sink);
    case 'tracker':
      return trackerDeliverer(sink, (id) => deps.registry.getPackage(id));
    case 'nats':
      return natsDeliverer(sink, (sequence) => logger.debug({ sink: sink.name, sequence }, 'JetStream dropped a republished event as a duplicate'));
  }
}

/** Running sinks. */
export interface SinkRunner {
  /** Workers of this process (tests and status). */
  readonly workers: readonly SinkWorker[];
  /** This process's identity in lease rows. */
  readonly owner: string;
  /** Every configured sink's status. */
  status(): Promise<SinkStatus[]>;
  /** `{ok, detail}` for `GET /health`: ok unless a sink is unhealthy. */
  health(): Promise<{ ok: boolean; detail: SinkStatus[] | { error: string } }>;
  /** Stops every loop, releases the leases and closes connections. */
  stop(): Promise<void>;
}

/** Starts one delivery loop per sink. */
export function startSinks(deps: SinkDependencies, sinks: readonly SinkConfig[], logger: Logger, timing: Partial<WorkerTiming> = {}): SinkRunner {
  const owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const store = new CursorStore(deps.db);
  const controller = new AbortController();
  const metrics = deps.metrics;
  const observer = {
    delivered: (sink: string, events: number) => metrics?.sinkEventsDelivered.inc({ sink }, events),
    failed: (sink: string) => metrics?.sinkDeliveryFailures.inc({ sink }),
  };
  const workers = sinks.map(
    (sink) =>
      new SinkWorker(sink, {
        log: deps.log,
        store,
        deliverer: createDeliverer(sink, deps, logger),
        owner,
        logger,
        observer,
        timing: { ...DEFAULT_WORKER_TIMING, ...timing },
      }),
  );
  const running = workers.map((worker) => worker.run(controller.signal));
  const status = (): Promise<SinkStatus[]> => readSinkStatus(deps.db, deps.log, sinks);
  metrics?.trackSinkLag(async () => (await status()).map((entry) => ({ sink: entry.name, lag: entry.lag })));
  if (sinks.length > 0) logger.info({ sinks: sinks.map((sink) => `${sink.name} (${sink.type})`), owner }, 'delivering events to sinks');
  return {
    workers,
    owner,
    status,
    health: async () => {
      try {
        const detail = await status();
        return { ok: detail.every((entry) => entry.healthy), detail };
      } catch (error) {
        // The database is the problem: its own health entry says so; sinks cannot be judged.
        return { ok: false, detail: { error: (error as Error).message } };
      }
    },
    stop: async () => {
      controller.abort();
      await Promise.all(running);
    },
  };
}
