/**
 * @module registry/gc-worker
 * The periodic GC worker `serve` runs: one {@link collectGarbage} pass every
 * interval, never two at once in this process, stopped cleanly between
 * objects on shutdown.
 */
import type { RegistryContext } from './context.js';
import { collectGarbage, type GcObserver, type GcReport } from './gc.js';

/** Settings of {@link startGcWorker}. */
export interface GcWorkerOptions {
  /** Seconds between the end of one pass and the start of the next (> 0). */
  readonly intervalSeconds: number;
  readonly graceSeconds: number;
  readonly observer?: GcObserver;
  /** Each finished pass. */
  readonly onReport?: (report: GcReport) => void;
  /** A pass that failed; the next one runs on schedule. */
  readonly onError?: (error: unknown) => void;
}

/** A running worker. */
export interface GcWorker {
  /** Stops the worker: aborts the pass in flight between objects and waits for it. */
  stop(): Promise<void>;
}

/** Starts a worker whose first pass runs after `intervalSeconds`. */
export function startGcWorker(ctx: RegistryContext, options: GcWorkerOptions): GcWorker {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const schedule = (): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      running = collectGarbage(ctx, { graceSeconds: options.graceSeconds, signal: controller.signal, ...(options.observer ? { observer: options.observer } : {}) })
        .then((report) => options.onReport?.(report), (error: unknown) => options.onError?.(error))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, options.intervalSeconds * 1000);
    timer.unref();
  };
  schedule();
  return {
    stop: async () => {
      controller.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
