/**
 * The shared event feed (src/events/event-feed.ts) through `EventLog`: many
 * waiting readers cost one read per wake-up, each still gets exactly what
 * its filter asks for, readers behind the feed's memory read the database,
 * and a commit by another connection (another process) reaches a waiting
 * reader through the feed's poll.
 */
import { strict as assert } from 'node:assert';
import { openDatabase, withTransaction, type Database } from '../../src/db/index.js';
import { EventFeed, EventLog, type StoredEvent } from '../../src/events/index.js';
import { describeEachDatabase, freshEventLogEach } from '../support/databases.js';

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describeEachDatabase('events/event-feed', (target) => {
  let db: Database;
  let log: EventLog;
  freshEventLogEach(target, (opened, openedLog) => {
    db = opened;
    log = openedLog;
  });

  const appendOn = (on: Database, to: EventLog, type: 'v1.package.created' | 'v1.package.finalized', subjectId: string) =>
    withTransaction(on, (trx, afterCommit) => to.append(trx, { type, subjectId, actor: 'tester', payload: { subjectId } }, afterCommit));
  const append = (subjectId: string, type: 'v1.package.created' | 'v1.package.finalized' = 'v1.package.created') => appendOn(db, log, type, subjectId);

  it('wakes twenty waiting long polls with a handful of reads, each getting what its filter asks for', async () => {
    await append('before');
    const since = await log.lastSequence();
    // Ten unfiltered, ten waiting only for finalizations.
    const polls = Array.from({ length: 20 }, (_, i) =>
      log.waitForEvents(since, 100, i % 2 === 0 ? undefined : { eventType: 'v1.package.finalized' }, 10_000));
    await until(() => log.feed.waiting === 20, 'every poll waits on the feed');
    const readsBefore = log.feed.reads;
    await append('created');
    await append('finalized', 'v1.package.finalized');
    const pages = await Promise.all(polls);
    for (const [i, page] of pages.entries()) {
      const types = page.map((event) => event.type);
      if (i % 2 === 1) assert.deepEqual(types, ['v1.package.finalized'], `filtered poll ${i} saw only the finalization`);
      else assert.deepEqual(types.slice(0, 1), ['v1.package.created'], `unfiltered poll ${i} starts at the first new event`);
    }
    const reads = log.feed.reads - readsBefore;
    assert.ok(reads <= 6, `two commits woke twenty readers with ${reads} feed reads (one per reader would be ≥ 20)`);
  });

  it('serves a reader behind the feed’s memory from the database, in order and complete', async () => {
    const small = new EventFeed<StoredEvent>({
      fetch: (after, limit) => log.fetchSince(after, limit),
      head: () => log.lastSequence(),
      subscribe: () => () => undefined,
      pollIntervalMs: 20,
    }, { capacity: 3, batchSize: 2 });
    await small.wait(0, 0); // nothing read yet: resolves at once
    for (let i = 0; i < 7; i += 1) await append(`e${i}`);
    // Read in batches of two, waking waiters after each: wait until it has all seven.
    for (let rounds = 0; (small.head ?? 0) < 7 && rounds < 100; rounds += 1) await small.wait(small.head ?? 0, 5_000);
    assert.equal(small.head, 7, 'the feed read up to the head');
    assert.equal(small.read(0, 10), undefined, 'sequence 0 is older than what three slots keep');
    assert.deepEqual(small.read(4, 10)?.events.map((event) => event.sequence), [5, 6, 7]);
    const one = small.read(5, 1);
    assert.deepEqual(one?.events.map((event) => event.sequence), [6], 'a limit of one returns one event');
    assert.equal(one?.through, 6, 'and says it looked no further');
    await small.close();

    // A byte bound trims as well: two "bytes" of one each keep the last two events.
    const light = new EventFeed<StoredEvent>({
      fetch: (after, limit) => log.fetchSince(after, limit),
      head: async () => 0,
      subscribe: () => () => undefined,
      pollIntervalMs: 20,
    }, { maxBytes: 2, sizeOf: () => 1 });
    for (let rounds = 0; (light.head ?? 0) < 7 && rounds < 100; rounds += 1) await light.wait(light.head ?? 0, 5_000);
    assert.equal(light.read(4, 10), undefined, 'older events were dropped for the byte bound');
    assert.deepEqual(light.read(5, 10)?.events.map((event) => event.sequence), [6, 7]);
    await light.close();

    // Through the log: a tail from 0 crosses from the database into the feed without a gap or a repeat.
    const controller = new AbortController();
    const seen: number[] = [];
    const tail = (async () => {
      for await (const event of log.tail(0, { signal: controller.signal, batchSize: 2 })) {
        seen.push(event.sequence);
        if (seen.length === 9) controller.abort();
      }
    })();
    await append('late-1');
    await append('late-2');
    await tail;
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('delivers a commit made through another connection (another process) to a waiting long poll by waking it', async function () {
    this.timeout(30_000);
    const other = await openDatabase(db.settings, db.schema ? { schema: db.schema } : {});
    const otherLog = new EventLog(other);
    try {
      const since = await log.lastSequence();
      const poll = log.waitForEvents(since, 10, undefined, 20_000);
      await until(() => log.feed.waiting === 1, 'the poll waits on the feed');
      await appendOn(other, otherLog, 'v1.package.created', 'from-elsewhere');
      // SQLite: the data_version probe; PostgreSQL: NOTIFY. A poll that timed
      // out would answer an empty page; how fast the wake-up is belongs to the
      // native bench's cross-process latency case, not to this test.
      const page = await poll;
      assert.deepEqual(page.map((event) => event.subjectId), ['from-elsewhere']);
    } finally {
      await otherLog.close();
      await other.close();
    }
  });

  it('answers a long poll with nothing once its wait is over, and gives up at once when aborted', async () => {
    const started = Date.now();
    assert.deepEqual(await log.waitForEvents(0, 10, undefined, 150), []);
    assert.ok(Date.now() - started >= 140, 'waited for the timeout');
    const controller = new AbortController();
    const aborted = log.waitForEvents(0, 10, undefined, 20_000, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const abortStarted = Date.now();
    assert.deepEqual(await aborted, []);
    assert.ok(Date.now() - abortStarted < 5_000, 'the abort ended the wait');
    assert.equal(log.feed.waiting, 0, 'no waiter is left behind');
  });
});
