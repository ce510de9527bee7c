/**
 * Event delivery latency for the `native` benchmark: a writer commits
 * events at an irregular pace while a long-poll reader and an SSE reader
 * (bench/native-client.ts) follow the log over HTTP; each event's latency is
 * the time from the writer's transaction resolving to the reader having
 * parsed the event, both read from one clock (`performance.now()` of this
 * process).
 */
import { performance } from 'node:perf_hooks';
import { longPollReader, sseReader, type EventReader } from './native-client.js';

/** Latencies in milliseconds, per reader, in sequence order. */
export interface Latencies {
  readonly events: number;
  readonly readers: ReadonlyMap<string, number[]>;
}

/** Options of {@link measureLatency}. */
export interface LatencyOptions {
  /** The server the HTTP readers follow. */
  readonly base: URL;
  /** The last committed sequence before the writer starts. */
  readonly since: number;
  /** Commits one transaction and resolves with the sequences it recorded, right after the commit. */
  readonly write: () => Promise<number[]>;
  readonly transactions: number;
  /** Milliseconds between transactions: uniform in [min, max). */
  readonly pauseMs: readonly [min: number, max: number];
  /** Extra readers besides `long-poll` and `sse` (e.g. an in-process tail), by label. */
  readonly extraReaders?: ReadonlyArray<readonly [label: string, start: (since: number, onEvent: (sequence: number, at: number) => void) => EventReader]>;
  /** How long to wait for the last deliveries after the last commit. */
  readonly drainTimeoutMs?: number;
}

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the writer against the readers; throws if a reader misses an event. */
export async function measureLatency(options: LatencyOptions): Promise<Latencies> {
  const committed = new Map<number, number>();
  const delivered = new Map<string, Map<number, number>>();
  const readers: Array<[string, EventReader]> = [];
  const starters: Array<readonly [string, (since: number, onEvent: (sequence: number, at: number) => void) => EventReader]> = [
    ['long-poll', (since, onEvent) => longPollReader(options.base, since, onEvent, now)],
    ['sse', (since, onEvent) => sseReader(options.base, since, onEvent, now)],
    ...(options.extraReaders ?? []),
  ];
  let failure: { error: unknown } | undefined;
  try {
    for (const [label, start] of starters) {
      const seen = new Map<number, number>();
      delivered.set(label, seen);
      // The readers themselves refuse a repeated or skipped sequence (each must be the last + 1).
      readers.push([label, start(options.since, (sequence, at) => seen.set(sequence, at))]);
    }
    await Promise.all(readers.map(([, reader]) => reader.ready));
    await sleep(200); // let every reader's first request settle into its wait
    const [min, max] = options.pauseMs;
    for (let i = 0; i < options.transactions; i += 1) {
      await sleep(min + Math.random() * (max - min));
      const sequences = await options.write();
      const at = now();
      for (const sequence of sequences) committed.set(sequence, at);
    }
    const deadline = Date.now() + (options.drainTimeoutMs ?? 30_000);
    const complete = (): boolean => [...delivered.values()].every((seen) => seen.size >= committed.size);
    while (!complete() && Date.now() < deadline) await sleep(20);
    for (const [label, seen] of delivered) {
      if (seen.size < committed.size) throw new Error(`${label}: ${seen.size} of ${committed.size} events delivered within the drain timeout`);
    }
  } catch (error) {
    failure = { error };
  }
  // Stop every reader; a reader's own failure (a skipped or repeated sequence) surfaces here.
  const stops = await Promise.allSettled(readers.map(([, reader]) => reader.stop()));
  const stopFailure = stops.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (stopFailure) throw stopFailure.reason;
  if (failure) throw failure.error;
  const sequences = [...committed.keys()].sort((a, b) => a - b);
  const result = new Map<string, number[]>();
  for (const [label, seen] of delivered) result.set(label, sequences.map((sequence) => seen.get(sequence)! - committed.get(sequence)!));
  return { events: sequences.length, readers: result };
}

/** The `p`-th percentile (0–100, nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
