import { strict as assert } from 'node:assert';
import request from 'supertest';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { createHttpApp } from '../../src/http/app.js';
import { startServer } from '../../src/http/server.js';
import { VERSION } from '../../src/version.js';

describeEachDatabase('http app', (target) => {
  let instance: TestRegistry;
  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('GET / answers a banner with the version', async () => {
    const response = await request(createHttpApp(instance.registry, pino({ level: 'silent' }))).get('/').expect(200);
    assert.equal(response.body.name, 'artifactstore');
    assert.equal(response.body.version, VERSION);
  });

  it('GET /health reports the database and the backend with free/total bytes', async () => {
    const response = await request(createHttpApp(instance.registry, pino({ level: 'silent' }))).get('/health').expect(200);
    assert.equal(response.body.status, 'ok');
    assert.equal(response.body.database.ok, true);
    assert.equal(response.body.database.client, target.name);
    assert.equal(response.body.storage.ok, true);
    assert.ok(response.body.storage.freeBytes > 0);
    assert.ok(response.body.storage.totalBytes >= response.body.storage.freeBytes);
  });

  it('answers unknown routes with an RFC 7807 problem document', async () => {
    const response = await request(createHttpApp(instance.registry, pino({ level: 'silent' }))).get('/nope').expect(404);
    assert.match(response.headers['content-type']!, /^application\/problem\+json/);
    const body = JSON.parse(response.text);
    assert.equal(body.status, 404);
    assert.equal(body.code, 'ROUTE_NOT_FOUND');
    assert.equal(body.instance, '/nope');
  });

  it('serves over real HTTP on loopback', async () => {
    const server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
    try {
      const response = await fetch(`http://127.0.0.1:${server.address.port}/health`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { status: string }).status, 'ok');
    } finally {
      await server.close();
    }
  });
});
