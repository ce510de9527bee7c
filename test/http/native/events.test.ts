import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { decode } from 'cborg';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import type { Registry } from '../../../src/registry/index.js';
import { EventPageSchema, EventSchema } from '../../../src/http/native/schemas.js';
import { assertProblem, createPackage, deferred, multipartBody, serveNative, type NativeHarness } from './helpers.js';

/** One Server-Sent Events message (or comment). */
interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads the messages of an event stream as they arrive. */
async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
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
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        else {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon) as 'id' | 'event' | 'data';
          message[field] = line.slice(colon + 1).replace(/^ /, '');
        }
      }
      yield message;
    }
  }
}

/** The next message that is an event (skipping comments). */
async function nextEvent(messages: AsyncGenerator<SseMessage>): Promise<SseMessage> {
  for (;;) {
    const { value, done } = await messages.next();
    assert.ok(!done, 'the stream ended');
    if (value.data !== undefined) return value;
  }
}

/** A registry whose long polls and tails report when they start, with their abort signals. */
function spyOn(registry: Registry) {
  const waiting = deferred<AbortSignal | undefined>();
  const tailing = deferred<AbortSignal | undefined>();
  const spy = Object.create(registry, {
    waitForEvents: {
      value: (...args: Parameters<Registry['waitForEvents']>) => {
        waiting.resolve(args[4]);
        return registry.waitForEvents(...args);
      },
    },
    tailEvents: {
      value: (...args: Parameters<Registry['tailEvents']>) => {
        tailing.resolve(args[1]);
        return registry.tailEvents(...args);
      },
    },
  }) as Registry;
  return { spy, waiting: waiting.promise, tailing: tailing.promise };
}

async function aborted(signal: AbortSignal | undefined): Promise<void> {
  assert.ok(signal, 'the registry got an abort signal');
  if (!signal.aborted) await once(signal, 'abort');
}

