import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { withTransaction, type Database } from '../../src/db/index.js';
import { EventLog, type StoredEvent } from '../../src/events/index.js';
import { blake3, } from '../../src/identity/index.js';
import { decodeCanonical } from '../../src/manifest/index.js';
import { isRegistryError } from '../../src/errors/index.js';
import { describeEachDatabase, freshEventLogEach } from '../support/databases.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

describeEachDatabase('events/event-log', (target) => {
  let db: Database;
  let log: EventLog;
  freshEventLogEach(target, (opened, openedLog) => {
    db = opened;
    log = openedLog;
  });

  const append = (subjectId: string, payload: Record<string, string | number> = {}) =>
    withTransaction(db, (trx, afterCommit) => log.append(trx, { type: 'v1.package.created', subjectId, actor: 'tester', payload }, afterCommit));

  it('numbers events 1, 2, 3 and stores canonical payloads with their BLAKE3 digests', async () => {
    const first = await append('a', { b: 2, a: 1 });
    const second = await append('b');
    assert.equal(first.sequence, 1);
    assert.equal(second.sequence, 2);
    const [stored] = await log.fetchSince(0, 1);
    assert.equal(stored!.type, 'v1.package.created');
    assert.equal(stored!.subjectKind, 'package');
    assert.deepEqual(decodeCanonical(stored!.payload), { a: 1, b: 2 });
    assert.ok(Buffer.from(stored!.payloadDigest).equals(blake3(stored!.payload)));
    assert.match(stored!.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(await log.lastSequence(), 2);
  });

  it('refuses event types it does not know', async () => {
    await assert.rejects(
      withTransaction(db, (trx) => log.append(trx, { type: 'v1.nope' as never, subjectId: 'x', actor: 't', payload: {} })),
      (error) => isRegistryError(error, 'EVENT_TYPE_UNKNOWN'),
    );
    assert.equal(await log.count(), 0);
  });

  it('refuses UPDATE and DELETE on events at the database level', async () => {
    await append('a');
    await assert.rejects(db.knex('events').update({ actor: 'mallory' }), /append-only/);
    await assert.rejects(db.knex('events').delete(), /append-only/);
    await assert.rejects(db.knex.raw('UPDATE events SET payload = ? WHERE sequence = 1', [Buffer.from('x')]), /append-only/);
    const [stored] = await log.fetchSince(0, 10);
    assert.equal(stored!.actor, 'tester');
    if (db.client === 'postgres') await assert.rejects(db.knex.raw('TRUNCATE events'), /append-only/);
    assert.equal(await log.count(), 1);
  });

  it('does not burn a sequence number on rollback', async () => {
    await append('a');
    await assert.rejects(
      withTransaction(db, async (trx) => {
        await log.append(trx, { type: 'v1.package.created', subjectId: 'b', actor: 't', payload: {} });
        throw new Error('rollback');
      }),
      /rollback/,
    );
    const next = await append('c');
    assert.equal(next.sequence, 2);
  });

  it('stays gapless and commit-ordered under concurrent writers that partly roll back, and a tailer sees every event once, in order', async () => {
    const writers = 8;
    const perWriter = 40;
    const controller = new AbortController();
    const seen: StoredEvent[] = [];
    let expectedTotal = -1;
    const tailer = (async () => {
      for await (const event of log.tail(0, { signal: controller.signal, pollIntervalMs: 50 })) {
        seen.push(event);
        if (seen.length === expectedTotal) controller.abort();
      }
    })();
    const committedBy = await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const committed: number[] = [];
        for (let i = 0; i < perWriter; i += 1) {
          const rollback = (writer + i) % 5 === 0;
          try {
            const event = await withTransaction(db, async (trx, afterCommit) => {
              const appended = await log.append(trx, { type: 'v1.package.created', subjectId: `w${writer}-${i}`, actor: 't', payload: { writer, i } }, afterCommit);
              if (rollback) throw new Error('planned rollback');
              return appended;
            });
            committed.push(event.sequence);
          } catch (error) {
            if ((error as Error).message !== 'planned rollback') throw error;
          }
        }
        return committed;
      }),
    );
    const all = committedBy.flat().sort((a, b) => a - b);
    expectedTotal = all.length;
    if (seen.length === expectedTotal) controller.abort();
    await tailer;
    assert.ok(all.length > 0 && all.length < writers * perWriter, 'some writes committed and some rolled back');
    assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1), 'committed sequences are exactly 1..N');
    assert.deepEqual(seen.map((event) => event.sequence), all, 'the tailer saw every event exactly once, in order');
    assert.equal(await log.count(), all.length);
  });

  it('wakes a tailer promptly when a later commit arrives', async () => {
    await append('a');
    const controller = new AbortController();
    const received: number[] = [];
    const tailer = (async () => {
      for await (const event of log.tail(0, { signal: controller.signal, pollIntervalMs: 60_000 })) {
        received.push(event.sequence);
        if (received.length === 3) controller.abort();
      }
    })();
    await append('b');
    await append('c');
    // With a one-minute poll interval, only a commit notification can end this before mocha's timeout.
    await tailer;
    assert.deepEqual(received, [1, 2, 3]);
  });

  if (target.name === 'sqlite') {
    it('stays gapless when several processes append to the same SQLite file', async function () {
      this.timeout(120_000);
      await log.close();
      const file = db.settings.connection;
      const worker = path.join(here, '../support/append-worker.ts');
      const results = await Promise.all(
        ['p1', 'p2', 'p3'].map((tag) => run(process.execPath, ['--import', 'tsx', worker, file, '60', '7', tag], { maxBuffer: 1 << 20 })),
      );
      const committed = results.flatMap((result) => JSON.parse(result.stdout.trim()) as number[]).sort((a, b) => a - b);
      assert.equal(committed.length, 3 * (60 - Math.floor(60 / 7)));
      assert.deepEqual(committed, Array.from({ length: committed.length }, (_, i) => i + 1));
      assert.equal(await log.count(), committed.length);
    });
  }
});
