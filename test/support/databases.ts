/**
 * One shared suite, every database: `describeEachDatabase` runs a mocha
 * suite on SQLite (a temp file) and, when ARTIFACTSTORE_TEST_DATABASE_URL
 * names a PostgreSQL, again on it inside a throwaway schema.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DatabaseSettings } from '../../src/config.js';
import { migrateDatabase, openDatabase, type Database, type OpenOptions } from '../../src/db/index.js';
import { EventLog } from '../../src/events/index.js';

/** A database target a suite runs against. */
export interface DatabaseTarget {
  readonly name: 'sqlite' | 'postgres';
  /** Creates fresh, isolated settings + open options; `drop` removes everything. */
  create(): Promise<{ settings: DatabaseSettings; options: OpenOptions; drop(): Promise<void> }>;
}

/** The targets of this run: SQLite always, PostgreSQL when configured. */
export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [
    {
      name: 'sqlite',
      create: async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-db-'));
        return {
          settings: { client: 'sqlite', connection: path.join(dir, 'test.db') },
          options: {},
          drop: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
  ];
  const url = process.env.ARTIFACTSTORE_TEST_DATABASE_URL;
  if (url) {
    targets.push({
      name: 'postgres',
      create: async () => {
        const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
        const settings: DatabaseSettings = { client: 'postgres', connection: url };
        return {
          settings,
          options: { schema },
          drop: async () => {
            const admin = await openDatabase(settings);
            try {
              await admin.knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
            } finally {
              await admin.close();
            }
          },
        };
      },
    });
  }
  return targets;
}

/** Runs `body` as a mocha suite once per database target. */
export function describeEachDatabase(title: string, body: (target: DatabaseTarget) => void): void {
  for (const target of databaseTargets()) {
    describe(`${title} [${target.name}]`, () => body(target));
  }
}

/** Opens a fresh database on `target`; call the returned `dispose` in `after`. */
export async function freshDatabase(target: DatabaseTarget): Promise<{ db: Database; dispose(): Promise<void> }> {
  const { settings, options, drop } = await target.create();
  const db = await openDatabase(settings, options);
  return {
    db,
    dispose: async () => {
      await db.close();
      await drop();
    },
  };
}

/**
 * Gives every test of the calling suite a fresh, migrated database on
 * `target` and an {@link EventLog} on it (closed and dropped after each
 * test); `use` receives them before each test.
 */
export function freshEventLogEach(target: DatabaseTarget, use: (db: Database, log: EventLog) => void): void {
  let opened: { db: Database; log: EventLog; dispose(): Promise<void> } | undefined;
  beforeEach(async () => {
    const { db, dispose } = await freshDatabase(target);
    await migrateDatabase(db);
    opened = { db, log: new EventLog(db), dispose };
    use(opened.db, opened.log);
  });
  afterEach(async () => {
    await opened?.log.close();
    await opened?.dispose();
    opened = undefined;
  });
}
