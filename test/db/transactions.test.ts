import { strict as assert } from 'node:assert';
import { rowsOf, withTransaction, type Database, type Transaction } from '../../src/db/index.js';
import { EventLog } from '../../src/events/index.js';
import { describeEachDatabase, freshDatabase, freshEventLogEach } from '../support/databases.js';

describeEachDatabase('db/withTransaction', (target) => {
  let db: Database;
  let log: EventLog;
  freshEventLogEach(target, (opened, openedLog) => {
    db = opened;
    log = openedLog;
  });

  const record = (trx: Transaction, subjectId: string, afterCommit?: (callback: () => void) => void) =>
    log.append(trx, { type: 'v1.package.created', subjectId, actor: 'tester', payload: { subjectId } }, afterCommit);

  const subjects = async (): Promise<string[]> =>
    (await db.knex('events').orderBy('sequence').select('subject_id', 'sequence')).map((row: { subject_id: string }) => row.subject_id);

  it('commits concurrent transactions independently: one that throws leaves no trace, the others all land, gapless', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) =>
      withTransaction(db, async (trx) => {
        await record(trx, `unit-${i}`);
        await record(trx, `unit-${i}-second`);
        if (i % 4 === 2) throw new Error(`unit ${i} fails after writing`);
        return i;
      })));
    for (const [i, outcome] of outcomes.entries()) {
      if (i % 4 === 2) {
        assert.equal(outcome.status, 'rejected');
        assert.match(String((outcome as PromiseRejectedResult).reason), new RegExp(`unit ${i} fails`));
      } else {
        assert.deepEqual(outcome, { status: 'fulfilled', value: i });
      }
    }
    const stored = await subjects();
    assert.equal(stored.length, 18);
    assert.ok(stored.every((subject) => !/^unit-(2|6|10)(-|$)/.test(subject)), stored.join(','));
    const sequences = (await db.knex('events').orderBy('sequence').pluck('sequence')).map(Number);
    assert.deepEqual(sequences, Array.from({ length: 18 }, (_, i) => i + 1));
    // Each transaction's two events are adjacent: transactions never interleave.
    for (let i = 0; i < stored.length; i += 2) assert.equal(stored[i + 1], `${stored[i]}-second`);
  });

  it('settles after the commit and runs afterCommit callbacks of committed transactions only', async () => {
    const seen: string[] = [];
    const visibleAtCallback: Array<Promise<boolean>> = [];
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((name) =>
      withTransaction(db, async (trx, afterCommit) => {
        await record(trx, name);
        afterCommit(() => {
          seen.push(name);
        });
        afterCommit(() => {
          // Checked from outside the transaction, once the callbacks run.
          visibleAtCallback.push(db.knex('events').where({ subject_id: name }).first().then((row) => row !== undefined));
        });
        if (name === 'c') throw new Error('c fails');
        return name;
      }).then(async (value) => {
        // Resolved means durable: another connection sees the event.
        const row = await db.knex('events').where({ subject_id: value }).first();
        assert.ok(row, `${value} is visible once its transaction resolved`);
        return value;
      })));
    assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual([...seen].sort(), ['a', 'b', 'd']);
    assert.deepEqual(await Promise.all(visibleAtCallback), [true, true, true]);
  });

  it('keeps going after the first queued transaction fails', async () => {
    const first = withTransaction(db, async (trx) => {
      await record(trx, 'first');
      throw new Error('first fails');
    });
    const rest = ['second', 'third'].map((name) => withTransaction(db, (trx) => record(trx, name)));
    await assert.rejects(first, /first fails/);
    const stored = await Promise.all(rest);
    assert.deepEqual(stored.map((event) => event.sequence), [1, 2]);
    assert.deepEqual(await subjects(), ['second', 'third']);
  });

  it('recovers a transaction whose statement failed in the database', async () => {
    const outcomes = await Promise.allSettled([
      withTransaction(db, (trx) => record(trx, 'before')),
      withTransaction(db, async (trx) => {
        await record(trx, 'doomed');
        await trx.raw('SELECT * FROM no_such_table');
      }),
      withTransaction(db, (trx) => record(trx, 'after')),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(await subjects(), ['before', 'after']);
  });

  it('refuses queries on a transaction that has ended', async () => {
    let kept: Transaction | undefined;
    await withTransaction(db, async (trx) => {
      kept = trx;
      await record(trx, 'x');
    });
    assert.equal(kept!.isCompleted(), true);
    await assert.rejects(kept!('events').count({ n: '*' }), /complete/);
  });

  it('fails write transactions on a closed database instead of retrying forever', async () => {
    const { db: closed, dispose } = await freshDatabase(target);
    await closed.knex.destroy();
    // Before the fix these never settled: the committer retried a group that
    // could not get a connection, in a loop that starved the event loop.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await assert.rejects(Promise.all([withTransaction(closed, async () => 'a'), withTransaction(closed, async () => 'b')]), `attempt ${attempt + 1} rejects`);
    }
    await dispose();
  });

  if (target.name === 'postgres') {
    it('commits the transactions that queue up meanwhile in one database transaction', async () => {
      const txids = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        withTransaction(db, async (trx) => {
          await record(trx, `w${i}`);
          return String(rowsOf<{ txid: string }>(await trx.raw('SELECT txid_current()::text AS txid'))[0]!.txid);
        })));
      // The first runs alone; the seven queued behind it share the next transaction.
      assert.ok(new Set(txids).size < txids.length, `distinct transactions: ${new Set(txids).size}`);
      const sequences = (await db.knex('events').orderBy('sequence').pluck('sequence')).map(Number);
      assert.deepEqual(sequences, [1, 2, 3, 4, 5, 6, 7, 8]);
    });
  }
});
