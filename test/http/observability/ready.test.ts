import { strict as assert } from 'node:assert';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { STAGING_DIRECTORY } from '../../../src/storage/backends/local/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openObservedApp, type ObservedApp } from './support.js';

describeEachDatabase('GET /ready and /health', (target) => {
  let observed: ObservedApp;
  beforeEach(async () => {
    observed = await openObservedApp(target);
  });
  afterEach(async () => {
    await observed.dispose();
  });

  it('is 200 on a healthy instance', async () => {
    const response = await request(observed.app).get('/ready').expect(200);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(response.body, {
      status: 'ready',
      failed: [],
      checks: { database: { ok: true, client: target.name }, migrations: { ok: true }, storage: { ok: true, backend: 'local' } },
    });
  });

  it('is 503 naming the storage check when the storage root is gone, and ready again once it is back', async () => {
    await rm(observed.instance.storageRoot, { recursive: true, force: true });
    const response = await request(observed.app).get('/ready').expect(503);
    assert.equal(response.body.status, 'not_ready');
    assert.deepEqual(response.body.failed, ['storage']);
    assert.equal(response.body.checks.storage.ok, false);
    assert.match(response.body.checks.storage.detail, /storage root unusable/);
    assert.equal(response.body.checks.database.ok, true);
    // Liveness keeps its shape (and reports the degraded backend as it always did).
    const health = await request(observed.app).get('/health').expect(503);
    assert.equal(health.body.status, 'degraded');
    assert.equal(health.body.storage.ok, false);
    await mkdir(path.join(observed.instance.storageRoot, STAGING_DIRECTORY), { recursive: true });
    assert.equal((await request(observed.app).get('/ready').expect(200)).body.status, 'ready');
  });

  it('is 503 naming the migrations check when one is pending', async () => {
    const [last] = await observed.instance.db.knex('knex_migrations').orderBy('id', 'desc').limit(1);
    await observed.instance.db.knex('knex_migrations').where({ id: last.id }).del();
    const response = await request(observed.app).get('/ready').expect(503);
    assert.deepEqual(response.body.failed, ['migrations']);
    assert.deepEqual(response.body.checks.migrations.pending, [last.name]);
  });

  it('/health keeps its body shape', async () => {
    const response = await request(observed.app).get('/health').expect(200);
    assert.deepEqual(Object.keys(response.body).sort(), ['database', 'status', 'storage']);
    assert.equal(response.body.status, 'ok');
  });
});
