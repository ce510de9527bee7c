import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { VIEW_TABLE_ORDER, VIEW_TABLES } from '../../src/views/index.js';
import { rowsOf, withTransaction } from '../../src/db/index.js';
import { RegistryError } from '../../src/errors/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { newId } from '../../src/registry/index.js';

const actor = 'local:tester';

async function snapshot(instance: TestRegistry): Promise<Record<string, unknown[]>> {
  const tables: Record<string, unknown[]> = {};
  for (const table of VIEW_TABLE_ORDER) {
    const rows = await instance.db.knex(table).select('*').orderBy([...VIEW_TABLES[table]]);
    tables[table] = rows.map((row: Record<string, unknown>) => ({ ...row }));
  }
  return tables;
}

/** The indexes of the view tables as the catalog describes them (not where their pages are). */
async function viewIndexes(instance: TestRegistry): Promise<unknown[]> {
  const views: readonly string[] = VIEW_TABLE_ORDER;
  if (instance.db.client === 'sqlite') {
    return rowsOf(await instance.db.knex.raw(
      `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN (${views.map(() => '?').join(', ')}) ORDER BY name`,
      [...views],
    ));
  }
  return rowsOf(await instance.db.knex.raw(
    `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = ? AND tablename IN (${views.map(() => '?').join(', ')}) ORDER BY indexname`,
    [instance.openOptions.schema ?? 'public', ...views],
  ));
}

/** Appends `event` to the log as it is, without projecting it (a log written by something else). */
async function appendRaw(instance: TestRegistry, event: NewEvent): Promise<void> {
  await withTransaction(instance.db, (trx) => instance.log.append(trx, event));
}

/** A storage location whose object row does not exist, on the live path: refused by the foreign key. */
async function insertOrphanLocation(instance: TestRegistry): Promise<void> {
  await withTransaction(instance.db, (trx) => trx('storage_locations').insert({
    content_address: `blake3:${'e'.repeat(64)}`, backend_id: 'local', object_key: 'x', retrieval_tier: 'hot', restore_status: 'none', created_at: '2026-01-01T00:00:00.000Z',
  }));
}

