/**
 * Helpers of the reliability suites: event readers over real HTTP (long
 * polls and Server-Sent Events, with forced disconnects), a snapshot of
 * what a registry holds (last event, stored objects, staging leftovers) to
 * prove a refused request changed nothing, and child `serve` processes.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { RegistryInstance } from '../../src/app.js';

/** An event as a reader keeps it: enough to compare with the log. */
export interface SeenEvent {
  readonly sequence: number;
  readonly digest: string;
}

/** One Server-Sent Events message. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** The messages of an event stream, as they arrive. */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          message.comment = line.slice(1).trim();
          continue;
        }
        const colon = line.indexOf(':');
        const field = line.slice(0, colon) as 'id' | 'event' | 'data';
        message[field] = line.slice(colon + 1).replace(/^ /, '');
      }
      yield message;
    }
  }
}

/** A page of `GET /events`. */
interface EventPage {
  readonly events: Array<{ sequence: number; payload_digest: string; event_type: string }>;
  readonly next_since: number;
}

/** When a tailer is done: `total` once the writers have finished, and a hard deadline. */
export interface TailPlan {
  /** The log's last sequence once known; the tailer stops after receiving that many. */
  total(): number | undefined;
  /** Aborts everything (the test's deadline). */
  readonly signal: AbortSignal;
}

/**
 * A long-poll tailer: `GET /events?since=…&wait=2&limit=…` until it has
 * `total` events. Every `abortEvery`-th poll is cut off by the client after
 * 30 ms and sent again with the same `since`, as a client whose connection
 * dropped would. Keeps every event it is given, repeats included.
 */
export async function longPollTailer(base: string, limit: number, plan: TailPlan, abortEvery = 0): Promise<SeenEvent[]> {
  const seen: SeenEvent[] = [];
  let since = 0;
  let polls = 0;
  while (!plan.signal.aborted) {
    const total = plan.total();
    if (total !== undefined && seen.length >= total) break;
    polls += 1;
    const cut = abortEvery > 0 && polls % abortEvery === 0;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    plan.signal.addEventListener('abort', onAbort, { once: true });
    const timer = cut ? setTimeout(() => controller.abort(), 30) : undefined;
    let page: EventPage;
    try {
      const response = await fetch(`${base}/events?since=${since}&wait=2&limit=${limit}`, { signal: controller.signal });
      assert.equal(response.status, 200, `GET /events answered ${response.status}`);
      page = (await response.json()) as EventPage;
    } catch (error) {
      if (controller.signal.aborted) continue; // cut off: ask again from the same place
      throw error;
    } finally {
      clearTimeout(timer);
      plan.signal.removeEventListener('abort', onAbort);
    }
    for (const event of page.events) seen.push({ sequence: event.sequence, digest: event.payload_digest });
    since = page.next_since;
  }
  return seen;
}

/**
 * An SSE tailer: `GET /events/stream?since=0` until it has `total` events.
 * After receiving each count in `disconnectAt` it drops the connection and
 * reconnects with `Last-Event-ID` set to the last id it received.
 */
