/**
 * Outbound event sinks in one process over a real registry (both
 * databases), against real peers: a recording HTTP server for webhooks and
 * the tracker, and the real NATS JetStream server.
 */
import { strict as assert } from 'node:assert';
import pino from 'pino';
import request from 'supertest';
import type { NatsConnection } from 'nats';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { createHttpApp } from '../../src/http/app.js';
import { toEventView } from '../../src/registry/index.js';
import { CursorStore, natsDeliverer, parseSinks, startSinks, type SinkConfig, type SinkRunner } from '../../src/sinks/index.js';
import {
  assertAtLeastOnceInOrder,
  connectNats,
  deleteStream,
  eventually,
  NATS_URL,
  startPeer,
  streamMessages,
  uniqueStream,
  webhookSequences,
  type RecordingPeer,
} from './peers.js';

const logger = pino({ level: 'silent' });
const FAST = { leaseTtlMs: 3000, backoffBaseMs: 50, backoffCapMs: 200 };

function sinks(list: unknown[]): readonly SinkConfig[] {
  return parseSinks({ sinks: list }).sinks;
}

/** Creates a package with `files` small files and finalizes it: 2 + files + 1 package events (plus the OCI publication's). */
async function finalizedPackage(instance: TestRegistry, name: string, metadata: Record<string, string> = {}, files = 1): Promise<string> {
  const pkg = await instance.registry.createPackage({ name, producer: 'sink-tests', retentionClass: 'transient', metadata }, 'tester');
  for (let i = 0; i < files; i += 1) {
    await instance.registry.ingestFile(pkg.id, { relativePath: `f${i}.txt`, mediaType: 'text/plain' }, bytes(`${name} file ${i} `.repeat(i + 1)), 'tester');
  }
  await instance.registry.finalizePackage(pkg.id, 'tester');
  return pkg.id;
}

async function allSequences(instance: TestRegistry): Promise<number[]> {
  const head = await instance.log.lastSequence();
  return Array.from({ length: head }, (_, i) => i + 1);
}

async function caughtUp(instance: TestRegistry, name: string): Promise<boolean> {
  const cursor = await new CursorStore(instance.db).get(name);
  return cursor !== undefined && cursor.deliveredSequence === (await instance.log.lastSequence());
}

