/**
 * @module registry/events
 * Reading the event log as consumers see it: JSON-ready views of events.
 */
import { decodeCanonical, type CanonicalValue } from '../manifest/index.js';
import { matchesFilter, type EventFilter, type StoredEvent } from '../events/index.js';
import type { RegistryContext } from './context.js';

/** An event rendered for consumers (CLI lines, HTTP, sinks). */
export interface EventView {
  readonly sequence: number;
  readonly created_at: string;
  readonly event_type: string;
  readonly subject_kind: string;
  readonly subject_id: string;
  readonly actor: string;
  /** The payload's JSON projection. */
  readonly payload: CanonicalValue;
  /** The payload's canonical CBOR, base64. */
  readonly payload_cbor: string;
  /** `blake3:<hex>` of the canonical CBOR payload. */
  readonly payload_digest: string;
}

/**
 * Views of events the shared event feed hands to many readers at once (the
 * same `StoredEvent` object each time): each is decoded once, not once per
 * reader. Held weakly, so they go when the feed drops the event.
 */
const rendered = new WeakMap<StoredEvent, EventView>();

/** Renders a stored event for consumers. */
export function toEventView(event: StoredEvent): EventView {
  let view = rendered.get(event);
  if (!view) {
    view = renderEvent(event);
    rendered.set(event, view);
  }
  return view;
}

function renderEvent(event: StoredEvent): EventView {
  return {
    sequence: event.sequence,
    created_at: event.createdAt,
    event_type: event.type,
    subject_kind: event.subjectKind,
    subject_id: event.subjectId,
    actor: event.actor,
    payload: decodeCanonical(event.payload),
    payload_cbor: Buffer.from(event.payload).toString('base64'),
    payload_digest: `blake3:${Buffer.from(event.payloadDigest).toString('hex')}`,
  };
}

/** Up to `limit` events after `since` that pass `filter`, in sequence order. */
export async function fetchEvents(ctx: RegistryContext, since: number, limit: number, filter?: EventFilter): Promise<EventView[]> {
  return (await ctx.log.fetchSince(since, limit, filter)).map(toEventView);
}

/** Long poll: matching events after `since` at once, else the first to commit within `waitMs`. */
export async function waitForEvents(ctx: RegistryContext, since: number, limit: number, filter: EventFilter | undefined, waitMs: number, signal?: AbortSignal): Promise<EventView[]> {
  return (await ctx.log.waitForEvents(since, limit, filter, waitMs, signal)).map(toEventView);
}

/** Every event after `since` that passes `filter`, then each new one as it commits, until `signal` aborts. */
export async function* tailEvents(ctx: RegistryContext, since: number, signal?: AbortSignal, filter?: EventFilter): AsyncGenerator<EventView> {
  for await (const event of ctx.log.tail(since, signal ? { signal } : {})) {
    if (matchesFilter(event, filter)) yield toEventView(event);
  }
}

export type { EventFilter };
