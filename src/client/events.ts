/**
 * @module client/events
 * Following the event log over `GET /events` long polls. The follower keeps
 * the sequence of the last event it yielded and always asks for what comes
 * after it, so a dropped connection, a restarted server or a retried poll can
 * neither skip nor repeat an event.
 */
import type { NativeApi } from './api.js';
import { TransportError, isTransient } from './errors.js';
import { isAbort, retryDelay, sleep } from './transport.js';
import type { EventQuery, RemoteEvent } from './types.js';

/** Options of {@link followEvents}. */
export interface EventsOptions extends EventQuery {
  /** Keep waiting for new events (default true); false ends at the current end of the log. */
  readonly follow?: boolean;
  /** Seconds one long poll may wait on the server (default 30, at most 60). */
  readonly wait?: number;
  /** Stops the iteration (it then ends quietly). */
  readonly signal?: AbortSignal;
}

/** Events after `options.since`; see the module comment. */
export async function* followEvents(client: NativeApi, options: EventsOptions = {}): AsyncGenerator<RemoteEvent> {
  const follow = options.follow ?? true;
  const wait = follow ? Math.min(60, Math.max(0, options.wait ?? 30)) : 0;
  const signal = options.signal;
  const policy = client.transport.retry;
  let last = options.since ?? 0;
  let failures = 0;
  const filters: EventQuery = {
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.event_type !== undefined ? { event_type: options.event_type } : {}),
    ...(options.subject_kind !== undefined ? { subject_kind: options.subject_kind } : {}),
    ...(options.subject_id !== undefined ? { subject_id: options.subject_id } : {}),
  };

  while (!signal?.aborted) {
    const asked = Date.now();
    let page;
    try {
      page = await client.fetchEvents({ ...filters, since: last, ...(wait > 0 ? { wait } : {}) }, { idempotent: false, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (isAbort(error, signal)) return;
      if (!isTransient(error)) throw error;
      failures += 1;
      // A follower reconnects forever (with capped backoff); a one-shot read gives up like any request.
      if (!follow && failures >= policy.attempts) throw error instanceof TransportError ? new TransportError(error.request, failures, error.cause) : error;
      try {
        await sleep(retryDelay(policy, Math.min(failures, 16), error), signal);
      } catch {
        return;
      }
      continue;
    }
    failures = 0;
    for (const event of page.events) {
      if (event.sequence <= last) continue; // already yielded
      last = event.sequence;
      yield event;
      if (signal?.aborted) return;
    }
    // With filters the server may have looked past the last match.
    if (typeof page.next_since === 'number' && page.next_since > last) last = page.next_since;
    if (page.events.length === 0) {
      if (!follow) return;
      // A server that answers an empty long poll early must not turn this into a busy loop.
      const elapsed = Date.now() - asked;
      if (elapsed < 500) {
        try {
          await sleep(500 - elapsed, signal);
        } catch {
          return;
        }
      }
    }
  }
}