describeEachDatabase('sinks: delivery in one process', (target) => {
  let instance: TestRegistry;
  const peers: RecordingPeer[] = [];
  const runners: SinkRunner[] = [];
  const peer = async (behaviour: Parameters<typeof startPeer>[0] = {}): Promise<RecordingPeer> => {
    const started = await startPeer(behaviour);
    peers.push(started);
    return started;
  };
  const run = (list: readonly SinkConfig[], timing = FAST): SinkRunner => {
    const runner = startSinks({ db: instance.db, log: instance.log, registry: instance.registry, metrics: instance.metrics }, list, logger, timing);
    runners.push(runner);
    return runner;
  };

  beforeEach(async function () {
    this.timeout(60_000);
    instance = await openTestRegistry(target);
  });
  afterEach(async function () {
    this.timeout(60_000);
    for (const runner of runners.splice(0)) await runner.stop();
    for (const started of peers.splice(0)) await started.close();
    await instance.dispose();
  });

  it('delivers every event once, in order, HMAC-signed, as the native Event JSON; a prefix filter still advances its cursor', async function () {
    this.timeout(60_000);
    await finalizedPackage(instance, 'before-start');
    const hook = await peer({ secret: 's3cret' });
    const filtered = await peer();
    run(sinks([
      { name: 'hook', type: 'webhook', url: `${hook.url}/hook`, secret: 's3cret', batch_size: 7 },
      { name: 'finalized-only', type: 'webhook', url: filtered.url, events: ['v1.package.finalized'] },
    ]));
    // Events committed after the workers started wake them.
    await finalizedPackage(instance, 'after-start', {}, 3);
    await eventually(async () => (await caughtUp(instance, 'hook')) && (await caughtUp(instance, 'finalized-only')), 20_000, 'both sinks at the head');

    const expected = await allSequences(instance);
    assert.ok(expected.length > 10);
    assert.deepEqual(webhookSequences(hook), expected, 'each event exactly once, in order');
    assert.equal(hook.received.length, hook.accepted().length, 'every signature verified');
    assert.ok(hook.received.every((entry) => entry.path === '/hook' && (entry.body as { events: unknown[] }).events.length <= 7), 'batches of at most batch_size');
    const first = hook.accepted()[0]!;
    assert.match(String(first.headers['x-artifactstore-signature']), /^sha256=[0-9a-f]{64}$/);
    assert.match(String(first.headers['x-artifactstore-timestamp']), /^\d+$/);
    const body = first.body as { sink: string; delivery_id: string; events: unknown[] };
    assert.equal(body.sink, 'hook');
    assert.equal(first.headers['x-artifactstore-delivery'], body.delivery_id);
    const stored = await instance.log.fetchSince(0, body.events.length);
    assert.deepEqual(body.events, JSON.parse(JSON.stringify(stored.map(toEventView))), 'the body carries the Event JSON of GET /events');

    const finalized = (await instance.registry.fetchEvents(0, 1000, { eventType: 'v1.package.finalized' })).map((event) => event.sequence);
    assert.equal(finalized.length, 2);
    assert.deepEqual(webhookSequences(filtered), finalized, 'only the matching events');
    const metrics = (await instance.metrics.exposition()).body;
    assert.match(metrics, new RegExp(`sink_events_delivered_total\\{sink="hook"\\} ${expected.length}\\b`));
    assert.match(metrics, /sink_events_delivered_total\{sink="finalized-only"\} 2\b/);
    assert.match(metrics, /sink_lag_events\{sink="hook"\} 0\b/);
  });

  it('reports a failing sink unhealthy in /health while a healthy one keeps delivering, and catches it up once its peer recovers', async function () {
    this.timeout(60_000);
    const bad = await peer({ failing: true });
    const good = await peer();
    const runner = run(sinks([
      { name: 'bad', type: 'webhook', url: bad.url },
      { name: 'good', type: 'webhook', url: good.url },
    ]));
    const app = createHttpApp(instance.registry, logger, undefined, { health: { sinks: () => runner.health() } });
    await finalizedPackage(instance, 'one');
    await eventually(async () => bad.received.length >= 4 && (await caughtUp(instance, 'good')), 20_000, 'failures on bad, good at the head');
    await finalizedPackage(instance, 'two');
    await eventually(() => caughtUp(instance, 'good'), 20_000, 'good delivering while bad fails');

    const health = await request(app).get('/health');
    assert.equal(health.status, 200, 'a failing consumer does not fail the liveness check');
    assert.equal(health.body.status, 'degraded');
    const byName = Object.fromEntries((health.body.sinks as Array<{ name: string }>).map((entry) => [entry.name, entry])) as unknown as Record<string, { healthy: boolean; lag: number; last_error: string; last_error_at: string; consecutive_failures: number }>;
    assert.equal(byName.bad!.healthy, false);
    assert.ok(byName.bad!.consecutive_failures >= 3);
    assert.match(byName.bad!.last_error, /answered 500/);
    assert.ok(byName.bad!.last_error_at);
    assert.equal(byName.bad!.lag, await instance.log.lastSequence(), 'nothing delivered to bad');
    assert.equal(byName.good!.healthy, true);
    assert.equal(byName.good!.lag, 0);
    assert.match((await instance.metrics.exposition()).body, /sink_delivery_failures_total\{sink="bad"\} [1-9]/);

    bad.behaviour.failing = false;
    await eventually(() => caughtUp(instance, 'bad'), 20_000, 'bad catching up');
    const duplicates = assertAtLeastOnceInOrder(webhookSequences(bad), await allSequences(instance), 'recovered sink');
    assert.equal(duplicates, 0, 'failed attempts were not accepted, so nothing repeats');
    const healed = await request(app).get('/health');
    assert.equal(healed.body.status, 'ok');
  });

  it('starts a new sink with from: latest at the head, delivering only what commits after it', async function () {
    this.timeout(60_000);
    await finalizedPackage(instance, 'history');
    const headBefore = await instance.log.lastSequence();
    const hook = await peer();
    const runner = run(sinks([{ name: 'latest', type: 'webhook', url: hook.url, from: 'latest' }]));
    await eventually(async () => (await new CursorStore(instance.db).get('latest')) !== undefined, 10_000, 'the cursor row');
    assert.equal((await runner.status())[0]!.delivered_sequence, headBefore);
    await finalizedPackage(instance, 'news');
    await eventually(() => caughtUp(instance, 'latest'), 20_000, 'latest at the head');
    const head = await instance.log.lastSequence();
    assert.deepEqual(webhookSequences(hook), Array.from({ length: head - headBefore }, (_, i) => headBefore + 1 + i));
  });

  it('posts tracker notes for finalized packages carrying tracker_task_id and for their retention changes', async function () {
    this.timeout(60_000);
    const tracker = await peer();
    const tracked = await finalizedPackage(instance, 'tracked-run', { tracker_task_id: 'TASK-7' }, 2);
    await finalizedPackage(instance, 'untracked-run', {}, 1);
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await instance.registry.extendRetention(tracked, later, 'audit', 'tester');
    await instance.registry.applyHold(tracked, 'legal hold', 'tester');
    run(sinks([{ name: 'tracker', type: 'tracker', url: `${tracker.url}/api`, author: 'registry-bot', token: 't0k' }]));
    await eventually(() => caughtUp(instance, 'tracker'), 20_000, 'tracker at the head');

    const view = await instance.registry.getPackage(tracked);
    const notes = tracker.accepted();
    assert.equal(notes.length, 3, 'finalized, extended, hold applied: nothing for the untracked package or other events');
    for (const note of notes) {
      assert.equal(note.path, '/api/progress/');
      assert.equal(note.headers.authorization, 'Bearer t0k');
      const body = note.body as Record<string, string>;
      assert.deepEqual(Object.keys(body).sort(), ['author', 'event_type', 'summary', 'task_id']);
      assert.equal(body.task_id, 'TASK-7');
      assert.equal(body.event_type, 'note');
      assert.equal(body.author, 'registry-bot');
      for (const fact of [tracked, 'tracked-run', '2 files', `${view.totalSize} bytes`, view.manifestDigest!]) assert.ok(body.summary!.includes(fact), `${body.summary} names ${fact}`);
    }
    const [finalized, extended, held] = notes.map((note) => (note.body as { summary: string }).summary);
    assert.match(finalized!, /finalized/);
    assert.ok(extended!.includes(`extended to ${later}`));
    assert.match(held!, /hold .* applied .*legal hold/);
  });

  describe('NATS JetStream', () => {
    let nc: NatsConnection;
    const streams: string[] = [];
    before(async () => {
      nc = await connectNats();
    });
    after(async () => {
      for (const stream of streams) await deleteStream(nc, stream);
      await nc.close();
    });

    it('publishes each event once on <prefix>.<event_type> with Nats-Msg-Id = sequence, and never twice after a cursor falls behind', async function () {
      this.timeout(60_000);
      const { stream, subjectPrefix } = uniqueStream();
      streams.push(stream);
      const config = sinks([{ name: 'bus', type: 'nats', url: NATS_URL, stream, subject_prefix: subjectPrefix, duplicate_window: '1m' }]);
      await finalizedPackage(instance, 'to-nats', {}, 2);
      const runner = run(config);
      await eventually(() => caughtUp(instance, 'bus'), 20_000, 'bus at the head');
      const head = await instance.log.lastSequence();
      let messages = await streamMessages(nc, stream);
      assert.deepEqual(messages.map((message) => message.msgId), (await allSequences(instance)).map(String));
      assert.ok(messages.every((message) => message.subject === `${subjectPrefix}.${message.event.event_type}` && message.msgId === String(message.event.sequence)));
      const info = await (await nc.jetstreamManager()).streams.info(stream);
      assert.equal(info.config.duplicate_window, 60_000_000_000, 'the created stream has the configured duplicate window');

      // As if the process died between publishing and writing the cursor.
      await runner.stop();
      await instance.db.knex('sink_cursors').where({ name: 'bus' }).update({ delivered_sequence: 2 });
      run(config);
      await finalizedPackage(instance, 'after-restart');
      await eventually(() => caughtUp(instance, 'bus'), 20_000, 'bus at the head again');
      messages = await streamMessages(nc, stream);
      assert.ok((await instance.log.lastSequence()) > head);
      assert.deepEqual(messages.map((message) => message.msgId), (await allSequences(instance)).map(String), 'each sequence exactly once');

      // Inside the duplicate window the stream itself drops a republish.
      const duplicates: number[] = [];
      const direct = natsDeliverer(config[0] as Extract<SinkConfig, { type: 'nats' }>, (sequence) => duplicates.push(sequence));
      const [event] = (await instance.registry.fetchEvents(0, 1));
      await direct.deliver([event!], { deliveryId: 'x', signal: new AbortController().signal, progress: () => undefined });
      await direct.close();
      assert.deepEqual(duplicates, [1]);
      assert.equal((await streamMessages(nc, stream)).length, messages.length);
    });

    it("does not skip events because a reused stream's last message claims a later sequence of another log", async function () {
      this.timeout(60_000);
      const { stream, subjectPrefix } = uniqueStream();
      streams.push(stream);
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] });
      // Left by another registry database: sequence 1000, a digest this log never had.
      await nc.jetstream().publish(`${subjectPrefix}.v1.package.created`, new TextEncoder().encode(JSON.stringify({ sequence: 1000, payload_digest: `blake3:${'0'.repeat(64)}` })), { msgID: '1000' });
      await finalizedPackage(instance, 'fresh-log');
      run(sinks([{ name: 'bus', type: 'nats', url: NATS_URL, stream, subject_prefix: subjectPrefix }]));
      await eventually(() => caughtUp(instance, 'bus'), 20_000, 'bus at the head');
      const messages = await streamMessages(nc, stream);
      assert.deepEqual(messages.map((message) => message.msgId), ['1000', ...(await allSequences(instance)).map(String)], 'every event of this log published after the foreign one');
    });
  });

  it('lets one process deliver a sink at a time; another takes over from the cursor when it stops', async function () {
    this.timeout(60_000);
    const hook = await peer();
    const config = sinks([{ name: 'shared', type: 'webhook', url: hook.url, batch_size: 5 }]);
    const first = run(config);
    await eventually(() => first.workers[0]!.state.state === 'delivering', 10_000, 'the first runner to take the lease');
    const second = run(config);
    await finalizedPackage(instance, 'leased', {}, 2);
    await eventually(() => caughtUp(instance, 'shared'), 20_000, 'shared at the head');
    assert.equal(second.workers[0]!.state.state, 'standby');
    assert.equal((await new CursorStore(instance.db).get('shared'))!.leasedBy, first.owner);

    await first.stop(); // releases the lease
    await finalizedPackage(instance, 'taken-over');
    await eventually(() => caughtUp(instance, 'shared'), 20_000, 'the second runner delivering');
    assert.equal(second.workers[0]!.state.state, 'delivering');
    assert.deepEqual(webhookSequences(hook), await allSequences(instance), 'no event twice, none skipped, across the hand-over');
  });

  it('keeps its lease through a batch that outlasts the lease, so a standby process never delivers it twice', async function () {
    this.timeout(60_000);
    const tracker = await peer({ delayMs: 500 });
    for (let i = 0; i < 8; i += 1) await finalizedPackage(instance, `slow-${i}`, { tracker_task_id: `T-${i}` });
    const config = sinks([{ name: 'slow-tracker', type: 'tracker', url: tracker.url, timeout: '2s' }]);
    const first = run(config);
    await eventually(() => tracker.received.length + tracker.inFlight() > 0, 10_000, 'the first note');
    const second = run(config); // 8 notes × 500 ms: the batch outlasts the 3 s lease
    await eventually(() => caughtUp(instance, 'slow-tracker'), 30_000, 'slow-tracker at the head');
    assert.equal(first.workers[0]!.state.state, 'delivering');
    assert.equal(second.workers[0]!.state.state, 'standby');
    assert.deepEqual(tracker.accepted().map((note) => (note.body as { task_id: string }).task_id), Array.from({ length: 8 }, (_, i) => `T-${i}`), 'each note once, in order');
  });

  it('moves a cursor only forward and only for the lease holder; takes a lease only when free, expired or its own', async () => {
    let now = new Date('2026-11-28T10:00:00.000Z');
    const store = new CursorStore(instance.db, () => now);
    const created = await store.ensure('c', 'webhook', async () => 5);
    assert.equal(created.deliveredSequence, 5);
    assert.equal((await store.ensure('c', 'webhook', async () => 99)).deliveredSequence, 5, 'an existing cursor is kept');
    assert.equal(await store.acquire('c', 'A', 10_000), 5);
    assert.equal(await store.acquire('c', 'B', 10_000), undefined, 'A holds a live lease');
    assert.equal(await store.advance('c', 'B', 9, 10_000), false, 'B may not move it');
    assert.equal(await store.advance('c', 'A', 9, 10_000), true);
    assert.equal(await store.advance('c', 'A', 7, 10_000), false, 'never backwards');
    assert.equal(await store.recordFailure('c', 'B', 'nope'), false);
    now = new Date(now.getTime() + 11_000);
    assert.equal(await store.acquire('c', 'B', 10_000), 9, 'an expired lease is taken, with the cursor as A left it');
    assert.equal(await store.advance('c', 'A', 12, 10_000), false, 'A lost it');
    assert.equal(await store.recordFailure('c', 'B', 'peer down'), true);
    const row = (await store.get('c'))!;
    assert.equal(row.deliveredSequence, 9);
    assert.equal(row.leasedBy, 'B');
    assert.equal(row.consecutiveFailures, 1);
    assert.equal(row.lastError, 'peer down');
    await store.release('c', 'B');
    assert.equal((await store.get('c'))!.leasedBy, null);
  });
});