describeEachDatabase('native API: events', (target) => {
  let instance: TestRegistry;
  let native: NativeHarness;
  before(async () => {
    instance = await openTestRegistry(target);
    native = await serveNative(instance);
  });
  after(async () => {
    await native.close();
    await instance.dispose();
  });

  it('lists events with payload, canonical CBOR and its digest, and filters by type, prefix and subject', async () => {
    const since = await instance.log.lastSequence();
    const pkg = await createPackage(native.agent, { name: 'evented' });
    const form = multipartBody([{ file: 'f', filename: 'e.txt', contentType: 'text/plain', content: 'event me' }]);
    await native.agent.post(`/packages/${pkg.id}/files`).set('Content-Type', form.contentType).send(form.body).expect(201);

    const page = EventPageSchema.parse((await native.agent.get('/events').query({ since }).expect(200)).body);
    assert.deepEqual(page.events.map((event) => event.event_type), ['v1.package.created', 'v1.retention.default_applied', 'v1.file.ingested']);
    assert.equal(page.next_since, page.events.at(-1)!.sequence);
    for (const event of page.events) {
      const cbor = Buffer.from(event.payload_cbor, 'base64');
      assert.equal(event.payload_digest, `blake3:${Buffer.from(nobleBlake3(cbor)).toString('hex')}`);
      assert.deepEqual(decode(cbor), event.payload);
      assert.equal(event.actor, 'anonymous');
    }
    const created = page.events[0]!;
    assert.equal(created.subject_kind, 'package');
    assert.equal(created.subject_id, pkg.id);
    assert.equal((created.payload as { name: string }).name, 'evented');

    const exact = EventPageSchema.parse((await native.agent.get('/events').query({ since, event_type: 'v1.package.created' }).expect(200)).body);
    assert.deepEqual(exact.events.map((event) => event.sequence), [created.sequence]);
    const prefix = EventPageSchema.parse((await native.agent.get('/events').query({ since, event_type: 'v1.file.' }).expect(200)).body);
    assert.deepEqual(prefix.events.map((event) => event.event_type), ['v1.file.ingested']);
    const notAPrefix = EventPageSchema.parse((await native.agent.get('/events').query({ since, event_type: 'v1.file' }).expect(200)).body);
    assert.deepEqual(notAPrefix.events, []);
    assert.equal(notAPrefix.next_since, since);
    const bySubject = EventPageSchema.parse((await native.agent.get('/events').query({ since: 0, subject_kind: 'package', subject_id: pkg.id }).expect(200)).body);
    assert.ok(bySubject.events.length >= 1);
    for (const event of bySubject.events) {
      assert.equal(event.subject_kind, 'package');
      assert.equal(event.subject_id, pkg.id);
    }

    // Paging with limit and next_since walks the same events.
    const walked: number[] = [];
    let cursor = since;
    for (;;) {
      const step = EventPageSchema.parse((await native.agent.get('/events').query({ since: cursor, limit: 1 }).expect(200)).body);
      if (step.events.length === 0) break;
      assert.equal(step.events.length, 1);
      walked.push(step.events[0]!.sequence);
      cursor = step.next_since;
    }
    assert.deepEqual(walked, page.events.map((event) => event.sequence));
  });

  it('long poll: answers at once when events exist, else wakes on the next matching commit', async () => {
    const { spy, waiting } = spyOn(instance.registry);
    const spied = await serveNative(instance, { registry: spy });
    try {
      const since = await instance.log.lastSequence();
      const immediate = await fetch(native.url(`/events?since=${since - 1}&wait=30`));
      assert.equal(((await immediate.json()) as { events: unknown[] }).events.length, 1);

      const started = Date.now();
      const poll = fetch(spied.url(`/events?since=${since}&wait=30&event_type=v1.package.`));
      await waiting;
      await instance.registry.createPackage({ name: 'wake-up', producer: 'ci', retentionClass: 'transient' }, 'test');
      const response = await poll;
      assert.equal(response.status, 200);
      const page = EventPageSchema.parse(await response.json());
      assert.deepEqual(page.events.map((event) => event.event_type), ['v1.package.created']);
      assert.equal((page.events[0]!.payload as { name: string }).name, 'wake-up');
      assert.ok(Date.now() - started < 25_000, 'woken by the commit, not by the timeout');
    } finally {
      await spied.close();
    }
  });

  it('long poll: answers an empty page when nothing matching commits within wait', async () => {
    const since = await instance.log.lastSequence();
    const started = Date.now();
    const page = EventPageSchema.parse((await native.agent.get('/events').query({ since, wait: 0.2, event_type: 'v1.nothing.' }).expect(200)).body);
    assert.deepEqual(page.events, []);
    assert.equal(page.next_since, since);
    assert.ok(Date.now() - started >= 150, 'it waited');
  });

  it('long poll: stops waiting when the client disconnects', async () => {
    const { spy, waiting } = spyOn(instance.registry);
    const spied = await serveNative(instance, { registry: spy });
    try {
      const client = new AbortController();
      const poll = fetch(spied.url(`/events?since=${await instance.log.lastSequence()}&wait=60`), { signal: client.signal }).catch((error: unknown) => error);
      const signal = await waiting;
      assert.equal(signal?.aborted, false);
      client.abort();
      await aborted(signal);
      assert.equal(((await poll) as Error).name, 'AbortError');
    } finally {
      await spied.close();
    }
  });

  it('SSE: streams events with id/event/data, and resumes after Last-Event-ID', async () => {
    const since = await instance.log.lastSequence();
    const client = new AbortController();
    const response = await fetch(native.url(`/events/stream?since=${since}`), { signal: client.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const messages = sseMessages(response.body!);

    const pkg = await createPackage(native.agent, { name: 'streamed' });
    const first = await nextEvent(messages);
    const second = await nextEvent(messages);
    for (const message of [first, second]) {
      const event = EventSchema.parse(JSON.parse(message.data!));
      assert.equal(message.id, String(event.sequence));
      assert.equal(message.event, event.event_type);
      assert.equal(event.subject_id, pkg.id);
    }
    assert.equal(first.data && JSON.parse(first.data).subject_kind, 'package');
    assert.equal(first.event, 'v1.package.created');
    assert.equal(second.event, 'v1.retention.default_applied');
    client.abort();
    await messages.return(undefined).catch(() => undefined);

    // Reconnect with Last-Event-ID of the first message (it wins over since), filtered this time.
    const again = new AbortController();
    const resumed = await fetch(native.url(`/events/stream?since=0&subject_kind=retention`), { signal: again.signal, headers: { 'Last-Event-ID': first.id! } });
    const resumedMessages = sseMessages(resumed.body!);
    const next = await nextEvent(resumedMessages);
    assert.equal(next.id, second.id);
    assert.equal(next.event, 'v1.retention.default_applied');
    again.abort();
    await resumedMessages.return(undefined).catch(() => undefined);
  });

  it('SSE: sends keepalive comments and releases the tail when the client goes away', async () => {
    const { spy, tailing } = spyOn(instance.registry);
    const spied = await serveNative(instance, { registry: spy, native: { keepaliveMs: 20 } });
    try {
      const client = new AbortController();
      const response = await fetch(spied.url(`/events/stream?since=${await instance.log.lastSequence()}`), { signal: client.signal });
      const messages = sseMessages(response.body!);
      let keepalives = 0;
      while (keepalives < 2) {
        const { value, done } = await messages.next();
        assert.ok(!done);
        if (value.comment === 'keepalive') keepalives += 1;
      }
      const signal = await tailing;
      assert.equal(signal?.aborted, false);
      client.abort();
      await messages.return(undefined).catch(() => undefined);
      await aborted(signal);
    } finally {
      await spied.close();
    }
  });

  it('400 FIELD_INVALID for bad queries and a malformed Last-Event-ID', async () => {
    for (const query of ['wait=61', 'wait=-1', 'limit=0', 'limit=1001', 'since=-1', 'since=abc', 'colour=red']) {
      assertProblem(await native.agent.get(`/events?${query}`), 400, 'FIELD_INVALID');
    }
    const problem = assertProblem(await native.agent.get('/events/stream').set('Last-Event-ID', 'abc'), 400, 'FIELD_INVALID');
    assert.deepEqual((problem.violations as Array<{ pointer: string }>).map((violation) => violation.pointer), ['/last-event-id']);
    assertProblem(await native.agent.get('/events/stream?since=x'), 400, 'FIELD_INVALID');
  });
});
