/**
 * @module sinks
 * Outbound event sinks (ADR 0019): the event log delivered at least once, in
 * sequence order and without a hole, to webhooks, a work tracker and NATS
 * JetStream, each from its own cursor under a lease. A consumer of the
 * registry like `http/`; only `cli/` imports it.
 */
export * from './config.js';
export { CursorStore, type SinkCursor } from './cursor-store.js';
export type { Deliverer, DeliveryAttempt } from './deliverer.js';
export { DELIVERY_HEADER, DeliveryFailed, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, verifySignature } from './http-post.js';
export { natsDeliverer, subjectOf } from './nats.js';
export { createDeliverer, readSinkStatus, startSinks, UNHEALTHY_AFTER_FAILURES, type SinkDependencies, type SinkRunner, type SinkStatus } from './runner.js';
export { noteFor, TRACKER_TASK_KEY, trackerDeliverer, type PackageLookup, type TrackerNote } from './tracker.js';
export { webhookDeliverer, type WebhookBody } from './webhook.js';
export { backoffDelay, DEFAULT_WORKER_TIMING, SinkWorker, type WorkerObserver, type WorkerState, type WorkerTiming } from './worker.js';
