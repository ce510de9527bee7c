/**
 * @module cli/common
 * What every subcommand shares: opening the registry from the environment,
 * the acting principal, and progress bars that only appear on a terminal.
 */
import os from 'node:os';
import { SingleBar, Presets } from 'cli-progress';
import { loadSettings } from '../config.js';
// Type-only: the composition root (database drivers, storage SDKs) loads when a command runs, not at start-up.
import type { OpenRegistryOptions, RegistryInstance } from '../app.js';

/** Opens the registry configured by the environment, runs `work`, always closes. */
export async function withRegistry<T>(work: (instance: RegistryInstance) => Promise<T>, options: OpenRegistryOptions = {}): Promise<T> {
  const { openRegistry } = await import('../app.js');
  const instance = await openRegistry(loadSettings(), options);
  try {
    return await work(instance);
  } finally {
    await instance.close();
  }
}

/** The actor recorded for commands run locally: `local:<os user>`. */
export function localActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `local:${user}`;
}

/** A progress bar on stderr when it is a TTY; a no-op otherwise. */
export interface Progress {
  start(total: number, label: string): void;
  update(value: number, total?: number): void;
  /** Starts the bar labelled `label` on the first call, then moves it to `value` of `total`. */
  report(value: number, total: number, label: string): void;
  stop(): void;
}

/** What {@link interruptOnSignals} returns: the signal a long job watches, and the way to stop listening. */
export interface Interruption {
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * Aborts the returned signal on the first SIGINT or SIGTERM, after printing
 * `message` on stderr, so a long job stops between units of work instead of
 * dying in the middle of one. Call `release` when the job is over.
 */
export function interruptOnSignals(message: string): Interruption {
  const controller = new AbortController();
  const interrupt = (): void => {
    process.stderr.write(`\ninterrupted: ${message}\n`);
    controller.abort();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    },
  };
}

/** Creates a {@link Progress} for `unit` (e.g. "events", "bytes"). */
export function createProgress(unit: string): Progress {
  if (!process.stderr.isTTY) return { start: () => undefined, update: () => undefined, report: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `{label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  const update = (value: number, total?: number): void => {
    if (!started) return;
    if (total !== undefined) bar.setTotal(total);
    bar.update(value);
  };
  return {
    start: (total, label) => {
      bar.start(total, 0, { label });
      started = true;
    },
    update,
    report: (value, total, label) => {
      if (!started) {
        bar.start(total, 0, { label });
        started = true;
      }
      update(value, total);
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Parses a non-negative integer option. */
export function nonNegativeInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}
