/**
 * @module sinks/nats
 * The `nats` sink: every event published to NATS JetStream on
 * `<subject_prefix>.<event_type>` (payload: the Event JSON), one at a time,
 * in sequence order, each awaiting the stream's acknowledgement. The
 * message id (`Nats-Msg-Id`) is the event sequence, so the stream drops a
 * republish inside its duplicate window; and when the lease is taken, the
 * last message of the stream tells how far an earlier holder got, so a
 * republish after a crash is skipped whatever the window. The stream is
 * created when missing (subjects `<prefix>.>`, the configured duplicate
 * window); one stream serves one registry database.
 */
import { connect, nanos, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import type { EventView } from '../registry/index.js';
import type { NatsSinkConfig } from './config.js';
import type { DeliveryAttempt, Deliverer } from './deliverer.js';

/** JetStream's API error code for an unknown stream. */
const STREAM_NOT_FOUND = 10059;
/** JetStream's API error code for a missing message. */
const NO_MESSAGE_FOUND = 10037;

function apiErrorCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } }).api_error?.err_code;
}

/** The subject an event is published on. */
export function subjectOf(sink: Pick<NatsSinkConfig, 'subjectPrefix'>, eventType: string): string {
  return `${sink.subjectPrefix}.${eventType}`;
}

/** A deliverer publishing to JetStream; connects lazily and reconnects after a failure. */
export function natsDeliverer(sink: NatsSinkConfig, onDuplicate: (sequence: number) => void = () => undefined): Deliverer {
  let connection: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } | undefined;
  let streamReady = false;
  const encoder = new TextEncoder();

  async function open(): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
    if (connection && !connection.nc.isClosed()) return connection;
    const nc = await connect({ servers: sink.url.split(','), name: `artifactstore-sink-${sink.name}`, timeout: sink.timeoutMs, maxReconnectAttempts: -1 });
    const jsm = await nc.jetstreamManager({ timeout: sink.timeoutMs });
    connection = { nc, js: nc.jetstream({ timeout: sink.timeoutMs }), jsm };
    streamReady = false;
    return connection;
  }

  async function ensureStream(jsm: JetStreamManager): Promise<void> {
    if (streamReady) return;
    try {
      await jsm.streams.info(sink.stream);
    } catch (error) {
      if (apiErrorCode(error) !== STREAM_NOT_FOUND) throw error;
      await jsm.streams.add({ name: sink.stream, subjects: [`${sink.subjectPrefix}.>`], duplicate_window: nanos(sink.duplicateWindowSeconds * 1000) });
    }
    streamReady = true;
  }

  /** Drops the connection after a failure, so the next attempt starts clean. */
  async function reset(): Promise<void> {
    const current = connection;
    connection = undefined;
    streamReady = false;
    await current?.nc.close().catch(() => undefined);
  }

  return {
    async resume(): Promise<{ sequence: number; payloadDigest: string } | undefined> {
      try {
        const { jsm } = await open();
        await ensureStream(jsm);
        const info = await jsm.streams.info(sink.stream);
        if (info.state.messages === 0) return undefined;
        let last;
        try {
          last = await jsm.streams.getMessage(sink.stream, { seq: info.state.last_seq });
        } catch (error) {
          if (apiErrorCode(error) === NO_MESSAGE_FOUND) return undefined;
          throw error;
        }
        // Only a message this sink published tells where it stopped.
        if (!last.subject.startsWith(`${sink.subjectPrefix}.`)) return undefined;
        const id = last.header?.get('Nats-Msg-Id') ?? '';
        let event: { sequence?: unknown; payload_digest?: unknown };
        try {
          event = last.json();
        } catch {
          return undefined;
        }
        if (!/^\d+$/.test(id) || event.sequence !== Number(id) || typeof event.payload_digest !== 'string') return undefined;
        return { sequence: Number(id), payloadDigest: event.payload_digest };
      } catch (error) {
        await reset();
        throw error;
      }
    },
    async deliver(events: readonly EventView[], attempt: DeliveryAttempt): Promise<void> {
      try {
        const { js, jsm } = await open();
        await ensureStream(jsm);
        for (const event of events) {
          if (attempt.signal.aborted) throw new Error('delivery aborted');
          const ack = await js.publish(subjectOf(sink, event.event_type), encoder.encode(JSON.stringify(event)), { msgID: String(event.sequence), timeout: sink.timeoutMs });
          if (ack.duplicate) onDuplicate(event.sequence);
          attempt.progress(event.sequence);
        }
      } catch (error) {
        await reset();
        throw error;
      }
    },
    close: reset,
  };
}