export async function sseTailer(base: string, plan: TailPlan, disconnectAt: readonly number[] = []): Promise<{ seen: SeenEvent[]; reconnects: number }> {
  const seen: SeenEvent[] = [];
  const cuts = [...disconnectAt].sort((a, b) => a - b);
  let lastId: string | undefined;
  let reconnects = 0;
  while (!plan.signal.aborted) {
    const total = plan.total();
    if (total !== undefined && seen.length >= total) break;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    plan.signal.addEventListener('abort', onAbort, { once: true });
    // Check `total` now and then even when no event comes (the writers may have finished).
    const poll = setInterval(() => {
      const known = plan.total();
      if (known !== undefined && seen.length >= known) controller.abort();
    }, 100);
    try {
      const headers: Record<string, string> = lastId === undefined ? {} : { 'Last-Event-ID': lastId };
      const response = await fetch(`${base}/events/stream${lastId === undefined ? '?since=0' : ''}`, { headers, signal: controller.signal });
      assert.equal(response.status, 200, `GET /events/stream answered ${response.status}`);
      for await (const message of sseMessages(response.body!)) {
        if (message.data === undefined) continue;
        const event = JSON.parse(message.data) as { sequence: number; payload_digest: string; event_type: string };
        assert.equal(message.id, String(event.sequence), 'the SSE id is the event sequence');
        assert.equal(message.event, event.event_type, 'the SSE event name is the event type');
        seen.push({ sequence: event.sequence, digest: event.payload_digest });
        lastId = message.id;
        if (cuts.length > 0 && seen.length >= cuts[0]!) {
          cuts.shift();
          reconnects += 1;
          controller.abort(); // a forced disconnect mid-stream
          break;
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      clearInterval(poll);
      plan.signal.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }
  return { seen, reconnects };
}

/** Every event of the log as readers should see it, in order. */
export async function logEvents(instance: RegistryInstance): Promise<SeenEvent[]> {
  const all: SeenEvent[] = [];
  for (let since = 0; ;) {
    const page = await instance.registry.fetchEvents(since, 1000);
    if (page.length === 0) return all;
    for (const event of page) all.push({ sequence: event.sequence, digest: event.payload_digest });
    since = page.at(-1)!.sequence;
  }
}

/** What a refused request must leave unchanged. */
export interface StoreSnapshot {
  readonly lastSequence: number;
  readonly objects: string[];
  readonly objectRows: number;
}

/** Last event, published objects (storage and `objects` rows). */
export async function snapshot(instance: RegistryInstance): Promise<StoreSnapshot> {
  const objects: string[] = [];
  for await (const address of instance.dataPlane.listObjects()) objects.push(address);
  const row = await instance.db.knex('objects').count({ n: '*' }).first();
  return { lastSequence: await instance.log.lastSequence(), objects: objects.sort(), objectRows: Number(row?.n ?? 0) };
}

/** Files left in the storage root's staging directory (writes in progress or abandoned). */
export async function stagingLeftovers(storageRoot: string): Promise<string[]> {
  try {
    return await readdir(path.join(storageRoot, '.staging'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Resolves with the base URL once a spawned `serve` logs that it listens; rejects if it exits or `timeoutMs` passes. */
export function listeningUrl(child: ChildProcess, timeoutMs = 45_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`serve did not report listening within ${timeoutMs} ms: ${log.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const match = /listening on (http:\/\/[^\s"]+)/.exec(log);
      if (match) {
        cleanup();
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`serve exited (${code}) before listening: ${log.slice(-2000)}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** What {@link writeLoop} needs of a registry. */
type Writer = Pick<RegistryInstance['registry'], 'createPackage' | 'ingestFile'>;

/**
 * One writer: alternately creates a package and ingests a small file into
 * the last one, until `budget.left` writes are taken (shared by every loop
 * of the process). `onWrite` is called before each write.
 */
export async function writeLoop(registry: Writer, tag: string, budget: { left: number }, onWrite: () => void = () => undefined): Promise<number> {
  let packageId: string | undefined;
  let made = 0;
  for (let i = 0; budget.left > 0; i += 1) {
    budget.left -= 1;
    made += 1;
    onWrite();
    if (packageId === undefined || i % 2 === 0) {
      const pkg = await registry.createPackage({ name: `tailed-${tag}-${i}`, producer: `writer-${tag}`, retentionClass: 'transient', metadata: { writer: tag } }, `writer-${tag}`);
      packageId = pkg.id;
    } else {
      await registry.ingestFile(packageId, { relativePath: `files/${i}.txt`, mediaType: 'text/plain' }, (async function* () { yield Buffer.from(`writer ${tag} write ${i}`); })(), `writer-${tag}`);
    }
  }
  return made;
}
