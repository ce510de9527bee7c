import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { VIEW_TABLE_ORDER, VIEW_TABLES } from '../../src/views/index.js';

const actor = 'local:tester';

async function snapshot(instance: TestRegistry): Promise<Record<string, unknown[]>> {
  const tables: Record<string, unknown[]> = {};
  for (const table of VIEW_TABLE_ORDER) {
    const rows = await instance.db.knex(table).select('*').orderBy([...VIEW_TABLES[table]]);
    tables[table] = rows.map((row: Record<string, unknown>) => ({ ...row }));
  }
  return tables;
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
});
