/**
 * @module registry/events
 * Reading the event log as consumers see it: JSON-ready views of events.
 */
import { decodeCanonical, type CanonicalValue } from '../manifest/index.js';
import type { StoredEvent } from '../events/index.js';
import type { RegistryContext } from './context.js';

/** An event rendered for consumers (CLI lines, HTTP, sinks). */
export interface EventView {
  readonly sequence: number;
  readonly created_at: string;
  readonly event_type: string;
  readonly subject_kind: string;
  readonly subject_id: string;
  readonly actor: string;
  readonly payload: CanonicalValue;
  /** `blake3:<hex>` of the canonical CBOR payload. */
  readonly payload_digest: string;
}

/** Renders a stored event for consumers. */
export function toEventView(event: StoredEvent): EventView {
  return {
    sequence: event.sequence,
    created_at: event.createdAt,
    event_type: event.type,
    subject_kind: event.subjectKind,
    subject_id: event.subjectId,
    actor: event.actor,
    payload: decodeCanonical(event.payload),
    payload_digest: `blake3:${Buffer.from(event.payloadDigest).toString('hex')}`,
  };
}

/** Up to `limit` events after `since`, in sequence order. */
export async function fetchEvents(ctx: RegistryContext, since: number, limit: number): Promise<EventView[]> {
  return (await ctx.log.fetchSince(since, limit)).map(toEventView);
}

/** Every event after `since`, then each new one as it commits, until `signal` aborts. */
export async function* tailEvents(ctx: RegistryContext, since: number, signal?: AbortSignal): AsyncGenerator<EventView> {
  for await (const event of ctx.log.tail(since, signal ? { signal } : {})) yield toEventView(event);
}
