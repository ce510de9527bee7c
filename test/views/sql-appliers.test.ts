/**
 * The live path's applier (`ImmediateSqlApplier`: cached statements on
 * SQLite, knex on PostgreSQL) carries out every kind of view change the same
 * way on both databases: what the rows look like afterwards, and the refusal
 * of an update that matches no row.
 */
import { strict as assert } from 'node:assert';
import { withTransaction, type Database } from '../../src/db/index.js';
import { ImmediateSqlApplier } from '../../src/views/sql-appliers.js';
import type { ViewChange, ViewRow } from '../../src/views/view-changes.js';
import { describeEachDatabase, freshEventLogEach } from '../support/databases.js';

const AT = '2026-11-29T00:00:00.000Z';

function pkg(id: string, subject: string | null): ViewRow {
  return {
    id, name: `n-${id}`, producer: 'p', subject, retention_class: 'transient', metadata: '{}', status: 'created', manifest_digest: null,
    created_by: 'tester', created_at: AT, finalized_at: null, deleted_at: null, last_event_sequence: 1, metadata_schema: null,
  };
}

function tag(tagName: string, digest: string, sequence: number): ViewRow {
  return { repository: 'r', tag: tagName, manifest_digest: digest, updated_at: AT, event_sequence: sequence };
}

describeEachDatabase('views/sql-appliers: ImmediateSqlApplier', (target) => {
  let db: Database;
  freshEventLogEach(target, (opened) => {
    db = opened;
  });

  const apply = (changes: ViewChange[]): Promise<void> => withTransaction(db, (trx) => new ImmediateSqlApplier(trx).apply(changes));
  const tags = async (): Promise<unknown[]> => (await db.knex('oci_tags').select('tag', 'manifest_digest', 'event_sequence').orderBy('tag')).map((row: Record<string, unknown>) => ({ ...row, event_sequence: Number(row.event_sequence) }));

  it('inserts, keeps the first of an insertIfAbsent, and upserts every non-key column', async () => {
    await apply([
      { op: 'insert', table: 'oci_tags', row: tag('a', 'sha256:1', 1) },
      { op: 'insert', table: 'oci_tags', row: tag('b', 'sha256:1', 2) },
      { op: 'insertIfAbsent', table: 'oci_tags', row: tag('a', 'sha256:ignored', 3) },
      { op: 'upsert', table: 'oci_tags', row: tag('b', 'sha256:2', 4) },
      { op: 'upsert', table: 'oci_tags', row: tag('c', 'sha256:3', 5) },
    ]);
    assert.deepEqual(await tags(), [
      { tag: 'a', manifest_digest: 'sha256:1', event_sequence: 1 },
      { tag: 'b', manifest_digest: 'sha256:2', event_sequence: 4 },
      { tag: 'c', manifest_digest: 'sha256:3', event_sequence: 5 },
    ]);
  });

  it('refuses a duplicate insert, and rolls the transaction back', async () => {
    await apply([{ op: 'insert', table: 'oci_tags', row: tag('a', 'sha256:1', 1) }]);
    await assert.rejects(apply([
      { op: 'insert', table: 'oci_tags', row: tag('z', 'sha256:9', 2) },
      { op: 'insert', table: 'oci_tags', row: tag('a', 'sha256:2', 3) },
    ]));
    assert.deepEqual(await tags(), [{ tag: 'a', manifest_digest: 'sha256:1', event_sequence: 1 }]);
  });

  it('updates one row by key, and refuses an update that matches none as EVENT_LOG_CORRUPT', async () => {
    await apply([
      { op: 'insert', table: 'artifact_packages', row: pkg('p1', null) },
      { op: 'insert', table: 'retention_state', row: { package_id: 'p1', retention_class: 'transient', current_expires_at: null, eligible_for_deletion: false, active_holds: 0, updated_at: AT, last_event_sequence: 1 } },
      { op: 'update', table: 'retention_state', key: { package_id: 'p1' }, set: { eligible_for_deletion: true, active_holds: 2 } },
    ]);
    const [row] = await db.knex('retention_state').select('eligible_for_deletion', 'active_holds');
    assert.equal(Boolean(row.eligible_for_deletion), true, 'a boolean is stored as the database stores booleans');
    assert.equal(Number(row.active_holds), 2);
    await assert.rejects(
      apply([{ op: 'update', table: 'retention_state', key: { package_id: 'absent' }, set: { active_holds: 1 } }]),
      (error: Error & { code?: string }) => error.code === 'EVENT_LOG_CORRUPT' && /matched 0 rows/.test(error.message),
    );
  });

  it('deletes the rows matching a filter, a null in it matching only nulls', async () => {
    await apply([
      { op: 'insert', table: 'artifact_packages', row: pkg('p1', null) },
      { op: 'insert', table: 'artifact_packages', row: pkg('p2', 'svc') },
      { op: 'insert', table: 'artifact_packages', row: pkg('p3', null) },
      { op: 'insert', table: 'oci_tags', row: tag('a', 'sha256:1', 1) },
      { op: 'insert', table: 'oci_tags', row: tag('b', 'sha256:2', 2) },
      { op: 'insert', table: 'oci_tags', row: tag('c', 'sha256:1', 3) },
    ]);
    await apply([
      { op: 'delete', table: 'artifact_packages', where: { producer: 'p', subject: null } },
      { op: 'delete', table: 'oci_tags', where: { repository: 'r', manifest_digest: 'sha256:1' } },
      { op: 'delete', table: 'oci_tags', where: { repository: 'r', tag: 'absent' } },
    ]);
    assert.deepEqual(await db.knex('artifact_packages').pluck('id'), ['p2']);
    assert.deepEqual(await tags(), [{ tag: 'b', manifest_digest: 'sha256:2', event_sequence: 2 }]);
  });
});
