/**
 * @module sinks/webhook
 * The `webhook` sink: each batch is one POST of
 * `{sink, delivery_id, sent_at, events: [Event…]}` (the native API's Event
 * JSON), signed with {@link SIGNATURE_HEADER} when a secret is set. Any 2xx
 * accepts the whole batch.
 */
import type { EventView } from '../registry/index.js';
import type { WebhookSinkConfig } from './config.js';
import type { DeliveryAttempt, Deliverer } from './deliverer.js';
import { postJson } from './http-post.js';

/** The JSON body of one webhook delivery. */
export interface WebhookBody {
  readonly sink: string;
  readonly delivery_id: string;
  /** ISO-8601 UTC; signed with the body, so a captured request cannot be replayed as new. */
  readonly sent_at: string;
  readonly events: readonly EventView[];
}

/** A deliverer POSTing batches to `sink.url`. */
export function webhookDeliverer(sink: WebhookSinkConfig): Deliverer {
  return {
    async deliver(events: readonly EventView[], attempt: DeliveryAttempt): Promise<void> {
      const sentAt = new Date();
      const body: WebhookBody = { sink: sink.name, delivery_id: attempt.deliveryId, sent_at: sentAt.toISOString(), events };
      await postJson(sink.url, JSON.stringify(body), { secret: sink.secret, deliveryId: attempt.deliveryId, sentAt, timeoutMs: sink.timeoutMs, signal: attempt.signal });
    },
    close: async () => undefined,
  };
}
