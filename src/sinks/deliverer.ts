/**
 * @module sinks/deliverer
 * What every sink kind implements: deliver a batch of events (already
 * filtered by the sink's prefixes, in sequence order) or throw. The worker
 * owns cursors, leases, retries and backoff; a deliverer only talks to its
 * peer.
 */
import type { EventView } from '../registry/index.js';

/** One delivery attempt of a batch. */
export interface DeliveryAttempt {
  /** Stable across the retries of one batch in this process; a new batch gets a new id. */
  readonly deliveryId: string;
  /** Ends the attempt (shutdown). */
  readonly signal: AbortSignal;
  /**
   * Reports that every event up to `sequence` reached the peer, so a failure
   * later in the batch does not resend them.
   */
  progress(sequence: number): void;
}

/** A sink kind's delivery to its peer. */
export interface Deliverer {
  /**
   * Asks the peer how far it already is, after the lease was (re)taken: the
   * last event it durably holds (sequence and `blake3:` payload digest), or
   * undefined when it cannot tell. The worker skips up to it only when that
   * event is this log's (a crash came between delivery and the cursor
   * write). Optional.
   */
  resume?(signal: AbortSignal): Promise<{ readonly sequence: number; readonly payloadDigest: string } | undefined>;
  /** Delivers `events` (non-empty, ascending sequences), or throws. */
  deliver(events: readonly EventView[], attempt: DeliveryAttempt): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