describeEachDatabase('views/replay and verify', (target) => {
  let instance: TestRegistry;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
    const { registry } = instance;
    for (let p = 0; p < 4; p += 1) {
      const pkg = await registry.createPackage({ name: `pkg-${p}`, producer: 'ci', retentionClass: p % 2 ? 'transient' : 'permanent-record', subject: p % 2 ? null : 'svc', metadata: { p } }, actor);
      for (let f = 0; f < 5; f += 1) {
        await registry.ingestFile(pkg.id, { relativePath: `dir/f${f}.txt`, mediaType: 'text/plain' }, bytes(`content ${f % 3}`), actor);
      }
      if (p !== 3) await registry.finalizePackage(pkg.id, actor);
    }
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('rebuilds exactly the rows the live path wrote', async () => {
    const before = await snapshot(instance);
    assert.ok((before.artifact_files as unknown[]).length === 20);
    const result = await instance.registry.replay();
    assert.equal(result.events, await instance.log.count());
    assert.deepEqual(await snapshot(instance), before);
    const report = await instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify(report.viewDifferences));
    assert.equal(report.objects!.checked, (before.objects as unknown[]).length);
    assert.equal(report.objects!.unreferenced.length, 0);
  });

  it('verify reports a view row that differs from the log, and replay repairs it', async () => {
    await instance.db.knex('artifact_packages').where('name', 'pkg-1').update({ producer: 'mallory' });
    const victim = await instance.db.knex('retention_state').first('package_id');
    await instance.db.knex('retention_state').where('package_id', victim!.package_id).delete();
    const report = await instance.registry.verify();
    assert.equal(report.ok, false);
    assert.ok(report.viewDifferences.some((d) => d.table === 'artifact_packages' && d.problem === 'different' && d.detail.includes('mallory')));
    assert.ok(report.viewDifferences.some((d) => d.table === 'retention_state' && d.problem === 'missing'));
    await instance.registry.replay();
    assert.equal((await instance.registry.verify()).ok, true);
  });

  it('replays while an upload session is open on a package', async () => {
    const [open] = (await instance.registry.listPackages({ status: 'created' }, { limit: 1 })).items;
    const session = await instance.registry.startFileUpload(open!.id, { relativePath: 'late.bin', mediaType: 'application/octet-stream' }, actor);
    await instance.registry.replay();
    assert.equal((await instance.registry.verify()).ok, true);
    assert.equal((await instance.registry.fileUpload(session.id)).offset, 0, 'the session survives replay');
  });

  it('verify reports a row no event produced', async () => {
    await instance.db.knex('objects').insert({ content_address: `blake3:${'1'.repeat(64)}`, digest_sha256: `sha256:${'1'.repeat(64)}`, size: 1, created_at: '2026-01-01T00:00:00.000Z', first_event_sequence: 1 });
    const report = await instance.registry.verify();
    assert.equal(report.ok, false);
    assert.ok(report.viewDifferences.some((d) => d.table === 'objects' && d.problem === 'unexpected'));
  });

  it('leaves the view indexes as they were', async () => {
    const before = await viewIndexes(instance);
    assert.ok(before.length >= 10, `expected the view tables' indexes, got ${before.length}`);
    await instance.registry.replay();
    assert.deepEqual(await viewIndexes(instance), before);
  });

  it('refuses a log whose views would lack a parent row, and changes nothing', async () => {
    // A location of an object no event ever stored: its object row does not exist.
    await appendRaw(instance, {
      type: 'v1.storage.location_added', subjectId: `blake3:${'f'.repeat(64)}`, actor,
      payload: { content_address: `blake3:${'f'.repeat(64)}`, backend_id: 'cold', object_key: 'orphan', retrieval_tier: 'cold' },
    });
    const views = await snapshot(instance);
    const indexes = await viewIndexes(instance);
    await assert.rejects(instance.registry.replay(), (error: unknown) => {
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.code, 'EVENT_LOG_CORRUPT');
      assert.match(error.message, /storage_locations/);
      return true;
    });
    assert.deepEqual(await snapshot(instance), views, 'the views are as before the replay');
    assert.deepEqual(await viewIndexes(instance), indexes, 'the indexes are as before the replay');
    if (target.name === 'sqlite') assert.deepEqual(rowsOf(await instance.db.knex.raw('PRAGMA foreign_keys')), [{ foreign_keys: 1 }]);
    // Enforcement is really back: the live path still refuses a row without its parent.
    await assert.rejects(insertOrphanLocation(instance), /FOREIGN KEY|foreign key/);
  });

  it('refuses a log that inserts a duplicate key, and changes nothing', async () => {
    // A second file at a path its package already has (files_package_path_uq).
    const file = await instance.db.knex('artifact_files').orderBy('id').first();
    await appendRaw(instance, {
      type: 'v1.file.ingested', subjectId: file.package_id as string, actor,
      payload: {
        file_id: newId(), package_id: file.package_id, relative_path: file.relative_path, media_type: 'text/plain', size: Number(file.size),
        content_address: file.content_address, digest_sha256: file.digest_sha256,
        storage: { backend_id: 'local', object_key: 'dup', retrieval_tier: 'hot' },
      },
    });
    const views = await snapshot(instance);
    const indexes = await viewIndexes(instance);
    await assert.rejects(instance.registry.replay(), (error: unknown) => error instanceof RegistryError && error.code === 'EVENT_LOG_CORRUPT');
    assert.deepEqual(await snapshot(instance), views);
    assert.deepEqual(await viewIndexes(instance), indexes);
    if (target.name === 'sqlite') assert.deepEqual(rowsOf(await instance.db.knex.raw('PRAGMA foreign_keys')), [{ foreign_keys: 1 }]);
  });

  it('refuses a log whose payload does not match its payload_digest, and changes nothing', async () => {
    // The database refuses UPDATE on events; a damaged log is simulated by lifting that guard.
    await instance.db.knex.raw(target.name === 'sqlite' ? 'DROP TRIGGER events_no_update' : 'DROP TRIGGER events_no_update_delete ON events');
    await instance.db.knex('events').where({ sequence: 3 }).update({ payload_digest: Buffer.alloc(32) });
    const views = await snapshot(instance);
    await assert.rejects(instance.registry.replay(), (error: unknown) => error instanceof RegistryError && error.code === 'EVENT_LOG_CORRUPT' && /payload_digest of event 3 does not match/.test(error.message));
    assert.deepEqual(await snapshot(instance), views);
  });

  it('keeps foreign keys enforced after a successful replay', async () => {
    await instance.registry.replay();
    if (target.name === 'sqlite') assert.deepEqual(rowsOf(await instance.db.knex.raw('PRAGMA foreign_keys')), [{ foreign_keys: 1 }]);
    await assert.rejects(insertOrphanLocation(instance), /FOREIGN KEY|foreign key/);
  });
});
