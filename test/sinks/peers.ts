/**
 * Real peers of the sink tests: an HTTP server on loopback that records
 * every POST it receives (standing in for webhook consumers and the work
 * tracker), and that can fail the first N requests, answer slowly, or check
 * the HMAC signature; plus JetStream helpers over the real NATS server.
 */
import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { SIGNATURE_HEADER, verifySignature } from '../../src/sinks/index.js';

/** The NATS server the tests publish to (started by `.ci/run`). */
export const NATS_URL = process.env.ARTIFACTSTORE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** One request a peer received. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly body: unknown;
  /** The status the peer answered. */
  readonly status: number;
}

/** How a recording peer behaves. */
export interface PeerBehaviour {
  /** Answer 500 to this many requests first. */
  failFirst?: number;
  /** Answer 500 to every request while true. */
  failing?: boolean;
  /** Hold each answer this long. */
  delayMs?: number;
  /** Answer 401 to requests whose signature does not verify under this secret. */
  secret?: string;
}

/** A recording HTTP peer. */
export interface RecordingPeer {
  readonly url: string;
  readonly received: Received[];
  /** Requests answered 2xx. */
  accepted(): Received[];
  /** Requests received but not answered yet. */
  inFlight(): number;
  readonly behaviour: PeerBehaviour;
  close(): Promise<void>;
}

/** Starts a recording peer on 127.0.0.1. */
export async function startPeer(behaviour: PeerBehaviour = {}): Promise<RecordingPeer> {
  const received: Received[] = [];
  let pending = 0;
  let failuresLeft = behaviour.failFirst ?? 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    pending += 1;
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let status = 200;
      if (behaviour.secret !== undefined && !verifySignature(behaviour.secret, raw, request.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined)) status = 401;
      else if (behaviour.failing) status = 500;
      else if (failuresLeft > 0) {
        failuresLeft -= 1;
        status = 500;
      }
      const answer = (): void => {
        pending -= 1;
        received.push({ path: request.url ?? '', headers: request.headers, raw, body: raw === '' ? undefined : JSON.parse(raw), status });
        response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    accepted: () => received.filter((entry) => entry.status >= 200 && entry.status < 300),
    inFlight: () => pending,
    behaviour,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The event sequences of accepted webhook deliveries, in arrival order (repeats included). */
export function webhookSequences(peer: RecordingPeer): number[] {
  return peer.accepted().flatMap((entry) => (entry.body as { events: Array<{ sequence: number }> }).events.map((event) => event.sequence));
}

/**
 * Checks that `sequences` (in arrival order) delivered every one of
 * `expected` at least once, first deliveries in ascending order without a
 * gap; returns how many were repeats.
 */
export function assertAtLeastOnceInOrder(sequences: readonly number[], expected: readonly number[], what: string): number {
  const first: number[] = [];
  const seen = new Set<number>();
  for (const sequence of sequences) {
    if (seen.has(sequence)) continue;
    seen.add(sequence);
    first.push(sequence);
  }
  assert.deepEqual(first, [...expected], `${what}: first deliveries are every expected sequence, in order`);
  return sequences.length - first.length;
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A unique stream name and subject prefix for one test, so parallel runs never collide. */
export function uniqueStream(): { stream: string; subjectPrefix: string } {
  const id = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  return { stream: `AS_TEST_${id}`, subjectPrefix: `astest.${id}` };
}

/** Every message of `stream`: subject, `Nats-Msg-Id` and the decoded payload. */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<Array<{ subject: string; msgId: string; event: { sequence: number; event_type: string } }>> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const messages = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
    const message = await jsm.streams.getMessage(stream, { seq });
    messages.push({ subject: message.subject, msgId: message.header?.get('Nats-Msg-Id') ?? '', event: message.json<{ sequence: number; event_type: string }>() });
  }
  return messages;
}

/** Connects to the test NATS server. */
export function connectNats(): Promise<NatsConnection> {
  return connect({ servers: NATS_URL });
}

/** Deletes `stream` if it exists. */
export async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(stream).catch(() => undefined);
}
