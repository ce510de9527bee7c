import { strict as assert } from 'node:assert';
import pino from 'pino';
import request from 'supertest';
import { describeEachDatabase } from '../../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { createHttpApp } from '../../../src/http/app.js';

describeEachDatabase('native API: retention routes', (target) => {
  let instance: TestRegistry;
  let agent: ReturnType<typeof request>;
  let packageId: string;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
    agent = request(createHttpApp(instance.registry, pino({ level: 'silent' })));
    const pkg = await instance.registry.createPackage({ name: 'p', producer: 'ci', retentionClass: 'transient' }, 'ci');
    await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('x'), 'ci');
    packageId = pkg.id;
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('extends, holds, releases, and deletes only once eligible, each with a reason', async () => {
    const initial = await agent.get(`/packages/${packageId}/retention`).expect(200);
    assert.equal(initial.body.retention_class, 'transient');
    assert.equal(initial.body.eligible_for_deletion, false);
    const later = new Date(Date.parse(initial.body.current_expires_at) + 86_400_000).toISOString();
    const extended = await agent.post(`/packages/${packageId}/retention/extensions`).send({ new_expires_at: later, reason: 'needed' }).expect(200);
    assert.equal(extended.body.current_expires_at, later);
    const refused = await agent.post(`/packages/${packageId}/retention/extensions`).send({ new_expires_at: later, reason: 'again' }).expect(409);
    assert.equal(refused.body.code, 'RETENTION_NOT_EXTENDABLE');
    await agent.post(`/packages/${packageId}/retention/extensions`).send({ new_expires_at: later }).expect(400);
    const hold = await agent.post(`/packages/${packageId}/retention/holds`).send({ reason: 'legal' }).expect(201);
    assert.equal(hold.body.reason, 'legal');
    await instance.registry.sweepRetention(new Date(Date.now() + 30 * 86_400_000));
    const notYet = await agent.delete(`/packages/${packageId}`).send({ reason: 'cleanup' }).expect(409);
    assert.equal(notYet.body.code, 'PACKAGE_NOT_ELIGIBLE');
    const released = await agent.delete(`/packages/${packageId}/retention/holds/${hold.body.id}`).send({ reason: 'cleared' }).expect(200);
    assert.equal(released.body.active_holds, 0);
    await instance.registry.sweepRetention(new Date(Date.now() + 30 * 86_400_000));
    await agent.delete(`/packages/${packageId}`).send({ reason: 'cleanup' }).expect(204);
    const gone = await agent.get(`/packages/${packageId}`).expect(200);
    assert.equal(gone.body.status, 'deleted');
    const history = (await agent.get(`/packages/${packageId}/retention`).expect(200)).body.history.map((event: { event_type: string }) => event.event_type);
    assert.deepEqual(history, ['v1.retention.default_applied', 'v1.retention.extended', 'v1.retention.hold_applied', 'v1.retention.hold_released', 'v1.retention.deletion_eligible']);
    assert.equal((await instance.registry.verify({ objects: true })).ok, true);
  });
});
