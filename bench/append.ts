/**
 * `append`: events appended one transaction each through
 * `withTransaction` + `EventLog.append` (the live write path, without
 * projectors).
 *
 * Fair baseline: plain single-row INSERT commits into a scratch table,
 * through the same knex connection(s) in the same run: the per-commit cost
 * of the database and driver, which every event has to pay once. On SQLite
 * the target is absolute (≥ 5,000 events/s) and the ratio is shown; on
 * PostgreSQL, where a commit waits for a WAL fsync, 8 concurrent writers must
 * reach ≥ 0.8× of what 1 writer's bare commits reach, and the committed log
 * must be exactly 1..N.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSettings } from '../src/config.js';
import { migrateDatabase, openDatabase, rowsOf, withTransaction, type Database } from '../src/db/index.js';
import { EventLog } from '../src/events/index.js';
import { num, printTable, secondsSince, times, withTempDir, type Benchmark, type ResultRow } from './lib.js';

const SECONDS = 5;
const SQLITE_TARGET = 5_000;
const PG_WRITERS = 8;
const PG_TARGET = 0.8;
const PG_DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Runs `once` back to back on `writers` concurrent loops for `seconds`; returns completions per second. */
async function rate(seconds: number, writers: number, once: (writer: number, i: number) => Promise<unknown>): Promise<{ count: number; perSecond: number }> {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let count = 0;
  await Promise.all(Array.from({ length: writers }, async (_, writer) => {
    for (let i = 0; process.hrtime.bigint() < deadline; i += 1) {
      await once(writer, i);
      count += 1;
    }
  }));
  return { count, perSecond: count / secondsSince(start) };
}

async function createScratch(db: Database): Promise<void> {
  await db.knex.schema.createTable('bench_scratch', (table) => {
    table.increments('id');
    table.string('subject_id', 64).notNullable();
    table.binary('payload').notNullable();
  });
}

const insertScratch = (db: Database) => (writer: number, i: number) =>
  db.knex.raw('INSERT INTO bench_scratch (subject_id, payload) VALUES (?, ?)', [`w${writer}-${i}`, Buffer.from([writer, i & 0xff])]);

const appendEvent = (db: Database, log: EventLog) => (writer: number, i: number) =>
  withTransaction(db, (trx, afterCommit) =>
    log.append(trx, { type: 'v1.package.created', subjectId: `bench-${writer}-${i}`, actor: 'bench', payload: { writer, i, name: 'bench' } }, afterCommit));

/** Checks that the committed log is exactly 1..expected and the counter agrees. */
async function gapless(db: Database, expected: number): Promise<{ ok: boolean; detail: string }> {
  const sequences = (await db.knex('events').orderBy('sequence').pluck('sequence')).map(Number);
  const counter = Number((await db.knex('event_sequence').where({ id: 1 }).first('last_sequence'))?.last_sequence);
  const hole = sequences.findIndex((sequence, index) => sequence !== index + 1);
  const ok = hole === -1 && sequences.length === expected && counter === expected;
  const detail = hole !== -1
    ? `hole at position ${hole + 1} (found ${sequences[hole]})`
    : `${num(sequences.length)} rows = 1..${num(sequences.length)}; counter ${num(counter)}; appends acknowledged ${num(expected)}`;
  return { ok, detail };
}

async function sqlite(): Promise<void> {
  await withTempDir('append', async (dir) => {
    const db = await openDatabase({ client: 'sqlite', connection: path.join(dir, 'bench.db') });
    try {
      await migrateDatabase(db);
      await createScratch(db);
      const log = new EventLog(db);
      const bare = await rate(SECONDS, 1, insertScratch(db));
      const inTransaction = await rate(SECONDS, 1, (writer, i) => db.knex.transaction((trx) =>
        trx.raw('INSERT INTO bench_scratch (subject_id, payload) VALUES (?, ?)', [`t${writer}-${i}`, Buffer.from([1])])));
      const events = await rate(SECONDS, 1, appendEvent(db, log));
      const check = await gapless(db, events.count);
      const rows: ResultRow[] = [
        { measure: 'EventLog.append events/s (1 tx each)', figure: num(events.perSecond), baseline: `${num(bare.perSecond)} (bare INSERT commits)`, ratio: times(events.perSecond / bare.perSecond), target: `≥ ${num(SQLITE_TARGET)}/s`, pass: events.perSecond >= SQLITE_TARGET },
        { measure: 'knex.transaction + 1 INSERT commits/s', figure: num(inTransaction.perSecond), ratio: times(inTransaction.perSecond / bare.perSecond) },
        { measure: 'gapless 1..N', figure: check.detail, pass: check.ok },
      ];
      printTable(`append [sqlite, WAL, synchronous=NORMAL]: ~${SECONDS} s per phase, 1 writer`, rows);
      if (!check.ok) throw new Error(`SQLite event log is not gapless: ${check.detail}`);
    } finally {
      await db.close();
    }
  });
}

/** The PostgreSQL URL to use, or undefined (with the reason printed) to skip. */
async function postgresUrl(): Promise<string | undefined> {
  const configured = process.env.ARTIFACTSTORE_BENCH_DATABASE_URL || process.env.ARTIFACTSTORE_TEST_DATABASE_URL;
  if (configured) return configured; // configured but unreachable is an error, reported by the caller
  const probe = await openDatabase({ client: 'postgres', connection: PG_DEFAULT_URL });
  try {
    await probe.knex.raw('SELECT 1');
    return PG_DEFAULT_URL;
  } catch (error) {
    console.log(`\n(append [postgres] skipped: no ARTIFACTSTORE_BENCH_DATABASE_URL / ARTIFACTSTORE_TEST_DATABASE_URL and ${PG_DEFAULT_URL} is unreachable: ${(error as Error).message})`);
    return undefined;
  } finally {
    await probe.close();
  }
}

async function postgres(): Promise<void> {
  const url = await postgresUrl();
  if (!url) return;
  const settings: DatabaseSettings = { client: 'postgres', connection: url };
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const db = await openDatabase(settings, { schema, poolMax: PG_WRITERS + 2 });
  try {
    await migrateDatabase(db);
    await createScratch(db);
    const log = new EventLog(db);
    const syncCommit = rowsOf<{ synchronous_commit: string }>(await db.knex.raw('SHOW synchronous_commit'))[0]?.synchronous_commit;
    const baseline = await rate(SECONDS, 1, insertScratch(db));
    const events = await rate(SECONDS, PG_WRITERS, appendEvent(db, log));
    const check = await gapless(db, events.count);
    const ratio = events.perSecond / baseline.perSecond;
    printTable(`append [postgres, schema ${schema}, synchronous_commit=${syncCommit}]: ~${SECONDS} s per phase`, [
      { measure: `EventLog.append events/s, ${PG_WRITERS} writers`, figure: num(events.perSecond), baseline: `${num(baseline.perSecond)} (bare INSERT commits, 1 writer)`, ratio: times(ratio), target: `≥ ${times(PG_TARGET)}`, pass: ratio >= PG_TARGET },
      { measure: 'gapless 1..N', figure: check.detail, pass: check.ok },
    ]);
    if (!check.ok) throw new Error(`PostgreSQL event log is not gapless: ${check.detail}`);
  } finally {
    await db.knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]).catch((error: unknown) => console.error(`could not drop schema ${schema}:`, error));
    await db.close();
  }
}

export const append: Benchmark = {
  name: 'append',
  summary: 'EventLog.append, one transaction per event (SQLite; PostgreSQL with 8 writers)',
  async run() {
    await sqlite();
    await postgres();
  },
};
