import { strict as assert } from 'node:assert';
import { instrumentDatabase, queryOperationOf, createMetrics, type QueryOperation } from '../../src/observability/index.js';
import type { Database } from '../../src/db/index.js';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';
import { valueOf } from './exposition.js';

describe('queryOperationOf', () => {
  it('maps builder methods and the first keyword of raw SQL', () => {
    const cases: Array<[{ method?: string; sql?: string }, QueryOperation]> = [
      [{ method: 'select', sql: 'select 1' }, 'select'],
      [{ method: 'first' }, 'select'],
      [{ method: 'pluck' }, 'select'],
      [{ method: 'insert' }, 'insert'],
      [{ method: 'upsert' }, 'insert'],
      [{ method: 'update' }, 'update'],
      [{ method: 'counter' }, 'update'],
      [{ method: 'del' }, 'delete'],
      [{ method: 'raw', sql: '  UPDATE event_sequence SET x = 1' }, 'update'],
      [{ method: 'raw', sql: '/* hint */ select last_sequence from event_sequence for update' }, 'select'],
      [{ method: 'raw', sql: '-- note\nINSERT INTO t VALUES (1)' }, 'insert'],
      [{ method: 'raw', sql: 'DELETE FROM t' }, 'delete'],
      [{ method: 'raw', sql: 'CREATE TABLE t (x int)' }, 'other'],
      [{ method: 'raw', sql: 'WITH x AS (SELECT 1) SELECT * FROM x' }, 'other'],
      [{ sql: 'PRAGMA foreign_keys' }, 'other'],
      [{}, 'other'],
    ];
    for (const [data, expected] of cases) assert.equal(queryOperationOf(data), expected, JSON.stringify(data));
  });
});

describeEachDatabase('database query instrumentation', (target) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let seen: Array<{ operation: QueryOperation; seconds: number; ok: boolean }>;
  let detach: () => void;

  beforeEach(async () => {
    ({ db, dispose } = await freshDatabase(target));
    await db.knex.schema.createTable('probe', (table) => {
      table.integer('id').primary();
      table.string('label');
    });
    seen = [];
    detach = instrumentDatabase(db.knex, (operation, seconds, ok) => seen.push({ operation, seconds, ok }));
  });
  afterEach(async () => {
    detach();
    await dispose();
  });

  it('times every query with its operation kind', async () => {
    await db.knex('probe').insert({ id: 1, label: 'one' });
    await db.knex('probe').where({ id: 1 }).update({ label: 'uno' });
    assert.equal((await db.knex('probe').where({ id: 1 }).first())?.label, 'uno');
    await db.knex('probe').where({ id: 1 }).del();
    await db.knex.raw('SELECT 1');
    assert.deepEqual(
      seen.map((entry) => [entry.operation, entry.ok]),
      [['insert', true], ['update', true], ['select', true], ['delete', true], ['select', true]],
    );
    for (const entry of seen) assert.ok(entry.seconds >= 0 && entry.seconds < 30);
  });

  it('times queries inside transactions, and failed queries as errors', async () => {
    await db.knex.transaction(async (trx) => {
      await trx('probe').insert({ id: 2, label: 'two' });
    });
    await assert.rejects(db.knex('probe').insert({ id: 2, label: 'duplicate' }));
    await assert.rejects(db.knex.raw('SELECT * FROM no_such_table'));
    assert.deepEqual(
      seen.map((entry) => [entry.operation, entry.ok]),
      [['insert', true], ['insert', false], ['select', false]],
    );
  });

  it('stops once detached', async () => {
    detach();
    await db.knex('probe').select();
    assert.deepEqual(seen, []);
  });

  it('feeds db_query_duration_seconds through Metrics', async () => {
    detach();
    const metrics = createMetrics({ processMetrics: false });
    detach = instrumentDatabase(db.knex, (operation, seconds, ok) => metrics.observeQuery(operation, seconds, ok));
    await db.knex('probe').insert({ id: 3, label: 'three' });
    await db.knex('probe').select();
    await db.knex('probe').select();
    await assert.rejects(db.knex.raw('SELECT * FROM no_such_table'));
    const { body } = await metrics.exposition();
    assert.equal(valueOf(body, 'db_query_duration_seconds_count', { operation: 'insert', outcome: 'ok' }), 1);
    assert.equal(valueOf(body, 'db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' }), 2);
    assert.equal(valueOf(body, 'db_query_duration_seconds_count', { operation: 'select', outcome: 'error' }), 1);
    assert.equal(valueOf(body, 'db_query_duration_seconds_bucket', { operation: 'select', outcome: 'ok', le: '+Inf' }), 2);
  });
});
