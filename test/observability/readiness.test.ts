import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { checkReadiness } from '../../src/observability/index.js';
import type { Database } from '../../src/db/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';

describeEachDatabase('readiness', (target) => {
  let instance: TestRegistry;
  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('is ready when the database answers, migrations are applied and storage is healthy', async () => {
    const report = await checkReadiness(instance);
    assert.equal(report.status, 'ready');
    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.checks, {
      database: { ok: true, client: target.name },
      migrations: { ok: true },
      storage: { ok: true, backend: 'local' },
    });
  });

  it('is not ready when a migration is pending', async () => {
    const [last] = await instance.db.knex('knex_migrations').orderBy('id', 'desc').limit(1);
    await instance.db.knex('knex_migrations').where({ id: last.id }).del();
    const report = await checkReadiness(instance);
    assert.equal(report.status, 'not_ready');
    assert.deepEqual(report.failed, ['migrations']);
    assert.deepEqual(report.checks.migrations.pending, [last.name]);
  });

  it('is not ready when the storage root is gone', async () => {
    await rm(instance.storageRoot, { recursive: true, force: true });
    const report = await checkReadiness(instance);
    assert.equal(report.status, 'not_ready');
    assert.deepEqual(report.failed, ['storage']);
    assert.equal(report.checks.storage.ok, false);
    assert.match(report.checks.storage.detail ?? '', /storage root unusable/);
  });

  it('is not ready, without waiting forever, when the database does not answer', async () => {
    const hung = { client: instance.db.client, knex: { raw: () => new Promise(() => undefined) } } as unknown as Database;
    const report = await checkReadiness({ db: hung, dataPlane: instance.dataPlane }, { timeoutMs: 50 });
    assert.equal(report.status, 'not_ready');
    assert.deepEqual(report.failed, ['database', 'migrations']);
    assert.match(report.checks.database.detail ?? '', /did not answer within 50 ms/);
  });

  it('reports a database that fails', async () => {
    const broken = { client: instance.db.client, knex: { raw: async () => Promise.reject(new Error('connection refused')) } } as unknown as Database;
    const report = await checkReadiness({ db: broken, dataPlane: instance.dataPlane });
    assert.deepEqual(report.failed, ['database', 'migrations']);
    assert.equal(report.checks.database.detail, 'connection refused');
  });
});
